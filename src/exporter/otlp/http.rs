//! The `otlphttp` exporter: POST `<endpoint>/v1/<signal>` (or the per-signal endpoint).

use super::{encode_request, encode_request_json, partial_success, OtlpHttpConfig};
use crate::component::Signal;
use crate::exporter::helper::http_send::{compress, HttpSender, RetryPolicy};
use crate::exporter::{ExportError, Exporter};
use crate::http_client;
use crate::pipeline::data::Batch;
use crate::wire::grpc_status::RpcStatus;
use async_trait::async_trait;
use bytes::Bytes;
use prost::Message;

pub struct OtlpHttpExporter {
    sender: HttpSender,
    compression: String,
    json: bool,
    log_partial: crate::telemetry::logging::RateLimit,
}

/// otlp.go `maxHTTPResponseReadBytes`: how much of an answer is read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The URL for `signal`: its own endpoint if set, else `endpoint` + `/v1/<signal>`.
pub fn signal_url(cfg: &OtlpHttpConfig, signal: Signal) -> String {
    let own = match signal {
        Signal::Traces => &cfg.traces_endpoint,
        Signal::Metrics => &cfg.metrics_endpoint,
        Signal::Logs => &cfg.logs_endpoint,
    };
    if !own.is_empty() {
        return own.clone();
    }
    format!("{}/v1/{}", cfg.endpoint.trim_end_matches('/'), signal.as_str())
}

impl OtlpHttpExporter {
    pub fn new(cfg: &OtlpHttpConfig, signal: Signal) -> Result<Self, String> {
        let url_s = signal_url(cfg, signal);
        if url_s.starts_with("/v1/") {
            return Err(format!("no endpoint for {signal}: set endpoint or {signal}_endpoint"));
        }
        let url: http::Uri =
            url_s.parse().map_err(|e| format!("invalid URL {:?}: {e}", crate::secret::redact_url(&url_s)))?;
        let headers = http_client::header_map(&cfg.headers)?;
        Ok(OtlpHttpExporter {
            sender: HttpSender::new(http_client::build(&cfg.tls)?, url, headers, MAX_RESPONSE_BYTES),
            compression: cfg.compression.clone(),
            json: cfg.encoding == "json",
            log_partial: Default::default(),
        })
    }

    pub fn url(&self) -> &http::Uri {
        self.sender.url()
    }
}

#[async_trait]
impl Exporter for OtlpHttpExporter {
    async fn export(&self, batch: &Batch) -> Result<(), ExportError> {
        let body = if self.json {
            encode_request_json(batch)
        } else {
            let mut b = Vec::new();
            encode_request(batch, &mut b);
            b
        };
        let (body, enc) = compress(&self.compression, body).map_err(|e| ExportError::Permanent(e.to_string()))?;
        let content_type = if self.json { "application/json" } else { "application/x-protobuf" };
        let mut defaults = vec![(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type))];
        if let Some(e) = enc {
            defaults.push((http::header::CONTENT_ENCODING, http::HeaderValue::from_static(e)));
        }
        let req = self.sender.post(&defaults);
        let answer = self
            .sender
            .send(req, Bytes::from(body))
            .await
            .map_err(|e| ExportError::retryable(format!("failed to make an HTTP request: {}", e.chain())))?;
        let body = answer.whole_body();
        if answer.is_success() {
            if !self.json {
                if let Some((n, msg)) = partial_success(batch, body) {
                    if self.log_partial.allow(10) {
                        tracing::warn!(rejected = n, message = %msg, "Partial success response from the OTLP backend");
                    }
                }
            }
            return Ok(());
        }
        let detail = describe_body(body);
        let reason = format!(
            "error exporting items, request to {} responded with HTTP Status Code {}{detail}",
            self.sender.url(),
            answer.status
        );
        Err(RetryPolicy::Otlp.error(&answer, "", reason))
    }
}

fn describe_body(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    if let Ok(st) = RpcStatus::decode(body) {
        if !st.message.is_empty() {
            return format!(", Message={}", st.message);
        }
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
    format!(", Body={}", text.trim())
}
