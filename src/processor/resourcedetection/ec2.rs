//! The `ec2` detector: the instance metadata service (IMDSv2 with a session token, IMDSv1 when
//! the token call is refused) → cloud.* and host.* attributes, and optionally instance tags as
//! `ec2.tag.<key>` (EC2 DescribeTags signed with SigV4, or IMDS tags with `tags_from_imds`).
//! Go: processor/resourcedetectionprocessor/internal/aws/ec2 (ec2.go, config.go, metadata.yaml)
//! and internal/metadataproviders/aws/ec2.
//!
//! Off EC2 (Fargate, a laptop) the metadata address does not answer: the probe is cut after
//! [`PROBE_TIMEOUT`], the detector contributes nothing and oxidot warns once (Go logs this at
//! debug level only, which leaves an ADOT user wondering why no host.* attributes appear).

use super::{enabled, validate_toggles, AttrValue, Detected, Detection, Toggles};
use crate::config::{ConfigError, GoDuration};
use http_body_util::{BodyExt, Full};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// metadata.yaml: every attribute is on by default.
pub const KNOWN: &[(&str, bool)] = &[
    ("cloud.provider", true),
    ("cloud.platform", true),
    ("cloud.region", true),
    ("cloud.account.id", true),
    ("cloud.availability_zone", true),
    ("host.id", true),
    ("host.image.id", true),
    ("host.type", true),
    ("host.name", true),
];

/// ec2.go returns semconv v1.6.1's schema URL.
pub const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.6.1";

/// The IMDS address the AWS SDKs use unless `AWS_EC2_METADATA_SERVICE_ENDPOINT` says otherwise.
const IMDS: &str = "http://169.254.169.254";

/// How long the first call may take before the instance is taken to be off EC2 (the SDKs' IMDS
/// client uses a one-second timeout per attempt as well).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// `ec2:` of the processor (Go's ec2 Config; defaults from CreateDefaultConfig).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Ec2Config {
    /// Regular expressions on tag keys; matching tags become `ec2.tag.<key>`.
    pub tags: Vec<String>,
    pub resource_attributes: Toggles,
    pub max_attempts: u32,
    pub max_backoff: GoDuration,
    pub fail_on_missing_metadata: bool,
    pub tags_from_imds: bool,
}

impl Default for Ec2Config {
    fn default() -> Self {
        // aws-sdk-go-v2 retry.DefaultMaxAttempts 3, DefaultMaxBackoff 20s.
        Ec2Config {
            tags: Vec::new(),
            resource_attributes: Toggles::new(),
            max_attempts: 3,
            max_backoff: GoDuration::from_secs(20),
            fail_on_missing_metadata: false,
            tags_from_imds: false,
        }
    }
}

impl Ec2Config {
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let mut errs = validate_toggles(base, &self.resource_attributes, KNOWN);
        for (i, t) in self.tags.iter().enumerate() {
            if let Err(e) = regex::Regex::new(t) {
                errs.push(ConfigError::new(format!("{base}::tags::{i}"), format!("invalid regular expression: {e}")));
            }
        }
        if self.max_attempts == 0 {
            errs.push(ConfigError::new(format!("{base}::max_attempts"), "must be at least 1".to_string()));
        }
        errs
    }
}

/// The instance identity document's fields the detector uses.
#[derive(Deserialize, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Identity {
    pub region: String,
    pub account_id: String,
    pub availability_zone: String,
    pub instance_id: String,
    pub image_id: String,
    pub instance_type: String,
}

/// Maps the identity document, hostname and tags to attributes in ec2.go's order.
pub fn map(id: &Identity, hostname: &str, tags: &[(String, String)], toggles: &Toggles) -> Detected {
    let mut out: Detected = Vec::new();
    let mut set = |k: &str, v: &str| {
        if enabled(toggles, KNOWN, k) {
            out.push((k.to_string(), AttrValue::Str(v.to_string())));
        }
    };
    set("cloud.provider", "aws");
    set("cloud.platform", "aws_ec2");
    set("cloud.region", &id.region);
    set("cloud.account.id", &id.account_id);
    set("cloud.availability_zone", &id.availability_zone);
    set("host.id", &id.instance_id);
    set("host.image.id", &id.image_id);
    set("host.type", &id.instance_type);
    set("host.name", hostname);
    for (k, v) in tags {
        out.push((format!("ec2.tag.{k}"), AttrValue::Str(v.clone())));
    }
    out
}

/// One IMDS session: the base address and the IMDSv2 token (None: IMDSv1).
struct Imds {
    client: crate::http_client::HttpClient,
    base: String,
    token: Option<String>,
}

type Resp = (http::StatusCode, bytes::Bytes);

async fn call(
    client: &crate::http_client::HttpClient,
    req: http::Request<Full<bytes::Bytes>>,
    limit: Duration,
) -> Result<Resp, String> {
    let uri = req.uri().to_string();
    let fut = async {
        let resp = client.request(req).await.map_err(|e| crate::http_client::error_chain(&e))?;
        let status = resp.status();
        let body = http_body_util::Limited::new(resp.into_body(), 1 << 20)
            .collect()
            .await
            .map_err(|e| format!("reading the body: {e}"))?
            .to_bytes();
        Ok::<_, String>((status, body))
    };
    tokio::time::timeout(limit, fut).await.map_err(|_| format!("{uri}: no answer within {limit:?}"))?
}

impl Imds {
    /// Gets a token (PUT /latest/api/token); a 403/404/405 answer means IMDSv1 only.
    async fn open(base: String, limit: Duration) -> Result<Imds, String> {
        let client = crate::http_client::build(&Default::default())?;
        let req = http::Request::put(format!("{base}/latest/api/token"))
            .header("X-aws-ec2-metadata-token-ttl-seconds", "21600")
            .body(Full::new(bytes::Bytes::new()))
            .map_err(|e| e.to_string())?;
        let (status, body) = call(&client, req, limit).await?;
        let token = match status.as_u16() {
            200 => Some(String::from_utf8_lossy(&body).trim().to_string()),
            403..=405 => None,
            s => return Err(format!("IMDS token request answered {s}")),
        };
        Ok(Imds { client, base, token })
    }

    async fn get(&self, path: &str, limit: Duration) -> Result<String, String> {
        let mut b = http::Request::get(format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            b = b.header("X-aws-ec2-metadata-token", t.as_str());
        }
        let req = b.body(Full::new(bytes::Bytes::new())).map_err(|e| e.to_string())?;
        let (status, body) = call(&self.client, req, limit).await?;
        if status != http::StatusCode::OK {
            return Err(format!("GET {path}: IMDS answered {}", status.as_u16()));
        }
        String::from_utf8(body.to_vec()).map_err(|_| format!("GET {path}: the answer is not UTF-8"))
    }
}

/// The IMDS base address: `AWS_EC2_METADATA_SERVICE_ENDPOINT` (as the AWS SDKs read it), else
/// the link-local address. None when `AWS_EC2_METADATA_DISABLED` is true.
fn imds_base(env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Option<String> {
    if env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return None;
    }
    let base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT").filter(|v| !v.trim().is_empty()).unwrap_or(IMDS.to_string());
    Some(base.trim().trim_end_matches('/').to_string())
}

/// The EC2 API endpoint for DescribeTags: `AWS_ENDPOINT_URL_EC2`, then `AWS_ENDPOINT_URL` (the
/// SDKs' service endpoint overrides), else the regional endpoint.
fn ec2_endpoint(env: &(dyn Fn(&str) -> Option<String> + Sync), region: &str) -> String {
    env("AWS_ENDPOINT_URL_EC2")
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("https://ec2.{region}.amazonaws.com"))
}

static WARNED_UNAVAILABLE: std::sync::Once = std::sync::Once::new();

/// ec2.go Detector.Detect.
pub async fn detect(
    cfg: &Ec2Config,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    deadline: Instant,
) -> Result<Detection, String> {
    let left = || deadline.saturating_duration_since(Instant::now());
    let unavailable = |why: String| {
        if cfg.fail_on_missing_metadata {
            return Err(format!("EC2 metadata unavailable: {why}"));
        }
        WARNED_UNAVAILABLE.call_once(|| {
            tracing::warn!(
                detector = "ec2",
                reason = %why,
                "EC2 instance metadata is not reachable (not on EC2?): the ec2 detector adds nothing"
            )
        });
        Ok(Detection::default())
    };
    let Some(base) = imds_base(env) else { return unavailable("AWS_EC2_METADATA_DISABLED is true".into()) };
    let probe = PROBE_TIMEOUT.min(left());
    // metadataProvider.InstanceID: the availability check.
    let imds = match Imds::open(base, probe).await {
        Ok(i) => i,
        Err(e) => return unavailable(e),
    };
    if let Err(e) = imds.get("/latest/meta-data/instance-id", probe).await {
        return unavailable(e);
    }
    let doc = imds
        .get("/latest/dynamic/instance-identity/document", left())
        .await
        .map_err(|e| format!("failed getting identity document: {e}"))?;
    let id: Identity = serde_json::from_str(&doc).map_err(|e| format!("failed getting identity document: {e}"))?;
    let hostname =
        imds.get("/latest/meta-data/hostname", left()).await.map_err(|e| format!("failed getting hostname: {e}"))?;
    let mut tags = Vec::new();
    if !cfg.tags.is_empty() {
        let res: Vec<regex::Regex> = cfg.tags.iter().filter_map(|t| regex::Regex::new(t).ok()).collect();
        let all =
            if cfg.tags_from_imds { imds_tags(&imds, left()).await } else { describe_tags(env, &id, left()).await }
                .map_err(|e| format!("failed fetching ec2 instance tags: {e}"))?;
        // Go ranges over a map: the order is unspecified; oxidot sorts by key.
        tags = all.into_iter().filter(|(k, _)| res.iter().any(|r| r.is_match(k))).collect();
        tags.sort();
    }
    Ok(Detection { attrs: map(&id, hostname.trim(), &tags, &cfg.resource_attributes), schema_url: SCHEMA_URL })
}

/// Tags through IMDS (`/latest/meta-data/tags/instance`: one key per line, then each value).
async fn imds_tags(imds: &Imds, limit: Duration) -> Result<Vec<(String, String)>, String> {
    let keys = imds.get("/latest/meta-data/tags/instance", limit).await?;
    let mut out = Vec::new();
    for k in keys.lines().map(str::trim).filter(|k| !k.is_empty()) {
        let v = imds.get(&format!("/latest/meta-data/tags/instance/{k}"), limit).await?;
        out.push((k.to_string(), v));
    }
    Ok(out)
}

/// EC2 DescribeTags (Query API, version 2016-11-15) for the instance, signed with SigV4.
async fn describe_tags(
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    id: &Identity,
    limit: Duration,
) -> Result<Vec<(String, String)>, String> {
    let endpoint = ec2_endpoint(env, &id.region);
    let creds = Arc::new(crate::aws::CredentialsCache::lazy(id.region.clone(), None));
    let signer = crate::aws::Signer::new(id.region.clone(), "ec2".to_string(), creds);
    let client = crate::http_client::build(&Default::default())?;
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    // Pages of up to 1000 tags; bounded so a misbehaving endpoint cannot loop forever.
    for _ in 0..50 {
        let mut body = format!(
            "Action=DescribeTags&Version=2016-11-15&Filter.1.Name=resource-id&Filter.1.Value.1={}",
            form_escape(&id.instance_id)
        );
        if let Some(t) = &next {
            body.push_str(&format!("&NextToken={}", form_escape(t)));
        }
        let mut req = http::Request::post(format!("{endpoint}/"))
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(Full::new(bytes::Bytes::from(body.clone())))
            .map_err(|e| e.to_string())?;
        signer.sign(&mut req, body.as_bytes()).await.map_err(|e| e.to_string())?;
        let (status, answer) = call(&client, req, limit).await?;
        let text = String::from_utf8_lossy(&answer);
        if !status.is_success() {
            let code = xml_text(&text, "Code").unwrap_or_default();
            return Err(format!("DescribeTags answered {} {code}", status.as_u16()));
        }
        out.extend(parse_tags(&text));
        next = xml_text(&text, "nextToken").filter(|t| !t.is_empty());
        if next.is_none() {
            return Ok(out);
        }
    }
    Ok(out)
}

fn form_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text of the first `<tag>…</tag>`, entities decoded.
fn xml_text(doc: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = doc.find(&open)? + open.len();
    let end = doc[start..].find(&format!("</{tag}>"))? + start;
    Some(xml_unescape(&doc[start..end]))
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// `<tagSet><item><key>K</key><value>V</value>…</item>…</tagSet>` → pairs.
pub fn parse_tags(doc: &str) -> Vec<(String, String)> {
    let Some(set) = doc.find("<tagSet>").map(|i| &doc[i..]) else { return Vec::new() };
    let set = set.find("</tagSet>").map(|e| &set[..e]).unwrap_or(set);
    set.split("<item>")
        .skip(1)
        .filter_map(|item| {
            let k = xml_text(item, "key")?;
            let v = xml_text(item, "value").unwrap_or_default();
            Some((k, v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_in_gos_order_with_toggles() {
        let id = Identity {
            region: "us-west-2".into(),
            account_id: "123456789012".into(),
            availability_zone: "us-west-2a".into(),
            instance_id: "i-0abc".into(),
            image_id: "ami-1".into(),
            instance_type: "m5.large".into(),
        };
        let mut toggles = Toggles::new();
        toggles.insert("host.name".into(), super::super::Toggle { enabled: false });
        let got = map(&id, "ip-10-0-0-1", &[("Name".into(), "web".into())], &toggles);
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "cloud.provider",
                "cloud.platform",
                "cloud.region",
                "cloud.account.id",
                "cloud.availability_zone",
                "host.id",
                "host.image.id",
                "host.type",
                "ec2.tag.Name"
            ]
        );
        assert_eq!(got[1].1, AttrValue::Str("aws_ec2".into()));
    }

    #[test]
    fn parses_describe_tags_xml() {
        let doc = r#"<DescribeTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><tagSet><item><resourceId>i-1</resourceId><resourceType>instance</resourceType><key>Name</key><value>a &amp; b</value></item><item><resourceId>i-1</resourceId><resourceType>instance</resourceType><key>team</key><value/></item></tagSet></DescribeTagsResponse>"#;
        assert_eq!(
            parse_tags(doc),
            vec![("Name".to_string(), "a & b".to_string()), ("team".to_string(), String::new())]
        );
        let doc2 = "<tagSet><item><key>a</key><value>1</value></item><item><key>b</key><value></value></item></tagSet>";
        assert_eq!(parse_tags(doc2), vec![("a".into(), "1".into()), ("b".into(), "".into())]);
    }

    #[test]
    fn config_errors_name_the_key() {
        let c = Ec2Config { tags: vec!["(".into()], max_attempts: 0, ..Default::default() };
        let errs = c.validate("processors::resourcedetection::ec2");
        let paths: Vec<String> = errs.iter().map(|e| e.path.clone()).collect();
        assert!(paths.contains(&"processors::resourcedetection::ec2::tags::0".to_string()), "{paths:?}");
        assert!(paths.contains(&"processors::resourcedetection::ec2::max_attempts".to_string()), "{paths:?}");
    }

    #[tokio::test]
    async fn a_closed_port_is_off_ec2_quickly_and_adds_nothing() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let env = move |k: &str| (k == "AWS_EC2_METADATA_SERVICE_ENDPOINT").then(|| format!("http://127.0.0.1:{port}"));
        let d = detect(&Ec2Config::default(), &env, Instant::now() + Duration::from_secs(5)).await.unwrap();
        assert_eq!(d, Detection::default());
        let strict = Ec2Config { fail_on_missing_metadata: true, ..Default::default() };
        let e = detect(&strict, &env, Instant::now() + Duration::from_secs(5)).await.unwrap_err();
        assert!(e.starts_with("EC2 metadata unavailable"), "{e}");
    }
}
