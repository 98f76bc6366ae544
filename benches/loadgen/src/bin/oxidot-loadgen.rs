//! Sends realistic OTLP (traces, metrics or logs) over gRPC or HTTP, at a fixed rate or as fast
//! as the collector takes it. Requests are generated and encoded once up front (`--distinct`
//! of them, sent round-robin), so the generator costs little next to the collector it loads.
//! Prints items/s, items acknowledged vs sent and request latency percentiles; `--json` prints
//! the same as one JSON line for scripts.

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use oxidot_bench::gen::{Generator, Kind};
use oxidot_bench::grpc;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Clone)]
#[command(name = "oxidot-loadgen", about = "OTLP load generator")]
struct Args {
    #[arg(long, value_enum, default_value = "traces")]
    signal: Kind,
    /// `grpc` or `http`.
    #[arg(long, default_value = "grpc")]
    protocol: String,
    /// host:port of the collector's OTLP receiver (4317 for gRPC, 4318 for HTTP by default).
    #[arg(long)]
    endpoint: Option<String>,
    /// Items (spans, data points, log records) to send in all; 0 = no limit (use --duration).
    #[arg(long, default_value_t = 100_000)]
    total: u64,
    /// Items per request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Requests in flight at once (each on its own connection).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Items per second over all connections; 0 = as fast as possible.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Stop after this many seconds (0 = when --total is sent).
    #[arg(long, default_value_t = 0)]
    duration: u64,
    /// Resources (services) per request.
    #[arg(long, default_value_t = 2)]
    resources: usize,
    /// Distinct requests generated up front.
    #[arg(long, default_value_t = 64)]
    distinct: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the summary as one JSON line.
    #[arg(long)]
    json: bool,
}

#[derive(Default)]
struct Stats {
    sent: AtomicU64,
    acked: AtomicU64,
    failed_requests: AtomicU64,
}

enum Client {
    Grpc(hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>),
    Http(hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>),
}

fn grpc_path(k: Kind) -> &'static str {
    match k {
        Kind::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Kind::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Kind::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    }
}

fn http_path(k: Kind) -> &'static str {
    match k {
        Kind::Traces => "/v1/traces",
        Kind::Metrics => "/v1/metrics",
        Kind::Logs => "/v1/logs",
    }
}

/// Sends one request; true when the collector accepted it (gRPC status 0 / HTTP 2xx).
async fn send(client: &Client, endpoint: &str, kind: Kind, body: Bytes) -> bool {
    let (uri, ctype) = match client {
        Client::Grpc(_) => (format!("http://{endpoint}{}", grpc_path(kind)), "application/grpc"),
        Client::Http(_) => (format!("http://{endpoint}{}", http_path(kind)), "application/x-protobuf"),
    };
    let mut req = http::Request::post(uri).header(http::header::CONTENT_TYPE, ctype);
    if matches!(client, Client::Grpc(_)) {
        req = req.header("te", "trailers");
    }
    let Ok(req) = req.body(Full::new(body)) else { return false };
    let (Client::Grpc(c) | Client::Http(c)) = client;
    let Ok(resp) = c.request(req).await else { return false };
    let status = resp.status();
    let grpc_status_in_headers = resp.headers().get("grpc-status").map(|v| v.as_bytes() == b"0");
    let Ok(collected) = resp.into_body().collect().await else { return false };
    match client {
        Client::Http(_) => status.is_success(),
        Client::Grpc(_) => {
            let trailer_ok = collected.trailers().and_then(|t| t.get("grpc-status")).map(|v| v.as_bytes() == b"0");
            status.is_success() && trailer_ok.or(grpc_status_in_headers).unwrap_or(false)
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let grpc_mode = match a.protocol.as_str() {
        "grpc" => true,
        "http" => false,
        other => {
            eprintln!("--protocol must be grpc or http, not {other:?}");
            std::process::exit(2);
        }
    };
    let endpoint =
        a.endpoint.clone().unwrap_or_else(|| if grpc_mode { "127.0.0.1:4317" } else { "127.0.0.1:4318" }.into());
    let gen = Generator::new(a.seed);
    let batch = a.batch.max(1);
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        (0..a.distinct.max(1))
            .map(|_| {
                let raw = gen.request(a.signal, batch, a.resources);
                if grpc_mode {
                    grpc::frame(&raw)
                } else {
                    Bytes::from(raw)
                }
            })
            .collect(),
    );
    let stats = Arc::new(Stats::default());
    let total_requests = if a.total == 0 { u64::MAX } else { a.total.div_ceil(batch as u64) };
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = (a.duration > 0).then(|| start + Duration::from_secs(a.duration));
    // Fixed rate: request k is due at start + k × batch / rate, shared by all workers.
    let per_request = (a.rate > 0).then(|| Duration::from_secs_f64(batch as f64 / a.rate as f64));
    let mut workers = Vec::new();
    for _ in 0..a.concurrency.max(1) {
        let (bodies, stats, next, endpoint) = (bodies.clone(), stats.clone(), next.clone(), endpoint.clone());
        let kind = a.signal;
        workers.push(tokio::spawn(async move {
            let mut b = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new());
            b.pool_max_idle_per_host(1);
            if grpc_mode {
                b.http2_only(true);
            }
            let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
            // Without it, small requests wait for the peer's delayed ACK (about 40 ms each).
            connector.set_nodelay(true);
            let conn = b.build(connector);
            let client = if grpc_mode { Client::Grpc(conn) } else { Client::Http(conn) };
            let mut latencies: Vec<u32> = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total_requests || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                if let Some(step) = per_request {
                    let due = start + step.mul_f64(k as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                let body = bodies[(k % bodies.len() as u64) as usize].clone();
                let t = Instant::now();
                let ok = send(&client, &endpoint, kind, body).await;
                latencies.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                stats.sent.fetch_add(batch as u64, Ordering::Relaxed);
                if ok {
                    stats.acked.fetch_add(batch as u64, Ordering::Relaxed);
                } else {
                    stats.failed_requests.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let progress = std::io::stderr().is_terminal().then(|| {
        let stats = stats.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let (s, ack) = (stats.sent.load(Ordering::Relaxed), stats.acked.load(Ordering::Relaxed));
                let secs = start.elapsed().as_secs_f64();
                eprint!("\r{s} sent, {ack} acknowledged, {:.0} items/s   ", ack as f64 / secs);
                let _ = std::io::stderr().flush();
            }
        })
    });
    let mut lat = Vec::new();
    for w in workers {
        if let Ok(l) = w.await {
            lat.extend(l);
        }
    }
    if let Some(p) = progress {
        p.abort();
        eprintln!();
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let (sent, acked) = (stats.sent.load(Ordering::Relaxed), stats.acked.load(Ordering::Relaxed));
    let failed = stats.failed_requests.load(Ordering::Relaxed);
    let (p50, p90, p99, max) =
        (percentile(&lat, 0.5), percentile(&lat, 0.9), percentile(&lat, 0.99), percentile(&lat, 1.0));
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "signal": format!("{:?}", a.signal).to_lowercase(), "protocol": a.protocol, "sent": sent, "acked": acked,
                "failed_requests": failed, "seconds": secs, "items_per_second": acked as f64 / secs,
                "latency_ms": {"p50": p50, "p90": p90, "p99": p99, "max": max},
            })
        );
    } else {
        println!(
            "{sent} {:?} items sent in {secs:.2} s, {acked} acknowledged ({failed} requests failed): {:.0} items/s; latency ms p50 {p50:.2} p90 {p90:.2} p99 {p99:.2} max {max:.2}",
            a.signal,
            acked as f64 / secs
        );
    }
    if acked < sent {
        std::process::exit(1);
    }
}
