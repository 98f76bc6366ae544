//! The loki exporter into a Loki push server built from push.proto, with logs from the Python SDK.

mod support;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use support::sinks::{parse_labels, Answer, LokiSink};
use support::*;

fn config(loki: &str, extra: &str) -> String {
    TestConfig::new()
        .processors("  batch:\n    timeout: 100ms\n")
        .exporters(&format!(
            "  loki:\n    endpoint: {loki}\n    retry_on_failure:\n      initial_interval: 100ms\n      max_interval: 300ms\n{extra}\n  debug:\n"
        ))
        .pipeline("logs", &["batch"], &["loki"])
        .pipeline("traces", &[], &["debug"])
        .pipeline("metrics", &[], &["debug"])
        .build()
}

fn labels(s: &str) -> std::collections::BTreeMap<String, String> {
    parse_labels(s).unwrap().into_iter().collect()
}

#[test]
fn sdk_logs_reach_loki_with_job_level_and_the_trace_id_in_the_line() {
    let loki = LokiSink::start();
    let ox = Oxidot::start(&config(&loki.url(), ""));
    let out =
        run_sdk_with("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 1, 3, "enterprise-api", &["--crash"]);
    let crash = out["crash_trace_id"].as_str().unwrap().to_string();
    assert!(eventually(10, || loki.entries().len() == 4), "{:?}\n{}", loki.entries(), ox.stderr());
    assert!(loki.rejected.lock().unwrap().is_empty(), "{:?}", loki.rejected.lock().unwrap());
    for (l, line) in loki.entries() {
        let l = labels(&l);
        assert_eq!(l["job"], "oxidot-tests/enterprise-api");
        assert_eq!(l["exporter"], "OTLP");
        // Go's level label: the severity number's name, upper case (not the severity text).
        assert_eq!(l["level"], "ERROR");
        let j: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(j["severity"], "ERROR");
        assert_eq!(j["resources"]["service.name"], "enterprise-api");
        // LogQL `{job="oxidot-tests/enterprise-api"} |= "ERROR"` selects it.
        assert!(line.contains("ERROR"));
    }
    let crash_line = loki
        .entries()
        .into_iter()
        .map(|(_, l)| l)
        .find(|l| l.contains("request failed"))
        .expect("the log written in the crash span");
    let j: serde_json::Value = serde_json::from_str(&crash_line).unwrap();
    assert_eq!(j["traceid"], crash.as_str());
    assert!(
        crash_line.contains(&format!("\"traceid\":\"{crash}\"")),
        "Grafana's derived field regex matches: {crash_line}"
    );
    assert!(eventually(5, || ox.metric("otelcol_exporter_sent_log_records", &[("exporter", "loki")]) == 4.0));
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        key_strindex: 0,
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
    }
}

fn resource_logs(res: Vec<KeyValue>, attrs: Vec<KeyValue>, body: &str) -> ResourceLogs {
    ResourceLogs {
        resource: Some(Resource { attributes: res, ..Default::default() }),
        scope_logs: vec![ScopeLogs {
            log_records: vec![LogRecord {
                time_unix_nano: now_ns(),
                severity_number: 9,
                severity_text: "INFO".into(),
                body: Some(AnyValue { value: Some(any_value::Value::StringValue(body.into())) }),
                attributes: attrs,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_hints_tenants_and_default_label_switches() {
    let loki = LokiSink::start();
    *loki.require_tenant.lock().unwrap() = true;
    let ox = Oxidot::start(&config(
        &loki.url(),
        "    headers:\n      X-Scope-OrgID: team-a\n    default_labels_enabled:\n      exporter: false\n      level: false\n",
    ));
    let req = ExportLogsServiceRequest {
        resource_logs: vec![
            resource_logs(
                vec![
                    kv("service.name", "svc"),
                    kv("deployment.environment", "dev"),
                    kv("loki.resource.labels", "deployment.environment"),
                ],
                vec![kv("http.route", "/items"), kv("loki.attribute.labels", "http.route"), kv("user", "u1")],
                "hinted",
            ),
            resource_logs(
                vec![kv("service.name", "other"), kv("tenant.id", "acme"), kv("loki.tenant", "tenant.id")],
                vec![],
                "for acme",
            ),
            // The resource's loki.format wins over the record's (Go getFormatFromFormatHint).
            resource_logs(
                vec![kv("service.name", "fmt"), kv("loki.format", "logfmt")],
                vec![kv("loki.format", "json"), kv("k", "v w")],
                r#"msg="a b" n=1"#,
            ),
        ],
    };
    let mut c = LogsServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc)).await.unwrap();
    c.export(req).await.unwrap();
    assert!(eventually(10, || loki.entries().len() == 3), "{:?} {}", loki.rejected.lock().unwrap(), ox.stderr());
    let got = loki.got.lock().unwrap().clone();
    let by_tenant = |t: &str| got.iter().find(|(x, _)| x.as_deref() == Some(t)).map(|(_, pr)| pr.clone()).unwrap();
    let a = by_tenant("team-a");
    let want: std::collections::BTreeMap<String, String> =
        [("deployment_environment", "dev"), ("http_route", "/items"), ("job", "svc")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let stream = |job: &str| a.streams.iter().find(|s| labels(&s.labels)["job"] == job).unwrap().clone();
    let hinted = stream("svc");
    assert_eq!(labels(&hinted.labels), want);
    // Go's json line byte for byte (encoding/json of its lokiEntry): labels and hints leave it.
    assert_eq!(
        hinted.entries[0].line,
        r#"{"body":"hinted","severity":"INFO","attributes":{"user":"u1"},"resources":{"service.name":"svc"}}"#
    );
    // go-logfmt: the string body parsed as logfmt, then severity, attributes, resources.
    assert_eq!(
        stream("fmt").entries[0].line,
        r#"msg="a b" n=1 severity=INFO attribute_k="v w" resource_service.name=fmt"#
    );
    let b = by_tenant("acme");
    assert_eq!(labels(&b.streams[0].labels)["job"], "other");
    assert_eq!(
        b.streams[0].entries[0].line,
        r#"{"body":"for acme","severity":"INFO","resources":{"service.name":"other","tenant.id":"acme"}}"#,
        "the tenant attribute stays in the line"
    );
}

#[test]
fn retries_on_429_and_500_drops_and_counts_400() {
    let loki = LokiSink::start();
    let ox = Oxidot::start(&config(&loki.url(), ""));
    loki.script.lock().unwrap().extend([
        Answer { status: 429, headers: vec![], body: b"Ingestion rate limit exceeded".to_vec() },
        Answer { status: 500, headers: vec![], body: b"internal".to_vec() },
    ]);
    run_sdk("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 0, 2, "svc");
    assert!(eventually(10, || loki.entries().len() == 2), "{}", ox.stderr());
    assert_eq!(ox.metric("otelcol_exporter_send_failed_log_records", &[]), 0.0);
    loki.script.lock().unwrap().push_back(Answer {
        status: 400,
        headers: vec![],
        body: b"entry for stream '{job=\"svc\"}' has timestamp too old: 2020-01-01T00:00:00Z".to_vec(),
    });
    run_sdk("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 0, 3, "svc");
    assert!(
        eventually(10, || ox.metric("otelcol_exporter_send_failed_log_records", &[("exporter", "loki")]) == 3.0),
        "{}",
        ox.stderr()
    );
    assert_eq!(loki.entries().len(), 2);
    let log = ox.stderr();
    assert!(log.contains("timestamp too old") && log.contains("HTTP 400"), "{log}");
    assert!(log.contains("Will retry"), "429/500 were retried: {log}");
}

/// exporter.go `pushLogData` (v0.130): a record without any label goes to Loki in the stream
/// `{}` as in Go; Loki refuses the whole request ("at least one label pair is required per
/// stream", permanent), and the batch's records are counted in
/// `otelcol_lokiexporter_send_failed_due_to_missing_labels` beside the shared send_failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_without_labels_fails_its_request_and_is_counted_as_missing_labels() {
    let loki = LokiSink::start();
    let ox = Oxidot::start(&config(
        &loki.url(),
        "    default_labels_enabled:\n      exporter: false\n      job: false\n      instance: false\n      level: false\n",
    ));
    let req = ExportLogsServiceRequest {
        resource_logs: vec![
            resource_logs(vec![kv("service.name", "svc")], vec![kv("loki.attribute.labels", "k"), kv("k", "v")], "a"),
            resource_logs(vec![kv("service.name", "svc")], vec![], "no labels"),
        ],
    };
    let mut c = LogsServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc)).await.unwrap();
    c.export(req).await.unwrap();
    assert!(
        eventually(10, || ox.metric("otelcol_exporter_send_failed_log_records", &[("exporter", "loki")]) == 2.0),
        "{}",
        ox.stderr()
    );
    assert_eq!(ox.metric("otelcol_lokiexporter_send_failed_due_to_missing_labels", &[("exporter", "loki")]), 2.0);
    assert_eq!(
        loki.rejected.lock().unwrap().clone(),
        vec!["error at least one label pair is required per stream".to_string()]
    );
    assert!(loki.entries().is_empty());
}

/// exporter.go `sendPushRequest` (v0.130): a record that fails to convert (here an unknown
/// `loki.format`) is left out and only logged ("not all log entries were converted to Loki");
/// the batch counts as sent. A tenant left without any stream is a permanent failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_failing_conversion_are_logged_not_failed_unless_a_tenant_has_none() {
    let loki = LokiSink::start();
    let ox = Oxidot::start(&config(&loki.url(), ""));
    let req = ExportLogsServiceRequest {
        resource_logs: vec![
            resource_logs(vec![kv("service.name", "svc")], vec![], "fine"),
            resource_logs(vec![kv("service.name", "svc")], vec![kv("loki.format", "xml")], "bad"),
        ],
    };
    let mut c = LogsServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc)).await.unwrap();
    c.export(req).await.unwrap();
    assert!(eventually(10, || loki.entries().len() == 1), "{}", ox.stderr());
    assert!(eventually(5, || ox.metric("otelcol_exporter_sent_log_records", &[("exporter", "loki")]) == 2.0));
    assert_eq!(ox.metric("otelcol_exporter_send_failed_log_records", &[("exporter", "loki")]), 0.0);
    assert!(ox.stderr().contains("not all log entries were converted to Loki"), "{}", ox.stderr());
    // Only a record that cannot be converted, for tenant "t": no stream for it, permanent.
    let only_bad = ExportLogsServiceRequest {
        resource_logs: vec![resource_logs(
            vec![kv("service.name", "svc"), kv("loki.tenant", "tn"), kv("tn", "t")],
            vec![kv("loki.format", "xml")],
            "bad",
        )],
    };
    c.export(only_bad).await.unwrap();
    assert!(
        eventually(10, || ox.metric("otelcol_exporter_send_failed_log_records", &[("exporter", "loki")]) == 1.0),
        "{}",
        ox.stderr()
    );
    assert!(ox.stderr().contains("failed to transform logs into Loki log streams"), "{}", ox.stderr());
}
