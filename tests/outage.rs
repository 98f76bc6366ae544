//! Fault injection with exact counts (issue 16): each exporter's backend is down for 30 s (its
//! port refuses connections), items are sent at a steady rate during the outage, then the real
//! backend (or wire-exact stand-in) starts on that port; every item must arrive exactly once,
//! in order where the exporter keeps order (one queue consumer; remote write always), and
//! oxidot must count no failed send. The five cases run concurrently in one test (threads), so
//! the file takes about as long as one outage whatever the test thread count.

mod support;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use std::time::{Duration, Instant};
use support::metrics::{gauge, kv, request};
use support::moto::Moto;
use support::prometheus::{value, Prometheus};
use support::sinks::{GrpcSink, HttpSink, LokiSink};
use support::*;

/// How long each backend is down, counted from just before oxidot starts.
const OUTAGE: Duration = Duration::from_secs(30);
/// Requests sent during the outage, one every `GAP`, each of `PER_REQUEST` items.
const REQUESTS: usize = 80;
const GAP: Duration = Duration::from_millis(250);
const PER_REQUEST: usize = 5;
const TOTAL: usize = REQUESTS * PER_REQUEST;
/// How long delivery may take once the backend is back (moto and Prometheus start slowly).
const DELIVERY: u64 = 60;

/// Retries that outlast the outage, with waits short enough to deliver soon after it.
const RETRY: &str =
    "    retry_on_failure:\n      initial_interval: 100ms\n      max_interval: 1s\n      max_elapsed_time: 120s\n";

fn config(exporter: &str, block: &str, signal: &str) -> String {
    TestConfig::new().exporters(&format!("  {exporter}:\n{block}{RETRY}")).pipeline(signal, &[], &[exporter]).build()
}

/// A client runtime for one case's thread.
fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Sends `REQUESTS` requests at a steady rate (bounded loop), then waits for the outage to end.
/// Every request must be accepted: the items are queued while the backend is down.
fn send_during_outage(t0: Instant, mut send: impl FnMut(usize) -> Result<(), String>) -> Result<(), String> {
    for seq in 0..REQUESTS {
        send(seq).map_err(|e| format!("request {seq} refused during the outage: {e}"))?;
        std::thread::sleep(GAP);
    }
    if t0.elapsed() >= OUTAGE {
        return Err(format!("sending took longer than the outage ({:?})", t0.elapsed()));
    }
    std::thread::sleep(OUTAGE - t0.elapsed());
    Ok(())
}

/// Nothing was sent while the backend was down; afterwards `delivered()` reaches exactly `TOTAL`
/// and oxidot counts `TOTAL` sent and nothing failed.
fn check_counts(
    ox: &Oxidot,
    exporter: &str,
    item: &str,
    sent_during_outage: f64,
    delivered: impl Fn() -> usize,
) -> Result<(), String> {
    let l = [("exporter", exporter)];
    let sent = format!("otelcol_exporter_sent_{item}");
    let failed = format!("otelcol_exporter_send_failed_{item}");
    if sent_during_outage != 0.0 {
        return Err(format!("{exporter}: {sent_during_outage} items sent while the backend was down"));
    }
    let ok = eventually(DELIVERY, || delivered() >= TOTAL && ox.metric(&sent, &l) >= TOTAL as f64);
    // A late duplicate would arrive after the count is reached: give it a moment.
    std::thread::sleep(Duration::from_millis(500));
    let (got, n_sent, n_failed) = (delivered(), ox.metric(&sent, &l), ox.metric(&failed, &l));
    if !ok || got != TOTAL || n_sent != TOTAL as f64 || n_failed != 0.0 {
        return Err(format!(
            "{exporter}: delivered {got} of {TOTAL}, oxidot counts {n_sent} sent and {n_failed} failed\n{}",
            ox.stderr()
        ));
    }
    Ok(())
}

/// `names` must be exactly `prefix0`, `prefix1`, … in this order.
fn in_order(what: &str, names: &[String], prefix: &str) -> Result<(), String> {
    let want: Vec<String> = (0..TOTAL).map(|i| format!("{prefix}{i}")).collect();
    if names != want {
        let first = names.iter().zip(&want).position(|(a, b)| a != b);
        return Err(format!("{what}: not every item exactly once in order (first difference at {first:?})"));
    }
    Ok(())
}

fn spans(seq: usize, epoch: u32) -> ExportTraceServiceRequest {
    let now = now_ns();
    // X-Ray needs the trace id to start with a recent epoch; five traces in turn.
    let mut tid = [9u8; 16];
    tid[..4].copy_from_slice(&epoch.to_be_bytes());
    tid[15] = (seq % 5) as u8;
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![kv("service.name", "outage")], ..Default::default() }),
            scope_spans: vec![ScopeSpans {
                spans: (0..PER_REQUEST)
                    .map(|i| {
                        let n = seq * PER_REQUEST + i;
                        Span {
                            trace_id: tid.to_vec(),
                            span_id: (n as u64 + 1).to_be_bytes().to_vec(),
                            name: format!("s{n}"),
                            kind: 2,
                            start_time_unix_nano: now - 1_000_000,
                            end_time_unix_nano: now,
                            ..Default::default()
                        }
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs(seq: usize) -> ExportLogsServiceRequest {
    let now = now_ns();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: vec![kv("service.name", "outage")], ..Default::default() }),
            scope_logs: vec![ScopeLogs {
                log_records: (0..PER_REQUEST)
                    .map(|i| LogRecord {
                        time_unix_nano: now + i as u64,
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(format!("l{}", seq * PER_REQUEST + i))),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn epoch() -> u32 {
    (now_ns() / 1_000_000_000) as u32
}

fn otlp_grpc() -> Result<(), String> {
    let port = free_port();
    let t0 = Instant::now();
    let block = format!(
        "    endpoint: 127.0.0.1:{port}\n    tls:\n      insecure: true\n    sending_queue:\n      num_consumers: 1\n"
    );
    let ox = Oxidot::start(&config("otlp", &block, "traces"));
    let rt = rt();
    let mut c = rt.block_on(TraceServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc))).unwrap();
    let e = epoch();
    send_during_outage(t0, |seq| rt.block_on(c.export(spans(seq, e))).map(drop).map_err(|s| s.to_string()))?;
    let during = ox.metric("otelcol_exporter_sent_spans", &[]);
    let sink = GrpcSink::start_on(port);
    check_counts(&ox, "otlp", "spans", during, || sink.spans())?;
    let got = sink.got.lock().unwrap();
    let names: Vec<String> = got
        .traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.clone())
        .collect();
    in_order("otlp", &names, "s")
}

fn otlp_http() -> Result<(), String> {
    let port = free_port();
    let t0 = Instant::now();
    let block = format!("    endpoint: http://127.0.0.1:{port}\n    sending_queue:\n      num_consumers: 1\n");
    let ox = Oxidot::start(&config("otlphttp", &block, "logs"));
    let rt = rt();
    let mut c = rt.block_on(LogsServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc))).unwrap();
    send_during_outage(t0, |seq| rt.block_on(c.export(logs(seq))).map(drop).map_err(|s| s.to_string()))?;
    let during = ox.metric("otelcol_exporter_sent_log_records", &[]);
    let sink = HttpSink::start_on(port);
    let bodies = || -> Vec<String> {
        sink.requests()
            .iter()
            .filter_map(|r| ExportLogsServiceRequest::decode(&r.body[..]).ok())
            .flat_map(|r| r.resource_logs)
            .flat_map(|r| r.scope_logs)
            .flat_map(|s| s.log_records)
            .filter_map(|l| match l.body.and_then(|b| b.value) {
                Some(any_value::Value::StringValue(s)) => Some(s),
                _ => None,
            })
            .collect()
    };
    check_counts(&ox, "otlphttp", "log_records", during, || bodies().len())?;
    in_order("otlphttp", &bodies(), "l")
}

fn remote_write() -> Result<(), String> {
    let port = free_port();
    let t0 = Instant::now();
    // exporter.go: `timeout` bounds the whole batch with its retries (exporterhelper's
    // timeout around PushMetrics), so it must outlast the outage too.
    let block = format!("    endpoint: http://127.0.0.1:{port}/api/v1/write\n    timeout: 90s\n");
    let ox = Oxidot::start(&config("prometheusremotewrite", &block, "metrics"));
    let rt = rt();
    let mut c = rt.block_on(MetricsServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc))).unwrap();
    send_during_outage(t0, |seq| {
        // PER_REQUEST series, one sample each per request, timestamps rising with `seq`.
        let t = now_ns();
        let ms = (0..PER_REQUEST)
            .map(|k| gauge("outage.gauge", "", seq as f64, t, vec![kv("series", &k.to_string())]))
            .collect();
        rt.block_on(c.export(request(ms))).map(drop).map_err(|s| s.to_string())
    })?;
    let during = ox.metric("otelcol_exporter_sent_metric_points", &[]);
    let prom = Prometheus::start_on(port, false);
    // Samples per series in Prometheus: one rejected as out of order is missing here.
    let stored =
        || -> usize { prom.query("count_over_time(outage_gauge[30m])").iter().map(|r| value(r) as usize).sum() };
    check_counts(&ox, "prometheusremotewrite", "metric_points", during, stored)?;
    let per_series = prom.query("count_over_time(outage_gauge[30m])");
    if per_series.len() != PER_REQUEST || per_series.iter().any(|r| value(r) != REQUESTS as f64) {
        return Err(format!("remote write: samples per series {per_series:?}"));
    }
    // The last value of each series is the last request's: nothing older landed after it.
    let last = prom.query("outage_gauge");
    if last.len() != PER_REQUEST || last.iter().any(|r| value(r) != (REQUESTS - 1) as f64) {
        return Err(format!("remote write: last values {last:?}"));
    }
    Ok(())
}

fn loki() -> Result<(), String> {
    let port = free_port();
    let t0 = Instant::now();
    let block =
        format!("    endpoint: http://127.0.0.1:{port}/loki/api/v1/push\n    sending_queue:\n      num_consumers: 1\n");
    let ox = Oxidot::start(&config("loki", &block, "logs"));
    let rt = rt();
    let mut c = rt.block_on(LogsServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc))).unwrap();
    send_during_outage(t0, |seq| rt.block_on(c.export(logs(seq))).map(drop).map_err(|s| s.to_string()))?;
    let during = ox.metric("otelcol_exporter_sent_log_records", &[]);
    let sink = LokiSink::start_on(port);
    check_counts(&ox, "loki", "log_records", during, || sink.entries().len())?;
    let rejected = sink.rejected.lock().unwrap().clone();
    if !rejected.is_empty() {
        return Err(format!("loki rejected: {rejected:?}"));
    }
    // The line is Go's json body ({"body":"l7",...}): take the sequence name out of it.
    let names: Vec<String> = sink
        .entries()
        .iter()
        .map(|(_, line)| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            v["body"].as_str().unwrap_or(line).to_string()
        })
        .collect();
    in_order("loki", &names, "l")
}

fn xray() -> Result<(), String> {
    let port = free_port();
    let t0 = Instant::now();
    let block = format!("    endpoint: http://127.0.0.1:{port}\n    region: us-east-1\n");
    let keys = [("AWS_ACCESS_KEY_ID", "AKIDOUTAGE"), ("AWS_SECRET_ACCESS_KEY", "outage-secret")];
    let ox = Oxidot::start_with(&config("awsxray", &block, "traces"), &keys);
    let rt = rt();
    let mut c = rt.block_on(TraceServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc))).unwrap();
    let e = epoch();
    send_during_outage(t0, |seq| rt.block_on(c.export(spans(seq, e))).map(drop).map_err(|s| s.to_string()))?;
    let during = ox.metric("otelcol_exporter_sent_spans", &[]);
    let moto = Moto::start_on(port);
    let ids: Vec<String> = (0..5u8).map(|k| format!("1-{e:08x}-{}{k:02x}", "09".repeat(11))).collect();
    // Read back from moto (boto3's BatchGetTraces): every segment exactly once.
    check_counts(&ox, "awsxray", "spans", during, || moto.segments("us-east-1", &ids).len())?;
    let segs = moto.segments("us-east-1", &ids);
    let mut got: Vec<u64> =
        segs.iter().filter_map(|s| u64::from_str_radix(s["id"].as_str().unwrap_or(""), 16).ok()).collect();
    got.sort_unstable();
    if got != (1..=TOTAL as u64).collect::<Vec<_>>() {
        return Err(format!("x-ray: {} segments read back from moto, want ids 1..={TOTAL}", got.len()));
    }
    Ok(())
}

/// One outage case: Ok, or what went wrong.
type Case = fn() -> Result<(), String>;

#[test]
fn every_exporter_delivers_everything_after_a_30s_backend_outage() {
    let cases: [(&str, Case); 5] = [
        ("otlp", otlp_grpc),
        ("otlphttp", otlp_http),
        ("prometheusremotewrite", remote_write),
        ("loki", loki),
        ("awsxray", xray),
    ];
    let failures: Vec<String> = std::thread::scope(|s| {
        let running: Vec<_> = cases.iter().map(|(name, f)| (name, s.spawn(f))).collect();
        running
            .into_iter()
            .filter_map(|(name, h)| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("{name}: {e}")),
                Err(_) => Some(format!("{name}: panicked")),
            })
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
