//! prometheusremotewrite against a real Prometheus (Debian's 2.42, remote write receiver on),
//! and sigv4auth checked independently against botocore.

mod support;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, summary_data_point::ValueAtQuantile, ExponentialHistogram,
    ExponentialHistogramDataPoint, Histogram, HistogramDataPoint, Metric, Summary, SummaryDataPoint,
};
use std::time::Duration;
use support::metrics::{gauge, kv, request, sum};
use support::prometheus::{value, Prometheus};
use support::sinks::{HttpSink, StaticServer};
use support::*;

/// `processors`: the metrics pipeline's, comma-separated; `extensions`: a sigv4auth block.
fn config(endpoint: &str, processors: &str, extra: &str, extensions: &str) -> String {
    let mut c = TestConfig::new().processors("  batch:\n    timeout: 100ms\n").exporters(&format!(
        "  debug:\n  prometheusremotewrite:\n    endpoint: {endpoint}\n    retry_on_failure:\n      initial_interval: 100ms\n      max_interval: 500ms\n{extra}\n"
    ));
    if !extensions.is_empty() {
        c = c.extension("sigv4auth", extensions);
    }
    let processors: Vec<&str> = processors.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    c.pipeline("metrics", &processors, &["prometheusremotewrite"])
        .pipeline("traces", &[], &["debug"])
        .pipeline("logs", &[], &["debug"])
        .build()
}

async fn send(port: u16, req: ExportMetricsServiceRequest) {
    let mut c = MetricsServiceClient::connect(format!("http://127.0.0.1:{port}")).await.unwrap();
    c.export(req).await.unwrap();
}

fn labels(r: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    r["metric"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect()
}

#[test]
fn python_sdk_counter_and_gauge_land_in_prometheus_under_dashboard_names() {
    let prom = Prometheus::start(false);
    let ox = Oxidot::start(&config(&prom.write_url(), "batch", "", ""));
    run_sdk("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 6, 0, "enterprise-api");
    let r = prom.wait_for(r#"http_request_count_total{job="oxidot-tests/enterprise-api"}"#, 20);
    assert_eq!(r.len(), 3, "{r:?}\n{}", ox.stderr());
    for s in &r {
        let l = labels(s);
        assert_eq!(l["method"], "GET");
        assert!(l["endpoint"].starts_with("/items/"));
        // helper.go createAttributes (current contrib): the meter's scope as `otel_scope_name`.
        assert_eq!(l["otel_scope_name"], "oxidot.tests", "{l:?}");
        assert_eq!(value(s), 2.0, "{l:?}");
    }
    let g = prom.wait_for(r#"active_simulated_users{job="oxidot-tests/enterprise-api"}"#, 10);
    assert_eq!(g.len(), 1);
    assert_eq!(value(&g[0]), 42.0);
    let ti = prom.wait_for(r#"target_info{job="oxidot-tests/enterprise-api"}"#, 10);
    assert_eq!(ti.len(), 1);
    assert_eq!(labels(&ti[0])["telemetry_sdk_language"], "python");
    assert!(!labels(&ti[0]).contains_key("otel_scope_name"), "target_info has no scope labels");
    let accepted = ox.metric("otelcol_receiver_accepted_metric_points", &[]);
    assert!(eventually(10, || ox
        .metric("otelcol_exporter_sent_metric_points", &[("exporter", "prometheusremotewrite")])
        == accepted));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_type_is_written_with_exact_names_labels_and_values() {
    let prom = Prometheus::start(true);
    let ox = Oxidot::start(&config(&prom.write_url(), "batch", "", ""));
    let t0 = now_ns() - 2_000_000_000;
    let hist = Metric {
        name: "http.server.request.duration".into(),
        unit: "s".into(),
        data: Some(Data::Histogram(Histogram {
            aggregation_temporality: 2,
            data_points: vec![HistogramDataPoint {
                time_unix_nano: t0,
                count: 6,
                sum: Some(4.2),
                bucket_counts: vec![3, 2, 1],
                explicit_bounds: vec![0.1, 1.0],
                attributes: vec![kv("http.route", "/items")],
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let exp = Metric {
        name: "latency".into(),
        unit: "ms".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            aggregation_temporality: 2,
            data_points: vec![ExponentialHistogramDataPoint {
                time_unix_nano: t0,
                count: 7,
                sum: Some(20.0),
                scale: 0,
                zero_count: 1,
                positive: Some(Buckets { offset: 0, bucket_counts: vec![1, 2, 3] }),
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let summary = Metric {
        name: "rpc.duration".into(),
        unit: "ms".into(),
        data: Some(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                time_unix_nano: t0,
                count: 5,
                sum: 100.0,
                quantile_values: vec![
                    ValueAtQuantile { quantile: 0.5, value: 10.0 },
                    ValueAtQuantile { quantile: 0.99, value: 50.0 },
                ],
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    send(
        ox.ports.grpc,
        request(vec![
            gauge("room.temperature", "Cel", 21.5, t0, vec![kv("room", "kitchen")]),
            sum("orders", true, 5, t0),
            sum("queue.depth", false, -3, t0),
            hist,
            exp,
            summary,
        ]),
    )
    .await;
    // A second batch of the cumulative counter.
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(ox.ports.grpc, request(vec![sum("orders", true, 12, t0 + 1_000_000_000)])).await;

    let g = prom.wait_for("room_temperature_celsius", 20);
    assert_eq!(g.len(), 1, "{}", ox.stderr());
    let want: std::collections::BTreeMap<String, String> =
        [("__name__", "room_temperature_celsius"), ("instance", "inst-1"), ("job", "ns/svc"), ("room", "kitchen")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    assert_eq!(labels(&g[0]), want);
    assert_eq!(value(&g[0]), 21.5);
    assert!(eventually(10, || prom.query("count_over_time(orders_total[10m])").first().map(value) == Some(2.0)));
    assert_eq!(value(&prom.query("orders_total")[0]), 12.0);
    assert_eq!(value(&prom.wait_for("queue_depth", 5)[0]), -3.0);
    for (le, v) in [("0.1", 3.0), ("1", 5.0), ("+Inf", 6.0)] {
        let r = prom
            .wait_for(&format!(r#"http_server_request_duration_seconds_bucket{{le="{le}",http_route="/items"}}"#), 5);
        assert_eq!(value(&r[0]), v, "le={le}");
    }
    assert_eq!(value(&prom.query("http_server_request_duration_seconds_sum")[0]), 4.2);
    assert_eq!(value(&prom.query("http_server_request_duration_seconds_count")[0]), 6.0);
    assert_eq!(value(&prom.wait_for("histogram_count(latency_milliseconds)", 5)[0]), 7.0);
    assert_eq!(value(&prom.query("histogram_sum(latency_milliseconds)")[0]), 20.0);
    assert_eq!(value(&prom.query(r#"rpc_duration_milliseconds{quantile="0.99"}"#)[0]), 50.0);
    assert_eq!(value(&prom.query("rpc_duration_milliseconds_count")[0]), 5.0);
    let ti = prom.query("target_info");
    assert_eq!(ti.len(), 1);
    let tl = labels(&ti[0]);
    assert_eq!(
        (tl["job"].as_str(), tl["instance"].as_str(), tl["deployment_environment"].as_str()),
        ("ns/svc", "inst-1", "test")
    );
    assert!(!tl.contains_key("service_name"), "identifying attributes are job/instance, not labels: {tl:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_down_then_up_delivers_everything() {
    // Go retries each request inside the push (exporter.go `execute`), bounded by `timeout`
    // around the whole push: give it long enough for Prometheus to come up.
    let port = free_port();
    let ox = Oxidot::start(&config(&format!("http://127.0.0.1:{port}/api/v1/write"), "batch", "    timeout: 30s", ""));
    let t0 = now_ns();
    send(ox.ports.grpc, request(vec![gauge("late.gauge", "", 7.0, t0, vec![])])).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let prom = Prometheus::start_on(port, false);
    let r = prom.wait_for("late_gauge", 20);
    assert_eq!(r.len(), 1, "{}", ox.stderr());
    assert!(eventually(10, || ox.metric("otelcol_exporter_sent_metric_points", &[]) == 1.0));
    assert_eq!(ox.metric("otelcol_exporter_send_failed_metric_points", &[]), 0.0);
}

/// Batches leave one at a time (one queue consumer, as Go's factory.go), so samples of a series
/// reach Prometheus in time order however many batches are queued; the requests of one batch
/// (split by `max_batch_size_bytes`) go out `num_consumers` at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_batches_are_never_rejected_as_out_of_order() {
    let prom = Prometheus::start(false);
    let extra = "    max_batch_size_bytes: 200\n    remote_write_queue:\n      num_consumers: 5";
    let ox = Oxidot::start(&config(&prom.write_url(), "", extra, ""));
    let (clients, per_client, series) = (4u64, 25u64, 5u64);
    let t0 = now_ns() - 60_000_000_000;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let port = ox.ports.grpc;
        tasks.push(tokio::spawn(async move {
            // Each client sends its batches in time order, all clients at once.
            for i in 0..per_client {
                let t = t0 + i * 100_000_000;
                let ms = (0..series)
                    .map(|k| {
                        gauge("ordered", "", i as f64, t, vec![kv("client", &c.to_string()), kv("s", &k.to_string())])
                    })
                    .collect();
                // One resource per client: each has its own target_info series.
                let mut req = request(ms);
                req.resource_metrics[0].resource.as_mut().unwrap().attributes[2] =
                    kv("service.instance.id", &format!("inst-{c}"));
                send(port, req).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total = (clients * per_client * series) as f64;
    assert!(
        eventually(30, || ox.metric("otelcol_exporter_sent_metric_points", &[]) == total),
        "sent {} of {total}:\n{}",
        ox.metric("otelcol_exporter_sent_metric_points", &[]),
        ox.stderr()
    );
    assert_eq!(ox.metric("otelcol_exporter_send_failed_metric_points", &[]), 0.0, "{}", ox.stderr());
    assert!(!ox.stderr().contains("out of order"), "{}", ox.stderr());
    let r = prom.wait_for("count_over_time(ordered[5m])", 10);
    assert_eq!(r.len(), (clients * series) as usize);
    assert!(r.iter().all(|s| value(s) == per_client as f64), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_from_prometheus_is_dropped_counted_and_logged_not_retried() {
    let prom = Prometheus::start(false);
    let ox = Oxidot::start(&config(&prom.write_url(), "", "", ""));
    let t0 = now_ns();
    send(ox.ports.grpc, request(vec![gauge("ooo", "", 1.0, t0, vec![])])).await;
    assert_eq!(prom.wait_for("ooo", 10).len(), 1);
    // Same series, an older sample: Prometheus answers 400 out of order.
    send(ox.ports.grpc, request(vec![gauge("ooo", "", 2.0, t0 - 60_000_000_000, vec![])])).await;
    assert!(eventually(10, || ox.metric("otelcol_exporter_send_failed_metric_points", &[]) == 1.0), "{}", ox.stderr());
    let log = ox.stderr();
    assert!(log.contains("HTTP 400") && log.contains("out of order"), "{log}");
    assert!(!log.contains("Will retry"), "a 400 must not be retried:\n{log}");
    // The exporter is not wedged.
    send(ox.ports.grpc, request(vec![gauge("ooo", "", 3.0, t0 + 1_000_000_000, vec![])])).await;
    assert!(eventually(10, || prom.query("ooo").first().map(value) == Some(3.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_histograms_disabled_is_said_clearly_and_not_retried_forever() {
    let prom = Prometheus::start(false);
    let ox = Oxidot::start(&config(&prom.write_url(), "", "", ""));
    let exp = Metric {
        name: "latency".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            aggregation_temporality: 2,
            data_points: vec![ExponentialHistogramDataPoint {
                time_unix_nano: now_ns(),
                count: 1,
                sum: Some(1.0),
                positive: Some(Buckets { offset: 0, bucket_counts: vec![1] }),
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    send(ox.ports.grpc, request(vec![exp])).await;
    assert!(eventually(10, || ox.metric("otelcol_exporter_send_failed_metric_points", &[]) == 1.0), "{}", ox.stderr());
    assert!(ox.stderr().contains("--enable-feature=native-histograms"), "{}", ox.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_sums_are_not_written_counted_as_failed_translations_not_failed_sends() {
    // exporter.go `pushMetricsV1`: a translation error counts one failed translation and is
    // logged at debug level; the batch still counts as sent.
    let prom = Prometheus::start(false);
    let ox = Oxidot::start(&config(&prom.write_url(), "", "", ""));
    let t0 = now_ns();
    let mut delta = sum("delta.requests", true, 4, t0);
    if let Some(Data::Sum(s)) = &mut delta.data {
        s.aggregation_temporality = 1;
    }
    send(ox.ports.grpc, request(vec![delta, gauge("kept", "", 1.0, t0, vec![])])).await;
    assert_eq!(prom.wait_for("kept", 10).len(), 1);
    assert!(eventually(10, || ox.metric("otelcol_exporter_sent_metric_points", &[]) == 2.0), "{}", ox.stderr());
    assert_eq!(ox.metric("otelcol_exporter_send_failed_metric_points", &[]), 0.0);
    assert_eq!(ox.metric("otelcol_exporter_prometheusremotewrite_failed_translations", &[]), 1.0);
    assert!(prom.query("delta_requests_total").is_empty());
}

/// exporter.go `execute`: a 5xx is retried (every ~`initial_interval`, within `timeout`) until
/// it succeeds; a 429 and a 400 are not retried (Go retries 429 only with the alpha
/// `exporter.prometheusremotewritexporter.RetryOn429` gate); Retry-After is not read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_is_retried_a_429_and_a_400_are_dropped_as_go_does() {
    use support::sinks::Answer;
    let sink = HttpSink::start();
    let answer = |status: u16| Answer { status, headers: vec![("retry-after", "30".into())], body: b"no".to_vec() };
    sink.script.lock().unwrap().extend([answer(503), answer(502)]);
    let url = format!("http://127.0.0.1:{}/api/v1/write", sink.port);
    let ox = Oxidot::start(&config(&url, "", "", ""));
    let t0 = now_ns();
    send(ox.ports.grpc, request(vec![gauge("retried", "", 1.0, t0, vec![])])).await;
    assert!(eventually(10, || sink.requests().len() == 1), "{}", ox.stderr());
    assert!(eventually(10, || ox.metric("otelcol_exporter_sent_metric_points", &[]) == 1.0));
    for status in [429, 400] {
        sink.script.lock().unwrap().push_back(answer(status));
        send(ox.ports.grpc, request(vec![gauge("dropped", "", 1.0, t0, vec![])])).await;
    }
    assert!(eventually(10, || ox.metric("otelcol_exporter_send_failed_metric_points", &[]) == 2.0), "{}", ox.stderr());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.requests().len(), 1, "a 429 or a 400 was retried:\n{}", ox.stderr());
    let log = ox.stderr();
    // The console encoding prints fields as JSON after the message: `"status_code": 429`.
    assert!(log.contains("\"status_code\": 429") && log.contains("\"status_code\": 400"), "{log}");
}

/// exporter.go `execute` with the alpha gate `exporter.prometheusremotewritexporter.RetryOn429`
/// (`--feature-gates`): a 429 is retried like a 5xx. Every POST counts in
/// `otelcol_exporter_prometheusremotewrite_sent_batches`; `..._consumers` is the request
/// parallelism (`num_consumers`, here 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_retry_on_429_gate_a_429_is_retried_and_every_post_is_a_sent_batch() {
    use support::sinks::Answer;
    let sink = HttpSink::start();
    sink.script.lock().unwrap().extend([
        Answer { status: 429, headers: vec![], body: b"slow down".to_vec() },
        Answer { status: 429, headers: vec![], body: b"slow down".to_vec() },
    ]);
    let url = format!("http://127.0.0.1:{}/api/v1/write", sink.port);
    let ox = Oxidot::start_args(
        &config(&url, "", "    remote_write_queue:\n      num_consumers: 3\n", ""),
        &["--feature-gates", "exporter.prometheusremotewritexporter.RetryOn429"],
    );
    send(ox.ports.grpc, request(vec![gauge("after_429", "", 1.0, now_ns(), vec![])])).await;
    assert!(eventually(10, || ox.metric("otelcol_exporter_sent_metric_points", &[]) == 1.0), "{}", ox.stderr());
    assert_eq!(sink.requests().len(), 1, "the third POST is the one accepted");
    assert_eq!(ox.metric("otelcol_exporter_send_failed_metric_points", &[]), 0.0);
    assert_eq!(
        ox.metric("otelcol_exporter_prometheusremotewrite_sent_batches", &[("exporter", "prometheusremotewrite")]),
        3.0
    );
    assert_eq!(
        ox.metric("otelcol_exporter_prometheusremotewrite_consumers", &[("exporter", "prometheusremotewrite")]),
        3.0
    );
}

/// Checks oxidot's Authorization header against botocore's for the same request.
fn botocore_authorization(
    req: &support::sinks::HttpRecorded,
    url: &str,
    key: &str,
    secret: &str,
    token: &str,
) -> String {
    use base64::Engine as _;
    let auth = req.header("authorization").unwrap();
    let signed = auth.split("SignedHeaders=").nth(1).unwrap().split(',').next().unwrap();
    let mut headers = serde_json::Map::new();
    for h in signed.split(';') {
        if ["host", "x-amz-date", "x-amz-security-token"].contains(&h) {
            continue;
        }
        headers.insert(h.to_string(), serde_json::Value::String(req.header(h).unwrap().to_string()));
    }
    let input = serde_json::json!({
        "method": "POST", "url": url, "headers": headers,
        "body_b64": base64::engine::general_purpose::STANDARD.encode(&req.raw),
        "access_key": key, "secret_key": secret, "token": token,
        "region": "us-west-2", "service": "aps", "amz_date": req.header("x-amz-date").unwrap(),
    });
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sigv4_check.py");
    let mut child = std::process::Command::new(python())
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn creds_json(n: u32, expires_in: Duration) -> String {
    serde_json::json!({
        "AccessKeyId": format!("AKIDTEST{n}"),
        "SecretAccessKey": format!("secret-{n}"),
        "Token": format!("token-{n}"),
        "Expiration": rfc3339(std::time::SystemTime::now() + expires_in),
        "RoleArn": "arn:aws:iam::111122223333:role/oxidot-task"
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv4_signature_matches_botocore_and_ecs_credentials_refresh_before_expiry() {
    let sink = HttpSink::start();
    let creds = StaticServer::start(vec![("/creds", 200, creds_json(1, Duration::from_secs(120)))]);
    let url = format!("http://127.0.0.1:{}/workspaces/ws-1234/api/v1/remote_write", sink.port);
    let ext = "  sigv4auth:\n    region: us-west-2\n    service: aps\n";
    let extra = "    auth:\n      authenticator: sigv4auth\n";
    let ox = Oxidot::start_with(
        &config(&url, "", extra, ext),
        &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &creds.url("/creds"))],
    );
    let t0 = now_ns();
    send(ox.ports.grpc, request(vec![gauge("signed", "", 1.0, t0, vec![])])).await;
    assert!(eventually(10, || sink.requests().len() == 1), "{}", ox.stderr());
    let r1 = sink.requests()[0].clone();
    assert_eq!(r1.header("content-encoding"), Some("snappy"));
    assert_eq!(r1.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(r1.header("x-prometheus-remote-write-version"), Some("0.1.0"));
    assert_eq!(r1.header("user-agent"), Some(concat!("oxidot/", env!("CARGO_PKG_VERSION"))));
    assert_eq!(r1.header("x-amz-security-token"), Some("token-1"));
    let auth1 = r1.header("authorization").unwrap().to_string();
    assert!(
        auth1.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST1/") && auth1.contains("/us-west-2/aps/aws4_request"),
        "{auth1}"
    );
    assert_eq!(auth1, botocore_authorization(&r1, &url, "AKIDTEST1", "secret-1", "token-1"));
    // The body decodes as a WriteRequest with the series.
    let wr = <oxidot::proto::prometheus::WriteRequest as prost::Message>::decode(&r1.body[..]).unwrap();
    let names: Vec<&str> = wr
        .timeseries
        .iter()
        .flat_map(|t| &t.labels)
        .filter(|l| l.name == "__name__")
        .map(|l| l.value.as_str())
        .collect();
    assert_eq!(names, vec!["signed", "target_info"]);

    // Those credentials expire within the refresh window: the next request fetches new ones.
    creds.routes.lock().unwrap()[0].2 = creds_json(2, Duration::from_secs(3600));
    send(ox.ports.grpc, request(vec![gauge("signed", "", 2.0, t0 + 1_000_000_000, vec![])])).await;
    assert!(eventually(10, || sink.requests().len() == 2));
    let r2 = sink.requests()[1].clone();
    assert!(r2.header("authorization").unwrap().contains("Credential=AKIDTEST2/"));
    assert_eq!(
        r2.header("authorization").unwrap(),
        botocore_authorization(&r2, &url, "AKIDTEST2", "secret-2", "token-2")
    );
    // Fresh ones are cached.
    send(ox.ports.grpc, request(vec![gauge("signed", "", 3.0, t0 + 2_000_000_000, vec![])])).await;
    assert!(eventually(10, || sink.requests().len() == 3));
    assert_eq!(creds.hits.lock().unwrap().len(), 2);
    // Secrets never reach the log.
    let log = ox.stderr();
    assert!(!log.contains("secret-1") && !log.contains("secret-2") && !log.contains("token-1"), "{log}");
}
