//! The `awsemf` exporter through the real binary: OTLP metrics in, EMF log events out, into
//! moto's CloudWatch Logs (log group and stream created on first use, with the configured
//! retention and tags), read back with boto3; and `output_destination: stdout`.

mod support;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use support::config::TestConfig;
use support::metrics::{gauge, kv, sum};
use support::moto::Moto;
use support::*;

fn send(port: u16, metrics: Vec<Metric>) {
    let req = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "svc"), kv("aws.ecs.task.id", "task-1")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope { name: "oxidot.test".into(), ..Default::default() }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut c = MetricsServiceClient::connect(format!("http://127.0.0.1:{port}")).await.unwrap();
        c.export(req).await.unwrap();
    });
}

/// Every log group moto holds, read with boto3 (tests/support/cwlogs_get.py).
fn groups(m: &Moto) -> Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/cwlogs_get.py");
    let out = Command::new(python()).arg(script).arg(m.url()).arg("us-east-1").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["groups"].clone()
}

fn emf_config(exporter: &str) -> String {
    TestConfig::new().exporters(exporter).pipeline("metrics", &[], &["awsemf"]).build()
}

#[test]
fn emf_documents_reach_cloudwatch_logs_with_exact_metrics_dimensions_and_values() {
    let moto = Moto::start();
    let exporter = format!(
        "  awsemf:\n    region: us-east-1\n    endpoint: {}\n    namespace: Oxidot/Test\n    \
         log_group_name: '/oxidot/{{ServiceName}}'\n    log_stream_name: 'stream-{{TaskId}}'\n    \
         log_retention: 7\n    tags: {{team: observability}}\n",
        moto.url()
    );
    let env = [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")];
    let o = Oxidot::start_with(&emf_config(&exporter), &env);
    let t0 = now_ns() / 1_000_000 * 1_000_000;
    let t1 = t0 + 10_000_000_000;
    send(o.ports.grpc, vec![gauge("temp", "By", 1.5, t0, vec![kv("host", "h1")]), sum("requests", true, 10, t0)]);
    // The first cumulative value only sets the baseline; the second gives the delta 15.
    send(o.ports.grpc, vec![gauge("temp", "By", 2.5, t1, vec![kv("host", "h1")]), sum("requests", true, 25, t1)]);
    assert!(
        eventually(20, || o.metric("otelcol_exporter_sent_metric_points", &[("exporter", "awsemf")]) == 4.0),
        "{}",
        o.stderr()
    );
    let g = groups(&moto);
    let group = &g["/oxidot/svc"];
    assert_eq!(group["retention"], json!(7), "{g}");
    assert_eq!(group["tags"], json!({"team": "observability"}));
    let events = group["streams"]["stream-task-1"].as_array().unwrap_or_else(|| panic!("{g}"));
    let docs: Vec<Value> =
        events.iter().map(|e| serde_json::from_str(e["message"].as_str().unwrap()).unwrap()).collect();
    let ms = |t: u64| (t / 1_000_000) as i64;
    assert_eq!(
        docs,
        vec![
            json!({"OTelLib": "oxidot.test", "host": "h1", "temp": 1.5, "Version": "1",
                   "_aws": {"Timestamp": ms(t0), "CloudWatchMetrics": [{"Namespace": "Oxidot/Test",
                     "Dimensions": [["OTelLib"], ["OTelLib", "host"]], "Metrics": [{"Name": "temp", "Unit": "Bytes"}]}]}}),
            json!({"OTelLib": "oxidot.test", "host": "h1", "temp": 2.5, "Version": "1",
                   "_aws": {"Timestamp": ms(t1), "CloudWatchMetrics": [{"Namespace": "Oxidot/Test",
                     "Dimensions": [["OTelLib"], ["OTelLib", "host"]], "Metrics": [{"Name": "temp", "Unit": "Bytes"}]}]}}),
            json!({"OTelLib": "oxidot.test", "requests": 15, "Version": "1",
                   "_aws": {"Timestamp": ms(t1), "CloudWatchMetrics": [{"Namespace": "Oxidot/Test",
                     "Dimensions": [["OTelLib"]], "Metrics": [{"Name": "requests"}]}]}}),
        ]
    );
    // Each event's time is the data point's.
    let times: Vec<i64> = events.iter().map(|e| e["timestamp"].as_i64().unwrap()).collect();
    assert_eq!(times, [ms(t0), ms(t1), ms(t1)]);
    assert_eq!(o.metric("otelcol_exporter_send_failed_metric_points", &[("exporter", "awsemf")]), 0.0);
}

#[test]
fn output_destination_stdout_prints_one_document_per_line() {
    let ports = Ports::new();
    let yaml = ports.fill(&emf_config(
        "  awsemf:\n    output_destination: stdout\n    namespace: Std\n    dimension_rollup_option: NoDimensionRollup\n",
    ));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.yaml");
    std::fs::write(&cfg, yaml).unwrap();
    let out_path = dir.path().join("stdout");
    let mut child = Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .env_remove("AWS_REGION")
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(eventually(20, || http_get(&format!("127.0.0.1:{}", ports.health), "/").map(|r| r.0).ok() == Some(200)));
    let t = now_ns() / 1_000_000 * 1_000_000;
    send(ports.grpc, vec![gauge("g", "ms", 3.0, t, vec![kv("a", "x"), kv("b", "y")])]);
    let read = || std::fs::read_to_string(&out_path).unwrap_or_default();
    assert!(eventually(20, || read().lines().count() == 1), "{}", read());
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    let doc: Value = serde_json::from_str(read().lines().next().unwrap()).unwrap();
    assert_eq!(
        doc,
        json!({"OTelLib": "oxidot.test", "a": "x", "b": "y", "g": 3, "Version": "1",
               "_aws": {"Timestamp": (t / 1_000_000) as i64, "CloudWatchMetrics": [{"Namespace": "Std",
                 "Dimensions": [["OTelLib", "a", "b"]], "Metrics": [{"Name": "g", "Unit": "Milliseconds"}]}]}})
    );
}

/// ADOT's `/etc/ecs/ecs-cloudwatch.yaml`, unchanged (only the listening ports are moved by extra
/// `--config yaml:` sources): ECS resource detection, the resource processor's renames,
/// `batch/metrics`, and `awsemf/application` (NoDimensionRollup, resource_to_telemetry_conversion)
/// into CloudWatch Logs (moto, through `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`).
#[test]
fn adot_ecs_cloudwatch_config_runs_unchanged_into_cloudwatch_logs() {
    let moto = Moto::start();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ecs");
    let task = std::fs::read_to_string(dir.join("task.json")).unwrap();
    let container = std::fs::read_to_string(dir.join("container.json")).unwrap();
    let ecs = support::sinks::StaticServer::start(vec![("/v4/abc/task", 200, task), ("/v4/abc", 200, container)]);
    let cfg = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/adot-configs/ecs-cloudwatch.yaml");
    let uris = [
        cfg.display().to_string(),
        "yaml:receivers::otlp::protocols::grpc::endpoint: 127.0.0.1:$GRPC".into(),
        "yaml:receivers::otlp::protocols::http::endpoint: 127.0.0.1:$HTTP".into(),
        "yaml:extensions::health_check::endpoint: 127.0.0.1:$HEALTH".into(),
        "yaml:service::telemetry::metrics::address: 127.0.0.1:$METRICS".into(),
    ];
    let meta = ecs.url("/v4/abc");
    let logs = moto.url();
    let env = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", logs.as_str()),
        ("ECS_CONTAINER_METADATA_URI_V4", meta.as_str()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let mut o = Oxidot::start_uris(&uris, &env);
    let t = now_ns() / 1_000_000 * 1_000_000;
    send(o.ports.grpc, vec![gauge("temp", "s", 4.0, t, vec![kv("host", "h1")])]);
    // batch/metrics waits 60 s; the shutdown flushes it.
    assert!(o.stop().success(), "{}", o.stderr());
    let g = groups(&moto);
    let streams = g["/aws/ecs/application/metrics"]["streams"].as_object().unwrap_or_else(|| panic!("{g}"));
    assert_eq!(streams.len(), 1, "{g}");
    let (stream, events) = streams.iter().next().unwrap();
    assert!(stream.starts_with("otel-stream-"), "{stream}");
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1, "{g}");
    let doc: Value = serde_json::from_str(events[0]["message"].as_str().unwrap()).unwrap();
    // The resource processor's renames, copied onto the point by resource_to_telemetry_conversion.
    let labels = json!({
        "ClusterARN": "arn:aws:ecs:us-west-2:111122223333:cluster/default",
        "LaunchType": "fargate",
        "OTelLib": "oxidot.test",
        "TaskARN": "arn:aws:ecs:us-west-2:111122223333:task/default/e9028f8d5d8e4f258373e7b93ce9a3c3",
        "TaskDefinitionFamily": "curltest",
        "TaskDefinitionRevision": "3",
        "aws.ecs.task.id": "e9028f8d5d8e4f258373e7b93ce9a3c3",
        // The config deletes the other aws.log.* lists but not this one: a list attribute is
        // written as its JSON text (pdata AsString), as Go does.
        "aws.log.stream.arns": "[\"arn:aws:logs:us-west-2:111122223333:log-group:/ecs/containerlogs:log-stream:ecs/curl/e9028f8d5d8e4f258373e7b93ce9a3c3\"]",
        "host": "h1",
        "service.name": "svc",
    });
    let mut want = labels.as_object().unwrap().clone();
    let dims: Vec<&String> = want.keys().collect();
    let dims = json!([dims]);
    want.insert("temp".into(), json!(4));
    want.insert("Version".into(), json!("1"));
    want.insert(
        "_aws".into(),
        json!({"Timestamp": (t / 1_000_000) as i64, "CloudWatchMetrics": [{"Namespace": "ECS/AWSOTel/Application",
               "Dimensions": dims, "Metrics": [{"Name": "temp", "Unit": "Seconds"}]}]}),
    );
    assert_eq!(doc, Value::Object(want));
}

/// The PutLogEvents call as sent (target, content type, SigV4 scope, body), and how answers are
/// handled: throttling and 5xx retried `max_retries` times inside the call, a missing stream
/// created then the call made again, InvalidParameterException failing the batch for good.
#[test]
fn put_log_events_wire_format_retries_stream_creation_and_permanent_errors() {
    use support::sinks::{Answer, HttpSink};
    let err = |status: u16, kind: &str| Answer {
        status,
        headers: vec![("content-type", "application/x-amz-json-1.1".into())],
        body: format!(r#"{{"__type":"{kind}","message":"scripted"}}"#).into_bytes(),
    };
    let sink = HttpSink::start();
    let exporter = format!(
        "  awsemf:\n    region: eu-west-1\n    endpoint: http://127.0.0.1:{}\n    namespace: N\n    \
         log_group_name: /g\n    log_stream_name: s\n",
        sink.port
    );
    let env = [("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "secret")];
    let o = Oxidot::start_with(&emf_config(&exporter), &env);
    let sent = || o.metric("otelcol_exporter_sent_metric_points", &[("exporter", "awsemf")]);
    let failed = || o.metric("otelcol_exporter_send_failed_metric_points", &[("exporter", "awsemf")]);
    let t = now_ns() / 1_000_000 * 1_000_000;

    // 1. Two retryable answers, then success: one batch sent.
    sink.script.lock().unwrap().extend([err(503, "ServiceUnavailableException"), err(400, "ThrottlingException")]);
    send(o.ports.grpc, vec![gauge("g", "", 1.0, t, vec![])]);
    assert!(eventually(20, || sent() == 1.0), "{}", o.stderr());
    let r = sink.requests();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].header("x-amz-target"), Some("Logs_20140328.PutLogEvents"));
    assert_eq!(r[0].header("content-type"), Some("application/x-amz-json-1.1"));
    let auth = r[0].header("authorization").unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") && auth.contains("/eu-west-1/logs/aws4_request"),
        "{auth}"
    );
    let body: Value = serde_json::from_slice(&r[0].body).unwrap();
    assert_eq!((body["logGroupName"].as_str(), body["logStreamName"].as_str()), (Some("/g"), Some("s")));
    assert_eq!(body["logEvents"][0]["timestamp"], json!((t / 1_000_000) as i64));
    assert!(body.get("sequenceToken").is_none());
    let doc: Value = serde_json::from_str(body["logEvents"][0]["message"].as_str().unwrap()).unwrap();
    assert_eq!(doc["g"], json!(1));

    // 2. The stream is missing: CreateLogStream, then PutLogEvents again.
    sink.script.lock().unwrap().push_back(err(400, "ResourceNotFoundException"));
    send(o.ports.grpc, vec![gauge("g", "", 2.0, t + 1_000_000_000, vec![])]);
    assert!(eventually(20, || sent() == 2.0), "{}", o.stderr());
    let r = sink.requests();
    let targets: Vec<&str> = r.iter().map(|x| x.header("x-amz-target").unwrap()).collect();
    assert_eq!(targets, ["Logs_20140328.PutLogEvents", "Logs_20140328.CreateLogStream", "Logs_20140328.PutLogEvents"]);
    let create: Value = serde_json::from_slice(&r[1].body).unwrap();
    assert_eq!(create, json!({"logGroupName": "/g", "logStreamName": "s"}));

    // 3. InvalidParameterException: not retried, counted as failed, logged.
    sink.script.lock().unwrap().push_back(err(400, "InvalidParameterException"));
    send(o.ports.grpc, vec![gauge("g", "", 3.0, t + 2_000_000_000, vec![])]);
    assert!(eventually(20, || failed() == 1.0), "{}", o.stderr());
    assert_eq!(sink.requests().len(), 3);
    assert_eq!(sent(), 2.0);
    assert!(o.stderr().contains("InvalidParameterException"), "{}", o.stderr());
}
