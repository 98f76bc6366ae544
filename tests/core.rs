//! Data from real clients (the Python SDK over gRPC and HTTP, a tonic client, OTLP/JSON) goes
//! through the real binary and arrives intact at an `otlp` and an `otlphttp` exporter's target;
//! the self-metrics count exactly what happened.

mod support;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use support::sinks::{GrpcSink, HttpSink};
use support::*;

fn config(grpc_sink: u16, http_sink: u16) -> String {
    let exporters = ["otlp", "otlphttp/sink"];
    TestConfig::new()
        .http()
        .processors("  batch:\n    timeout: 100ms\n")
        .exporters(&format!(
            r#"  otlp:
    endpoint: 127.0.0.1:{grpc_sink}
    tls:
      insecure: true
    headers:
      x-test-tenant: acme
  otlphttp/sink:
    endpoint: http://127.0.0.1:{http_sink}/otlp
    headers:
      x-test-tenant: acme
"#
        ))
        .pipeline("traces", &["batch"], &exporters)
        .pipeline("metrics", &["batch"], &exporters)
        .pipeline("logs", &["batch"], &exporters)
        .telemetry(
            r#"    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: $METRICS
"#,
        )
        .build()
}

fn http_sink_spans(s: &HttpSink) -> Vec<Span> {
    s.requests()
        .iter()
        .filter(|r| r.path == "/otlp/v1/traces")
        .flat_map(|r| ExportTraceServiceRequest::decode(&r.body[..]).unwrap().resource_spans)
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .collect()
}

#[test]
fn python_sdk_grpc_and_http_reach_both_exporters_and_counts_match() {
    let gs = GrpcSink::start();
    let hs = HttpSink::start();
    let ox = Oxidot::start(&config(gs.port, hs.port));
    let a = run_sdk("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 7, 5, "svc-grpc");
    let b = run_sdk("http", &format!("http://127.0.0.1:{}", ox.ports.http), 4, 3, "svc-http");
    let spans = 11;
    let logs = 8;
    assert!(
        eventually(10, || gs.spans() == spans && gs.log_records() == logs),
        "grpc sink: {} spans, {} logs",
        gs.spans(),
        gs.log_records()
    );
    assert!(eventually(10, || http_sink_spans(&hs).len() == spans));

    // Every trace id the SDK produced arrived, at both targets.
    let mut sent: Vec<String> = a["trace_ids"]
        .as_array()
        .unwrap()
        .iter()
        .chain(b["trace_ids"].as_array().unwrap())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    sent.sort();
    let mut at_http: Vec<String> = http_sink_spans(&hs).iter().map(|s| hex::encode(&s.trace_id)).collect();
    at_http.sort();
    assert_eq!(at_http, sent);
    let g = gs.got.lock().unwrap();
    let mut at_grpc: Vec<String> = g
        .traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| hex::encode(&s.trace_id))
        .collect();
    at_grpc.sort();
    assert_eq!(at_grpc, sent);
    // The service name (resource) arrived unchanged.
    let services: Vec<String> = g
        .traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .filter_map(|r| r.resource.as_ref())
        .flat_map(|r| &r.attributes)
        .filter(|kv| kv.key == "service.name")
        .map(|kv| format!("{:?}", kv.value.as_ref().unwrap().value))
        .collect();
    assert!(
        services.iter().any(|s| s.contains("svc-grpc")) && services.iter().any(|s| s.contains("svc-http")),
        "{services:?}"
    );
    // Configured headers reach the gRPC backend.
    assert!(g.headers.iter().all(|h| h.get("x-test-tenant").map(|v| v.to_str().unwrap()) == Some("acme")));
    drop(g);
    let logs_req = hs.requests().into_iter().find(|r| r.path == "/otlp/v1/logs").unwrap();
    assert_eq!(logs_req.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(logs_req.header("x-test-tenant"), Some("acme"));
    let decoded = ExportLogsServiceRequest::decode(&logs_req.body[..]).unwrap();
    assert!(decoded.resource_logs[0].scope_logs[0].log_records[0].body.is_some());

    // Self-metrics: accepted per transport, sent per exporter, equal to what the sinks hold.
    let accepted_points = ox.metric("otelcol_receiver_accepted_metric_points", &[]);
    assert!(eventually(10, || gs.data_points() as f64 == accepted_points));
    // The sink has the data slightly before the exporter counts it as sent.
    assert!(eventually(10, || {
        let m = ox.metrics();
        sum_metric(&m, "otelcol_exporter_sent_metric_points", &[]) == 2.0 * accepted_points
            && sum_metric(&m, "otelcol_exporter_sent_spans", &[]) == 2.0 * spans as f64
            && sum_metric(&m, "otelcol_exporter_sent_log_records", &[]) == 2.0 * logs as f64
    }));
    let m = ox.metrics();
    assert_eq!(sum_metric(&m, "otelcol_receiver_accepted_spans", &[("receiver", "otlp"), ("transport", "grpc")]), 7.0);
    assert_eq!(sum_metric(&m, "otelcol_receiver_accepted_spans", &[("receiver", "otlp"), ("transport", "http")]), 4.0);
    assert_eq!(sum_metric(&m, "otelcol_receiver_accepted_log_records", &[("transport", "grpc")]), 5.0);
    assert_eq!(sum_metric(&m, "otelcol_receiver_accepted_log_records", &[("transport", "http")]), 3.0);
    assert_eq!(sum_metric(&m, "otelcol_receiver_refused_spans", &[]), 0.0);
    assert_eq!(sum_metric(&m, "otelcol_exporter_sent_spans", &[("exporter", "otlp")]), spans as f64);
    assert_eq!(sum_metric(&m, "otelcol_exporter_sent_spans", &[("exporter", "otlphttp/sink")]), spans as f64);
    assert_eq!(sum_metric(&m, "otelcol_exporter_sent_log_records", &[("exporter", "otlp")]), logs as f64);
    assert_eq!(sum_metric(&m, "otelcol_exporter_sent_metric_points", &[("exporter", "otlp")]), accepted_points);
    assert_eq!(
        sum_metric(&m, "otelcol_exporter_sent_metric_points", &[("exporter", "otlphttp/sink")]),
        accepted_points
    );
    assert!(sum_metric(&m, "otelcol_processor_batch_batch_send_size_count", &[("processor", "batch")]) >= 3.0);
    assert_eq!(
        sum_metric(&m, "otelcol_exporter_queue_capacity", &[("exporter", "otlp"), ("data_type", "traces")]),
        1000.0
    );
    assert!(
        m.keys().any(|k| k.starts_with("otelcol_exporter_sent_spans{exporter=\"otlp\",server_address=\"127.0.0.1\"")),
        "{m:?}"
    );
    for name in [
        "otelcol_process_memory_rss",
        "otelcol_process_uptime",
        "otelcol_process_cpu_seconds",
        "otelcol_process_runtime_heap_alloc_bytes",
        "otelcol_process_runtime_total_alloc_bytes",
        "otelcol_process_runtime_total_sys_memory_bytes",
    ] {
        assert!(m.get(name).is_some_and(|v| *v > 0.0), "{name}: {m:?}");
    }
    // Without the gate receiverhelper.newReceiverMetrics there is no requests metric.
    assert!(!m.keys().any(|k| k.starts_with("otelcol_receiver_requests")), "{m:?}");
    assert!(
        !m.keys().any(|k| k.split('{').next().is_some_and(|n| n.ends_with("_total"))),
        "no _total suffix by default"
    );
}

fn span(name: &str, tid: u8) -> Span {
    Span {
        trace_id: vec![tid; 16],
        span_id: vec![tid; 8],
        name: name.into(),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_500_000_000,
        attributes: vec![KeyValue {
            key: "http.route".into(),
            key_strindex: 0,
            value: Some(AnyValue { value: Some(any_value::Value::StringValue("/items/{id}".into())) }),
        }],
        ..Default::default()
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    key_strindex: 0,
                    value: Some(AnyValue { value: Some(any_value::Value::StringValue("tonic".into())) }),
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tonic_client_data_arrives_byte_identical() {
    let gs = GrpcSink::start();
    let hs = HttpSink::start();
    let ox = Oxidot::start(&config(gs.port, hs.port));
    let req = request(vec![span("a", 1), span("b", 2), span("c", 3)]);
    let mut client = TraceServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc)).await.unwrap();
    let resp = client.export(req.clone()).await.unwrap().into_inner();
    assert_eq!(resp.partial_success, None, "full success leaves partial_success unset");
    assert!(eventually(10, || gs.got.lock().unwrap().traces.len() == 1));
    let got = gs.got.lock().unwrap().traces[0].clone();
    assert_eq!(got.encode_to_vec(), req.encode_to_vec());
    assert!(eventually(10, || !hs.requests().is_empty()));
    assert_eq!(hs.requests()[0].body, req.encode_to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_ids_get_partial_success_and_the_rest_flows() {
    let gs = GrpcSink::start();
    let hs = HttpSink::start();
    let ox = Oxidot::start(&config(gs.port, hs.port));
    let mut bad = span("bad", 9);
    bad.trace_id = vec![1, 2, 3];
    let mut client = TraceServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc)).await.unwrap();
    let resp = client.export(request(vec![span("ok", 1), bad])).await.unwrap().into_inner();
    let ps = resp.partial_success.expect("partial_success");
    assert_eq!(ps.rejected_spans, 1);
    assert!(ps.error_message.contains("trace_id"), "{}", ps.error_message);
    assert!(eventually(10, || gs.spans() == 1));
    assert_eq!(ox.metric("otelcol_receiver_refused_spans", &[("transport", "grpc")]), 1.0);
    assert_eq!(ox.metric("otelcol_receiver_accepted_spans", &[("transport", "grpc")]), 1.0);
}

#[test]
fn otlp_json_over_http_is_decoded_and_answered_in_json() {
    let gs = GrpcSink::start();
    let hs = HttpSink::start();
    let ox = Oxidot::start(&config(gs.port, hs.port));
    let body = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-svc"}}]},
      "scopeLogs":[{"scope":{"name":"s"},"logRecords":[{"timeUnixNano":"1700000000000000000","severityNumber":17,"severityText":"ERROR",
      "body":{"stringValue":"boom"},"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
      "attributes":[{"key":"n","value":{"intValue":"42"}}]}]}]}]}"#;
    let (code, hdrs, resp) = http_request(
        &format!("127.0.0.1:{}", ox.ports.http),
        "POST",
        "/v1/logs",
        &[("Content-Type", "application/json")],
        body,
    )
    .unwrap();
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&resp));
    assert!(hdrs.iter().any(|(k, v)| k == "content-type" && v == "application/json"));
    assert_eq!(String::from_utf8_lossy(&resp), "{}");
    assert!(eventually(10, || gs.log_records() == 1));
    let g = gs.got.lock().unwrap();
    let lr = &g.logs[0].resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(hex::encode(&lr.trace_id), "5b8efff798038103d269b633813fc60c");
    assert_eq!(hex::encode(&lr.span_id), "eee19b7ec3c1b174");
    assert_eq!(lr.severity_number, 17);
    assert_eq!(lr.time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(lr.attributes[0].value.as_ref().unwrap().value, Some(any_value::Value::IntValue(42)));
}

#[test]
fn custom_url_paths_and_gzip_requests() {
    let gs = GrpcSink::start();
    let hs = HttpSink::start();
    let cfg = config(gs.port, hs.port).replace(
        "        endpoint: 127.0.0.1:$HTTP\n",
        "        endpoint: 127.0.0.1:$HTTP\n        traces_url_path: custom/traces\n",
    );
    let ox = Oxidot::start(&cfg);
    let body = request(vec![span("gz", 4)]).encode_to_vec();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut e, &body).unwrap();
    let gz = e.finish().unwrap();
    let hp = format!("127.0.0.1:{}", ox.ports.http);
    let h = [("Content-Type", "application/x-protobuf"), ("Content-Encoding", "gzip")];
    assert_eq!(http_request(&hp, "POST", "/v1/traces", &h, &gz).unwrap().0, 404);
    let (code, _, resp) = http_request(&hp, "POST", "/custom/traces", &h, &gz).unwrap();
    assert_eq!(code, 200);
    assert!(resp.is_empty(), "full success: empty ExportTraceServiceResponse");
    assert!(eventually(10, || gs.spans() == 1));
}
