//! The one HTTP send path of the HTTP exporters (otlphttp, loki, prometheusremotewrite, the
//! awsxray API): build the POST (User-Agent, the exporter's own headers, then the configured
//! `headers:`), let the exporter sign it, send it under an optional timeout, read a bounded
//! prefix of the answer, and say whether a failed answer is worth another try from **one table**
//! of retryable statuses, [`RetryPolicy::is_retryable`], where the Go exporters differ.

use crate::exporter::ExportError;
use crate::http_client::{self, HttpClient};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use std::io::Write;
use std::time::Duration;

/// Which failed answers an exporter retries: the Go exporters do not agree, and oxidot follows
/// each. Every status not named retryable here is permanent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryPolicy {
    /// otlphttpexporter otlp.go `isRetryableStatusCode`: 429, 502, 503, 504 (with Retry-After).
    Otlp,
    /// prometheusremotewriteexporter exporter.go `execute`: any 5xx; 429 only with the alpha
    /// `exporter.prometheusremotewritexporter.RetryOn429` gate.
    RemoteWrite { retry_on_429: bool },
    /// lokiexporter exporter.go `sendPushRequest`: a 4xx other than 429 is permanent, anything
    /// else is retried.
    Loki,
    /// awsxray (aws-sdk-go's default retryer): 429 and 5xx, and a 400 whose error says it was
    /// throttled.
    Xray,
}

impl RetryPolicy {
    /// The table. `detail` is the text the exporter read from the answer (only X-Ray's throttling
    /// 400 looks at it).
    pub fn is_retryable(self, status: u16, detail: &str) -> bool {
        match (self, status) {
            (RetryPolicy::Otlp, 429 | 502 | 503 | 504) => true,
            (RetryPolicy::Otlp, _) => false,
            (RetryPolicy::RemoteWrite { .. }, 500..=599) => true,
            (RetryPolicy::RemoteWrite { retry_on_429 }, 429) => retry_on_429,
            (RetryPolicy::RemoteWrite { .. }, _) => false,
            (RetryPolicy::Loki, 429) => true,
            (RetryPolicy::Loki, 400..=499) => false,
            (RetryPolicy::Loki, _) => true,
            (RetryPolicy::Xray, 429 | 500..=599) => true,
            (RetryPolicy::Xray, 400) => detail.contains("Throttl") || detail.contains("TooManyRequests"),
            (RetryPolicy::Xray, _) => false,
        }
    }

    /// The error for a failed answer: retryable with its `Retry-After`, or permanent.
    pub fn error(self, answer: &Answer, detail: &str, reason: String) -> ExportError {
        if self.is_retryable(answer.status, detail) {
            ExportError::Retryable { reason, retry_after: answer.retry_after }
        } else {
            ExportError::Permanent(reason)
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Connecting, writing the request or reading the answer's head failed.
    #[error("{0}")]
    Transport(#[source] hyper_util::client::legacy::Error),
    /// No answer within the sender's timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

impl SendError {
    /// The error with its sources, joined by `: ` (hyper hides the cause).
    pub fn chain(&self) -> String {
        match self {
            SendError::Transport(e) => http_client::error_chain(e),
            SendError::Timeout(_) => self.to_string(),
        }
    }
}

/// The answer to one request.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After`, seconds or an HTTP date.
    pub retry_after: Option<Duration>,
    /// At most the sender's body limit, from the start of the body.
    pub body: Bytes,
    /// False when the body was longer than the limit or failed part way.
    pub complete: bool,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body when it was read whole, else empty (how otlphttp, remote write and X-Ray have
    /// always read answers: an answer over the limit reads as no body).
    pub fn whole_body(&self) -> &[u8] {
        if self.complete {
            &self.body
        } else {
            &[]
        }
    }
}

/// One exporter's endpoint: the shared client, the URL, the configured `headers:`, a timeout for
/// the answer's head (when the exporter's own client enforces one) and how much of a body to read.
pub struct HttpSender {
    client: HttpClient,
    url: http::Uri,
    headers: http::HeaderMap,
    timeout: Option<Duration>,
    body_limit: usize,
    /// `Authorization: Basic` from the URL's userinfo, sent when a request has no
    /// `Authorization` of its own (Go's net/http client.go `send`).
    basic_auth: Option<HeaderValue>,
}

/// `oxidot/<version>`.
pub const USER_AGENT: &str = concat!("oxidot/", env!("CARGO_PKG_VERSION"));

impl HttpSender {
    /// The URL's userinfo leaves the URL (it is never sent in the request line nor printed by
    /// [`HttpSender::url`]) and becomes `Authorization: Basic`, as Go's client sends it.
    pub fn new(client: HttpClient, url: http::Uri, mut headers: http::HeaderMap, body_limit: usize) -> Self {
        let (url, basic_auth) = crate::secret::split_userinfo(&url);
        for v in headers.values_mut() {
            v.set_sensitive(true);
        }
        HttpSender { client, url, headers, timeout: None, body_limit, basic_auth }
    }

    /// Bounds the wait for the answer's head.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The URL without userinfo.
    pub fn url(&self) -> &http::Uri {
        &self.url
    }

    /// A POST to the URL with User-Agent, then `defaults`, then the configured `headers:` (which
    /// replace a default of the same name). Sign it, if needed, before [`HttpSender::send`].
    pub fn post(&self, defaults: &[(HeaderName, HeaderValue)]) -> http::Request<()> {
        let mut req = http::Request::new(());
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = self.url.clone();
        let h = req.headers_mut();
        h.insert(http::header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        for (k, v) in defaults {
            h.insert(k.clone(), v.clone());
        }
        for (k, v) in &self.headers {
            h.insert(k.clone(), v.clone());
        }
        req
    }

    /// Sends `req` with `body` and reads the answer (the whole head, at most the body limit).
    /// Adds `Authorization: Basic` from the URL's userinfo when `req` has no `Authorization` (a
    /// configured header or a signature wins, as in Go).
    pub async fn send(&self, req: http::Request<()>, body: Bytes) -> Result<Answer, SendError> {
        let (mut parts, ()) = req.into_parts();
        if let Some(b) = &self.basic_auth {
            if !parts.headers.contains_key(http::header::AUTHORIZATION) {
                parts.headers.insert(http::header::AUTHORIZATION, b.clone());
            }
        }
        let fut = self.client.request(http::Request::from_parts(parts, Full::new(body)));
        let resp = match self.timeout {
            Some(t) => tokio::time::timeout(t, fut).await.map_err(|_| SendError::Timeout(t))?,
            None => fut.await,
        }
        .map_err(SendError::Transport)?;
        let status = resp.status().as_u16();
        let retry_after = http_client::retry_after(resp.headers());
        let (body, complete) = read_prefix(resp.into_body(), self.body_limit).await;
        Ok(Answer { status, retry_after, body, complete })
    }
}

/// Reads `body` until it ends or passes `limit` bytes; returns at most `limit` bytes and whether
/// that was the whole body.
async fn read_prefix<B>(mut body: B, limit: usize) -> (Bytes, bool)
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let mut out = bytes::BytesMut::new();
    loop {
        match body.frame().await {
            None => return (out.freeze(), true),
            Some(Err(_)) => return (out.freeze(), false),
            Some(Ok(f)) => {
                if let Ok(d) = f.into_data() {
                    out.extend_from_slice(&d);
                    if out.len() > limit {
                        out.truncate(limit);
                        return (out.freeze(), false);
                    }
                }
            }
        }
    }
}

/// Why a body could not be compressed.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct CompressError {
    kind: &'static str,
    message: String,
}

/// Snappy block compression (remote write and Loki push bodies), into `out` (cleared first).
pub fn snappy(data: &[u8], out: &mut Vec<u8>) -> Result<(), CompressError> {
    out.clear();
    out.resize(snap::raw::max_compress_len(data.len()), 0);
    let n = snap::raw::Encoder::new()
        .compress(data, out)
        .map_err(|e| CompressError { kind: "snappy", message: e.to_string() })?;
    out.truncate(n);
    Ok(())
}

/// `compression:` of confighttp: the compressed body and its `Content-Encoding`; unknown or
/// empty kinds send `data` as it is.
pub fn compress(kind: &str, data: Vec<u8>) -> Result<(Vec<u8>, Option<&'static str>), CompressError> {
    let err = |kind: &'static str| move |e: std::io::Error| CompressError { kind, message: e.to_string() };
    Ok(match kind {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4), flate2::Compression::fast());
            e.write_all(&data).map_err(err("gzip"))?;
            (e.finish().map_err(err("gzip"))?, Some("gzip"))
        }
        "zstd" => (zstd::encode_all(&data[..], 1).map_err(err("zstd"))?, Some("zstd")),
        "snappy" => {
            let mut out = Vec::new();
            snappy(&data, &mut out)?;
            (out, Some("snappy"))
        }
        "deflate" | "zlib" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&data).map_err(err("deflate"))?;
            (e.finish().map_err(err("deflate"))?, Some("deflate"))
        }
        _ => (data, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table, against what each exporter did before it was shared.
    #[test]
    fn retryable_statuses_per_exporter() {
        let retried = |p: RetryPolicy| -> Vec<u16> {
            [100, 204, 301, 400, 401, 404, 408, 413, 429, 500, 501, 502, 503, 504, 599]
                .into_iter()
                .filter(|s| p.is_retryable(*s, ""))
                .collect()
        };
        assert_eq!(retried(RetryPolicy::Otlp), [429, 502, 503, 504]);
        assert_eq!(retried(RetryPolicy::RemoteWrite { retry_on_429: false }), [500, 501, 502, 503, 504, 599]);
        assert_eq!(retried(RetryPolicy::RemoteWrite { retry_on_429: true }), [429, 500, 501, 502, 503, 504, 599]);
        assert_eq!(retried(RetryPolicy::Loki), [100, 204, 301, 429, 500, 501, 502, 503, 504, 599]);
        assert_eq!(retried(RetryPolicy::Xray), [429, 500, 501, 502, 503, 504, 599]);
        assert!(RetryPolicy::Xray.is_retryable(400, "ThrottlingException: Rate exceeded"));
        assert!(RetryPolicy::Xray.is_retryable(400, "TooManyRequestsException"));
        assert!(!RetryPolicy::Otlp.is_retryable(400, "ThrottlingException"));
    }

    #[test]
    fn configured_headers_replace_the_exporters_defaults() {
        let client = http_client::build(&Default::default()).unwrap();
        let mut configured = http::HeaderMap::new();
        configured.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/x-mine"));
        configured.insert("x-tenant", HeaderValue::from_static("a"));
        let s = HttpSender::new(client, "http://sink:1/v1/logs".parse().unwrap(), configured, 10);
        let req = s.post(&[
            (http::header::CONTENT_TYPE, HeaderValue::from_static("application/x-protobuf")),
            (http::header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
        ]);
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.uri(), "http://sink:1/v1/logs");
        let h = req.headers();
        assert_eq!(h[http::header::USER_AGENT], USER_AGENT);
        assert_eq!(h[http::header::CONTENT_TYPE], "text/x-mine");
        assert_eq!(h[http::header::CONTENT_ENCODING], "gzip");
        assert_eq!(h["x-tenant"], "a");
    }

    #[test]
    fn userinfo_leaves_the_url_and_configured_values_are_sensitive() {
        let client = http_client::build(&Default::default()).unwrap();
        let mut configured = http::HeaderMap::new();
        configured.insert("x-api-key", HeaderValue::from_static("s3cret"));
        let s = HttpSender::new(client, "https://user:s3cret@sink:1/v1/logs".parse().unwrap(), configured, 10);
        assert_eq!(s.url(), "https://sink:1/v1/logs");
        assert_eq!(s.basic_auth.as_ref().unwrap(), "Basic dXNlcjpzM2NyZXQ=");
        let req = s.post(&[]);
        assert_eq!(req.uri(), "https://sink:1/v1/logs");
        assert!(!format!("{req:?}").contains("s3cret"), "{req:?}");
    }

    #[tokio::test]
    async fn body_prefix_and_completeness() {
        let body = |s: &'static str| Full::new(Bytes::from_static(s.as_bytes()));
        assert_eq!(read_prefix(body("hello"), 5).await, (Bytes::from_static(b"hello"), true));
        assert_eq!(read_prefix(body("hello!"), 5).await, (Bytes::from_static(b"hello"), false));
        assert_eq!(read_prefix(body(""), 5).await, (Bytes::new(), true));
    }

    #[test]
    fn snappy_reuses_the_buffer_and_round_trips() {
        let mut out = vec![9; 3];
        snappy(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &mut out).unwrap();
        assert_eq!(snap::raw::Decoder::new().decompress_vec(&out).unwrap(), b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        let (same, enc) = compress("", b"x".to_vec()).unwrap();
        assert_eq!((same, enc), (b"x".to_vec(), None));
    }
}
