//! Issue 16 item 9: a password in an endpoint URL (`https://user:pw@host`) and header values are
//! secrets. They appear in no log line and no `validate` error (the password prints as
//! `xxxxx`, as Go's `url.URL.Redacted()`), and the HTTP exporters send the userinfo as
//! `Authorization: Basic`, as Go's net/http client does, unless `Authorization` is configured.

mod support;

use support::sinks::{Answer, HttpSink};
use support::*;

const SECRET: &str = "s3cret";
/// base64("user:s3cret")
const BASIC: &str = "Basic dXNlcjpzM2NyZXQ=";

fn post(ox: &Oxidot, path: &str, body: &str) {
    let (code, _, resp) = http_request(
        &format!("127.0.0.1:{}", ox.ports.http),
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .unwrap();
    // Exporters without a queue answer the client with their error: redacted too.
    let resp = String::from_utf8_lossy(&resp);
    assert!(code == 200 || code == 400 || code == 503, "{code} {resp}");
    assert!(!resp.contains(SECRET), "{resp}");
}

const LOGS: &str = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000000000000","body":{"stringValue":"hi"}}]}]}]}"#;
const TRACES: &str = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"s","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000"}]}]}]}"#;
const METRICS: &str = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"1700000000000000000","asDouble":1.5}]}}]}]}]}"#;

#[test]
fn userinfo_is_sent_as_basic_auth_and_never_logged() {
    let closed = free_port();
    let ok = HttpSink::start();
    let failing = HttpSink::start();
    {
        let mut s = failing.script.lock().unwrap();
        for _ in 0..20 {
            s.push_back(Answer { status: 500, headers: vec![], body: b"backend broke".to_vec() });
        }
    }
    let no_retry = "    retry_on_failure: {enabled: false}\n    sending_queue: {enabled: false}\n";
    let exporters = format!(
        "  otlphttp/ok:
    endpoint: http://user:{SECRET}@127.0.0.1:{ok}
    headers: {{x-api-key: key-{SECRET}}}
{no_retry}  otlphttp/authz:
    endpoint: http://user:{SECRET}@127.0.0.1:{ok}/authz
    headers: {{Authorization: Bearer tok-{SECRET}}}
{no_retry}  otlphttp/refused:
    endpoint: http://user:{SECRET}@127.0.0.1:{closed}
    headers: {{x-api-key: key-{SECRET}}}
{no_retry}  otlphttp/500:
    endpoint: http://user:{SECRET}@127.0.0.1:{failing}
{no_retry}  loki/ok:
    endpoint: http://user:{SECRET}@127.0.0.1:{ok}/loki/api/v1/push
    headers: {{x-api-key: key-{SECRET}}}
{no_retry}  loki/refused:
    endpoint: http://user:{SECRET}@127.0.0.1:{closed}/loki/api/v1/push
{no_retry}  prometheusremotewrite:
    endpoint: http://user:{SECRET}@127.0.0.1:{closed}/api/v1/write
    headers: {{x-api-key: key-{SECRET}}}
    retry_on_failure: {{enabled: false}}
  awsxray:
    endpoint: http://user:{SECRET}@127.0.0.1:{closed}
    region: us-east-1
    retry_on_failure: {{enabled: false}}
",
        ok = ok.port,
        failing = failing.port,
    );
    let yaml = TestConfig::new()
        .http()
        .exporters(&exporters)
        .pipeline("logs", &[], &["otlphttp/ok", "otlphttp/refused", "otlphttp/500", "loki/ok", "loki/refused"])
        .pipeline("traces", &[], &["otlphttp/authz", "otlphttp/refused", "awsxray"])
        .pipeline("metrics", &[], &["otlphttp/refused", "prometheusremotewrite"])
        .telemetry("      logs: {level: debug}\n      metrics: {address: 127.0.0.1:$METRICS}\n")
        .build();
    let mut ox = Oxidot::start_with(
        &yaml,
        &[("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")],
    );
    post(&ox, "/v1/logs", LOGS);
    post(&ox, "/v1/traces", TRACES);
    post(&ox, "/v1/metrics", METRICS);

    // otlphttp/ok and loki/ok: Basic auth from the userinfo, which left the request line.
    assert!(eventually(10, || ok.requests().len() >= 3), "{:?}\n{}", ok.requests(), ox.stderr());
    for r in ok.requests() {
        assert!(!r.path.contains(SECRET), "{}", r.path);
        if r.path == "/authz/v1/traces" {
            // A configured Authorization wins, as in Go.
            assert_eq!(r.header("authorization"), Some(format!("Bearer tok-{SECRET}").as_str()));
        } else {
            assert_eq!(r.header("authorization"), Some(BASIC), "{}", r.path);
            assert_eq!(r.header("x-api-key"), Some(format!("key-{SECRET}").as_str()));
        }
    }
    let paths: Vec<String> = ok.requests().iter().map(|r| r.path.clone()).collect();
    for p in ["/v1/logs", "/loki/api/v1/push", "/authz/v1/traces"] {
        assert!(paths.iter().any(|x| x == p), "{p} not in {paths:?}");
    }

    // Every failure was logged (refused, 500) and none shows the password or a header value.
    let logged = |ox: &Oxidot| {
        let e = ox.stderr();
        e.contains("otlphttp/refused")
            && e.contains("otlphttp/500")
            && e.contains("loki/refused")
            && e.contains("prometheusremotewrite")
            && e.contains("awsxray")
    };
    assert!(eventually(15, || logged(&ox)), "{}", ox.stderr());
    ox.stop();
    let stderr = ox.stderr();
    assert!(stderr.contains("user:xxxxx@127.0.0.1") || !stderr.contains("user:"), "{stderr}");
    for line in stderr.lines() {
        assert!(!line.contains(SECRET), "secret in a log line: {line}");
    }
}

#[test]
fn validate_errors_redact_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.yaml");
    let yaml = TestConfig::new()
        .exporters(&format!(
            "  otlp:
    endpoint: https://user:{SECRET}@collector:4317
    headers: {{authorization: Bearer {SECRET}}}
  otlphttp:
    endpoint: ftp://user:{SECRET}@collector:4318
  loki:
    endpoint: ftp://user:{SECRET}@loki:3100
  prometheusremotewrite:
    endpoint: ftp://user:{SECRET}@prom:9090
  awsxray:
    endpoint: ftp://user:{SECRET}@xray:2000
    region: us-east-1
"
        ))
        .pipeline("traces", &[], &["otlp", "otlphttp", "awsxray"])
        .pipeline("logs", &[], &["loki"])
        .pipeline("metrics", &[], &["prometheusremotewrite"])
        .build();
    std::fs::write(&cfg, Ports::new().fill(&yaml)).unwrap();
    let (code, out, err) = run_cli(&["validate", "--config", cfg.to_str().unwrap()], &[]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(!out.contains(SECRET) && !err.contains(SECRET), "{out}{err}");
    for (id, url) in [
        ("exporters::otlp::endpoint", "https://user:xxxxx@collector:4317"),
        ("exporters::otlphttp::endpoint", "ftp://user:xxxxx@collector:4318"),
        ("exporters::loki::endpoint", "ftp://user:xxxxx@loki:3100"),
        ("exporters::prometheusremotewrite::endpoint", "ftp://user:xxxxx@prom:9090"),
        ("exporters::awsxray::endpoint", "ftp://user:xxxxx@xray:2000"),
    ] {
        assert!(err.lines().any(|l| l.contains(id) && l.contains(url)), "{id} {url} not in:\n{err}");
    }
    // gRPC sends no Basic auth from userinfo (grpc-go cannot even resolve such a target): say so.
    assert!(err.contains("a gRPC endpoint takes no user:password@"), "{err}");
}
