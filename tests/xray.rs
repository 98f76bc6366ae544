//! awsxray against moto's X-Ray API (read back with boto3), the SigV4 header checked by
//! botocore, the daemon's UDP format, and the failure paths.

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use std::time::Duration;
use support::moto::Moto;
use support::sinks::{Answer, GrpcSink, HttpSink};
use support::*;

fn config(endpoint: &str, extra: &str, log_sink: u16) -> String {
    TestConfig::new()
        .processors("  batch:\n    timeout: 100ms\n")
        .exporters(&format!(
            r#"  awsxray:
    endpoint: {endpoint}
    region: us-east-1
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 300ms
{extra}
  otlp/logs:
    endpoint: 127.0.0.1:{log_sink}
    tls:
      insecure: true
  debug:
"#
        ))
        .pipeline("traces", &["batch"], &["awsxray"])
        .pipeline("logs", &["batch"], &["otlp/logs"])
        .pipeline("metrics", &[], &["debug"])
        .build()
}

const KEYS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", "AKIDXRAYTEST"), ("AWS_SECRET_ACCESS_KEY", "xray-secret")];

fn xray_id(hex32: &str) -> String {
    format!("1-{}-{}", &hex32[..8], &hex32[8..])
}

#[test]
fn crash_span_from_the_python_sdk_arrives_in_moto_as_a_fault_with_its_cause() {
    let moto = Moto::start();
    let logs = GrpcSink::start();
    let ox = Oxidot::start_with(&config(&moto.url(), "", logs.port), &KEYS);
    let out = run_sdk_with(
        "grpc",
        &format!("http://127.0.0.1:{}", ox.ports.grpc),
        3,
        0,
        "enterprise-api",
        &["--xray-ids", "--crash"],
    );
    let crash = out["crash_trace_id"].as_str().unwrap().to_string();
    let mut ids: Vec<String> =
        out["trace_ids"].as_array().unwrap().iter().map(|v| xray_id(v.as_str().unwrap())).collect();
    ids.push(xray_id(&crash));
    assert!(
        eventually(20, || ox.metric("otelcol_exporter_sent_spans", &[("exporter", "awsxray")]) == 4.0),
        "{}",
        ox.stderr()
    );
    let segs = moto.segments("us-east-1", &ids);
    assert_eq!(segs.len(), 4, "{segs:?}");
    let c = segs.iter().find(|s| s["trace_id"] == xray_id(&crash)).expect("crash segment");
    assert_eq!(c["name"], "enterprise-api");
    assert_eq!(c["fault"], true);
    // Go writes the three flags whatever their value.
    assert_eq!(c["error"], false);
    assert_eq!(c["throttle"], false);
    assert_eq!(c["http"]["request"]["method"], "GET");
    assert_eq!(c["http"]["response"]["status"], 500);
    let ex = &c["cause"]["exceptions"][0];
    assert_eq!(ex["type"], "RuntimeError");
    assert_eq!(ex["message"], "Intentional crash for testing");
    assert!(
        ex["stack"]
            .as_array()
            .is_some_and(|f| f.iter().any(|fr| fr["path"].as_str().unwrap().ends_with("sdk_client.py"))),
        "{ex}"
    );
    assert_eq!(c["aws"]["xray"]["sdk"], "opentelemetry for python");
    // The error log written inside the span carries the same trace id.
    assert!(eventually(10, || logs.log_records() >= 1));
    let g = logs.got.lock().unwrap();
    let lr = g
        .logs
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .next()
        .unwrap();
    assert_eq!(hex::encode(&lr.trace_id), crash);
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        key_strindex: 0,
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
    }
}

/// Spans with X-Ray-valid trace ids (epoch now) and known span ids 1..=n.
fn request(n: u8, epoch_ok: bool) -> ExportTraceServiceRequest {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let mut tid = [7u8; 16];
    if epoch_ok {
        tid[..4].copy_from_slice(&(now.as_secs() as u32).to_be_bytes());
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![kv("service.name", "svc")], ..Default::default() }),
            scope_spans: vec![ScopeSpans {
                spans: (1..=n)
                    .map(|i| Span {
                        trace_id: tid.to_vec(),
                        span_id: vec![0, 0, 0, 0, 0, 0, 0, i],
                        name: format!("op{i}"),
                        kind: 2,
                        start_time_unix_nano: now.as_nanos() as u64 - 1_000_000,
                        end_time_unix_nano: now.as_nanos() as u64,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn send(port: u16, req: ExportTraceServiceRequest) {
    let mut c = TraceServiceClient::connect(format!("http://127.0.0.1:{port}")).await.unwrap();
    c.export(req).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_trace_segments_is_signed_as_botocore_signs_it() {
    let sink = HttpSink::start();
    let logs = GrpcSink::start();
    let url = format!("http://127.0.0.1:{}", sink.port);
    let ox = Oxidot::start_with(&config(&url, "", logs.port), &KEYS);
    send(ox.ports.grpc, request(2, true)).await;
    assert!(eventually(10, || sink.requests().len() == 1), "{}", ox.stderr());
    let r = sink.requests()[0].clone();
    assert_eq!(r.path, "/TraceSegments");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let docs = body["TraceSegmentDocuments"].as_array().unwrap();
    assert_eq!(docs.len(), 2);
    let d0: serde_json::Value = serde_json::from_str(docs[0].as_str().unwrap()).unwrap();
    assert!(d0["trace_id"].as_str().unwrap().starts_with("1-"));
    // botocore's signature for the same request, credentials and time.
    use base64::Engine as _;
    let auth = r.header("authorization").unwrap();
    let signed = auth.split("SignedHeaders=").nth(1).unwrap().split(',').next().unwrap();
    let headers: serde_json::Map<String, serde_json::Value> = signed
        .split(';')
        .filter(|h| !["host", "x-amz-date", "x-amz-security-token"].contains(h))
        .map(|h| (h.to_string(), serde_json::json!(r.header(h).unwrap())))
        .collect();
    let input = serde_json::json!({"method": "POST", "url": format!("{url}/TraceSegments"), "headers": headers,
        "body_b64": base64::engine::general_purpose::STANDARD.encode(&r.raw), "access_key": "AKIDXRAYTEST",
        "secret_key": "xray-secret", "token": null, "region": "us-east-1", "service": "xray", "amz_date": r.header("x-amz-date").unwrap()});
    let mut child = std::process::Command::new(python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sigv4_check.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.to_string().as_bytes()).unwrap();
    let expected = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    assert_eq!(auth, expected.trim());
    assert!(auth.contains("/us-east-1/xray/aws4_request"));
    assert!(!ox.stderr().contains("xray-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_mode_sends_one_daemon_datagram_per_document() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let port = sock.local_addr().unwrap().port();
    let logs = GrpcSink::start();
    let ox = Oxidot::start(&config(&format!("udp://127.0.0.1:{port}"), "", logs.port));
    send(ox.ports.grpc, request(3, true)).await;
    let mut names = Vec::new();
    let mut buf = vec![0u8; 70_000];
    for _ in 0..3 {
        let n = sock.recv(&mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let (header, doc) = text.split_once('\n').unwrap();
        assert_eq!(header, r#"{"format": "json", "version": 1}"#);
        let d: serde_json::Value = serde_json::from_str(doc).unwrap();
        assert!(d["trace_id"].as_str().unwrap().starts_with("1-"));
        names.push(d["name"].as_str().unwrap().to_string());
    }
    assert_eq!(names, vec!["svc", "svc", "svc"]);
    assert!(eventually(5, || ox.metric("otelcol_exporter_sent_spans", &[]) == 3.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_unprocessed_segments_only_logged_random_trace_ids_sent() {
    let sink = HttpSink::start();
    let logs = GrpcSink::start();
    let url = format!("http://127.0.0.1:{}", sink.port);
    let ox = Oxidot::start_with(&config(&url, "", logs.port), &KEYS);
    // 1. X-Ray is throttling / failing, then recovers: delivered once it answers 200.
    sink.script.lock().unwrap().extend([
        Answer { status: 503, headers: vec![], body: b"{}".to_vec() },
        Answer {
            status: 400,
            headers: vec![],
            body: br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_vec(),
        },
    ]);
    send(ox.ports.grpc, request(2, true)).await;
    assert!(eventually(10, || sink.requests().len() == 1), "{}", ox.stderr());
    assert!(eventually(5, || ox.metric("otelcol_exporter_sent_spans", &[]) == 2.0));
    // 2. awsxray.go: a segment X-Ray returns unprocessed is only logged (debug): not sent again,
    //    not counted as failed.
    let unprocessed =
        br#"{"UnprocessedTraceSegments":[{"Id":"0000000000000002","ErrorCode":"InvalidSegment","Message":"nope"}]}"#
            .to_vec();
    sink.script.lock().unwrap().push_back(Answer { status: 200, headers: vec![], body: unprocessed });
    send(ox.ports.grpc, request(3, true)).await;
    assert!(eventually(10, || ox.metric("otelcol_exporter_sent_spans", &[]) == 5.0), "{}", ox.stderr());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.requests().len(), 2, "the unprocessed document is not sent again");
    assert_eq!(ox.metric("otelcol_exporter_send_failed_spans", &[]), 0.0);
    // 3. A random W3C trace id (no epoch): exported, as the Go collector does with its beta gate
    //    exporter.awsxray.skiptimestampvalidation on by default.
    send(ox.ports.grpc, request(1, false)).await;
    assert!(eventually(10, || ox.metric("otelcol_exporter_sent_spans", &[]) == 6.0), "{}", ox.stderr());
    let last: serde_json::Value = serde_json::from_slice(&sink.requests().last().unwrap().body).unwrap();
    let doc: serde_json::Value = serde_json::from_str(last["TraceSegmentDocuments"][0].as_str().unwrap()).unwrap();
    assert_eq!(doc["trace_id"], "1-07070707-070707070707070707070707");
    assert_eq!(ox.metric("otelcol_exporter_send_failed_spans", &[]), 0.0);
    // 4. awsxray.go has no size check: a document over X-Ray's 64 KB limit is sent whole, its
    //    metadata kept (X-Ray decides; what it returns unprocessed is only logged).
    let mut big = request(1, true);
    big.resource_spans[0].scope_spans[0].spans[0].attributes.push(kv("big", &"y".repeat(70_000)));
    send(ox.ports.grpc, big).await;
    assert!(eventually(10, || ox.metric("otelcol_exporter_sent_spans", &[]) == 7.0), "{}", ox.stderr());
    let last: serde_json::Value = serde_json::from_slice(&sink.requests().last().unwrap().body).unwrap();
    let text = last["TraceSegmentDocuments"][0].as_str().unwrap();
    assert!(text.len() > 70_000, "{} bytes", text.len());
    let doc: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(doc["metadata"]["default"]["big"].as_str().map(str::len), Some(70_000));
    assert_eq!(ox.metric("otelcol_exporter_send_failed_spans", &[]), 0.0);
}

/// With `--feature-gates=-exporter.awsxray.skiptimestampvalidation` a trace id without a recent
/// epoch cannot be translated: awsxray.go skips the span (debug log), it is not a send failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_timestamp_gate_off_spans_without_an_epoch_are_skipped_not_failed() {
    let sink = HttpSink::start();
    let logs = GrpcSink::start();
    let url = format!("http://127.0.0.1:{}", sink.port);
    let ports = Ports::new();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.yaml");
    std::fs::write(&cfg, ports.fill(&config(&url, "", logs.port))).unwrap();
    let mut child = std::process::Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .arg("--feature-gates=-exporter.awsxray.skiptimestampvalidation")
        .envs(KEYS)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let metrics = || {
        http_get(&format!("127.0.0.1:{}", ports.metrics), "/metrics")
            .map(|(_, b)| parse_metrics(&b))
            .unwrap_or_default()
    };
    let ready = eventually(20, || http_get(&format!("127.0.0.1:{}", ports.health), "/").is_ok_and(|(c, _)| c == 200));
    if ready {
        send(ports.grpc, request(1, false)).await;
        send(ports.grpc, request(2, true)).await;
    }
    let sent = eventually(10, || sum_metric(&metrics(), "otelcol_exporter_sent_spans", &[]) == 3.0);
    let failed = sum_metric(&metrics(), "otelcol_exporter_send_failed_spans", &[]);
    let requests = sink.requests();
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready && sent, "oxidot did not start or send");
    assert_eq!(failed, 0.0);
    let docs: usize = requests
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["TraceSegmentDocuments"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(docs, 2, "only the spans with an epoch reach X-Ray");
}
