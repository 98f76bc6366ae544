//! Test support: run the real binary on ephemeral ports, scrape its self-metrics, and
//! wire-exact sinks (OTLP/gRPC via the generated tonic services, OTLP/HTTP via hyper).
#![allow(dead_code, clippy::type_complexity)]

pub mod config;
pub mod loki_otlp;
pub mod metrics;
pub mod moto;
pub mod prometheus;
pub mod sinks;

#[allow(unused_imports)] // not every test file builds its config with it
pub use config::TestConfig;
use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound then released; the test binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_oxidot"))
}

/// Ports for one oxidot instance.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub grpc: u16,
    pub http: u16,
    pub metrics: u16,
    pub health: u16,
}

impl Ports {
    pub fn new() -> Ports {
        Ports { grpc: free_port(), http: free_port(), metrics: free_port(), health: free_port() }
    }

    /// Replaces `$GRPC`, `$HTTP`, `$METRICS`, `$HEALTH` in a config.
    pub fn fill(&self, yaml: &str) -> String {
        yaml.replace("$GRPC", &self.grpc.to_string())
            .replace("$HTTP", &self.http.to_string())
            .replace("$METRICS", &self.metrics.to_string())
            .replace("$HEALTH", &self.health.to_string())
    }
}

/// A running oxidot process; killed on drop if the test did not stop it.
pub struct Oxidot {
    pub child: Option<Child>,
    pub ports: Ports,
    pub stderr_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Oxidot {
    /// Starts oxidot with `yaml` (placeholders filled) and waits until health says ready.
    pub fn start(yaml: &str) -> Oxidot {
        Self::start_with(yaml, &[])
    }

    pub fn start_with(yaml: &str, env: &[(&str, &str)]) -> Oxidot {
        let ports = Ports::new();
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.yaml");
        std::fs::write(&cfg, ports.fill(yaml)).unwrap();
        Self::spawn(ports, dir, vec![cfg.to_string_lossy().into_owned()], env, &[])
    }

    /// Starts oxidot with `yaml` and extra command-line arguments (e.g. `--feature-gates=…`).
    pub fn start_args(yaml: &str, args: &[&str]) -> Oxidot {
        let ports = Ports::new();
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.yaml");
        std::fs::write(&cfg, ports.fill(yaml)).unwrap();
        Self::spawn(ports, dir, vec![cfg.to_string_lossy().into_owned()], &[], args)
    }

    /// Starts oxidot with several `--config` URIs (placeholders filled in each).
    pub fn start_uris(uris: &[String], env: &[(&str, &str)]) -> Oxidot {
        let ports = Ports::new();
        let dir = tempfile::tempdir().unwrap();
        let uris = uris.iter().map(|u| ports.fill(u)).collect();
        Self::spawn(ports, dir, uris, env, &[])
    }

    /// Starts oxidot on `ports` with `--config` URIs as given (a remote configuration already
    /// has its ports filled in).
    pub fn start_uris_on(ports: Ports, uris: &[String], env: &[(&str, &str)]) -> Oxidot {
        Self::spawn(ports, tempfile::tempdir().unwrap(), uris.to_vec(), env, &[])
    }

    fn spawn(ports: Ports, dir: tempfile::TempDir, uris: Vec<String>, env: &[(&str, &str)], args: &[&str]) -> Oxidot {
        let stderr_path = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut cmd = Command::new(bin());
        for u in &uris {
            cmd.arg("--config").arg(u);
        }
        cmd.args(args);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(stderr)
            .env_remove("AOT_CONFIG_CONTENT");
        // Keep the machine's AWS settings out of tests: each test gives what it means to use.
        for k in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
        ] {
            cmd.env_remove(k);
        }
        cmd.env("AWS_CONFIG_FILE", "/nonexistent/oxidot-test")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/oxidot-test");
        cmd.env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let mut o = Oxidot { child: Some(child), ports, stderr_path, _dir: dir };
        o.wait_ready();
        o
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    panic!("oxidot exited early ({st}):\n{}", self.stderr());
                }
            }
            if let Ok((200, _)) = http_get(&format!("127.0.0.1:{}", self.ports.health), "/") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("oxidot did not become ready:\n{}", self.stderr());
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The current self-metrics, `name{labels}` → value.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let (code, body) = http_get(&format!("127.0.0.1:{}", self.ports.metrics), "/metrics").unwrap();
        assert_eq!(code, 200);
        parse_metrics(&body)
    }

    /// Sum of every series of `name` whose labels contain all of `labels`.
    pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        sum_metric(&self.metrics(), name, labels)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        let mut c = self.child.take().unwrap();
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("oxidot did not exit after SIGTERM:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for Oxidot {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn parse_metrics(body: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

pub fn sum_metric(m: &BTreeMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    m.iter()
        .filter(|(k, _)| k.split('{').next() == Some(name))
        .filter(|(k, _)| labels.iter().all(|(lk, lv)| k.contains(&format!("{lk}=\"{lv}\""))))
        .map(|(_, v)| *v)
        .sum()
}

/// A blocking HTTP/1.1 GET with a 5 s timeout: (status, body).
pub fn http_get(hostport: &str, path: &str) -> std::io::Result<(u16, String)> {
    http_request(hostport, "GET", path, &[], &[]).map(|(c, _, b)| (c, String::from_utf8_lossy(&b).into_owned()))
}

/// A blocking HTTP/1.1 request: (status, headers, body).
pub fn http_request(
    hostport: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, Vec<(String, String)>, Vec<u8>)> {
    http_request_within(Duration::from_secs(10), hostport, method, path, headers, body)
}

/// [`http_request`] waiting up to `timeout` for the answer (large requests in debug builds).
pub fn http_request_within(
    timeout: Duration,
    hostport: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, Vec<(String, String)>, Vec<u8>)> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(hostport)?;
    s.set_read_timeout(Some(timeout))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    // The server may answer (413) and close before reading an oversized body: keep the answer.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw.get(split + 4..).unwrap_or_default().to_vec();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let hdrs: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())))
        .collect();
    if hdrs.iter().any(|(k, v)| k == "transfer-encoding" && v == "chunked") {
        body = dechunk(&body);
    }
    Ok((status, hdrs, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + n]);
        b = &b[nl + 2 + n + 2..];
    }
    out
}

/// The Python interpreter with the OpenTelemetry SDK (installed by scripts/test.sh).
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("OXIDOT_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(p.exists(), "the Python OpenTelemetry SDK is missing: run scripts/test.sh (it installs it into .venv)");
    p
}

/// Runs the SDK client script; returns its JSON summary.
pub fn run_sdk(protocol: &str, endpoint: &str, spans: u32, logs: u32, service: &str) -> serde_json::Value {
    run_sdk_with(protocol, endpoint, spans, logs, service, &[])
}

/// `run_sdk` with extra flags (`--xray-ids`, `--crash`).
pub fn run_sdk_with(
    protocol: &str,
    endpoint: &str,
    spans: u32,
    logs: u32,
    service: &str,
    flags: &[&str],
) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/sdk_client.py");
    let out = Command::new(python())
        .arg(script)
        .args([protocol, endpoint, &spans.to_string(), &logs.to_string(), "--service", service])
        .args(flags)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "SDK client failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(out.stdout.trim_ascii()).unwrap()
}

/// Polls `f` until it is true or `secs` pass.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// Runs `oxidot` with args (and env), returning (exit code, stdout, stderr).
pub fn run_cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args).env_remove("AOT_CONFIG_CONTENT");
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

/// RFC 3339 UTC (second precision) for `t`.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// Nanoseconds since the epoch, now.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// One encoded `ExportTraceServiceRequest` holding one span named `name` (ids 7…7).
pub fn one_span_request(name: &str) -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![7; 16],
                    span_id: vec![7; 8],
                    name: name.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}
