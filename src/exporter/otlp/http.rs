//! The `otlphttp` exporter: POST `<endpoint>/v1/<signal>` (or the per-signal endpoint).

use super::{encode_request, encode_request_json, partial_success, OtlpHttpConfig};
use crate::component::Signal;
use crate::exporter::{ExportError, Exporter};
use crate::http_client::{self, HttpClient};
use crate::pipeline::data::Batch;
use crate::wire::grpc_status::RpcStatus;
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use prost::Message;
use std::io::Write;

pub struct OtlpHttpExporter {
    client: HttpClient,
    url: http::Uri,
    headers: http::HeaderMap,
    compression: String,
    json: bool,
    log_partial: crate::telemetry::logging::RateLimit,
}

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
        let url: http::Uri = url_s.parse().map_err(|e| format!("invalid URL {url_s:?}: {e}"))?;
        let headers = http_client::header_map(&cfg.headers)?;
        Ok(OtlpHttpExporter {
            client: http_client::build(&cfg.tls)?,
            url,
            headers,
            compression: cfg.compression.clone(),
            json: cfg.encoding == "json",
            log_partial: Default::default(),
        })
    }

    pub fn url(&self) -> &http::Uri {
        &self.url
    }
}

fn compress(kind: &str, data: Vec<u8>) -> Result<(Vec<u8>, Option<&'static str>), String> {
    Ok(match kind {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4), flate2::Compression::fast());
            e.write_all(&data).map_err(|e| e.to_string())?;
            (e.finish().map_err(|e| e.to_string())?, Some("gzip"))
        }
        "zstd" => (zstd::encode_all(&data[..], 1).map_err(|e| e.to_string())?, Some("zstd")),
        "snappy" => (snap::raw::Encoder::new().compress_vec(&data).map_err(|e| e.to_string())?, Some("snappy")),
        "deflate" | "zlib" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&data).map_err(|e| e.to_string())?;
            (e.finish().map_err(|e| e.to_string())?, Some("deflate"))
        }
        _ => (data, None),
    })
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
        let (body, enc) = compress(&self.compression, body).map_err(ExportError::Permanent)?;
        let mut req = http::Request::post(self.url.clone())
            .header(http::header::CONTENT_TYPE, if self.json { "application/json" } else { "application/x-protobuf" })
            .header(http::header::USER_AGENT, concat!("oxidot/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ExportError::Permanent(e.to_string()))?;
        if let Some(e) = enc {
            req.headers_mut().insert(http::header::CONTENT_ENCODING, http::HeaderValue::from_static(e));
        }
        for (k, v) in &self.headers {
            req.headers_mut().insert(k.clone(), v.clone());
        }
        let resp = self.client.request(req).await.map_err(|e| {
            ExportError::retryable(format!("failed to make an HTTP request: {}", crate::http_client::error_chain(&e)))
        })?;
        let status = resp.status();
        let retry_after = http_client::retry_after(resp.headers());
        let body = Limited::new(resp.into_body(), 64 * 1024).collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        if status.is_success() {
            if !self.json {
                if let Some((n, msg)) = partial_success(batch, &body) {
                    if self.log_partial.allow(10) {
                        tracing::warn!(rejected = n, message = %msg, "Partial success response from the OTLP backend");
                    }
                }
            }
            return Ok(());
        }
        let detail = describe_body(&body);
        let reason = format!(
            "error exporting items, request to {} responded with HTTP Status Code {}{detail}",
            self.url,
            status.as_u16()
        );
        Err(classify_status(status.as_u16(), reason, retry_after))
    }
}

/// 429/502/503/504 are retryable (honouring Retry-After); every other status is permanent.
pub fn classify_status(code: u16, reason: String, retry_after: Option<std::time::Duration>) -> ExportError {
    match code {
        429 | 502 | 503 | 504 => ExportError::Retryable { reason, retry_after },
        _ => ExportError::Permanent(reason),
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
