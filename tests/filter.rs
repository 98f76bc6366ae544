//! The `filter` processor through the real binary: the OpenTelemetry Python SDK sends spans,
//! metrics and logs over OTLP, the filter drops what its include/exclude rules select, an OTLP
//! sink counts what passed, and the self-metrics count what was dropped.

mod support;

use support::config::TestConfig;
use support::sinks::GrpcSink;
use support::*;

fn config(sink: u16, processors: &str) -> String {
    TestConfig::new()
        .processors(processors)
        .exporters(&format!("  otlp:\n    endpoint: 127.0.0.1:{sink}\n    tls:\n      insecure: true\n"))
        .pipeline("traces", &["filter/spans"], &["otlp"])
        .pipeline("metrics", &["filter/metrics"], &["otlp"])
        .pipeline("logs", &["filter/logs"], &["otlp"])
        .build()
}

#[test]
fn sdk_data_is_filtered_with_exact_counts_and_self_metrics() {
    let sink = GrpcSink::start();
    let processors = concat!(
        "  filter/spans:\n    error_mode: ignore\n    spans:\n      exclude:\n        match_type: regexp\n",
        "        span_names: ['^span-[0-4]$']\n",
        "  filter/metrics:\n    metrics:\n      include:\n        match_type: strict\n",
        "        metric_names: [http_request_count]\n",
        "  filter/logs:\n    logs:\n      exclude:\n        match_type: regexp\n        bodies: ['record [0-2]$']\n",
        "        severity_number: {min: WARN}\n",
    );
    let o = Oxidot::start(&config(sink.port, processors));
    // 10 spans (span-0 … span-9), 6 error logs, 3 counter series + 1 gauge point.
    let sent = run_sdk("grpc", &format!("http://127.0.0.1:{}", o.ports.grpc), 10, 6, "filter-test");
    assert_eq!((sent["spans"].as_u64(), sent["logs"].as_u64(), sent["points"].as_u64()), (Some(10), Some(6), Some(4)));
    // The SDK's metric reader exports on force_flush and again at shutdown: k exports of the
    // 3 counter points and the gauge point; the filter keeps the counter's.
    assert!(
        eventually(20, || sink.spans() == 5 && sink.log_records() == 3 && sink.data_points() >= 3),
        "spans {} logs {} points {}\n{}",
        sink.spans(),
        sink.log_records(),
        sink.data_points(),
        o.stderr()
    );
    // What passed is what the rules keep.
    let g = sink.got.lock().unwrap();
    let mut names: Vec<String> = g
        .traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["span-5", "span-6", "span-7", "span-8", "span-9"]);
    let metrics: Vec<String> = g
        .metrics
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.name.clone())
        .collect();
    assert!(metrics.iter().all(|m| m == "http_request_count"), "{metrics:?}");
    drop(g);
    // otelcol_processor_filter_<x>_filtered{filter=<id>} and the processorhelper counters.
    let m = o.metrics();
    let get = |n: &str, l: &[(&str, &str)]| sum_metric(&m, n, l);
    assert_eq!(get("otelcol_processor_filter_spans_filtered", &[("filter", "filter/spans")]), 5.0, "{m:?}");
    assert_eq!(get("otelcol_processor_filter_logs_filtered", &[("filter", "filter/logs")]), 3.0);
    let k = get("otelcol_processor_filter_datapoints_filtered", &[("filter", "filter/metrics")]);
    assert!(k >= 1.0 && sink.data_points() as f64 == 3.0 * k, "{k} {}", sink.data_points());
    let io = |n: &str, p: &str, s: &str| get(n, &[("processor", p), ("otel_signal", s)]);
    assert_eq!(io("otelcol_processor_incoming_items", "filter/spans", "traces"), 10.0);
    assert_eq!(io("otelcol_processor_outgoing_items", "filter/spans", "traces"), 5.0);
    assert_eq!(io("otelcol_processor_incoming_items", "filter/logs", "logs"), 6.0);
    assert_eq!(io("otelcol_processor_outgoing_items", "filter/logs", "logs"), 3.0);
    assert_eq!(io("otelcol_processor_incoming_items", "filter/metrics", "metrics"), 4.0 * k);
    assert_eq!(io("otelcol_processor_outgoing_items", "filter/metrics", "metrics"), 3.0 * k);
    assert_eq!(get("otelcol_exporter_sent_spans", &[("exporter", "otlp")]), 5.0);
}

#[test]
fn a_batch_filtered_to_nothing_is_not_sent_on() {
    let sink = GrpcSink::start();
    let processors = concat!(
        "  filter/spans:\n    spans:\n      include:\n        match_type: strict\n        services: [someone-else]\n",
        "  filter/metrics:\n    metrics:\n      exclude:\n        match_type: regexp\n        metric_names: ['.*']\n",
        "  filter/logs:\n    logs:\n      include:\n        severity_number: {min: FATAL}\n",
    );
    let o = Oxidot::start(&config(sink.port, processors));
    run_sdk("grpc", &format!("http://127.0.0.1:{}", o.ports.grpc), 4, 2, "filter-test");
    assert!(
        eventually(20, || o.metric("otelcol_processor_filter_spans_filtered", &[]) == 4.0
            && o.metric("otelcol_processor_filter_logs_filtered", &[]) == 2.0),
        "{}",
        o.stderr()
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let g = sink.got.lock().unwrap();
    assert!(g.traces.is_empty() && g.logs.is_empty() && g.metrics.is_empty(), "the sink got requests");
    drop(g);
    assert_eq!(o.metric("otelcol_processor_outgoing_items", &[("processor", "filter/spans")]), 0.0);
    assert_eq!(o.metric("otelcol_exporter_sent_spans", &[]), 0.0);
}

#[test]
fn the_adot_amp_filter_runs_unchanged_and_ottl_is_a_clear_error() {
    // processors.filter of ADOT's ecs-amp*.yaml, as shipped.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/adot-configs");
    for name in ["ecs-amp.yaml", "ecs-amp-xray.yaml", "ecs-amp-prometheus.yaml", "ecs-amp-xray-prometheus.yaml"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        let filter = serde_yaml_ng::to_string(&doc["processors"]["filter"]).unwrap();
        let block: String = filter.lines().map(|l| format!("    {l}\n")).collect();
        let yaml = TestConfig::new()
            .processors(&format!("  filter:\n{block}"))
            .exporters("  debug:\n")
            .pipeline("metrics", &["filter"], &["debug"])
            .build();
        let ports = Ports::new();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.yaml");
        std::fs::write(&p, ports.fill(&yaml)).unwrap();
        let (code, _, err) = run_cli(&["validate", "--config", p.to_str().unwrap()], &[]);
        assert_eq!(code, 0, "{name}: {err}\n{yaml}");
    }
    let ports = Ports::new();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("c.yaml");
    let yaml = TestConfig::new()
        .processors("  filter:\n    traces:\n      span:\n        - 'attributes[\"k\"] == \"v\"'\n")
        .exporters("  debug:\n")
        .pipeline("traces", &["filter"], &["debug"])
        .build();
    std::fs::write(&p, ports.fill(&yaml)).unwrap();
    let (code, _, err) = run_cli(&["validate", "--config", p.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("processors::filter::traces::span: OTTL conditions are not supported yet"), "{err}");
}
