//! The command-line and image contract task definitions written for ADOT rely on: `--set`,
//! `print-config`, configuration from `http(s)://` and `s3://` URIs, and `/healthcheck` (a second
//! name of the binary, as in ADOT's image).

mod support;

use std::time::Duration;
use support::sinks::{GrpcSink, StaticServer};
use support::*;

/// otlp receiver → otlp exporter to 127.0.0.1:`port`, with a header whose value is a secret.
fn otlp_to(port: u16) -> String {
    TestConfig::new()
        .exporters(&format!(
            "  otlp:\n    endpoint: 127.0.0.1:{port}\n    tls:\n      insecure: true\n    headers:\n      x-api-key: s3cr3t-value\n"
        ))
        .pipeline("traces", &[], &["otlp"])
        .pipeline("metrics", &[], &["otlp"])
        .pipeline("logs", &[], &["otlp"])
        .build()
}

/// `--set` (otelcol flags.go): dots are levels, the value wins over every `--config`, and data
/// really goes where the override says.
#[test]
fn set_overrides_the_configuration() {
    let sink = GrpcSink::start();
    let ox = Oxidot::start_args(&otlp_to(1), &[&format!("--set=exporters.otlp.endpoint=127.0.0.1:{}", sink.port)]);
    run_sdk("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 2, 0, "api");
    assert!(eventually(10, || sink.spans() == 2), "{}", ox.stderr());
    let (code, _, err) = run_cli(&["--set", "exporters.otlp", "validate"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid argument for \"--set\" flag: missing equal sign"), "{err}");
}

/// `print-config` prints the resolved configuration with `--set` merged and header values
/// redacted (unless `--mode unredacted`); an invalid configuration is refused first.
#[test]
fn print_config_resolves_merges_and_redacts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.yaml");
    std::fs::write(&cfg, Ports::new().fill(&otlp_to(1))).unwrap();
    let c = cfg.to_string_lossy().to_string();
    let (code, out, err) = run_cli(&["print-config", "--config", &c, "--set", "exporters.otlp.timeout=7s"], &[]);
    assert_eq!(code, 0, "{err}");
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out).unwrap();
    assert_eq!(v["exporters"]["otlp"]["timeout"], serde_yaml_ng::Value::from("7s"));
    assert_eq!(v["exporters"]["otlp"]["headers"]["x-api-key"], serde_yaml_ng::Value::from("[REDACTED]"));
    assert!(!out.contains("s3cr3t-value"));
    let (code, out, _) = run_cli(&["print-config", "--config", &c, "--mode", "unredacted", "--format", "json"], &[]);
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["exporters"]["otlp"]["headers"]["x-api-key"], "s3cr3t-value");
    let (code, _, err) = run_cli(&["print-config", "--config", &c, "--set", "exporters.otlp.compression=lz9"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("compression"), "{err}");
    let (code, _, err) = run_cli(&["print-config", "--feature-gates=-otelcol.printInitialConfig"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("otelcol.printInitialConfig feature gate"), "{err}");
}

/// A configuration served over HTTP (ADOT's http/https providers): a 200 body is the
/// configuration; another status is an error naming it.
#[test]
fn config_from_http_uri() {
    let sink = GrpcSink::start();
    let ports = Ports::new();
    let yaml = ports.fill(&otlp_to(sink.port));
    let srv = StaticServer::start(vec![("/cfg/otel.yaml", 200, yaml)]);
    let ox = Oxidot::start_uris_on(ports, &[srv.url("/cfg/otel.yaml")], &[]);
    run_sdk("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 1, 0, "api");
    assert!(eventually(10, || sink.spans() == 1), "{}", ox.stderr());
    let (code, _, err) = run_cli(&["validate", "--config", &srv.url("/missing.yaml")], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("status code: 404"), "{err}");
}

/// `s3://BUCKET.s3.REGION.amazonaws.com/KEY` (ADOT's s3 provider): GetObject signed with SigV4
/// against moto's S3 (path-style through AWS_ENDPOINT_URL_S3); S3's own refusal is reported.
#[test]
fn config_from_s3_uri() {
    let moto = support::moto::Moto::start();
    let ports = Ports::new();
    let sink = GrpcSink::start();
    let yaml = ports.fill(&otlp_to(sink.port));
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.yaml");
    std::fs::write(&f, &yaml).unwrap();
    let script = "import boto3,sys\n\
        s3=boto3.client('s3',endpoint_url=sys.argv[1],region_name='us-west-2',aws_access_key_id='k',aws_secret_access_key='s')\n\
        s3.create_bucket(Bucket='team-otel-config',CreateBucketConfiguration={'LocationConstraint':'us-west-2'})\n\
        s3.upload_file(sys.argv[2],'team-otel-config','collector/ecs sidecar.yaml')\n";
    let out =
        std::process::Command::new(python()).args(["-c", script, &moto.url(), &f.to_string_lossy()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let env = [
        ("AWS_ENDPOINT_URL_S3", moto.url()),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let uri = "s3://team-otel-config.s3.us-west-2.amazonaws.com/collector/ecs%20sidecar.yaml".to_string();
    let ox = Oxidot::start_uris_on(ports, &[uri], &env);
    run_sdk("grpc", &format!("http://127.0.0.1:{}", ox.ports.grpc), 1, 0, "api");
    assert!(eventually(10, || sink.spans() == 1), "{}", ox.stderr());
    let (code, _, err) =
        run_cli(&["validate", "--config", "s3://team-otel-config.s3.us-west-2.amazonaws.com/nope.yaml"], &env);
    assert_eq!(code, 1);
    assert!(err.contains("file in S3 failed to fetch uri") && err.contains("NoSuchKey"), "{err}");
    assert!(!err.contains("wJalrXUtnFEMI"), "no secret in errors");
    let (code, _, err) = run_cli(&["validate", "--config", "s3://Bad_Bucket/x.yaml"], &env);
    assert_eq!(code, 1);
    assert!(err.contains("is not valid s3-url"), "{err}");
}

/// `/healthcheck` as ADOT's (cmd/healthcheck): the binary under that name probes
/// 127.0.0.1:13133 (or `-port`), exit 0 on 200 and 1 otherwise.
#[test]
fn healthcheck_name_behaves_like_adots() {
    let dir = tempfile::tempdir().unwrap();
    let hc = dir.path().join("healthcheck");
    std::os::unix::fs::symlink(bin(), &hc).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&hc).args(args).output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let ox = Oxidot::start(&TestConfig::new().exporters("  debug:\n").pipeline("traces", &[], &["debug"]).build());
    let port = ox.ports.health.to_string();
    assert_eq!(run(&["-port", &port]).0, 0);
    assert_eq!(run(&[&format!("--port={port}")]).0, 0);
    drop(ox);
    std::thread::sleep(Duration::from_millis(200));
    let (code, err) = run(&["-port", &port]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(run(&["-port", "70000"]).0, 1);
    assert_eq!(run(&["-bogus"]).0, 2);
}
