//! The binary's own telemetry as the collector prints it: JSON log lines with zap's keys and the
//! component attributes, the `otelcol_process_runtime_*` metrics, and the receiver's
//! refused/failed/requests metrics gated by `receiverhelper.newReceiverMetrics`.

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use support::sinks::GrpcSink;
use support::*;

/// One traces pipeline to `exporter` (YAML of the `otlp` exporter's settings).
fn config(exporter: &str, logs: &str) -> String {
    TestConfig::new()
        .exporters(&format!("  otlp:\n{exporter}\n"))
        .pipeline("traces", &[], &["otlp"])
        .telemetry(&format!(
            r#"    logs:
{logs}
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: $METRICS
"#
        ))
        .build()
}

fn request(n: u8) -> ExportTraceServiceRequest {
    let spans = (1..=n)
        .map(|i| Span { trace_id: vec![i; 16], span_id: vec![i; 8], name: format!("s{i}"), ..Default::default() })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn scrape(ox: &Oxidot) -> String {
    let (code, body) = http_get(&format!("127.0.0.1:{}", ox.ports.metrics), "/metrics").unwrap();
    assert_eq!(code, 200);
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_runtime_metrics_and_no_requests_metric_without_the_gate() {
    let sink = GrpcSink::start();
    let exporter = format!("    endpoint: 127.0.0.1:{}\n    tls: {{insecure: true}}", sink.port);
    let logs = "      encoding: json\n      initial_fields: {team: obs}";
    let mut ox = Oxidot::start(&config(&exporter, logs));

    // A real log line: the receiver's start, in the collector's JSON shape.
    let err = ox.stderr();
    let line = err
        .lines()
        .find(|l| l.contains("\"otelcol.component.kind\":\"receiver\""))
        .unwrap_or_else(|| panic!("no receiver log line:\n{err}"));
    let re = regex::Regex::new(
        r#"^\{"level":"info","ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d{4})","caller":"[^"]+\.rs:\d+","msg":"[^"]+","team":"obs","resource":\{"#,
    )
    .unwrap();
    assert!(re.is_match(line), "{line}");
    let j: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(j["otelcol.component.id"], "otlp", "{line}");
    assert_eq!(j["resource"]["service.name"], "oxidot", "{line}");
    assert_eq!(j["resource"]["service.instance.id"].as_str().unwrap().len(), 36, "{line}");
    // Every line is JSON with the four zap keys.
    for l in err.lines() {
        let j: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        for k in ["level", "ts", "caller", "msg"] {
            assert!(j.get(k).is_some(), "{k} missing: {l}");
        }
    }
    // target_info and the logs carry the same instance id.
    let body = scrape(&ox);
    let id = j["resource"]["service.instance.id"].as_str().unwrap();
    assert!(body.contains(&format!("service_instance_id=\"{id}\"")), "{body}");

    // Runtime metrics, typed and described as the collector's, with plausible values.
    for (name, typ) in [
        ("otelcol_process_runtime_heap_alloc_bytes", "gauge"),
        ("otelcol_process_runtime_total_alloc_bytes", "counter"),
        ("otelcol_process_runtime_total_sys_memory_bytes", "gauge"),
    ] {
        assert!(body.contains(&format!("# TYPE {name} {typ}\n{name} ")), "{name}:\n{body}");
        assert!(body.contains(&format!("# HELP {name} ")) && body.contains("runtime.MemStats"), "{body}");
    }
    let m = parse_metrics(&body);
    let heap = m["otelcol_process_runtime_heap_alloc_bytes"];
    let total = m["otelcol_process_runtime_total_alloc_bytes"];
    let sys = m["otelcol_process_runtime_total_sys_memory_bytes"];
    let rss = m["otelcol_process_memory_rss"];
    assert!(heap > 64.0 * 1024.0 && heap < 1024.0 * 1024.0 * 1024.0, "heap {heap}");
    assert!(total >= heap, "total {total} < heap {heap}");
    // RssAnon is part of RSS (read a moment apart, hence the slack).
    assert!(sys > 1024.0 * 1024.0 && sys <= rss * 1.5, "sys {sys} rss {rss}");

    // A good request: accepted, refused and failed all show (0 for the latter two); no requests
    // metric without the gate.
    let mut client = TraceServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc)).await.unwrap();
    client.export(request(3)).await.unwrap();
    assert!(eventually(10, || sink.spans() == 3));
    let m = ox.metrics();
    assert_eq!(m["otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"grpc\"}"], 3.0, "{m:?}");
    assert_eq!(m["otelcol_receiver_refused_spans{receiver=\"otlp\",transport=\"grpc\"}"], 0.0, "{m:?}");
    assert_eq!(m["otelcol_receiver_failed_spans{receiver=\"otlp\",transport=\"grpc\"}"], 0.0, "{m:?}");
    assert!(!m.keys().any(|k| k.starts_with("otelcol_receiver_requests")), "{m:?}");
    // The cumulative counter moved with the traffic.
    assert!(m["otelcol_process_runtime_total_alloc_bytes"] > total);

    // Lifecycle lines worded as the collector's: otlpreceiver/otlp.go "Starting GRPC server"
    // with the bound `endpoint` (no other field), addresses printed as text (never `Some(..)`),
    // and otelcol/collector.go "Received signal from OS" with the signal's name.
    assert_eq!(ox.stop().code(), Some(0));
    let err = ox.stderr();
    let by_msg = |msg: &str| -> serde_json::Value {
        let l = err
            .lines()
            .find(|l| l.contains(&format!("\"msg\":\"{msg}\"")))
            .unwrap_or_else(|| panic!("no {msg:?}:\n{err}"));
        serde_json::from_str(l).unwrap()
    };
    let grpc = by_msg("Starting GRPC server");
    assert_eq!(grpc["endpoint"], format!("127.0.0.1:{}", ox.ports.grpc), "{grpc}");
    assert!(grpc.get("protocol").is_none(), "{grpc}");
    assert_eq!(by_msg("Serving self-metrics at /metrics")["endpoint"], format!("127.0.0.1:{}", ox.ports.metrics));
    assert_eq!(by_msg("Received signal from OS")["signal"], "terminated");
    // service.go Start: "Starting <command>..." with Version and NumCPU.
    let starting = by_msg("Starting oxidot...");
    assert_eq!(starting["Version"], env!("CARGO_PKG_VERSION"), "{starting}");
    assert!(starting["NumCPU"].as_u64().is_some_and(|n| n >= 1), "{starting}");
    assert!(!err.contains("Some("), "{err}");
}

/// An exporter that fails synchronously: nothing listens, no queue, no retry.
fn failing_exporter() -> String {
    let dead = free_port();
    format!(
        "    endpoint: 127.0.0.1:{dead}\n    tls: {{insecure: true}}\n    sending_queue: {{enabled: false}}\n    retry_on_failure: {{enabled: false}}\n    timeout: 2s"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_off_pipeline_errors_are_refused() {
    let ox = Oxidot::start(&config(&failing_exporter(), "      level: info"));
    let mut client = TraceServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc)).await.unwrap();
    assert!(client.export(request(2)).await.is_err());
    let m = ox.metrics();
    assert_eq!(sum_metric(&m, "otelcol_receiver_refused_spans", &[]), 2.0, "{m:?}");
    assert_eq!(sum_metric(&m, "otelcol_receiver_failed_spans", &[]), 0.0, "{m:?}");
    assert_eq!(sum_metric(&m, "otelcol_receiver_accepted_spans", &[]), 0.0, "{m:?}");
    assert!(!m.keys().any(|k| k.starts_with("otelcol_receiver_requests")), "{m:?}");
    // Console encoding: `<ts>\t<level>\t<caller>\t<msg>\t{json}`.
    let err = ox.stderr();
    let line = err.lines().find(|l| l.contains("\"otelcol.component.kind\": \"receiver\"")).unwrap();
    let parts: Vec<&str> = line.splitn(5, '\t').collect();
    assert_eq!(parts.len(), 5, "{line}");
    assert_eq!(parts[1], "info", "{line}");
    assert!(parts[4].starts_with("{\"resource\": {\"service.instance.id\": "), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_on_prints_requests_by_outcome_and_pipeline_errors_are_failed() {
    // Without the collector's pipeline instrumentation gate (which oxidot does not have) no
    // error is marked downstream: the collector then counts every pipeline error as failed.
    let ox = Oxidot::start_args(
        &config(&failing_exporter(), "      level: info"),
        &["--feature-gates=receiverhelper.newReceiverMetrics"],
    );
    let mut client = TraceServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc)).await.unwrap();
    assert!(client.export(request(2)).await.is_err());
    let m = ox.metrics();
    let k = |outcome: &str| {
        format!("otelcol_receiver_requests{{receiver=\"otlp\",transport=\"grpc\",outcome=\"{outcome}\"}}")
    };
    assert_eq!(m.get(&k("failure")), Some(&1.0), "{m:?}");
    assert_eq!(m.get(&k("success")), None, "{m:?}");
    assert_eq!(sum_metric(&m, "otelcol_receiver_failed_spans", &[]), 2.0, "{m:?}");
    assert_eq!(sum_metric(&m, "otelcol_receiver_refused_spans", &[]), 0.0, "{m:?}");
    let body = scrape(&ox);
    assert!(body.contains("# HELP otelcol_receiver_requests The number of requests performed. [Alpha]\n# TYPE otelcol_receiver_requests counter\n"), "{body}");
}
