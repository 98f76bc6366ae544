//! Memory bounded by bytes: the process-wide export budget (`--export-budget-mib`), the batch
//! processor's byte-bounded intake, and `sending_queue.sizer: bytes` as Go's exporterhelper.

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use std::time::Duration;
use support::sinks::GrpcSink;
use support::*;

fn config(sink: u16, processors: &str, queue: &str) -> String {
    format!(
        r#"
extensions:
  health_check:
    endpoint: 127.0.0.1:$HEALTH
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$HTTP
processors:
  batch:
    send_batch_size: 200
    send_batch_max_size: 200
    timeout: 20ms
exporters:
  otlp:
    endpoint: 127.0.0.1:{sink}
    tls: {{ insecure: true }}
    compression: none
    sending_queue: {queue}
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [{processors}]
      exporters: [otlp]
  telemetry:
    metrics:
      address: 127.0.0.1:$METRICS
"#
    )
}

/// `n` spans, each with a `pad`-byte attribute, in one resource: an OTLP request body, which is
/// also the protobuf size the exporters are charged for it.
fn request(n: usize, pad: usize, tag: u32) -> Vec<u8> {
    let attr = KeyValue {
        key: "payload".into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue("p".repeat(pad))) }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (0..n as u32)
                    .map(|i| Span {
                        trace_id: [tag.to_be_bytes(), i.to_be_bytes(), [1; 4], [2; 4]].concat(),
                        span_id: [tag.to_be_bytes(), i.to_be_bytes()].concat(),
                        name: "op".into(),
                        attributes: vec![attr.clone()],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn post(port: u16, body: &[u8]) -> (u16, Vec<(String, String)>) {
    let (c, h, _) = http_request(
        &format!("127.0.0.1:{port}"),
        "POST",
        "/v1/traces",
        &[("Content-Type", "application/x-protobuf")],
        body,
    )
    .unwrap();
    (c, h)
}

#[test]
fn a_slow_backend_keeps_the_held_bytes_within_the_budget_and_loses_nothing() {
    // The sink takes 150 ms per request; with 10 queue consumers and a 1000-request queue,
    // the exporter would take in everything the clients send (~6 MB). The 1 MiB budget holds
    // about five 200-span batches: the batch processor waits for room, the clients are slowed.
    let sink = GrpcSink::start();
    *sink.delay.lock().unwrap() = Duration::from_millis(150);
    let ox = Oxidot::start_args(&config(sink.port, "batch", "{queue_size: 1000}"), &["--export-budget-mib", "1"]);
    let (threads, per_thread, spans, pad) = (4, 15, 100, 1000);
    let port = ox.ports.http;
    let refused: usize = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut refused = 0;
                    for r in 0..per_thread {
                        let body = request(spans, pad, t * 1000 + r);
                        // An SDK's retry: a refused request is sent again (bounded).
                        for attempt in 0.. {
                            assert!(attempt < 100, "refused 100 times");
                            match post(port, &body).0 {
                                200 => break,
                                503 | 429 => {
                                    refused += 1;
                                    std::thread::sleep(Duration::from_millis(100));
                                }
                                c => panic!("unexpected {c}"),
                            }
                        }
                    }
                    refused
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let total = (threads * per_thread) as usize * spans;
    assert!(eventually(30, || sink.spans() == total), "sink has {} of {total}", sink.spans());
    assert!(eventually(10, || ox.metric("otelcol_exporter_sent_spans", &[]) == total as f64));
    let m = ox.metrics();
    let limit = sum_metric(&m, "oxidot_exporter_held_bytes_limit", &[]);
    let peak = sum_metric(&m, "oxidot_exporter_held_bytes_peak", &[]);
    assert_eq!(limit, 1048576.0);
    // One batch: 200 spans from at most three requests (three resource entries).
    let one_batch = (3 * request(spans, pad, 0).len()) as f64;
    assert!(peak <= limit + one_batch, "held {peak} bytes, budget {limit} + one batch {one_batch}");
    // The budget was reached (the backpressure path ran), and everything held was given back.
    assert!(peak >= limit - one_batch, "held at most {peak} bytes: the budget was never reached");
    assert_eq!(sum_metric(&m, "oxidot_exporter_held_bytes", &[]), 0.0);
    assert_eq!(sum_metric(&m, "otelcol_exporter_enqueue_failed_spans", &[]), 0.0);
    assert_eq!(sum_metric(&m, "otelcol_processor_dropped_spans", &[]), 0.0);
    assert_eq!(sum_metric(&m, "otelcol_exporter_send_failed_spans", &[]), 0.0);
    // Refused requests were sent again by the client: counted by the receiver, none lost.
    assert_eq!(sum_metric(&m, "otelcol_receiver_refused_spans", &[]), (refused * spans) as f64);
}

#[test]
fn sizer_bytes_counts_the_protobuf_size_queued_and_in_flight_and_refuses_when_full() {
    // No batch processor: each request is one queued batch of exactly its body's size.
    let sink = GrpcSink::start();
    *sink.delay.lock().unwrap() = Duration::from_millis(1500);
    let body = request(10, 100, 7);
    let len = body.len();
    let cap = 3 * len + len / 2;
    let queue = format!("{{sizer: bytes, queue_size: {cap}, num_consumers: 1}}");
    let ox = Oxidot::start(&config(sink.port, "", &queue));
    let series = [("exporter", "otlp"), ("data_type", "traces")];
    assert_eq!(ox.metric("otelcol_exporter_queue_capacity", &series), cap as f64);
    // Three fit (one being sent counts until it is done, as Go's memory queue); then full.
    for _ in 0..3 {
        assert_eq!(post(ox.ports.http, &body).0, 200);
    }
    assert_eq!(ox.metric("otelcol_exporter_queue_size", &series), (3 * len) as f64);
    for _ in 0..2 {
        let (code, hdrs) = post(ox.ports.http, &body);
        assert_eq!(code, 503);
        assert!(hdrs.iter().any(|(k, _)| k == "retry-after"), "{hdrs:?}");
    }
    assert_eq!(ox.metric("otelcol_exporter_enqueue_failed_spans", &[("exporter", "otlp")]), 20.0);
    assert_eq!(ox.metric("otelcol_receiver_refused_spans", &[]), 20.0);
    assert!(ox.stderr().contains("sending queue is full"), "{}", ox.stderr());
    assert!(eventually(20, || sink.spans() == 30), "sink has {} of 30", sink.spans());
    assert!(eventually(5, || ox.metric("otelcol_exporter_queue_size", &series) == 0.0));
}

#[test]
fn a_bad_export_budget_is_refused_at_start() {
    let (code, _, err) = run_cli(&["--export-budget-mib", "0", "--config", "yaml:receivers: {}"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("--export-budget-mib"), "{err}");
    let (code, _, err) = run_cli(&["--config", "yaml:receivers: {}"], &[("OXIDOT_EXPORT_BUDGET_MIB", "lots")]);
    assert_eq!(code, 1);
    assert!(err.contains("OXIDOT_EXPORT_BUDGET_MIB"), "{err}");
}
