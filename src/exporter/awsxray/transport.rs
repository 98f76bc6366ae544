//! Where segment documents go: PutTraceSegments over HTTP(S) (X-Ray API or the daemon's proxy),
//! or the daemon's UDP port.

use super::XrayConfig;
use crate::aws::credentials::AssumeRole;
use crate::aws::{CredentialsCache, Signer};
use crate::exporter::helper::http_send::{HttpSender, RetryPolicy, SendError};
use crate::exporter::ExportError;
use crate::http_client;
use crate::telemetry::logging::RateLimit;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// PutTraceSegments takes at most 50 documents per call.
pub const MAX_DOCS_PER_CALL: usize = 50;
/// The daemon's UDP header line.
pub const UDP_HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";
/// The daemon reads datagrams into a 64 KiB buffer.
const MAX_DATAGRAM: usize = 64 * 1024;

pub enum Transport {
    Api(Box<Api>),
    Udp { target: String, log_fail: RateLimit },
}

pub struct Api {
    sender: HttpSender,
    signer: Signer,
    /// The daemon proxy (plain http) signs again itself: send unsigned if we have no credentials.
    unsigned_ok: bool,
    log_unsigned: RateLimit,
}

/// How much of a PutTraceSegments answer is read.
const MAX_ANSWER_BYTES: usize = 1 << 20;

impl Transport {
    pub fn new(cfg: &XrayConfig) -> Result<Transport, String> {
        if let Some(target) = cfg.endpoint.strip_prefix("udp://") {
            return Ok(Transport::Udp { target: target.trim_end_matches('/').to_string(), log_fail: RateLimit::new() });
        }
        let region = Some(cfg.region.clone()).filter(|r| !r.is_empty()).or_else(crate::aws::env_region).or_else(|| {
            let host = cfg.endpoint.parse::<http::Uri>().ok()?.host()?.to_string();
            crate::aws::infer_service_and_region(&host).1
        });
        let unsigned_ok = cfg.endpoint.starts_with("http://");
        let region = match region {
            Some(r) => r,
            // The daemon's proxy re-signs with its own region: any scope works there.
            None if unsigned_ok => "us-east-1".to_string(),
            None => return Err("no region: set `region` (or AWS_REGION)".into()),
        };
        let base = if cfg.endpoint.is_empty() {
            format!("https://xray.{region}.amazonaws.com")
        } else {
            cfg.endpoint.trim_end_matches('/').to_string()
        };
        let url: http::Uri = format!("{base}/TraceSegments")
            .parse()
            .map_err(|e| format!("invalid endpoint {:?}: {e}", crate::secret::redact_url(&base)))?;
        let role = (!cfg.role_arn.is_empty()).then(|| AssumeRole {
            arn: cfg.role_arn.clone(),
            session_name: "oxidot".into(),
            sts_region: cfg.sts_region.clone(),
        });
        let creds = Arc::new(CredentialsCache::lazy(region.clone(), role));
        let client = http_client::build(&Default::default())?;
        Ok(Transport::Api(Box::new(Api {
            sender: HttpSender::new(client, url, http::HeaderMap::new(), MAX_ANSWER_BYTES)
                .with_timeout(Duration::from_secs(cfg.request_timeout_seconds.max(1))),
            signer: Signer::new(region, "xray".into(), creds),
            unsigned_ok,
            log_unsigned: RateLimit::new(),
        })))
    }

    /// Sends every document; returns the reasons for documents that could not be delivered
    /// (counted as failed by the caller). Transport-level failures are errors (retried).
    pub async fn send(&self, docs: Vec<String>) -> Result<Vec<String>, ExportError> {
        match self {
            Transport::Api(api) => {
                let mut failed = Vec::new();
                for chunk in docs.chunks(MAX_DOCS_PER_CALL) {
                    failed.extend(api.put_logging_unprocessed(chunk.to_vec()).await?);
                }
                Ok(failed)
            }
            Transport::Udp { target, log_fail } => {
                let sock = tokio::net::UdpSocket::bind(if target.starts_with('[') { "[::]:0" } else { "0.0.0.0:0" })
                    .await
                    .map_err(|e| ExportError::retryable(format!("udp socket: {e}")))?;
                let mut failed = Vec::new();
                for d in docs {
                    let dgram = format!("{UDP_HEADER}{d}");
                    if dgram.len() > MAX_DATAGRAM {
                        failed.push("a segment is larger than the daemon's 64 KiB datagram".to_string());
                        continue;
                    }
                    if let Err(e) = sock.send_to(dgram.as_bytes(), target.as_str()).await {
                        if log_fail.allow(60) {
                            tracing::warn!(target = %crate::secret::redact_url(target), error = %e, "Failed to send a segment to the X-Ray daemon");
                        }
                        return Err(ExportError::retryable(format!(
                            "udp send to {}: {e}",
                            crate::secret::redact_url(target)
                        )));
                    }
                }
                Ok(failed)
            }
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct PutResponse {
    unprocessed_trace_segments: Vec<Unprocessed>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Unprocessed {
    id: Option<String>,
    error_code: Option<String>,
    message: Option<String>,
}

impl Api {
    /// One PutTraceSegments call. awsxray.go: what X-Ray returns in `UnprocessedTraceSegments`
    /// is only logged (debug), neither sent again nor counted as failed.
    async fn put_logging_unprocessed(&self, docs: Vec<String>) -> Result<Vec<String>, ExportError> {
        for u in self.put(&docs).await? {
            tracing::debug!(
                id = u.id.as_deref().unwrap_or(""),
                error_code = u.error_code.as_deref().unwrap_or(""),
                message = u.message.as_deref().unwrap_or(""),
                "X-Ray returned an unprocessed trace segment"
            );
        }
        Ok(Vec::new())
    }

    async fn put(&self, docs: &[String]) -> Result<Vec<Unprocessed>, ExportError> {
        // Written directly: `json!` would clone every document into a Value first.
        let mut body = Vec::with_capacity(docs.iter().map(|d| d.len() + 8).sum::<usize>() + 32);
        body.extend_from_slice(b"{\"TraceSegmentDocuments\":[");
        for (i, d) in docs.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            serde_json::to_writer(&mut body, d).map_err(|e| ExportError::Permanent(e.to_string()))?;
        }
        body.extend_from_slice(b"]}");
        let mut req =
            self.sender.post(&[(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"))]);
        if let Err(e) = self.signer.sign(&mut req, &body).await {
            if !self.unsigned_ok {
                return Err(ExportError::retryable(e.to_string()));
            }
            if self.log_unsigned.allow(3600) {
                tracing::warn!(error = %e, "No AWS credentials: sending unsigned to the X-Ray daemon, which signs itself");
            }
        }
        let answer = self.sender.send(req, Bytes::from(body)).await.map_err(|e| match e {
            SendError::Timeout(t) => ExportError::retryable(format!("PutTraceSegments timed out after {t:?}")),
            SendError::Transport(e) => {
                ExportError::retryable(format!("PutTraceSegments to {}: {e}", self.sender.url()))
            }
        })?;
        let text = answer.whole_body();
        if answer.is_success() {
            let parsed: PutResponse = serde_json::from_slice(text).unwrap_or_default();
            return Ok(parsed.unprocessed_trace_segments);
        }
        let msg = String::from_utf8_lossy(&text[..text.len().min(512)]).trim().to_string();
        let reason = format!("PutTraceSegments returned HTTP {}: {msg}", answer.status);
        Err(RetryPolicy::Xray.error(&answer, &msg, reason))
    }
}
