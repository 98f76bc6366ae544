//! ADOT's bundled configs (tests/fixtures/adot-configs: unmodified copies of what ADOT's image
//! ships at /etc/otel-config.yaml and /etc/ecs/*.yaml) run on oxidot unchanged: each validates,
//! starts on its own fixed ports (4317, 4318, 2000, 8125, 13133, 8888) with the environment an
//! ECS task gives it, answers its health check, and stops cleanly; one of them is followed end to
//! end (ECS task metrics → filter → remote write → a real Prometheus).
//!
//! The configs bind fixed ports, so everything that starts one runs in one test, one at a time.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::prometheus::Prometheus;
use support::sinks::StaticServer;
use support::{bin, eventually, http_get, Oxidot, Ports};

fn configs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/adot-configs");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .collect();
    v.sort();
    v
}

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ecs").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"))
}

/// The task metadata endpoint v4 as ECS serves it to a container: container, task, task stats.
fn metadata_server() -> (StaticServer, String) {
    let base = "/v4/0e5b0cf4d2b04d8bbd2a8e1c6e9d1a4f-2531612879";
    let s = StaticServer::start(vec![
        (base, 200, fixture("container.json")),
        // multi/: a task with a stopped container, so `container.duration` (one of the nine
        // names ADOT's filter keeps) is produced too.
        (&format!("{base}/task"), 200, fixture("multi/task.json")),
        (&format!("{base}/task/stats"), 200, fixture("multi/task_stats.json")),
    ]);
    let url = s.url(base);
    (s, url)
}

#[test]
fn every_bundled_config_validates_unchanged() {
    let configs = configs();
    assert_eq!(configs.len(), 9, "{configs:?}");
    for p in configs {
        let out = Command::new(bin())
            .arg("validate")
            .arg(format!("--config={}", p.display()))
            .env("AWS_REGION", "us-east-1")
            .env(
                "AWS_PROMETHEUS_ENDPOINT",
                "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
            )
            .env("AWS_PROMETHEUS_SCRAPING_ENDPOINT", "127.0.0.1:8888")
            .output()
            .unwrap();
        assert!(out.status.success(), "{p:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn every_bundled_config_starts_unchanged_and_one_runs_end_to_end() {
    let (_meta, meta_url) = metadata_server();
    let prom = Prometheus::start(false);
    // The ports the configs (and the collector's defaults) fix.
    let ports = Ports { grpc: 4317, http: 4318, metrics: 8888, health: 13133 };
    let write_url = prom.write_url();
    let env: Vec<(&str, &str)> = vec![
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ("AWS_PROMETHEUS_ENDPOINT", &write_url),
        ("AWS_PROMETHEUS_SCRAPING_ENDPOINT", "127.0.0.1:8888"),
        ("ECS_CONTAINER_METADATA_URI_V4", &meta_url),
    ];
    for p in configs() {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        // As a task definition writes it: `command: ["--config=/etc/ecs/<name>"]`.
        let mut o = Oxidot::start_uris_on(ports, &[p.display().to_string()], &env);
        assert_eq!(http_get("127.0.0.1:13133", "/").unwrap().0, 200, "{name}");
        if name == "ecs-amp-xray-prometheus.yaml" {
            end_to_end(&prom, &o);
        }
        let st = o.stop();
        assert!(st.success(), "{name}: {st}\n{}", o.stderr());
        let errors: Vec<String> = o.stderr().lines().filter(|l| l.contains("\terror\t")).map(String::from).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

/// ecs-amp-xray-prometheus.yaml: `awsecscontainermetrics` → `filter` (nine names kept) →
/// `prometheusremotewrite` signed by `sigv4auth`, into a real Prometheus.
fn end_to_end(prom: &Prometheus, o: &Oxidot) {
    // The receiver collects every 20 s (its default); the pipeline has no batch processor.
    let kept = [
        "ecs_task_memory_reserved",
        "ecs_task_memory_utilized",
        "ecs_task_cpu_reserved",
        "ecs_task_cpu_utilized",
        "ecs_task_network_rate_rx",
        "ecs_task_network_rate_tx",
        "ecs_task_storage_read_bytes",
        "ecs_task_storage_write_bytes",
        "container_duration",
    ];
    let names = || -> Vec<String> {
        let r = prom.query(r#"group by (__name__) ({__name__=~"(ecs|container)_.+"})"#);
        let mut v: Vec<String> = r.iter().map(|s| s["metric"]["__name__"].as_str().unwrap().to_string()).collect();
        v.sort();
        v
    };
    assert!(
        eventually(45, || kept.iter().all(|k| names().iter().any(|n| n.starts_with(k)))),
        "{:?}\n{}",
        names(),
        o.stderr()
    );
    // The filter let the nine through and nothing else of the receiver's.
    for n in names() {
        assert!(kept.iter().any(|k| n.starts_with(k)), "{n} passed the filter");
    }
}
