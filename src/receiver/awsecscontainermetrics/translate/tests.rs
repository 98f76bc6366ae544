//! The translator over tests/fixtures/ecs (AWS's documented task shape, values picked so each
//! metric is computed by hand below), and Go's metrics_helper_test.go / resource_test.go /
//! translator_test.go cases.

use super::*;

fn fixture(p: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/ecs/{p}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn load(dir: &str) -> (TaskStats, TaskMetadata) {
    (
        serde_json::from_str(&fixture(&format!("{dir}task_stats.json"))).unwrap(),
        serde_json::from_str(&fixture(&format!("{dir}task.json"))).unwrap(),
    )
}

#[derive(Debug, PartialEq)]
enum V {
    I(i64),
    D(f64),
}

/// name → (unit, kind, value) of one ResourceMetrics.
fn flat(rm: &ResourceMetrics) -> Vec<(String, String, &'static str, V)> {
    rm.scope_metrics
        .iter()
        .flat_map(|sm| {
            assert_eq!(sm.metrics.len(), 1, "one metric per scope, as Go");
            &sm.metrics
        })
        .map(|m| {
            let (kind, dp) = match &m.data {
                Some(metric::Data::Gauge(g)) => ("gauge", &g.data_points[0]),
                Some(metric::Data::Sum(s)) => {
                    assert_eq!(s.aggregation_temporality, AggregationTemporality::Cumulative as i32);
                    assert!(!s.is_monotonic);
                    ("sum", &s.data_points[0])
                }
                _ => panic!(),
            };
            assert_eq!((dp.time_unix_nano, dp.start_time_unix_nano), (7, 0));
            let v = match dp.value {
                Some(number_data_point::Value::AsInt(i)) => V::I(i),
                Some(number_data_point::Value::AsDouble(d)) => V::D(d),
                None => panic!(),
            };
            (m.name.clone(), m.unit.clone(), kind, v)
        })
        .collect()
}

fn attr(rm: &ResourceMetrics, k: &str) -> Option<String> {
    rm.resource.as_ref().unwrap().attributes.iter().find(|kv| kv.key == k).map(|kv| {
        match &kv.value.as_ref().unwrap().value {
            Some(any_value::Value::StringValue(s)) => s.clone(),
            Some(any_value::Value::IntValue(i)) => format!("int:{i}"),
            _ => panic!(),
        }
    })
}

/// The 26 metrics for `prefix`, in translator.go's order, with its units and types.
fn expected(prefix: &str, v: [V; 26]) -> Vec<(String, String, &'static str, V)> {
    let spec: [(&str, &str, &str); 26] = [
        ("memory.usage", "Bytes", "gauge"),
        ("memory.usage.max", "Bytes", "gauge"),
        ("memory.usage.limit", "Bytes", "gauge"),
        ("memory.utilized", "Megabytes", "gauge"),
        ("memory.reserved", "Megabytes", "gauge"),
        ("cpu.usage.total", "Nanoseconds", "sum"),
        ("cpu.usage.kernelmode", "Nanoseconds", "sum"),
        ("cpu.usage.usermode", "Nanoseconds", "sum"),
        ("cpu.cores", "Count", "gauge"),
        ("cpu.onlines", "Count", "gauge"),
        ("cpu.usage.system", "Nanoseconds", "sum"),
        ("cpu.utilized", "None", "gauge"),
        ("cpu.reserved", "None", "gauge"),
        ("cpu.usage.vcpu", "vCPU", "gauge"),
        ("network.rate.rx", "Bytes/Second", "gauge"),
        ("network.rate.tx", "Bytes/Second", "gauge"),
        ("network.io.usage.rx_bytes", "Bytes", "sum"),
        ("network.io.usage.rx_packets", "Count", "sum"),
        ("network.io.usage.rx_errors", "Count", "sum"),
        ("network.io.usage.rx_dropped", "Count", "sum"),
        ("network.io.usage.tx_bytes", "Bytes", "sum"),
        ("network.io.usage.tx_packets", "Count", "sum"),
        ("network.io.usage.tx_errors", "Count", "sum"),
        ("network.io.usage.tx_dropped", "Count", "sum"),
        ("storage.read_bytes", "Bytes", "sum"),
        ("storage.write_bytes", "Bytes", "sum"),
    ];
    spec.iter().zip(v).map(|((n, u, k), v)| (format!("{prefix}{n}"), u.to_string(), *k, v)).collect()
}

use V::{D, I};

#[test]
fn aws_sample_task_by_hand() {
    let (stats, md) = load("");
    let (rms, warnings) = metrics_data(&stats, &md, 7);
    assert!(warnings.is_empty());
    assert_eq!(rms.len(), 2);
    // Container: memory (83886080 - cache 20971520) / 2^20 = 60 MiB; CPU (3.5e9 - 1e9) ns over
    // 10 s = 0.25 vCPU, utilized 25 % / 10 reserved units = 2.5; limits 128 MiB and 10 units.
    let container = [
        I(83886080),
        I(104857600),
        I(134217728),
        I(60),
        I(128),
        I(3500000000),
        I(500000000),
        I(3000000000),
        I(2),
        I(2),
        I(200000000000000),
        D(2.5),
        D(10.0),
        D(0.25),
        D(1024.5),
        D(512.25),
        I(1000000),
        I(900),
        I(1),
        I(2),
        I(500000),
        I(400),
        I(3),
        I(4),
        I(4096),
        I(8192),
    ];
    assert_eq!(flat(&rms[0]), expected("container.", container));
    // Task: the one container's sums; reservations from the task's limits (512 MiB, 0.25 vCPU
    // = 256 units) and utilized = 0.25 vCPU * 1024.
    let task = [
        I(83886080),
        I(104857600),
        I(134217728),
        I(60),
        I(512),
        I(3500000000),
        I(500000000),
        I(3000000000),
        I(2),
        I(2),
        I(200000000000000),
        D(256.0),
        D(256.0),
        D(0.25),
        D(1024.5),
        D(512.25),
        I(1000000),
        I(900),
        I(1),
        I(2),
        I(500000),
        I(400),
        I(3),
        I(4),
        I(4096),
        I(8192),
    ];
    assert_eq!(flat(&rms[1]), expected("ecs.task.", task));
    for rm in &rms {
        assert_eq!(rm.schema_url, SCHEMA_URL);
    }
    let c = &rms[0];
    for (k, v) in [
        ("container.name", "curl"),
        ("container.id", "e9028f8d5d8e4f258373e7b93ce9a3c3-2495160603"),
        ("aws.ecs.docker.name", "curl"),
        ("container.image.name", "111122223333.dkr.ecr.us-west-2.amazonaws.com/curltest"),
        ("container.image.tag", "latest"),
        ("aws.ecs.container.image.id", "sha256:25f3695bedfb454a50f12d127839a68ad3caf91e451c1da073db34c542c4d2cb"),
        ("aws.ecs.container.created_at", "2020-10-08T20:47:20.567813946Z"),
        ("aws.ecs.container.started_at", "2020-10-08T20:47:20.567813946Z"),
        ("aws.ecs.container.know_status", "RUNNING"),
        ("aws.ecs.cluster.name", "default"),
        ("aws.ecs.task.id", "e9028f8d5d8e4f258373e7b93ce9a3c3"),
        ("aws.ecs.task.family", "curltest"),
        ("aws.ecs.task.version", "3"),
        ("aws.ecs.task.revision", "3"),
        ("aws.ecs.service.name", ""),
        ("cloud.availability_zone", "us-west-2a"),
        ("aws.ecs.task.pull_started_at", "2020-10-08T20:47:16.053330955Z"),
        ("aws.ecs.task.known_status", "RUNNING"),
        ("aws.ecs.task.launch_type", "FARGATE"),
        ("aws.ecs.launchtype", "fargate"),
        ("cloud.region", "us-west-2"),
        ("cloud.account.id", "111122223333"),
    ] {
        assert_eq!(attr(c, k).as_deref(), Some(v), "{k}");
    }
    assert_eq!(attr(c, "aws.ecs.container.finished_at"), None);
    assert_eq!(attr(c, "aws.ecs.container.exit_code"), None);
    // The task's resource has the task attributes only.
    assert_eq!(attr(&rms[1], "container.name"), None);
    assert_eq!(rms[1].resource.as_ref().unwrap().attributes.len(), 15);
    assert_eq!(c.resource.as_ref().unwrap().attributes.len(), 9 + 15);
}

#[test]
fn stopped_container_and_sums_by_hand() {
    let (stats, md) = load("multi/");
    let (rms, warnings) = metrics_data(&stats, &md, 7);
    assert!(warnings.is_empty());
    assert_eq!(rms.len(), 4);
    // migrate: no stats, finished 42.5 s after it started.
    assert_eq!(flat(&rms[0]), vec![("container.duration".to_string(), "Seconds".to_string(), "gauge", D(42.5))]);
    assert_eq!(rms[0].schema_url, "");
    assert_eq!(attr(&rms[0], "aws.ecs.container.exit_code").as_deref(), Some("int:0"));
    assert_eq!(attr(&rms[0], "aws.ecs.container.finished_at").as_deref(), Some("2024-03-01T10:00:42.5Z"));
    assert_eq!(attr(&rms[0], "container.image.name").as_deref(), Some("public.ecr.aws/shop/migrate"));
    assert_eq!(attr(&rms[0], "container.image.tag").as_deref(), Some("2.1"));
    assert_eq!(attr(&rms[0], "aws.ecs.launchtype").as_deref(), Some("ec2"));
    assert_eq!(attr(&rms[0], "aws.ecs.cluster.name").as_deref(), Some("shop"));
    assert_eq!(attr(&rms[0], "aws.ecs.service.name").as_deref(), Some("shop-api-svc"));
    // api: "nginx" normalizes as docker does; two interfaces summed; 1e9 ns over 5 s = 0.2
    // vCPU, 20 % / 256 units; (300 - 44) MiB utilized.
    assert_eq!(attr(&rms[1], "container.image.name").as_deref(), Some("docker.io/library/nginx"));
    assert_eq!(attr(&rms[1], "container.image.tag").as_deref(), Some("latest"));
    let api = flat(&rms[1]);
    let get = |f: &[(String, String, &str, V)], n: &str| -> V {
        match &f.iter().find(|m| m.0 == n).unwrap().3 {
            I(i) => I(*i),
            D(d) => D(*d),
        }
    };
    assert_eq!(get(&api, "container.memory.utilized"), I(256));
    assert_eq!(get(&api, "container.cpu.usage.vcpu"), D(0.2));
    assert_eq!(get(&api, "container.cpu.utilized"), D(0.2 * 100.0 / 256.0));
    assert_eq!(get(&api, "container.network.io.usage.rx_bytes"), I(4000));
    assert_eq!(get(&api, "container.network.io.usage.tx_dropped"), I(3));
    assert_eq!(get(&api, "container.storage.read_bytes"), I(1000024));
    // collector: no cache entry → all 64 MiB utilized; 5e8 ns over 5 s = 0.1 vCPU.
    let col = flat(&rms[2]);
    assert_eq!(get(&col, "container.memory.utilized"), I(64));
    assert_eq!(get(&col, "container.cpu.cores"), I(1));
    // Task without limits: reservations are the sums of the containers with stats
    // (512 + 256 MiB, 256 + 128 units); utilized = (0.2 + 0.1) vCPU * 1024.
    let task = flat(&rms[3]);
    assert_eq!(get(&task, "ecs.task.memory.reserved"), I(768));
    assert_eq!(get(&task, "ecs.task.memory.utilized"), I(320));
    assert_eq!(get(&task, "ecs.task.cpu.reserved"), D(384.0));
    assert_eq!(get(&task, "ecs.task.cpu.utilized"), D((0.2 + 0.1) * 1024.0));
    assert_eq!(get(&task, "ecs.task.cpu.cores"), I(3));
    assert_eq!(get(&task, "ecs.task.network.rate.rx"), D(102.0));
    assert_eq!(get(&task, "ecs.task.network.io.usage.rx_packets"), I(41));
}

// Go TestGetContainerAndTaskMetrics-style edge cases: nil sections read 0.
#[test]
fn missing_sections_read_zero() {
    let s: ContainerStats = serde_json::from_str(r#"{"id": "x"}"#).unwrap();
    assert_eq!(container_metrics(&s), EcsMetrics::default());
    // CPU needs both cpu_usage and precpu_usage; read == preread gives 0 vCPU.
    let s: ContainerStats = serde_json::from_str(
        r#"{"id":"x","cpu_stats":{"cpu_usage":{"total_usage":5}},"precpu_stats":{"cpu_usage":{"total_usage":1}}}"#,
    )
    .unwrap();
    let m = container_metrics(&s);
    assert_eq!((m.cpu_total_usage, m.cpu_usage_in_vcpu), (5, 0.0));
    // A cache above usage floors at 0 (Go's uint64 subtraction would wrap).
    let s: ContainerStats =
        serde_json::from_str(r#"{"id":"x","memory_stats":{"usage":10,"stats":{"cache":20}}}"#).unwrap();
    assert_eq!(container_metrics(&s).memory_utilized, 0);
}

// Go resource_test.go TestGetResourceFromARN / TestGetNameFromCluster, docker's normalization.
#[test]
fn arns_clusters_images() {
    let own = |a: (String, String, String)| (a.0, a.1, a.2);
    assert_eq!(
        own(arn_parts("arn:aws:ecs:us-west-2:803860917211:task/test200/d22aaa11bf0e4ab19c2c940a1cbabbee")),
        ("us-west-2".into(), "803860917211".into(), "d22aaa11bf0e4ab19c2c940a1cbabbee".into())
    );
    assert_eq!(
        own(arn_parts("arn:aws:ecs:us-west-2:803860917211:task/d22aaa11bf0e4ab19c2c940a1cbabbee")),
        ("us-west-2".into(), "803860917211".into(), "d22aaa11bf0e4ab19c2c940a1cbabbee".into())
    );
    assert_eq!(own(arn_parts("notarn")), (String::new(), String::new(), String::new()));
    assert_eq!(own(arn_parts("arn:aws:ecs")), (String::new(), String::new(), "arn:aws:ecs".into()));
    assert_eq!(cluster_name("arn:aws:ecs:region:012345678910:cluster/test"), "test");
    assert_eq!(cluster_name("test"), "test");
    assert_eq!(parse_image("busybox:1.36"), ("docker.io/library/busybox".into(), "1.36".into()));
    assert_eq!(
        parse_image("example.com:5000/alpine/alpine:test"),
        ("example.com:5000/alpine/alpine".into(), "test".into())
    );
    assert_eq!(
        parse_image("amazon/aws-otel-collector@sha256:abcd"),
        ("docker.io/amazon/aws-otel-collector".into(), String::new())
    );
    assert_eq!(parse_image("Bad/Name"), (String::new(), String::new()));
    assert_eq!(parse_image(""), (String::new(), String::new()));
}
