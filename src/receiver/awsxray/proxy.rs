//! The local TCP proxy of the X-Ray daemon (Go: internal/aws/proxy server.go and conn.go): the
//! X-Ray SDKs send their sampling calls (`POST /GetSamplingRules`, `/SamplingTargets`, …)
//! unsigned to it, and it forwards each, with the same method, path, query, headers and body,
//! to the X-Ray API signed with SigV4 (the shared `crate::aws` credentials chain and signer).
//! Bounded where Go is not: request and answer bodies at most 4 MiB, the X-Ray call 30 s, the
//! whole request 60 s.

use super::ProxyServerConfig;
use crate::aws::sign::Signer;
use crate::aws::CredentialsCache;
use crate::http_client::HttpClient;
use crate::telemetry::logging::RateLimit;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use std::sync::Arc;
use std::time::Duration;

/// Largest request or answer body forwarded (sampling calls are a few KiB).
pub const MAX_BODY: usize = 4 * 1024 * 1024;
/// The X-Ray call's answer (head and body) must come within this.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);
/// A request must be read, forwarded and answered within this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Go's http.Server `ReadHeaderTimeout` for the proxy.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// Headers of one hop only (RFC 9110 §7.6.1, as Go's httputil.ReverseProxy removes them), and
/// those the forwarded request gets anew.
const NOT_FORWARDED: &[&str] = &[
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
];

/// Where the proxy forwards to: the X-Ray API of a region, or `aws_endpoint`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// `scheme://authority` (Go keeps only scheme and host of the endpoint).
    pub base: String,
    pub region: String,
}

/// conn.go `getAWSConfigSession` region order: `region:`, then `AWS_DEFAULT_REGION`, then
/// `AWS_REGION`, then the ECS container metadata file's task ARN (`ECS_ENABLE_CONTAINER_METADATA`
/// and `ECS_CONTAINER_METADATA_FILE`). Go then asks EC2 instance metadata (unless `local_mode`)
/// and refuses to start without a region; oxidot does neither (see README). `env` reads one
/// environment variable.
pub fn resolve_region(cfg: &ProxyServerConfig, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    if !cfg.region.is_empty() {
        return Some(cfg.region.clone());
    }
    if let Some(r) = nonempty(env("AWS_DEFAULT_REGION")).or_else(|| nonempty(env("AWS_REGION"))) {
        return Some(r);
    }
    if env("ECS_ENABLE_CONTAINER_METADATA").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        let path = env("ECS_CONTAINER_METADATA_FILE")?;
        let text = std::fs::read(path).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
        // arn:partition:service:region:account:resource
        return nonempty(v.get("TaskARN")?.as_str()?.split(':').nth(3).map(str::to_string));
    }
    None
}

/// server.go `getServiceEndpoint`: `aws_endpoint`, else the X-Ray API of the region.
pub fn target(cfg: &ProxyServerConfig, region: Option<String>) -> Option<Target> {
    let region = region?;
    let base = if cfg.aws_endpoint.is_empty() {
        let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
        format!("https://xray.{region}.{suffix}")
    } else {
        let uri: http::Uri = cfg.aws_endpoint.parse().ok()?;
        format!("{}://{}", uri.scheme_str()?, uri.authority()?)
    };
    Some(Target { base, region })
}

/// A running proxy's state, shared by its connections.
pub struct Proxy {
    target: Option<Target>,
    client: HttpClient,
    signer: Option<Signer>,
    log_unsigned: RateLimit,
    log_failed: RateLimit,
}

type Answer = hyper::Response<Full<Bytes>>;

fn answer(status: http::StatusCode, text: &str) -> Answer {
    let mut r = hyper::Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

impl Proxy {
    pub fn new(cfg: &ProxyServerConfig, target: Option<Target>) -> Result<Proxy, String> {
        let mut tls = cfg.tls.clone();
        // Go's proxy transport: `tls.insecure` turns off certificate verification.
        tls.insecure_skip_verify |= tls.insecure;
        let client = crate::http_client::build(&tls)?;
        let signer = target.as_ref().map(|t| {
            let role = (!cfg.role_arn.is_empty())
                .then(|| crate::aws::credentials::AssumeRole { arn: cfg.role_arn.clone(), ..Default::default() });
            let creds = Arc::new(CredentialsCache::lazy(t.region.clone(), role));
            Signer::new(t.region.clone(), cfg.service_name.clone(), creds)
        });
        Ok(Proxy { target, client, signer, log_unsigned: RateLimit::new(), log_failed: RateLimit::new() })
    }

    /// One request: read (bounded), re-target, sign, forward, answer with X-Ray's answer.
    pub async fn handle(&self, req: hyper::Request<Incoming>) -> Answer {
        let (parts, body) = req.into_parts();
        let Some(target) = &self.target else {
            if self.log_failed.allow(60) {
                tracing::warn!(path = %parts.uri.path(), "X-Ray proxy: no AWS region configured or found; answering 502");
            }
            return answer(http::StatusCode::BAD_GATEWAY, "oxidot awsxray proxy: no AWS region configured");
        };
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return answer(http::StatusCode::PAYLOAD_TOO_LARGE, "request body larger than 4 MiB");
            }
            Err(_) => return answer(http::StatusCode::BAD_REQUEST, "cannot read the request body"),
        };
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let uri: http::Uri = match format!("{}{path}", target.base).parse() {
            Ok(u) => u,
            Err(_) => return answer(http::StatusCode::BAD_REQUEST, "invalid request path"),
        };
        let mut out = http::Request::new(());
        *out.method_mut() = parts.method.clone();
        *out.uri_mut() = uri;
        for (k, v) in &parts.headers {
            if !NOT_FORWARDED.contains(&k.as_str()) {
                out.headers_mut().append(k.clone(), v.clone());
            }
        }
        if let Some(host) = out.uri().authority().and_then(|a| http::HeaderValue::from_str(a.as_str()).ok()) {
            out.headers_mut().insert(http::header::HOST, host);
        }
        if !body.is_empty() || parts.method == http::Method::POST || parts.method == http::Method::PUT {
            out.headers_mut().insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(body.len()));
        }
        if let Some(signer) = &self.signer {
            // Go logs a signing failure and forwards the request unsigned (X-Ray then refuses it).
            if let Err(e) = signer.sign(&mut out, &body).await {
                if self.log_unsigned.allow(60) {
                    tracing::error!(error = %e, "X-Ray proxy: unable to sign request; forwarding it unsigned");
                }
            }
        }
        let (p, ()) = out.into_parts();
        let fut = self.client.request(http::Request::from_parts(p, Full::new(body)));
        let resp = match tokio::time::timeout(UPSTREAM_TIMEOUT, fut).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return self.bad_gateway(&target.base, &crate::http_client::error_chain(&e)),
            Err(_) => return self.bad_gateway(&target.base, "no answer within 30s"),
        };
        let (rparts, rbody) = resp.into_parts();
        let rbody = match tokio::time::timeout(UPSTREAM_TIMEOUT, Limited::new(rbody, MAX_BODY).collect()).await {
            Ok(Ok(b)) => b.to_bytes(),
            Ok(Err(_)) => return self.bad_gateway(&target.base, "answer body unreadable or larger than 4 MiB"),
            Err(_) => return self.bad_gateway(&target.base, "answer body not read within 30s"),
        };
        let mut r = hyper::Response::new(Full::new(rbody));
        *r.status_mut() = rparts.status;
        for (k, v) in &rparts.headers {
            if !matches!(
                k.as_str(),
                "connection"
                    | "keep-alive"
                    | "proxy-connection"
                    | "te"
                    | "trailer"
                    | "transfer-encoding"
                    | "upgrade"
                    | "content-length"
            ) {
                r.headers_mut().append(k.clone(), v.clone());
            }
        }
        r
    }

    /// httputil.ReverseProxy answers 502 when the backend cannot be reached.
    fn bad_gateway(&self, base: &str, why: &str) -> Answer {
        if self.log_failed.allow(10) {
            tracing::warn!(endpoint = %crate::secret::redact_url(base), error = %why, "X-Ray proxy: forwarding failed");
        }
        answer(http::StatusCode::BAD_GATEWAY, "oxidot awsxray proxy: X-Ray API unreachable")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn region_comes_from_config_then_env_then_ecs_metadata() {
        let mut cfg = ProxyServerConfig::default();
        assert_eq!(resolve_region(&cfg, env(&[])), None);
        assert_eq!(
            resolve_region(&cfg, env(&[("AWS_REGION", "eu-west-1"), ("AWS_DEFAULT_REGION", "us-west-2")])),
            Some("us-west-2".into()),
            "conn.go reads AWS_DEFAULT_REGION first"
        );
        assert_eq!(resolve_region(&cfg, env(&[("AWS_REGION", "eu-west-1")])), Some("eu-west-1".into()));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("meta.json");
        std::fs::write(&f, r#"{"TaskARN":"arn:aws:ecs:ap-south-1:123456789012:task/c/abc"}"#).unwrap();
        let fp = f.to_string_lossy().into_owned();
        let vars = [("ECS_ENABLE_CONTAINER_METADATA", "TRUE"), ("ECS_CONTAINER_METADATA_FILE", fp.as_str())];
        assert_eq!(resolve_region(&cfg, env(&vars)), Some("ap-south-1".into()));
        cfg.region = "us-east-2".into();
        assert_eq!(resolve_region(&cfg, env(&[("AWS_REGION", "eu-west-1")])), Some("us-east-2".into()));
    }

    #[test]
    fn target_is_the_regional_api_or_the_configured_endpoint() {
        let mut cfg = ProxyServerConfig::default();
        assert_eq!(target(&cfg, None), None);
        assert_eq!(target(&cfg, Some("us-west-2".into())).unwrap().base, "https://xray.us-west-2.amazonaws.com");
        assert_eq!(target(&cfg, Some("cn-north-1".into())).unwrap().base, "https://xray.cn-north-1.amazonaws.com.cn");
        cfg.aws_endpoint = "http://127.0.0.1:4566/some/path".into();
        let t = target(&cfg, Some("us-east-1".into())).unwrap();
        assert_eq!((t.base.as_str(), t.region.as_str()), ("http://127.0.0.1:4566", "us-east-1"));
    }
}
