//! Config errors name the source, the YAML path, what was expected and the closest key; every
//! `tests/fixtures/config/invalid/*.yaml` with a `.err` file must produce exactly that text.

mod support;

use std::path::Path;
use support::*;

fn validate(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut a = vec!["validate"];
    a.extend_from_slice(args);
    let mut cmd = std::process::Command::new(bin());
    cmd.args(&a).current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("AOT_CONFIG_CONTENT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_invalid_fixture_gives_its_exact_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/invalid");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("err") {
            continue;
        }
        let yaml = p.with_extension("yaml");
        let rel = format!("tests/fixtures/config/invalid/{}", yaml.file_name().unwrap().to_str().unwrap());
        let (code, _, stderr) = validate(&["--config", &rel], &[]);
        let want = std::fs::read_to_string(&p).unwrap();
        assert_eq!(code, 1, "{rel}: {stderr}");
        assert_eq!(stderr.trim_end(), format!("Error: {}", want.trim_end()), "{rel}");
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} fixtures");
}

#[test]
fn yaml_syntax_errors_name_the_file_and_line() {
    let (code, _, stderr) = validate(&["--config", "tests/fixtures/config/invalid/bad_yaml.yaml"], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("file:tests/fixtures/config/invalid/bad_yaml.yaml: not valid YAML"), "{stderr}");
    assert!(stderr.contains("line 5"), "{stderr}");
}

#[test]
fn unsupported_reference_schemes_are_errors_with_the_path() {
    let (code, _, stderr) = validate(&["--config", "tests/fixtures/config/invalid/env_scheme.yaml"], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("receivers::otlp::protocols::grpc::endpoint: unsupported scheme \"file\""), "{stderr}");
}

#[test]
fn the_seeds_phase1_config_is_accepted_as_is() {
    let (code, _, stderr) = validate(&["--config", "tests/fixtures/config/seed-phase1.yaml"], &[]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn env_expansion_defaults_and_ignored_debug_extensions() {
    let health = free_port();
    let grpc = free_port();
    let env = [("OXIDOT_TEST_HEALTH_PORT", health.to_string()), ("OXIDOT_TEST_GRPC_PORT", grpc.to_string())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, _, stderr) = validate(&["--config", "tests/fixtures/config/valid/env_and_extensions.yaml"], &env);
    assert_eq!(code, 0, "{stderr}");
    // Running it: the expanded ports are bound, pprof and zpages are warned about once each.
    let yaml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid/env_and_extensions.yaml"),
    )
    .unwrap();
    let child = std::process::Command::new(bin())
        .args(["--config", &format!("yaml:{}", "service::telemetry::metrics::level: none")])
        .args(["--config", "tests/fixtures/config/valid/env_and_extensions.yaml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .envs(env.iter().cloned())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let _ = yaml;
    assert!(eventually(10, || http_get(&format!("127.0.0.1:{health}"), "/").map(|r| r.0).ok() == Some(200)));
    assert!(std::net::TcpStream::connect(("127.0.0.1", grpc)).is_ok());
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // JSON log encoding was selected by the config.
    let warns: Vec<&str> = err.lines().filter(|l| l.contains("\"level\":\"warn\"")).collect();
    assert_eq!(warns.iter().filter(|l| l.contains("pprof")).count(), 1, "{err}");
    assert_eq!(warns.iter().filter(|l| l.contains("zpages")).count(), 1, "{err}");
}

#[test]
fn later_configs_merge_over_earlier_and_errors_name_the_file_that_set_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.yaml");
    let over = dir.path().join("override.yaml");
    std::fs::write(&base, "receivers: {otlp: {protocols: {grpc: {endpoint: 127.0.0.1:1}}}}\nexporters: {debug: {}}\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}\n").unwrap();
    std::fs::write(&over, "exporters: {debug: {verbosty: detailed}}\n").unwrap();
    let (code, _, stderr) =
        validate(&["--config", base.to_str().unwrap(), "--config", &format!("file:{}", over.display())], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains(&format!("file:{}: exporters::debug::verbosty: unknown key", over.display())), "{stderr}");
    assert!(stderr.contains("did you mean \"verbosity\""), "{stderr}");
    // yaml: URIs merge too, and fix it.
    let (code, _, stderr) =
        validate(&["--config", base.to_str().unwrap(), "--config", "yaml:exporters::debug::verbosity: detailed"], &[]);
    assert_eq!(code, 0, "{stderr}");
    // env: URIs.
    let text = std::fs::read_to_string(&base).unwrap();
    let (code, _, stderr) = validate(&["--config", "env:OXIDOT_CFG"], &[("OXIDOT_CFG", &text)]);
    assert_eq!(code, 0, "{stderr}");
    // s3: is a provider now (tests/cli_contract.rs); an unknown scheme is still refused.
    let (code, _, stderr) = validate(&["--config", "s3://bucket/cfg.yaml"], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is not valid s3-url"), "{stderr}");
    let (code, _, stderr) = validate(&["--config", "ftp://host/cfg.yaml"], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("unsupported scheme"), "{stderr}");
}

#[test]
fn aot_config_content_is_the_configuration() {
    let bad = "receivers: {otlp: {protocols: {grpc: {endpont: x}}}}\nexporters: {debug: {}}\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}\n";
    let (code, _, stderr) =
        validate(&["--config", "tests/fixtures/config/valid/env_and_extensions.yaml"], &[("AOT_CONFIG_CONTENT", bad)]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("env:AOT_CONFIG_CONTENT: receivers::otlp::protocols::grpc::endpont: unknown key"),
        "{stderr}"
    );
    let (code, _, stderr) = validate(&[], &[("AOT_CONFIG_CONTENT", &bad.replace("endpont", "endpoint"))]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn validate_binds_nothing_and_run_fails_clearly_on_a_port_in_use() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let cfg = format!(
        "yaml:receivers: {{otlp: {{protocols: {{grpc: {{endpoint: '127.0.0.1:{port}'}}}}}}}}\nexporters: {{debug: {{}}}}\nservice: {{pipelines: {{traces: {{receivers: [otlp], exporters: [debug]}}}}, telemetry: {{metrics: {{level: none}}}}}}"
    );
    let (code, _, stderr) = validate(&["--config", &cfg], &[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run_cli(&["--config", &cfg], &[]);
    assert_eq!(code, 1);
    let err_lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("Error:")).collect();
    assert_eq!(err_lines.len(), 1, "{stderr}");
    assert!(err_lines[0].contains(&format!("receiver otlp (grpc): cannot listen on 127.0.0.1:{port}")), "{stderr}");
    drop(busy);
}

#[test]
fn components_and_version() {
    let (code, out, _) = run_cli(&["components"], &[]);
    assert_eq!(code, 0);
    let y: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out).unwrap();
    let names = |k: &str| -> Vec<String> {
        y[k].as_sequence().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect()
    };
    for r in ["otlp", "awsxray", "statsd", "awsecscontainermetrics", "prometheus", "kafka"] {
        assert!(names("receivers").contains(&r.to_string()), "{r}");
    }
    for e in ["awsemf", "loadbalancing", "kafka"] {
        assert!(names("exporters").contains(&e.to_string()), "{e}");
    }
    assert!(names("processors").contains(&"filter".to_string()));
    assert!(names("exporters").contains(&"otlphttp".to_string()));
    assert!(names("extensions").contains(&"health_check".to_string()));
    let (code, out, _) = run_cli(&["--version"], &[]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("oxidot {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn endless_or_huge_config_sources_fail_fast_with_the_size_limit() {
    // `--config /dev/zero` used to read until memory ran out (8.4 GB).
    let t0 = std::time::Instant::now();
    let (code, _, stderr) = validate(&["--config", "/dev/zero"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "Error: file:/dev/zero: the configuration is larger than 16 MiB (README \"Configuration limits\")"
    );
    assert!(t0.elapsed() < std::time::Duration::from_secs(10), "took {:?}", t0.elapsed());
    let (code, _, stderr) = validate(&["--config", "file:/dev/zero"], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("larger than 16 MiB"), "{stderr}");
    // A file just over the limit fails; its content does not matter.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let mut text = String::from("exporters: {debug: {}}\n");
    text.push_str(&"#".repeat(16 * 1024 * 1024));
    std::fs::write(&big, &text).unwrap();
    let (code, _, stderr) = validate(&["--config", big.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains(&format!("file:{}: the configuration is larger than 16 MiB", big.display())), "{stderr}");
}

#[test]
fn durations_beyond_go_range_are_errors_not_wraps() {
    let cfg = "yaml:receivers: {otlp: {protocols: {http: {}}}}\nprocessors: {batch: {timeout: 9999999999h}}\nexporters: {debug: {}}\nservice: {pipelines: {traces: {receivers: [otlp], processors: [batch], exporters: [debug]}}}";
    let (code, _, stderr) = validate(&["--config", cfg], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("processors::batch::timeout") && stderr.contains("out of range"), "{stderr}");
    let cfg = cfg.replace("9999999999h", "48h");
    let (code, _, stderr) = validate(&["--config", &cfg], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("processors::batch::timeout: 172800s is longer than the maximum 86400s"), "{stderr}");
}
