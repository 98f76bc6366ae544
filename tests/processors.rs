//! resourcedetection (env, system, ecs), memory_limiter, resource and attributes processors,
//! through the real binary, checked at an `otlp` exporter's target.

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use std::collections::BTreeMap;
use std::time::Duration;
use support::sinks::{GrpcSink, StaticServer};
use support::*;

/// Serves a task metadata endpoint v4 from tests/fixtures/ecs/<dir>: `task.json` at
/// `/v4/abc/task`, `container.json` (the collector's own container) at `/v4/abc`.
fn ecs_server_from(dir: &str) -> StaticServer {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ecs").join(dir);
    let task = std::fs::read_to_string(dir.join("task.json")).unwrap();
    let container = std::fs::read_to_string(dir.join("container.json")).unwrap();
    StaticServer::start(vec![("/v4/abc/task", 200, task), ("/v4/abc", 200, container)])
}

fn ecs_server() -> StaticServer {
    ecs_server_from("")
}

fn config(sink: u16, detectors: &str, extra: &str) -> String {
    let processors = ["resourcedetection", "batch"];
    TestConfig::new()
        .http()
        .processors(&format!(
            "  batch:\n    timeout: 50ms\n  resourcedetection:\n    detectors: {detectors}\n    timeout: 500ms\n{extra}\n"
        ))
        .exporters(&format!("  otlp:\n    endpoint: 127.0.0.1:{sink}\n    tls:\n      insecure: true\n"))
        .pipeline("traces", &processors, &["otlp"])
        .pipeline("metrics", &processors, &["otlp"])
        .pipeline("logs", &processors, &["otlp"])
        .build()
}

fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::ArrayValue(a)) => {
            format!("[{}]", a.values.iter().map(|x| text(&Some(x.clone()))).collect::<Vec<_>>().join(","))
        }
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attrs(r: &Option<Resource>) -> BTreeMap<String, String> {
    r.as_ref().map(|r| r.attributes.iter().map(|kv| (kv.key.clone(), text(&kv.value))).collect()).unwrap_or_default()
}

/// The resources of every signal the sink received.
fn resources(s: &GrpcSink) -> Vec<(&'static str, BTreeMap<String, String>)> {
    let g = s.got.lock().unwrap();
    let mut out = Vec::new();
    out.extend(g.traces.iter().flat_map(|r| &r.resource_spans).map(|r| ("traces", attrs(&r.resource))));
    out.extend(g.metrics.iter().flat_map(|r| &r.resource_metrics).map(|r| ("metrics", attrs(&r.resource))));
    out.extend(g.logs.iter().flat_map(|r| &r.resource_logs).map(|r| ("logs", attrs(&r.resource))));
    out
}

/// What Go's ecs detector finds in AWS's documented Fargate responses (the container document
/// is from another task, so the task's `curl` container counts as another container).
const ECS_EXPECTED: &[(&str, &str)] = &[
    ("cloud.provider", "aws"),
    ("cloud.platform", "aws_ecs"),
    ("cloud.account.id", "111122223333"),
    ("cloud.region", "us-west-2"),
    ("cloud.availability_zone", "us-west-2a"),
    ("aws.ecs.cluster.arn", "arn:aws:ecs:us-west-2:111122223333:cluster/default"),
    ("aws.ecs.task.arn", "arn:aws:ecs:us-west-2:111122223333:task/default/e9028f8d5d8e4f258373e7b93ce9a3c3"),
    ("aws.ecs.task.family", "curltest"),
    ("aws.ecs.task.id", "e9028f8d5d8e4f258373e7b93ce9a3c3"),
    ("aws.ecs.task.revision", "3"),
    ("aws.ecs.launchtype", "fargate"),
    ("aws.log.group.names", "[/ecs/containerlogs]"),
    ("aws.log.group.arns", "[arn:aws:logs:us-west-2:111122223333:log-group:/ecs/containerlogs]"),
    ("aws.log.stream.names", "[ecs/curl/e9028f8d5d8e4f258373e7b93ce9a3c3]"),
    (
        "aws.log.stream.arns",
        "[arn:aws:logs:us-west-2:111122223333:log-group:/ecs/containerlogs:log-stream:ecs/curl/e9028f8d5d8e4f258373e7b93ce9a3c3]",
    ),
];

/// Attributes Go's ecs detector does not have: the collector's own container identity.
const NOT_DETECTED: &[&str] = &["container.id", "container.name", "aws.ecs.container.arn"];

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string()
}

#[test]
fn phase2_detectors_tag_every_signal_from_the_python_sdk_with_the_ecs_task() {
    let ecs = ecs_server();
    let sink = GrpcSink::start();
    let cfg = config(sink.port, "[env, system, ecs]", "    system:\n      hostname_sources: [os]\n");
    let ox = Oxidot::start_with(
        &cfg,
        &[
            ("ECS_CONTAINER_METADATA_URI_V4", &ecs.url("/v4/abc")),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=dev,team=obs%20core"),
        ],
    );
    run_sdk("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 3, 2, "enterprise-api");
    assert!(eventually(10, || sink.spans() == 3 && sink.log_records() == 2 && sink.data_points() > 0));
    let res = resources(&sink);
    let signals: Vec<&str> = res.iter().map(|(s, _)| *s).collect();
    assert!(signals.contains(&"traces") && signals.contains(&"metrics") && signals.contains(&"logs"));
    for (signal, a) in &res {
        for (k, v) in ECS_EXPECTED {
            assert_eq!(a.get(*k).map(String::as_str), Some(*v), "{signal}: {k}");
        }
        for k in NOT_DETECTED {
            assert!(!a.contains_key(*k), "{signal}: {k} is not a Go ecs attribute");
        }
        assert_eq!(a.get("host.name"), Some(&hostname()), "{signal}");
        assert_eq!(a.get("os.type").map(String::as_str), Some("linux"), "{signal}");
        assert_eq!(a.get("deployment.environment").map(String::as_str), Some("dev"), "{signal}");
        assert_eq!(a.get("team").map(String::as_str), Some("obs core"), "{signal}: percent-decoded");
        assert_eq!(
            a.get("service.name").map(String::as_str),
            Some("enterprise-api"),
            "{signal}: the app's own attributes stay"
        );
    }
    assert!(ox.stderr().contains("detected resource information"));
    assert!(!ox.stderr().contains("failed to detect"), "{}", ox.stderr());
    assert!(
        ox.metric("otelcol_processor_incoming_items", &[("processor", "resourcedetection"), ("otel_signal", "traces")])
            == 3.0
    );
}

#[test]
fn override_false_keeps_the_apps_values_and_true_replaces_them() {
    for (override_, want) in [("false", "enterprise-api"), ("true", "from-collector-env")] {
        let sink = GrpcSink::start();
        let cfg = config(sink.port, "[env]", "")
            .replace("    timeout: 500ms\n", &format!("    timeout: 500ms\n    override: {override_}\n"));
        let ox = Oxidot::start_with(&cfg, &[("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-collector-env")]);
        run_sdk("http", &format!("http://127.0.0.1:{}", ox.ports.http), 1, 0, "enterprise-api");
        assert!(eventually(10, || sink.spans() == 1));
        let res = resources(&sink);
        assert_eq!(res[0].1.get("service.name").map(String::as_str), Some(want), "override: {override_}");
    }
}

#[test]
fn the_collectors_own_container_is_not_stamped_on_the_apps_telemetry() {
    // A sidecar collector on ECS, override true (the default): the app's resource keeps its
    // own identity, and the log group/stream attributes are the app container's awslogs ones.
    let ecs = ecs_server_from("sidecar");
    let sink = GrpcSink::start();
    let cfg = config(sink.port, "[ecs]", "");
    let ox = Oxidot::start_with(&cfg, &[("ECS_CONTAINER_METADATA_URI_V4", &ecs.url("/v4/abc"))]);
    run_sdk("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 2, 1, "enterprise-api");
    assert!(eventually(10, || sink.spans() == 2 && sink.log_records() == 1));
    for (signal, a) in resources(&sink) {
        assert_eq!(a.get("service.name").map(String::as_str), Some("enterprise-api"), "{signal}");
        for k in NOT_DETECTED {
            assert!(!a.contains_key(*k), "{signal}: {k}: {a:?}");
        }
        assert_eq!(a.get("aws.log.group.names").map(String::as_str), Some("[/ecs/enterprise-api]"), "{signal}");
        assert_eq!(
            a.get("aws.log.stream.names").map(String::as_str),
            Some("[ecs/enterprise-api/7f3c2d1e0b9a48d6a5c4b3a291807f6e]"),
            "{signal}"
        );
        assert!(!a.values().any(|v| v.contains("aws-otel-collector")), "{signal}: collector identity leaked: {a:?}");
        assert_eq!(a.get("aws.ecs.task.family").map(String::as_str), Some("enterprise-api"), "{signal}");
    }
}

/// Runs oxidot with `yaml` until it exits (it must, within 30 s); returns (code, stderr, elapsed).
fn run_until_exit(yaml: &str, env: &[(&str, &str)]) -> (i32, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, Ports::new().fill(yaml)).unwrap();
    let started = std::time::Instant::now();
    let (code, _, stderr) = run_cli(&["--config", path.to_str().unwrap()], env);
    (code, stderr, started.elapsed())
}

#[test]
fn a_detector_error_fails_the_start_after_retrying_until_the_timeout() {
    let slow = ecs_server();
    *slow.delay.lock().unwrap() = Duration::from_secs(3);
    let garbage =
        StaticServer::start(vec![("/v4/abc/task", 200, "<html>not json".into()), ("/v4/abc", 200, "{}".into())]);
    let missing = StaticServer::start(vec![]);
    let closed = format!("http://127.0.0.1:{}/v4/abc", free_port());
    let cases = [
        ("closed", closed.clone(), format!("unable to fetch task metadata: Get \"{closed}/task\": ")),
        ("slow", slow.url("/v4/abc"), "context deadline exceeded".to_string()),
        (
            "garbage",
            garbage.url("/v4/abc"),
            "unable to fetch task metadata: encountered unexpected error reading response from ECS Task Metadata Endpoint: "
                .to_string(),
        ),
        (
            "404",
            missing.url("/v4/abc"),
            format!("unable to fetch task metadata: request GET {}/task failed - \"404 Not Found\"", missing.url("/v4/abc")),
        ),
    ];
    for (what, uri, want) in cases {
        let sink = GrpcSink::start();
        let (code, log, took) =
            run_until_exit(&config(sink.port, "[env, ecs, system]", ""), &[("ECS_CONTAINER_METADATA_URI_V4", &uri)]);
        assert_ne!(code, 0, "{what}: {log}");
        let last = log.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        assert!(
            last.starts_with("Error: cannot start pipelines: failed to start \"resourcedetection\" processor: "),
            "{what}: {last}"
        );
        assert!(last.contains(&want), "{what}: want {want:?} in {last}");
        // Retried (each attempt logged) until the 500 ms timeout, then given up.
        assert!(log.contains("failed to detect resource"), "{what}: {log}");
        assert!(took >= Duration::from_millis(450), "{what}: gave up after {took:?}");
        assert!(!log.contains("Everything is ready"), "{what}: {log}");
    }
    // A malformed OTEL_RESOURCE_ATTRIBUTES fails the start the same way, with env.go's message.
    let sink = GrpcSink::start();
    let (code, log, _) =
        run_until_exit(&config(sink.port, "[env]", ""), &[("OTEL_RESOURCE_ATTRIBUTES", "team=obs,oops")]);
    assert_ne!(code, 0, "{log}");
    assert!(
        log.contains("Error: cannot start pipelines: failed to start \"resourcedetection\" processor: invalid resource format, invalid text: \"oops\""),
        "{log}"
    );
    // Detection lines carry the processor's attributes as Go's processor logger does, with the
    // pipeline and signal of an instance (Go logs through the first instance's logger).
    let line = log.lines().find(|l| l.contains("began detecting resource information")).unwrap_or("");
    for key in [
        "otelcol.component.id\": \"resourcedetection",
        "otelcol.component.kind\": \"processor",
        "otelcol.pipeline.id\": \"",
        "otelcol.signal\": \"",
    ] {
        assert!(line.contains(key), "{key} in {line}");
    }
    // The collector's own error line first (graph StartAll): error, type as Kind.String, id.
    assert!(
        log.contains("Failed to start component\t{") && log.contains("\"}, \"error\": \"invalid resource format, invalid text: \\\"oops\\\"\", \"type\": \"Processor\", \"id\": \"resourcedetection\"}"),
        "{log}"
    );
}

#[test]
fn not_on_ecs_the_ecs_detector_finds_nothing_and_start_succeeds() {
    // ecs.go NewDetector: no metadata endpoint variable means an empty result, not an error.
    let sink = GrpcSink::start();
    let ox = Oxidot::start(&config(sink.port, "[ecs, system]", ""));
    run_sdk("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 1, 0, "svc");
    assert!(eventually(10, || sink.spans() == 1));
    let a = &resources(&sink)[0].1;
    assert!(a.contains_key("host.name") && !a.contains_key("aws.ecs.task.arn"), "{a:?}");
    assert!(!ox.stderr().contains("failed to detect"), "{}", ox.stderr());
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        key_strindex: 0,
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_and_attributes_actions_apply_in_order() {
    let sink = GrpcSink::start();
    let yaml = format!(
        r#"
extensions: {{health_check: {{endpoint: "127.0.0.1:$HEALTH"}}}}
receivers: {{otlp: {{protocols: {{grpc: {{endpoint: "127.0.0.1:$GRPC"}}}}}}}}
processors:
  resource:
    attributes:
      - {{key: deployment.environment, value: prod, action: upsert}}
      - {{key: telemetry.sdk.language, action: delete}}
  attributes:
    actions:
      - {{key: user.email, action: hash}}
      - {{key: http.route, from_attribute: route, action: insert}}
      - {{key: route, action: delete}}
exporters: {{otlp: {{endpoint: "127.0.0.1:{}", tls: {{insecure: true}}}}}}
service:
  extensions: [health_check]
  pipelines: {{traces: {{receivers: [otlp], processors: [resource, attributes], exporters: [otlp]}}}}
  telemetry: {{metrics: {{address: "127.0.0.1:$METRICS"}}}}
"#,
        sink.port
    );
    let ox = Oxidot::start(&yaml);
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "api"), kv("telemetry.sdk.language", "python")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![1; 16],
                    span_id: vec![1; 8],
                    name: "GET".into(),
                    attributes: vec![kv("user.email", "a@b.c"), kv("route", "/items/{id}")],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let mut c = TraceServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc)).await.unwrap();
    c.export(req).await.unwrap();
    assert!(eventually(10, || sink.spans() == 1));
    let got = sink.got.lock().unwrap().traces[0].clone();
    let rs = &got.resource_spans[0];
    assert_eq!(
        rs.resource.as_ref().unwrap().attributes,
        vec![kv("service.name", "api"), kv("deployment.environment", "prod")]
    );
    let span = &rs.scope_spans[0].spans[0];
    use sha2::Digest;
    let hashed = hex::encode(sha2::Sha256::digest(b"a@b.c"));
    assert_eq!(span.attributes, vec![kv("user.email", &hashed), kv("http.route", "/items/{id}")]);
    let _ = got.encode_to_vec();
}

#[test]
fn memory_limiter_refuses_over_the_limit_then_recovers_and_loses_nothing_accepted() {
    let sink = GrpcSink::start();
    *sink.delay.lock().unwrap() = Duration::from_millis(1500);
    let yaml = format!(
        r#"
extensions: {{health_check: {{endpoint: "127.0.0.1:$HEALTH"}}}}
receivers: {{otlp: {{protocols: {{http: {{endpoint: "127.0.0.1:$HTTP"}}}}}}}}
processors:
  memory_limiter:
    check_interval: 20ms
    limit_mib: 40
    spike_limit_mib: 10
exporters:
  otlp:
    endpoint: "127.0.0.1:{}"
    tls: {{insecure: true}}
    compression: none
    sending_queue: {{num_consumers: 1, queue_size: 1000}}
service:
  extensions: [health_check]
  pipelines: {{traces: {{receivers: [otlp], processors: [memory_limiter], exporters: [otlp]}}}}
  telemetry: {{metrics: {{address: "127.0.0.1:$METRICS"}}}}
"#,
        sink.port
    );
    let ox = Oxidot::start(&yaml);
    // ~1 MiB on the wire per request, more once decoded and queued behind the slow backend.
    let body = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (0..2000u32)
                    .map(|i| Span {
                        trace_id: vec![2; 16],
                        span_id: i.to_be_bytes().repeat(2),
                        name: "x".repeat(500),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    let hp = format!("127.0.0.1:{}", ox.ports.http);
    let post =
        || http_request(&hp, "POST", "/v1/traces", &[("Content-Type", "application/x-protobuf")], &body).unwrap();
    let mut accepted = 0usize;
    let mut refused = None;
    for _ in 0..200 {
        let (code, hdrs, resp) = post();
        match code {
            200 => accepted += 2000,
            503 => {
                refused = Some((hdrs, resp));
                break;
            }
            c => panic!("unexpected {c}"),
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let (hdrs, resp) = refused.expect("never refused: memory did not cross the soft limit");
    eprintln!("refused after {accepted} accepted spans");
    assert!(hdrs.iter().any(|(k, _)| k == "retry-after"), "{hdrs:?}");
    assert!(String::from_utf8_lossy(&resp).contains("data refused due to high memory usage"));
    // Refused by the processor, or (once the limiter is refusing) by the receiver before
    // decoding: counted in one or the other.
    let refused = ox.metric("otelcol_processor_memory_limiter_refused_spans", &[("processor", "memory_limiter")])
        + ox.metric("otelcol_receiver_refused_spans", &[]);
    assert!(refused >= 2000.0, "{refused}");
    assert!(ox.stderr().contains("Memory usage is above soft limit"));
    // The backend speeds up, the queue drains, memory falls: data is accepted again.
    *sink.delay.lock().unwrap() = Duration::ZERO;
    assert!(
        eventually(60, || {
            let ok = post().0 == 200;
            if ok {
                accepted += 2000;
            }
            ok
        }),
        "never recovered:\n{}",
        ox.stderr()
    );
    assert!(eventually(30, || sink.spans() == accepted), "sink {} of {accepted}", sink.spans());
    assert_eq!(ox.metric("otelcol_processor_memory_limiter_accepted_spans", &[]), accepted as f64);
    assert!(ox.stderr().contains("Memory usage back within limits"));
}

/// An IMDSv2-only metadata service on loopback (a blocking one-request-per-connection server):
/// without the token from `PUT /latest/api/token` every GET is 401, as on an instance with
/// `HttpTokens=required`.
fn imds_stand_in(instance_id: &str) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let doc = serde_json::json!({
        "accountId": "123456789012", "architecture": "x86_64", "availabilityZone": "us-east-1b",
        "imageId": "ami-0abcdef1234567890", "instanceId": instance_id, "instanceType": "t3.small",
        "privateIp": "10.0.1.12", "region": "us-east-1", "version": "2017-09-30"
    })
    .to_string();
    let id = instance_id.to_string();
    let log = seen.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let mut token_ok = false;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                let lower = h.to_ascii_lowercase();
                token_ok |= lower.starts_with("x-aws-ec2-metadata-token: tok-123");
            }
            let mut parts = line.split_whitespace();
            let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("").to_string());
            log.lock().unwrap().push(format!("{method} {path}"));
            let (code, body) = match (method, path.as_str()) {
                ("PUT", "/latest/api/token") => (200, "tok-123".to_string()),
                _ if !token_ok => (401, String::new()),
                ("GET", "/latest/meta-data/instance-id") => (200, id.clone()),
                ("GET", "/latest/dynamic/instance-identity/document") => (200, doc.clone()),
                ("GET", "/latest/meta-data/hostname") => (200, "ip-10-0-1-12.ec2.internal".to_string()),
                _ => (404, String::new()),
            };
            let mut s = s;
            let _ = write!(s, "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    (port, seen)
}

/// The ec2 detector on an IMDSv2-only instance: identity document and hostname through the
/// token, and the instance's tags read with EC2 DescribeTags from moto's EC2 API (signed with
/// SigV4; moto routes by the credential scope), filtered by the `tags` expressions.
#[test]
fn ec2_detector_reads_imdsv2_and_describe_tags() {
    let moto = support::moto::Moto::start();
    let script = "import boto3,sys\n\
        ec2=boto3.client('ec2',endpoint_url=sys.argv[1],region_name='us-east-1',aws_access_key_id='k',aws_secret_access_key='s')\n\
        i=ec2.run_instances(ImageId='ami-12c6146b',MinCount=1,MaxCount=1)['Instances'][0]['InstanceId']\n\
        ec2.create_tags(Resources=[i],Tags=[{'Key':'Name','Value':'web-1'},{'Key':'team','Value':'obs & co'},{'Key':'secret-ish','Value':'x'}])\n\
        print(i)\n";
    let out = std::process::Command::new(python()).args(["-c", script, &moto.url()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let instance = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (imds, seen) = imds_stand_in(&instance);
    let sink = GrpcSink::start();
    let cfg = config(sink.port, "[ec2]", "    ec2:\n      tags: ['^Name$', '^te']\n");
    let ox = Oxidot::start_with(
        &cfg,
        &[
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &format!("http://127.0.0.1:{imds}")),
            ("AWS_ENDPOINT_URL_EC2", &moto.url()),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ],
    );
    run_sdk("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 1, 0, "api");
    assert!(eventually(10, || sink.spans() == 1), "{}", ox.stderr());
    let res = resources(&sink);
    let a = &res[0].1;
    let want = [
        ("cloud.provider", "aws"),
        ("cloud.platform", "aws_ec2"),
        ("cloud.region", "us-east-1"),
        ("cloud.account.id", "123456789012"),
        ("cloud.availability_zone", "us-east-1b"),
        ("host.id", instance.as_str()),
        ("host.image.id", "ami-0abcdef1234567890"),
        ("host.type", "t3.small"),
        ("host.name", "ip-10-0-1-12.ec2.internal"),
        ("ec2.tag.Name", "web-1"),
        ("ec2.tag.team", "obs & co"),
    ];
    for (k, v) in want {
        assert_eq!(a.get(k).map(String::as_str), Some(v), "{k} in {a:?}\n{}\n{:?}", ox.stderr(), seen.lock().unwrap());
    }
    assert!(!a.contains_key("ec2.tag.secret-ish"), "tags not matching the expressions stay out");
    assert_eq!(seen.lock().unwrap().first().map(String::as_str), Some("PUT /latest/api/token"));
    assert!(!ox.stderr().contains("failed to detect"), "{}", ox.stderr());
}

/// Off EC2 (Fargate): the metadata address accepts nothing or never answers. The detector adds
/// nothing, says so once, and does not hold the start for the processor's whole timeout.
#[test]
fn ec2_detector_off_ec2_is_silent_fast_and_adds_nothing() {
    // A listener that accepts and never answers: the worst case (a black-holed address).
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hole.local_addr().unwrap().port();
    let sink = GrpcSink::start();
    let cfg = config(sink.port, "[ec2, env]", "").replace("timeout: 500ms", "timeout: 10s");
    let started = std::time::Instant::now();
    let ox = Oxidot::start_with(
        &cfg,
        &[
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &format!("http://127.0.0.1:{port}")),
            ("OTEL_RESOURCE_ATTRIBUTES", "team=obs"),
        ],
    );
    let up = started.elapsed();
    run_sdk("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 1, 0, "api");
    assert!(eventually(10, || sink.spans() == 1), "{}", ox.stderr());
    let a = &resources(&sink)[0].1;
    assert_eq!(a.get("team").map(String::as_str), Some("obs"));
    assert!(!a.keys().any(|k| k.starts_with("cloud.") || k == "host.id"), "{a:?}");
    let err = ox.stderr();
    assert_eq!(err.matches("EC2 instance metadata is not reachable").count(), 1, "{err}");
    assert!(up < Duration::from_secs(6), "start took {up:?}: the probe must be bounded, not the 10 s timeout");
    drop(hole);
}
