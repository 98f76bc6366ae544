//! Bounded memory: decode work is bounded by a byte budget before decoding (issue 16 item 3),
//! and the memory_limiter bounds what the kernel charges, returning memory after a spike
//! (item 4). Peaks are read from the kernel (`VmHWM` of /proc/PID/status), not sampled.

mod support;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message;
use std::time::{Duration, Instant};
use support::*;

const MB: u64 = 1_000_000;

/// `VmHWM` (peak RSS) and `VmRSS` of a process, in bytes.
fn rss(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
            * 1024
    };
    (kb("VmHWM:"), kb("VmRSS:"))
}

/// An OTLP logs request of about `bytes` on the wire, made of tiny attributes (a one-letter key
/// and value: ~10 bytes on the wire, ~12x that once decoded, the worst case for expansion).
fn tiny_attribute_logs(bytes: usize) -> Vec<u8> {
    let kv = |i: u32| KeyValue {
        key: ((b'a' + (i % 26) as u8) as char).to_string(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue("v".into())) }),
        ..Default::default()
    };
    let record = LogRecord { attributes: (0..100).map(kv).collect(), ..Default::default() };
    let per = record.encoded_len() + 3;
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs { log_records: vec![record; bytes / per], ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// Posts `body` to /v1/logs until it is accepted (a 503 is retried after its Retry-After), at
/// most `tries` times; returns how many 503s it got.
fn post_until_accepted(port: u16, body: &[u8], tries: usize) -> usize {
    let hp = format!("127.0.0.1:{port}");
    let mut refused = 0;
    for _ in 0..tries {
        let (code, hdrs, resp) = http_request_within(
            Duration::from_secs(60),
            &hp,
            "POST",
            "/v1/logs",
            &[("Content-Type", "application/x-protobuf")],
            body,
        )
        .unwrap();
        match code {
            200 => return refused,
            503 => {
                assert!(hdrs.iter().any(|(k, _)| k == "retry-after"), "{hdrs:?}");
                refused += 1;
                std::thread::sleep(Duration::from_millis(500));
            }
            c => panic!("unexpected {c}: {}", String::from_utf8_lossy(&resp)),
        }
    }
    panic!("not accepted after {tries} tries");
}

/// Exports `body` over gRPC until it is accepted (UNAVAILABLE is retried), at most `tries`
/// times; returns how many refusals it got.
fn export_until_accepted(port: u16, body: &[u8], tries: usize) -> usize {
    use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
    let req = ExportLogsServiceRequest::decode(body).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut c = LogsServiceClient::connect(format!("http://127.0.0.1:{port}")).await.unwrap();
        let mut refused = 0;
        for _ in 0..tries {
            match c.export(req.clone()).await {
                Ok(_) => return refused,
                Err(s) if s.code() == tonic::Code::Unavailable => {
                    refused += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(s) => panic!("unexpected {s:?}"),
            }
        }
        panic!("not accepted after {tries} tries");
    })
}

#[test]
fn concurrent_large_requests_of_tiny_attributes_stay_within_the_decode_budget() {
    let yaml = r#"
extensions: {health_check: {endpoint: "127.0.0.1:$HEALTH"}}
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:$GRPC", max_recv_msg_size_mib: 8}
      http: {endpoint: "127.0.0.1:$HTTP"}
exporters: {debug: {}}
service:
  extensions: [health_check]
  pipelines: {logs: {receivers: [otlp], exporters: [debug]}}
  telemetry: {metrics: {address: "127.0.0.1:$METRICS"}}
"#;
    // A 32 MiB process-wide decode budget: each request (6 MiB, ~100 MB decoded) is larger than
    // it, so one decodes at a time.
    let ox = Oxidot::start_with(yaml, &[("OXIDOT_DECODE_BUDGET_MIB", "32")]);
    let pid = ox.child.as_ref().unwrap().id();
    let body = tiny_attribute_logs(6 << 20);
    let items = {
        let r = ExportLogsServiceRequest::decode(&body[..]).unwrap();
        r.resource_logs[0].scope_logs[0].log_records.len() as f64
    };
    let (idle, _) = rss(pid);
    let (http, grpc) = (ox.ports.http, ox.ports.grpc);
    let started = Instant::now();
    let refused: usize = std::thread::scope(|s| {
        let mut posts: Vec<_> = (0..4).map(|_| s.spawn(|| post_until_accepted(http, &body, 40))).collect();
        posts.extend((0..2).map(|_| s.spawn(|| export_until_accepted(grpc, &body, 40))));
        posts.into_iter().map(|p| p.join().unwrap()).sum()
    });
    let (peak, now) = rss(pid);
    eprintln!(
        "idle {} MB, peak {} MB, after {} MB, {:?} for 6 x {} MiB (4 HTTP, 2 gRPC), {refused} refusals",
        idle / MB,
        peak / MB,
        now / MB,
        started.elapsed(),
        body.len() >> 20
    );
    // Every request was eventually accepted: nothing lost.
    assert_eq!(ox.metric("otelcol_receiver_accepted_log_records", &[]), 6.0 * items);
    // A refusal before decoding counts the request's items as refused (none are known when an
    // HTTP request is refused before its body is read).
    let refused_items = ox.metric("otelcol_receiver_refused_log_records", &[]);
    assert!(refused_items % items == 0.0 && refused_items <= refused as f64 * items, "{refused_items}");
    if refused > 0 {
        assert!(ox.stderr().contains("Refused a request before decoding it"), "{}", ox.stderr());
    }
    // Before the budget, decodes ran side by side (one per worker thread) and each thread's
    // malloc arena kept what it had freed: peak 273 MB, 241 MB still held afterwards.
    assert!(peak < idle + 170 * MB, "peak RSS {} MB", peak / MB);
    // Large requests give their memory back when done.
    assert!(now < idle + 40 * MB, "RSS after {} MB", now / MB);
}

#[test]
fn memory_limiter_bounds_rss_and_returns_memory_after_the_load() {
    let sink = support::sinks::GrpcSink::start();
    // A slow backend: the exporter's queue grows until the limiter refuses.
    *sink.delay.lock().unwrap() = Duration::from_millis(1000);
    let yaml = TestConfig::new()
        .http()
        .processors("  memory_limiter:\n    check_interval: 50ms\n    limit_mib: 50\n    spike_limit_mib: 10\n")
        .exporters(&format!(
            "  otlp:\n    endpoint: 127.0.0.1:{}\n    tls: {{insecure: true}}\n    compression: none\n    sending_queue: {{num_consumers: 1, queue_size: 1000}}\n",
            sink.port
        ))
        .pipeline("logs", &["memory_limiter"], &["otlp"])
        .build();
    let ox = Oxidot::start(&yaml);
    let pid = ox.child.as_ref().unwrap().id();
    // 256 KiB of tiny attributes, ~4 MB once decoded.
    let body = tiny_attribute_logs(256 << 10);
    let items = ExportLogsServiceRequest::decode(&body[..]).unwrap().resource_logs[0].scope_logs[0].log_records.len();
    let (idle, _) = rss(pid);
    let hp = format!("127.0.0.1:{}", ox.ports.http);
    let until = Instant::now() + Duration::from_secs(4);
    let (accepted, refusals) = std::thread::scope(|s| {
        let senders: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let (mut ok, mut refused) = (0usize, 0usize);
                    while Instant::now() < until {
                        let (code, _, resp) = http_request_within(
                            Duration::from_secs(30),
                            &hp,
                            "POST",
                            "/v1/logs",
                            &[("Content-Type", "application/x-protobuf")],
                            &body,
                        )
                        .unwrap();
                        match code {
                            200 => ok += items,
                            503 => {
                                refused += 1;
                                std::thread::sleep(Duration::from_millis(50));
                            }
                            c => panic!("unexpected {c}: {}", String::from_utf8_lossy(&resp)),
                        }
                    }
                    (ok, refused)
                })
            })
            .collect();
        senders.into_iter().map(|h| h.join().unwrap()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    let (peak, during) = rss(pid);
    // The backend recovers; everything accepted is delivered and memory is given back.
    *sink.delay.lock().unwrap() = Duration::ZERO;
    assert!(eventually(60, || sink.log_records() == accepted), "sink {} of {accepted}", sink.log_records());
    // Below the soft limit (limit - spike = 40 MiB) the limiter has nothing to give back.
    let soft = 40 << 20;
    let mut after = 0;
    eventually(10, || {
        after = rss(pid).1;
        after < soft
    });
    let refused_items = ox.metric("otelcol_receiver_refused_log_records", &[])
        + ox.metric("otelcol_processor_memory_limiter_refused_log_records", &[]);
    eprintln!(
        "idle {} MB, peak {} MB, at the end of the load {} MB, after {} MB; {accepted} accepted, {refusals} refusals, {refused_items} items refused",
        idle / MB,
        peak / MB,
        during / MB,
        after / MB
    );
    assert!(accepted > 0 && refusals > 0, "{accepted} accepted, {refusals} refusals");
    assert!(refused_items > 0.0, "refusals are counted");
    assert_eq!(ox.metric("otelcol_receiver_accepted_log_records", &[]), accepted as f64);
    // The limit (50 MiB = 52 MB) plus 15 MB: the measurement lags by one check_interval.
    assert!(peak < 52 * MB + 15 * MB, "peak RSS {} MB over limit_mib 50", peak / MB);
    // Memory is returned once the queue has drained (before: RSS stayed at the peak).
    assert!(after < soft, "RSS after the load {} MB (idle {} MB)", after / MB, idle / MB);
}
