//! OTLP/HTTP: POST `/v1/{traces,metrics,logs}`, protobuf or JSON, compressed or not.

use super::decode::{self, DecodeError, Encoding};
use super::signal::{self, OtlpSignal};
use super::{Entries, Entry};
use crate::component::{ComponentId, Signal};
use crate::memory::budget::{DecodeBudget, Reservation, JSON_EXPANSION, PROTOBUF_EXPANSION};
use crate::pipeline::consumer::ConsumeError;
use crate::telemetry::logging::RateLimit;
use crate::wire::grpc_status::{code, rpc_status};
use crate::wire::status::{self, WireError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{header, Method, Request, Response, StatusCode};
use prost::Message;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Shared state of one HTTP listener.
pub struct HttpState {
    pub id: ComponentId,
    pub entries: Entries,
    pub paths: Vec<(String, Signal)>,
    pub max_body: u64,
    /// Bytes being decoded at once (shared with the receiver's gRPC listener).
    pub budget: Arc<DecodeBudget>,
    pub encodings: Vec<String>,
    pub log_bad: RateLimit,
}

#[derive(Clone)]
pub struct HttpService(pub Arc<HttpState>);

impl hyper::service::Service<Request<Incoming>> for HttpService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let st = Arc::clone(&self.0);
        Box::pin(async move { Ok(handle(st, req).await) })
    }
}

fn text(status: u16, body: &str) -> Response<Full<Bytes>> {
    crate::telemetry::server::response(status, "text/plain; charset=utf-8", body.to_string())
}

/// The path with a leading `/` (the collector adds one when the config omits it).
pub fn normalize_path(p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

async fn handle(st: Arc<HttpState>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let Some(signal) = st.paths.iter().find(|(p, _)| p == path).map(|(_, s)| *s) else {
        return text(404, "404 page not found");
    };
    let Some(entry) = st.entries.get(signal).cloned() else {
        // The signal has no pipeline behind this receiver.
        return text(404, "404 page not found");
    };
    if req.method() != Method::POST {
        let mut r = text(405, "405 method not allowed, supported: [POST]");
        r.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return r;
    }
    let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = ctype.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let enc = match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        _ => {
            st.log_bad_request(signal, &format!("unsupported content type {ctype:?}"));
            return text(415, "415 unsupported media type, supported: [application/json, application/x-protobuf]");
        }
    };
    let content_encoding =
        req.headers().get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let mut reservation = st.budget.reserve();
    let result = read_and_decode(&st, req, signal, enc, &content_encoding, &mut reservation).await;
    let mut batch = match result {
        Ok(b) => b,
        Err(ReadError::Refused(e, items)) => {
            entry.refused_before_decode(&st.budget, &st.id, "http", items, &e);
            return error_response(enc, &status::from_consume_error(&e));
        }
        Err(ReadError::Bad(e)) => {
            st.log_bad_request(signal, &e.to_string());
            let http = match e {
                DecodeError::TooLarge(_) => 413,
                _ => 400,
            };
            let grpc = match e {
                DecodeError::TooLarge(_) => code::RESOURCE_EXHAUSTED,
                _ => code::INVALID_ARGUMENT,
            };
            return error_response(
                enc,
                &WireError { http_status: http, grpc_code: grpc, message: e.to_string(), retry_after: None },
            );
        }
    };
    let rejected = decode::reject_invalid(&mut batch);
    if let Some((n, _)) = &rejected {
        entry.telemetry.refused.add(*n);
    }
    let delivered = deliver(&entry, batch).await;
    // The pipeline has the data now (queued or refused): its decode budget is free again.
    drop(reservation);
    match delivered {
        Ok(()) => match signal {
            Signal::Traces => ok_response::<signal::Traces>(enc, rejected),
            Signal::Metrics => ok_response::<signal::Metrics>(enc, rejected),
            Signal::Logs => ok_response::<signal::Logs>(enc, rejected),
        },
        Err(w) => error_response(enc, &w),
    }
}

async fn deliver(entry: &Entry, batch: crate::pipeline::data::Batch) -> Result<(), WireError> {
    entry.deliver(batch).await.map_err(|e| status::from_consume_error(&e))
}

/// Why a request was not decoded.
enum ReadError {
    Bad(DecodeError),
    /// Refused for memory before decoding: the error and the request's items (0 when unknown).
    Refused(ConsumeError, u64),
}

impl From<DecodeError> for ReadError {
    fn from(e: DecodeError) -> Self {
        ReadError::Bad(e)
    }
}

/// Reads, decompresses and decodes the body within the decode budget: the body's size is
/// reserved before it is read (when `Content-Length` says it), the estimated decoded size
/// before decoding; `reservation` keeps it until the caller has delivered the data.
async fn read_and_decode(
    st: &HttpState,
    req: Request<Incoming>,
    signal: Signal,
    enc: Encoding,
    content_encoding: &str,
    reservation: &mut Reservation,
) -> Result<crate::pipeline::data::Batch, ReadError> {
    let ce = content_encoding.trim().to_ascii_lowercase();
    if !ce.is_empty() && ce != "identity" && !st.encodings.contains(&ce) {
        return Err(DecodeError::UnsupportedEncoding(ce).into());
    }
    let expansion = match enc {
        Encoding::Protobuf => PROTOBUF_EXPANSION,
        Encoding::Json => JSON_EXPANSION,
    };
    let limit = st.max_body;
    if let Some(len) =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit {
            return Err(DecodeError::TooLarge(limit).into());
        }
        // The body is reserved before it is read; its decoded size once it can be counted (a
        // request refused here has no known items).
        st.budget.grow_to(reservation, len, false).await.map_err(|e| ReadError::Refused(e, 0))?;
    }
    let body = Limited::new(req.into_body(), usize::try_from(limit).unwrap_or(usize::MAX));
    let raw = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                return Err(DecodeError::TooLarge(limit).into());
            }
            return Err(DecodeError::Malformed(format!("failed to read the request body: {e}")).into());
        }
    };
    let raw_len = if ce.is_empty() || ce == "identity" { 0 } else { raw.len() as u64 };
    let plain = decode::decompress(&ce, raw, limit)?;
    let need = (plain.len() as u64).saturating_mul(1 + expansion).saturating_add(raw_len);
    if let Err(e) = st.budget.grow_to(reservation, need, true).await {
        let items = match enc {
            Encoding::Protobuf => decode::count_items(signal, &plain),
            Encoding::Json => 0,
        };
        return Err(ReadError::Refused(e, items));
    }
    Ok(decode::decode_request(signal, enc, &plain)?)
}

impl HttpState {
    fn log_bad_request(&self, signal: Signal, why: &str) {
        if self.log_bad.allow(10) {
            tracing::warn!(receiver = %self.id, transport = "http", data_type = %signal, error = why, "Refused a malformed request");
        }
    }
}

fn ok_response<S: OtlpSignal>(enc: Encoding, rejected: Option<(u64, String)>) -> Response<Full<Bytes>> {
    let resp = S::response(rejected);
    match enc {
        Encoding::Protobuf => crate::telemetry::server::response(200, "application/x-protobuf", resp.encode_to_vec()),
        Encoding::Json => {
            // Full success leaves partialSuccess out entirely (not `null`).
            let mut v = serde_json::to_value(&resp).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.retain(|_, x| !x.is_null());
            }
            let body = serde_json::to_vec(&v).unwrap_or_else(|_| b"{}".to_vec());
            crate::telemetry::server::response(200, "application/json", body)
        }
    }
}

/// A `google.rpc.Status` body in the request's encoding, with `Retry-After` when retryable.
pub fn error_response(enc: Encoding, w: &WireError) -> Response<Full<Bytes>> {
    let st = rpc_status(w.grpc_code, &w.message, None);
    let mut r = match enc {
        Encoding::Protobuf => {
            crate::telemetry::server::response(w.http_status, "application/x-protobuf", st.encode_to_vec())
        }
        Encoding::Json => crate::telemetry::server::response(
            w.http_status,
            "application/json",
            serde_json::to_vec(&st).unwrap_or_default(),
        ),
    };
    if let Some(d) = w.retry_after {
        let secs = d.as_secs().max(1).to_string();
        if let Ok(v) = header::HeaderValue::from_str(&secs) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    let _ = StatusCode::OK;
    r
}
