//! A counting sink on one port, for every protocol oxidot exports with: OTLP over gRPC (h2c) and
//! HTTP (`/v1/traces|metrics|logs`), Prometheus remote write (`/api/v1/write`), Loki push
//! (`/loki/api/v1/push`, protobuf) and the X-Ray API (`/TraceSegments`). Items are counted off
//! the wire without building messages; `GET /counts` returns the counts as JSON.

use bytes::Bytes;
use clap::Parser;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use oxidot_bench::{grpc, scan};
use std::convert::Infallible;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "oxidot-sink",
    about = "Counts the items sent to it over OTLP, remote write, Loki push and the X-Ray API"
)]
struct Args {
    /// Address to listen on (one port serves every protocol; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Refuse everything (HTTP 503, gRPC UNAVAILABLE) for this many seconds after start.
    #[arg(long, default_value_t = 0)]
    refuse_for: u64,
}

#[derive(Default)]
struct Counts {
    spans: AtomicU64,
    data_points: AtomicU64,
    log_records: AtomicU64,
    remote_write_samples: AtomicU64,
    loki_entries: AtomicU64,
    xray_segments: AtomicU64,
    requests: AtomicU64,
    refused: AtomicU64,
    malformed: AtomicU64,
}

impl Counts {
    fn json(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        serde_json::json!({
            "spans": g(&self.spans), "data_points": g(&self.data_points), "log_records": g(&self.log_records),
            "remote_write_samples": g(&self.remote_write_samples), "loki_entries": g(&self.loki_entries),
            "xray_segments": g(&self.xray_segments), "requests": g(&self.requests),
            "refused": g(&self.refused), "malformed": g(&self.malformed),
        })
        .to_string()
    }
}

type Body = BoxBody<Bytes, Infallible>;
/// Counts the items of one request body.
type Scanner = fn(&[u8]) -> Option<u64>;

fn full(status: StatusCode, ctype: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed());
    *r.status_mut() = status;
    if let Ok(v) = ctype.parse() {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

/// A gRPC answer: an empty response message (OK) or none (an error status), then trailers.
fn grpc_response(code: u32) -> Response<Body> {
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", code.into());
    let mut frames: Vec<Result<Frame<Bytes>, Infallible>> = Vec::new();
    if code == 0 {
        frames.push(Ok(Frame::data(grpc::frame(&[]))));
    }
    frames.push(Ok(Frame::trailers(trailers)));
    let mut r = Response::new(StreamBody::new(futures::stream::iter(frames)).boxed());
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/grpc"));
    r
}

fn inflate(body: &[u8], encoding: Option<&str>) -> Option<Vec<u8>> {
    match encoding {
        None | Some("identity") => Some(body.to_vec()),
        Some("gzip") => {
            let mut v = Vec::new();
            flate2::read::GzDecoder::new(body).read_to_end(&mut v).ok()?;
            Some(v)
        }
        Some("zstd") => zstd::stream::decode_all(body).ok(),
        Some("snappy") => snap::raw::Decoder::new().decompress_vec(body).ok(),
        _ => None,
    }
}

async fn handle(
    req: Request<Incoming>,
    counts: Arc<Counts>,
    refuse_until: Instant,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    if req.method() == http::Method::GET && path == "/counts" {
        return Ok(full(StatusCode::OK, "application/json", counts.json()));
    }
    let is_grpc =
        req.headers().get(http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (grpc_enc, content_enc) = (header("grpc-encoding"), header("content-encoding"));
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(full(StatusCode::BAD_REQUEST, "text/plain", "body")),
    };
    counts.requests.fetch_add(1, Ordering::Relaxed);
    if Instant::now() < refuse_until {
        counts.refused.fetch_add(1, Ordering::Relaxed);
        return Ok(if is_grpc {
            grpc_response(14)
        } else {
            full(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "refusing")
        });
    }
    let malformed = |counts: &Counts, grpc: bool| {
        counts.malformed.fetch_add(1, Ordering::Relaxed);
        if grpc {
            grpc_response(3)
        } else {
            full(StatusCode::BAD_REQUEST, "text/plain", "malformed")
        }
    };
    if is_grpc {
        let Some(msgs) = grpc::messages(&body, grpc_enc.as_deref()) else { return Ok(malformed(&counts, true)) };
        let (counter, count): (&AtomicU64, Scanner) = match path.as_str() {
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export" => (&counts.spans, scan::spans),
            "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export" => {
                (&counts.data_points, scan::data_points)
            }
            "/opentelemetry.proto.collector.logs.v1.LogsService/Export" => (&counts.log_records, scan::log_records),
            _ => return Ok(grpc_response(12)),
        };
        for m in msgs {
            match count(&m) {
                Some(n) => counter.fetch_add(n, Ordering::Relaxed),
                None => return Ok(malformed(&counts, true)),
            };
        }
        return Ok(grpc_response(0));
    }
    // rotel 0.0.1a15's X-Ray exporter says `Content-Encoding: gzip` and sends plain JSON: a
    // body that does not inflate but is JSON is taken as it is.
    let raw = match inflate(&body, content_enc.as_deref()) {
        Some(raw) => raw,
        None if path == "/TraceSegments" && body.starts_with(b"{") => body.to_vec(),
        None => return Ok(malformed(&counts, false)),
    };
    let ok = |counter: &AtomicU64, n: Option<u64>, status: StatusCode, ctype: &str, body: &'static str| match n {
        Some(n) => {
            counter.fetch_add(n, Ordering::Relaxed);
            full(status, ctype, body)
        }
        None => malformed(&counts, false),
    };
    let snappy = || snap::raw::Decoder::new().decompress_vec(&raw).ok();
    Ok(match path.as_str() {
        "/v1/traces" => ok(&counts.spans, scan::spans(&raw), StatusCode::OK, "application/x-protobuf", ""),
        "/v1/metrics" => ok(&counts.data_points, scan::data_points(&raw), StatusCode::OK, "application/x-protobuf", ""),
        "/v1/logs" => ok(&counts.log_records, scan::log_records(&raw), StatusCode::OK, "application/x-protobuf", ""),
        // Remote write and Loki push bodies are snappy block-compressed without a Content-Encoding
        // that says so in every client; accept both.
        "/api/v1/write" => {
            let n = if content_enc.as_deref() == Some("snappy") { Some(raw.clone()) } else { snappy() };
            ok(
                &counts.remote_write_samples,
                n.as_deref().and_then(scan::remote_write_samples),
                StatusCode::NO_CONTENT,
                "text/plain",
                "",
            )
        }
        "/loki/api/v1/push" => {
            let n = snappy().or(Some(raw.clone()));
            ok(
                &counts.loki_entries,
                n.as_deref().and_then(scan::loki_entries),
                StatusCode::NO_CONTENT,
                "text/plain",
                "",
            )
        }
        "/TraceSegments" => {
            let n = serde_json::from_slice::<serde_json::Value>(&raw)
                .ok()
                .and_then(|v| v.get("TraceSegmentDocuments").and_then(|d| d.as_array()).map(|a| a.len() as u64));
            ok(&counts.xray_segments, n, StatusCode::OK, "application/json", r#"{"UnprocessedTraceSegments":[]}"#)
        }
        _ => full(StatusCode::NOT_FOUND, "text/plain", "unknown path"),
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    // The first line on stdout is the address: scripts read it to learn the port.
    println!("{}", listener.local_addr()?);
    let counts = Arc::new(Counts::default());
    let refuse_until = Instant::now() + Duration::from_secs(args.refuse_for);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let counts = counts.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(req, counts.clone(), refuse_until));
            let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}
