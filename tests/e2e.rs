//! The observability loop end to end on loopback: the demo API (OpenTelemetry Rust SDK) → oxidot
//! running config/local.yaml, the compose stack's own config (only the endpoints' environment
//! variables point at local peers) → a real Prometheus, moto's X-Ray API and a stand-in for Loki
//! 3's native OTLP endpoint that stores what Loki stores (tests/support/loki_otlp.rs). The /crash
//! error log arrives in Loki with structured metadata `trace_id`; Grafana's derived field (read
//! from deploy/grafana/provisioning) finds it, and it is a faulted trace with the exception in
//! X-Ray; the dashboards' Loki queries select that log and group by a level Loki has; the request
//! counter is in Prometheus under the dashboard's names; every metric the dashboards query was
//! produced.

mod support;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use support::loki_otlp::{self, LokiOtlp, StoredEntry};
use support::moto::Moto;
use support::prometheus::{value, Prometheus};
use support::sinks::Answer;
use support::*;

struct Demo(Child);
impl Drop for Demo {
    fn drop(&mut self) {
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

/// The demo API binary beside this test's own (`<target dir>/debug/deps/e2e-…` → `<target
/// dir>/debug/demo-api`), so a CARGO_TARGET_DIR elsewhere works too.
fn demo_bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().and_then(|deps| deps.parent()).unwrap().join("demo-api");
    assert!(
        p.exists(),
        "{p:?} missing: build the demo API first: cargo build --workspace --all-targets (scripts/test.sh does)"
    );
    p
}

/// Metric names a PromQL expression reads (functions, keywords, label matchers and numbers removed).
fn metric_names(expr: &str) -> Vec<String> {
    const NOT_METRICS: &[&str] = &[
        "sum",
        "max",
        "min",
        "avg",
        "rate",
        "irate",
        "increase",
        "by",
        "without",
        "histogram_quantile",
        "count",
        "le",
    ];
    let mut s = String::new();
    let mut depth = 0;
    for c in expr.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ if depth > 0 => {}
            c => s.push(c),
        }
    }
    // Drop `by (...)` groupings and `[5m]` ranges.
    let s = regex_lite(&s);
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| !t.is_empty() && t.starts_with(|c: char| c.is_ascii_alphabetic()) && !NOT_METRICS.contains(t))
        .map(str::to_string)
        .collect()
}

fn regex_lite(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("by (") {
        out.push_str(&rest[..i]);
        rest = rest[i..].split_once(')').map(|(_, r)| r).unwrap_or("");
    }
    out.push_str(rest);
    let mut o2 = String::new();
    let mut skip = false;
    for c in out.chars() {
        match c {
            '[' => skip = true,
            ']' => skip = false,
            _ if skip => {}
            c => o2.push(c),
        }
    }
    o2
}

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The value Grafana's Loki data source derives for `field` (a provisioned `derivedFields` item)
/// from one entry: with `matcherType: label`, the value of the first label or structured-metadata
/// name the regex matches (Grafana's getDerivedFields); otherwise the regex's first group in the
/// line.
fn derived_field_value(field: &serde_yaml_ng::Value, e: &StoredEntry) -> Option<String> {
    let re = regex::Regex::new(field["matcherRegex"].as_str().unwrap()).unwrap();
    if field["matcherType"].as_str() == Some("label") {
        e.all_labels().into_iter().find(|(k, _)| re.is_match(k)).map(|(_, v)| v)
    } else {
        re.captures(&e.line).map(|c| c[1].to_string())
    }
}

/// (dashboard uid, panel title, expression) of every panel target on a data source type.
fn dashboard_targets(ds_type: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root().join("deploy/grafana/dashboards")).unwrap() {
        let d: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap();
        for p in d["panels"].as_array().unwrap() {
            if p["datasource"]["type"] != ds_type {
                continue;
            }
            for t in p["targets"].as_array().unwrap() {
                let (uid, title) = (d["uid"].as_str().unwrap(), p["title"].as_str().unwrap_or(""));
                out.push((uid.to_string(), title.to_string(), t["expr"].as_str().unwrap().to_string()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_from_error_log_to_trace_and_metrics_in_prometheus() {
    let prom = Prometheus::start(true);
    let moto = Moto::start();
    let loki = LokiOtlp::start();
    let overrides = [
        "yaml:receivers::otlp::protocols::grpc::endpoint: 127.0.0.1:$GRPC",
        "yaml:receivers::otlp::protocols::http::endpoint: 127.0.0.1:$HTTP",
        "yaml:extensions::health_check::endpoint: 127.0.0.1:$HEALTH",
        "yaml:service::telemetry::metrics::readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1, port: $METRICS}}}}]",
        "yaml:processors::batch::timeout: 200ms",
    ];
    // The exporters stay as compose runs them (otlphttp/loki to Loki's /otlp): only the
    // endpoint variables differ, as docker-compose.yml's would.
    let local: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(root().join("config/local.yaml")).unwrap()).unwrap();
    assert_eq!(local["service"]["pipelines"]["logs"]["exporters"][0].as_str(), Some("otlphttp/loki"));
    assert_eq!(
        local["exporters"]["otlphttp/loki"]["endpoint"].as_str(),
        Some("${env:LOKI_OTLP_ENDPOINT:-http://loki:3100/otlp}")
    );
    let compose: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(root().join("docker-compose.yml")).unwrap()).unwrap();
    assert!(compose["services"]["collector"]["environment"].get("LOKI_OTLP_ENDPOINT").is_none());
    assert!(compose["services"]["loki"]["image"].as_str().unwrap().starts_with("grafana/loki:3."));
    let mut uris = vec!["config/local.yaml".to_string()];
    uris.extend(overrides.iter().map(|s| s.to_string()));
    let ox = Oxidot::start_uris(
        &uris,
        &[
            ("PROMETHEUS_REMOTE_WRITE_URL", &prom.write_url()),
            ("LOKI_OTLP_ENDPOINT", &loki.endpoint()),
            ("XRAY_ENDPOINT", &moto.url()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
    );
    let api_port = free_port();
    let api = Demo(
        Command::new(demo_bin())
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{}", ox.ports.grpc))
            .env("OTEL_SERVICE_NAME", "enterprise-api")
            .env("OTEL_RESOURCE_ATTRIBUTES", "service.name=enterprise-api,environment=dev")
            .env("LISTEN_ADDR", format!("127.0.0.1:{api_port}"))
            .env("METRIC_EXPORT_INTERVAL_MS", "1000")
            .env("OTEL_BSP_SCHEDULE_DELAY", "200")
            .env("OTEL_BLRP_SCHEDULE_DELAY", "200")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let hp = format!("127.0.0.1:{api_port}");
    assert!(eventually(20, || http_get(&hp, "/health").map(|r| r.0).ok() == Some(200)));
    assert_eq!(http_get(&hp, "/health").unwrap().1, r#"{"status":"ok"}"#);
    for _ in 0..3 {
        assert_eq!(http_get(&hp, "/items").unwrap().0, 200);
    }
    assert_eq!(http_get(&hp, "/items/5").unwrap().0, 200);
    assert_eq!(http_get(&hp, "/items/150").unwrap().0, 404);
    assert_eq!(http_get(&hp, "/crash").unwrap().0, 500);

    // Metrics: the counter under the dashboard's name.
    let r = prom.wait_for(r#"http_request_count_total{endpoint="/items",method="GET",job="enterprise-api"}"#, 30);
    assert!(!r.is_empty(), "{}", ox.stderr());
    assert!(
        eventually(20, || prom.query(r#"http_request_count_total{endpoint="/items"}"#).first().map(value) == Some(3.0))
    );
    assert!(!prom.wait_for("active_simulated_users", 20).is_empty());

    // Logs: the crash's error log as Loki stores it: the body as the line, the service as a
    // stream label, the trace id and severity as structured metadata.
    let crash: StoredEntry = {
        let mut found = None;
        eventually(30, || {
            found = loki.entries().into_iter().find(|e| e.line.contains("Unhandled exception"));
            found.is_some()
        });
        found.unwrap_or_else(|| panic!("no crash log in Loki: {:?}\n{}", loki.entries(), ox.stderr()))
    };
    assert!(crash.line.starts_with("Unhandled exception: RuntimeError"), "{crash:?}");
    assert_eq!(crash.labels.get("service_name").map(String::as_str), Some("enterprise-api"), "{crash:?}");
    assert_eq!(crash.metadata("severity_text"), Some("ERROR"), "{crash:?}");
    assert_eq!(crash.metadata("detected_level"), Some("error"), "{crash:?}");
    assert_eq!(crash.metadata("exception_type"), Some("RuntimeError"), "{crash:?}");
    let trace = crash.metadata("trace_id").expect("trace_id in structured metadata").to_string();
    assert_eq!(trace.len(), 32);
    assert!(loki.rejected.lock().unwrap().is_empty(), "{:?}", loki.rejected.lock().unwrap());

    // Grafana's derived field, as provisioned, turns that entry into the trace id.
    let ds: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(root().join("deploy/grafana/provisioning/datasources/datasources.yaml")).unwrap(),
    )
    .unwrap();
    let lds = ds["datasources"].as_sequence().unwrap().iter().find(|d| d["type"] == "loki").unwrap();
    let field = &lds["jsonData"]["derivedFields"][0];
    let linked = derived_field_value(field, &crash).expect("the derived field matches nothing in the crash log");
    assert_eq!(linked, trace);
    assert_eq!(field["datasourceUid"].as_str(), Some("xray"));
    assert_eq!(field["url"].as_str(), Some("$${__value.raw}"));

    // The dashboards' Loki queries: the error-log panel selects the crash log, and the level
    // panel has an `error` series.
    let entries = loki.entries();
    let mut loki_targets = 0;
    for (uid, title, expr) in dashboard_targets("loki") {
        loki_targets += 1;
        if expr.starts_with('{') {
            let got = loki_otlp::select(&entries, &expr);
            assert!(got.iter().any(|e| e.line == crash.line), "{uid} {title:?}: {expr} misses the crash log");
            assert!(
                got.iter().all(|e| derived_field_value(field, e).is_some()),
                "{uid} {title:?}: an entry without a trace link"
            );
        } else {
            let groups = loki_otlp::metric_groups(&entries, &expr);
            assert!(
                groups.keys().any(|k| k.iter().any(|(_, v)| v == "error")),
                "{uid} {title:?}: {expr} has no error series: {groups:?}"
            );
        }
    }
    assert_eq!(loki_targets, 2);

    // Traces: the linked trace id is a faulted trace in X-Ray, with the exception.
    let xid = format!("1-{}-{}", &linked[..8], &linked[8..]);
    let mut segs = Vec::new();
    eventually(30, || {
        segs = moto.segments("us-east-1", std::slice::from_ref(&xid));
        !segs.is_empty()
    });
    let seg =
        segs.iter().find(|s| s["name"] == "enterprise-api").unwrap_or_else(|| panic!("{segs:?}\n{}", ox.stderr()));
    assert_eq!(seg["fault"], true);
    assert_eq!(seg["cause"]["exceptions"][0]["type"], "RuntimeError");
    assert_eq!(seg["http"]["response"]["status"], 500);
    println!("\n== The loop, end to end ==");
    println!(
        "Prometheus  http_request_count_total{{endpoint=\"/items\"}} = {}",
        value(&prom.query(r#"http_request_count_total{endpoint="/items"}"#)[0])
    );
    println!(
        "Loki        {:?} {:?} trace_id={trace} detected_level={}",
        crash.labels,
        crash.line,
        crash.metadata("detected_level").unwrap()
    );
    println!("X-Ray       trace {xid}: fault={} cause={}", seg["fault"], seg["cause"]["exceptions"][0]);

    // Failures, so the dashboard's failure panels have series: a refused Loki push (the
    // background task logs every 5 s) and a sample Prometheus refuses. X-Ray has no such answer
    // here: as in Go, a span the translator cannot take is skipped, unprocessed segments are only
    // logged, and moto answers every well-formed call; tests/xray.rs covers the failure paths.
    loki.script.lock().unwrap().push_back(Answer {
        status: 400,
        headers: vec![],
        body: b"entry too far behind".to_vec(),
    });
    let mut mc = MetricsServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc)).await.unwrap();
    mc.export(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                // A sample from 1970 is "out of bounds" for Prometheus: HTTP 400, a permanent
                // send failure. (A delta sum would not do: as in Go it is a failed translation,
                // not a failed send.)
                metrics: vec![Metric {
                    name: "too_old".into(),
                    data: Some(Data::Sum(Sum {
                        aggregation_temporality: 2,
                        is_monotonic: true,
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: 1_000_000_000,
                            value: Some(number_data_point::Value::AsInt(1)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
    .await
    .unwrap();
    let failed = |n: &str| ox.metric(n, &[]);
    assert!(
        eventually(20, || {
            failed("otelcol_exporter_send_failed_metric_points") >= 1.0
                && failed("otelcol_exporter_send_failed_log_records") >= 1.0
        }),
        "points {} records {}\n{}",
        failed("otelcol_exporter_send_failed_metric_points"),
        failed("otelcol_exporter_send_failed_log_records"),
        ox.stderr()
    );

    // Every metric the dashboards query was produced: by the app (in Prometheus) or by oxidot.
    let (_, names) = http_get(&format!("127.0.0.1:{}", prom.port), "/api/v1/label/__name__/values").unwrap();
    let names: serde_json::Value = serde_json::from_str(&names).unwrap();
    let mut produced: BTreeSet<String> =
        names["data"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    produced.extend(ox.metrics().keys().map(|k| k.split('{').next().unwrap().to_string()));
    // The span failure counter appears only after a failure (as in Go), which this loop cannot
    // provoke (see above): it must at least be the name oxidot records.
    produced.insert(oxidot::telemetry::names::EXPORTER_SEND_FAILED.traces.to_string());
    let mut checked = 0;
    for (uid, title, expr) in dashboard_targets("prometheus") {
        for m in metric_names(&expr) {
            assert!(
                produced.contains(&m),
                "dashboard {uid} panel {title:?} queries {m}, which the run did not produce"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
    drop(api);
}

/// The Loki stand-in's mapping, on a request built by hand: what Loki 3's OTLP endpoint would store.
#[test]
fn the_loki_stand_in_stores_what_loki_3_stores() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value::Value as V, AnyValue, InstrumentationScope, KeyValue};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    let kv = |k: &str, v: V| KeyValue { key: k.into(), value: Some(AnyValue { value: Some(v) }), ..Default::default() };
    let s = |x: &str| V::StringValue(x.into());
    let record = LogRecord {
        time_unix_nano: 1_700_000_000_000_000_000,
        observed_time_unix_nano: 1_700_000_000_000_000_001,
        severity_number: 17,
        severity_text: "ERROR".into(),
        body: Some(AnyValue { value: Some(s("boom")) }),
        attributes: vec![kv("http.status-code", V::IntValue(500))],
        flags: 1,
        trace_id: vec![0xab; 16],
        span_id: vec![0xcd; 8],
        ..Default::default()
    };
    let req = |attrs: Vec<KeyValue>| ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: attrs, ..Default::default() }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope { name: "demo".into(), version: "1.0".into(), ..Default::default() }),
                log_records: vec![record.clone()],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let nested =
        V::KvlistValue(opentelemetry_proto::tonic::common::v1::KeyValueList { values: vec![kv("b", V::IntValue(1))] });
    let e = &loki_otlp::to_entries(&req(vec![
        kv("service.name", s("enterprise-api")),
        kv("deployment.environment", s("dev")),
        kv("host.name", s("h1")),
        kv("a", nested),
    ]))[0];
    let labels: Vec<(&str, &str)> = e.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(labels, [("deployment_environment", "dev"), ("service_name", "enterprise-api")]);
    assert_eq!(e.line, "boom");
    assert_eq!(e.ts_ns, 1_700_000_000_000_000_000);
    let sm: Vec<(&str, &str)> = e.structured_metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        sm,
        [
            ("http_status_code", "500"),
            ("observed_timestamp", "1700000000000000001"),
            ("severity_number", "17"),
            ("severity_text", "ERROR"),
            ("flags", "1"),
            ("trace_id", "abababababababababababababababab"),
            ("span_id", "cdcdcdcdcdcdcdcd"),
            ("host_name", "h1"),
            ("a_b", "1"),
            ("scope_name", "demo"),
            ("scope_version", "1.0"),
            ("detected_level", "error"),
        ]
    );
    // Without service.name Loki still gives the stream a service_name.
    let e = &loki_otlp::to_entries(&req(vec![kv("host.name", s("h1"))]))[0];
    assert_eq!(e.labels.get("service_name").map(String::as_str), Some("unknown_service"));
    // The LogQL subset the dashboards use.
    let entries = vec![e.clone()];
    assert_eq!(loki_otlp::select(&entries, r#"{service_name="unknown_service"} | detected_level="error""#).len(), 1);
    assert_eq!(loki_otlp::select(&entries, r#"{service_name=~"unknown.*"} |= "boom" != "bam""#).len(), 1);
    assert!(loki_otlp::select(&entries, r#"{service_name="unknown_service"} | severity_text="INFO""#).is_empty());
    let g = loki_otlp::metric_groups(
        &entries,
        r#"sum by (detected_level) (count_over_time({service_name="unknown_service"}[1m]))"#,
    );
    assert_eq!(g.into_iter().collect::<Vec<_>>(), [(vec![("detected_level".to_string(), "error".to_string())], 1)]);
}
