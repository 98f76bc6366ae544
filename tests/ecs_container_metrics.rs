//! The `awsecscontainermetrics` receiver end to end: a loopback ECS task metadata endpoint v4
//! serves tests/fixtures/ecs (AWS's documented samples, and oxidot's `multi/` task), oxidot
//! collects every second and exports to an OTLP/gRPC sink; values are checked against numbers
//! computed by hand from the fixtures.

mod support;

use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, Metric, ResourceMetrics};
use support::sinks::{GrpcSink, StaticServer};
use support::{eventually, Oxidot};

fn fixture(p: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{p}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn metadata_server(dir: &str) -> StaticServer {
    StaticServer::start(vec![
        ("/v4/abc/task", 200, fixture(&format!("ecs/{dir}task.json"))),
        ("/v4/abc/task/stats", 200, fixture(&format!("ecs/{dir}task_stats.json"))),
    ])
}

fn config(sink: u16, extra_pipeline: bool) -> String {
    let mut y = format!(
        "extensions:\n  health_check:\n    endpoint: 127.0.0.1:$HEALTH\n\
         receivers:\n  awsecscontainermetrics:\n    collection_interval: 1s\n\
         \x20 otlp:\n    protocols:\n      grpc:\n        endpoint: 127.0.0.1:$GRPC\n\
         exporters:\n  otlp:\n    endpoint: 127.0.0.1:{sink}\n    tls: {{insecure: true}}\n\
         service:\n  extensions: [health_check]\n  pipelines:\n    metrics:\n      receivers: [awsecscontainermetrics]\n      exporters: [otlp]\n"
    );
    if extra_pipeline {
        y.push_str("    traces:\n      receivers: [otlp]\n      exporters: [otlp]\n");
    }
    y.push_str("  telemetry:\n    metrics:\n      address: 127.0.0.1:$METRICS\n");
    y
}

fn requests(sink: &GrpcSink) -> Vec<Vec<ResourceMetrics>> {
    sink.got.lock().unwrap().metrics.iter().map(|r| r.resource_metrics.clone()).collect()
}

fn metrics(rm: &ResourceMetrics) -> Vec<Metric> {
    rm.scope_metrics.iter().flat_map(|s| s.metrics.clone()).collect()
}

fn attr(rm: &ResourceMetrics, k: &str) -> Option<String> {
    rm.resource.as_ref()?.attributes.iter().find(|kv| kv.key == k).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            any_value::Value::IntValue(i) => Some(i.to_string()),
            _ => None,
        }
    })
}

/// (unit, value) of the one number data point of `name` in `rm`.
fn value(rm: &ResourceMetrics, name: &str) -> (String, f64) {
    let m = metrics(rm).into_iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no {name}"));
    let dp = match &m.data {
        Some(metric::Data::Gauge(g)) => g.data_points[0].clone(),
        Some(metric::Data::Sum(s)) => {
            assert_eq!((s.aggregation_temporality, s.is_monotonic), (2, false), "{name}: cumulative, not monotonic");
            s.data_points[0].clone()
        }
        other => panic!("{name}: {other:?}"),
    };
    let v = match dp.value {
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        Some(number_data_point::Value::AsDouble(d)) => d,
        None => panic!(),
    };
    (m.unit, v)
}

fn u(unit: &str, v: f64) -> (String, f64) {
    (unit.to_string(), v)
}

#[test]
fn aws_sample_task_gives_task_and_container_metrics() {
    let server = metadata_server("");
    let sink = GrpcSink::start();
    let o = Oxidot::start_with(&config(sink.port, false), &[("ECS_CONTAINER_METADATA_URI_V4", &server.url("/v4/abc"))]);
    assert!(eventually(15, || !requests(&sink).is_empty()), "{}", o.stderr());
    // One collection is one request: the container's resource, then the task's.
    let rms = requests(&sink).remove(0);
    assert_eq!(rms.len(), 2);
    let (c, t) = (&rms[0], &rms[1]);
    assert_eq!(metrics(c).len(), 26);
    assert_eq!(metrics(t).len(), 26);
    assert_eq!(c.schema_url, "https://opentelemetry.io/schemas/1.21.0");

    // Memory: usage 83886080 B, cache 20971520 B → (83886080 - 20971520) / 2^20 = 60 MB utilized;
    // the container reserves 128 (its limit), the task 512 (the task limit).
    assert_eq!(value(c, "container.memory.usage"), u("Bytes", 83886080.0));
    assert_eq!(value(c, "container.memory.utilized"), u("Megabytes", 60.0));
    assert_eq!(value(c, "container.memory.reserved"), u("Megabytes", 128.0));
    assert_eq!(value(t, "ecs.task.memory.utilized"), u("Megabytes", 60.0));
    assert_eq!(value(t, "ecs.task.memory.reserved"), u("Megabytes", 512.0));
    // CPU: (3.5e9 - 1e9) ns over read - preread = 10 s → 0.25 vCPU; the container's utilized is
    // 25 % over its 10 reserved units = 2.5; the task reserves 0.25 * 1024 = 256 units and
    // uses 0.25 * 1024 = 256.
    assert_eq!(value(c, "container.cpu.usage.vcpu"), u("vCPU", 0.25));
    assert_eq!(value(c, "container.cpu.utilized"), u("None", 2.5));
    assert_eq!(value(c, "container.cpu.reserved"), u("None", 10.0));
    assert_eq!(value(c, "container.cpu.usage.total"), u("Nanoseconds", 3.5e9));
    assert_eq!(value(c, "container.cpu.cores"), u("Count", 2.0));
    assert_eq!(value(t, "ecs.task.cpu.reserved"), u("None", 256.0));
    assert_eq!(value(t, "ecs.task.cpu.utilized"), u("None", 256.0));
    // Network: the agent's rates, and eth1's counters.
    assert_eq!(value(c, "container.network.rate.rx"), u("Bytes/Second", 1024.5));
    assert_eq!(value(t, "ecs.task.network.rate.tx"), u("Bytes/Second", 512.25));
    assert_eq!(value(t, "ecs.task.network.io.usage.rx_bytes"), u("Bytes", 1e6));
    assert_eq!(value(t, "ecs.task.network.io.usage.tx_dropped"), u("Count", 4.0));
    // Storage: the Read and Write ops only (Sync, Async, Total ignored).
    assert_eq!(value(t, "ecs.task.storage.read_bytes"), u("Bytes", 4096.0));
    assert_eq!(value(t, "ecs.task.storage.write_bytes"), u("Bytes", 8192.0));

    for (rm, k, v) in [
        (c, "container.name", "curl"),
        (c, "container.id", "e9028f8d5d8e4f258373e7b93ce9a3c3-2495160603"),
        (c, "container.image.name", "111122223333.dkr.ecr.us-west-2.amazonaws.com/curltest"),
        (c, "container.image.tag", "latest"),
        (c, "aws.ecs.container.know_status", "RUNNING"),
        (c, "aws.ecs.task.id", "e9028f8d5d8e4f258373e7b93ce9a3c3"),
        (t, "aws.ecs.cluster.name", "default"),
        (t, "aws.ecs.task.arn", "arn:aws:ecs:us-west-2:111122223333:task/default/e9028f8d5d8e4f258373e7b93ce9a3c3"),
        (t, "aws.ecs.task.family", "curltest"),
        (t, "aws.ecs.task.revision", "3"),
        (t, "aws.ecs.launchtype", "fargate"),
        (t, "cloud.region", "us-west-2"),
        (t, "cloud.account.id", "111122223333"),
        (t, "cloud.availability_zone", "us-west-2a"),
    ] {
        assert_eq!(attr(rm, k).as_deref(), Some(v), "{k}");
    }
    assert_eq!(attr(t, "container.name"), None);
    // The sink's metric points were counted as accepted (2 × 26 per collection).
    let accepted = o.metric("otelcol_receiver_accepted_metric_points", &[("receiver", "awsecscontainermetrics")]);
    assert!(accepted >= 52.0 && accepted % 52.0 == 0.0, "{accepted}");
}

/// The nine names ADOT's ecs-amp*.yaml configs keep with their `filter` processor.
fn adot_filter_names() -> Vec<String> {
    let mut all = Vec::new();
    for f in ["ecs-amp.yaml", "ecs-amp-xray.yaml", "ecs-amp-prometheus.yaml", "ecs-amp-xray-prometheus.yaml"] {
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&fixture(&format!("adot-configs/{f}"))).unwrap();
        let names = &v["processors"]["filter"]["metrics"]["include"]["metric_names"];
        let names: Vec<String> = names.as_sequence().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect();
        assert_eq!(names.len(), 9, "{f}");
        if all.is_empty() {
            all = names;
        } else {
            assert_eq!(all, names, "{f}");
        }
    }
    all
}

#[test]
fn stopped_container_duration_and_the_adot_filter_names() {
    let server = metadata_server("multi/");
    let sink = GrpcSink::start();
    let o = Oxidot::start_with(&config(sink.port, false), &[("ECS_CONTAINER_METADATA_URI_V4", &server.url("/v4/abc"))]);
    assert!(eventually(15, || !requests(&sink).is_empty()), "{}", o.stderr());
    let rms = requests(&sink).remove(0);
    // migrate (stopped, no stats): its duration only; api and collector: 26 each; the task.
    assert_eq!(rms.iter().map(|rm| metrics(rm).len()).collect::<Vec<_>>(), vec![1, 26, 26, 26]);
    // 10:00:00 → 10:00:42.5.
    assert_eq!(value(&rms[0], "container.duration"), u("Seconds", 42.5));
    assert_eq!(attr(&rms[0], "container.name").as_deref(), Some("migrate"));
    assert_eq!(attr(&rms[0], "aws.ecs.container.exit_code").as_deref(), Some("0"));
    assert_eq!(attr(&rms[1], "container.image.name").as_deref(), Some("docker.io/library/nginx"));
    // No task-level limits: the task reserves what its containers with stats reserve,
    // 512 + 256 MB and 256 + 128 units; it uses (0.2 + 0.1) vCPU × 1024.
    let t = &rms[3];
    assert_eq!(value(t, "ecs.task.memory.reserved"), u("Megabytes", 768.0));
    assert_eq!(value(t, "ecs.task.memory.utilized"), u("Megabytes", 256.0 + 64.0));
    assert_eq!(value(t, "ecs.task.cpu.reserved"), u("None", 384.0));
    assert_eq!(value(t, "ecs.task.cpu.utilized"), u("None", (0.2 + 0.1) * 1024.0));
    assert_eq!(value(t, "ecs.task.network.io.usage.rx_bytes"), u("Bytes", 1000.0 + 3000.0 + 10.0));
    assert_eq!(attr(t, "aws.ecs.service.name").as_deref(), Some("shop-api-svc"));
    assert_eq!(attr(t, "aws.ecs.launchtype").as_deref(), Some("ec2"));

    let emitted: Vec<String> = rms.iter().flat_map(metrics).map(|m| m.name).collect();
    for name in adot_filter_names() {
        assert!(emitted.contains(&name), "ADOT's filter keeps {name}, which oxidot must emit");
    }
}

#[test]
fn endpoint_errors_are_logged_and_collection_resumes() {
    let server = StaticServer::start(vec![("/v4/abc/task", 500, "agent busy".into())]);
    let sink = GrpcSink::start();
    let o = Oxidot::start_with(&config(sink.port, false), &[("ECS_CONTAINER_METADATA_URI_V4", &server.url("/v4/abc"))]);
    assert!(eventually(10, || o.stderr().contains("Failed to collect stats")), "{}", o.stderr());
    assert!(o.stderr().contains("cannot read data from task metadata endpoint"), "{}", o.stderr());
    assert!(requests(&sink).is_empty());
    // Bad JSON is an error too, then the agent answers and metrics flow.
    *server.routes.lock().unwrap() = vec![
        ("/v4/abc/task".into(), 200, fixture("ecs/task.json")),
        ("/v4/abc/task/stats".into(), 200, "{\"x\": {\"memory_stats\": {\"usage\": \"many\"}}}".into()),
    ];
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(requests(&sink).is_empty());
    server.routes.lock().unwrap()[1].2 = fixture("ecs/task_stats.json");
    assert!(eventually(10, || !requests(&sink).is_empty()), "{}", o.stderr());
}

#[test]
fn without_the_metadata_variable_one_error_and_the_rest_runs() {
    let sink = GrpcSink::start();
    let o = Oxidot::start_with(&config(sink.port, true), &[]);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let err = o.stderr();
    assert_eq!(err.matches("unable to detect task metadata endpoint").count(), 1, "{err}");
    assert!(err.contains("ECS_CONTAINER_METADATA_URI_V4"), "{err}");
    assert!(requests(&sink).is_empty());
    // The collector is up and healthy: only this receiver is idle.
    let mut o = o;
    assert!(o.is_running());
    assert_eq!(support::http_get(&format!("127.0.0.1:{}", o.ports.health), "/").unwrap().0, 200);
}
