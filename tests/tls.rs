//! Issue 16, TLS: receivers over TLS (gRPC and HTTP, mTLS, min_version, certificate reload, a
//! stalled handshake) with the real Python SDK and a rustls client, and the otlp / otlphttp
//! exporters to TLS peers (another oxidot) with ca_file, without it, insecure_skip_verify and
//! a client certificate. Certificates are made at test time (rcgen).

#[path = "support/certs.rs"]
mod certs;
mod support;

use certs::*;
use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

/// A receiver with TLS on both protocols; `$MTLS` becomes the http listener's extra keys.
fn receiver_config(server: &Leaf, http_extra: &str, grpc_extra: &str) -> String {
    format!(
        r#"
extensions:
  health_check:
    endpoint: 127.0.0.1:$HEALTH
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GRPC
        tls:
          cert_file: {cert}
          key_file: {key}
{grpc_extra}
      http:
        endpoint: 127.0.0.1:$HTTP
        read_header_timeout: 1s
        tls:
          cert_file: {cert}
          key_file: {key}
{http_extra}
exporters:
  debug: {{}}
service:
  extensions: [health_check]
  pipelines:
    traces: {{receivers: [otlp], exporters: [debug]}}
    metrics: {{receivers: [otlp], exporters: [debug]}}
    logs: {{receivers: [otlp], exporters: [debug]}}
  telemetry:
    metrics:
      address: 127.0.0.1:$METRICS
"#,
        cert = p(&server.cert),
        key = p(&server.key),
    )
}

fn accepted(o: &Oxidot, transport: &str) -> f64 {
    o.metric("otelcol_receiver_accepted_spans", &[("transport", transport)])
}

/// Runs the SDK client; true if every export succeeded.
fn sdk_ok(protocol: &str, endpoint: &str, flags: &[String]) -> bool {
    sdk_run(protocol, endpoint, flags, "10")
}

/// Runs the SDK client expecting refusal; its export timeout (seconds) is cut to 2 so the
/// retries it makes before giving up stay short.
fn sdk_refused(protocol: &str, endpoint: &str, flags: &[String]) -> bool {
    !sdk_run(protocol, endpoint, flags, "2")
}

fn sdk_run(protocol: &str, endpoint: &str, flags: &[String], timeout_s: &str) -> bool {
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/sdk_client.py");
    let out = Command::new(python())
        .arg(script)
        .args([protocol, endpoint, "3", "0", "--service", "tls"])
        .args(flags)
        // requests prefers REQUESTS_CA_BUNDLE (set on some machines) over the exporter's
        // certificate_file; the test's CA must be the one used.
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", timeout_s)
        .output()
        .unwrap();
    out.status.success()
}

#[test]
fn sdk_sends_over_tls_and_plaintext_is_refused() {
    let pki = Pki::new("srv");
    let server = pki.leaf("server", "localhost", 1, false);
    let o = Oxidot::start(&receiver_config(&server, "", ""));
    let ca = vec!["--ca".to_string(), p(&pki.ca_path)];
    let grpc = format!("localhost:{}", o.ports.grpc);
    let http = format!("https://localhost:{}", o.ports.http);
    assert!(sdk_ok("grpc", &grpc, &ca), "gRPC over TLS failed:\n{}", o.stderr());
    assert!(sdk_ok("http", &http, &ca), "HTTP over TLS failed:\n{}", o.stderr());
    assert_eq!(accepted(&o, "grpc"), 3.0);
    assert_eq!(accepted(&o, "http"), 3.0);
    // Plaintext clients: the SDK over h2c, and an HTTP/1.1 request without TLS.
    assert!(sdk_refused("grpc", &grpc, &[]), "a plaintext gRPC client was served");
    let (code, _, _) = http_request(&format!("127.0.0.1:{}", o.ports.http), "POST", "/v1/traces", &[], b"x")
        .unwrap_or((0, vec![], vec![]));
    assert_eq!(code, 0, "a plaintext HTTP request was answered");
    // A client that does not trust the CA is refused.
    let other = Pki::new("other");
    assert!(handshake(o.ports.http, client_config(&other.ca_der, None, ALL)).is_err());
    assert_eq!(accepted(&o, "grpc") + accepted(&o, "http"), 6.0);
}

#[test]
fn mtls_requires_a_client_certificate_from_client_ca() {
    let pki = Pki::new("mtls");
    let server = pki.leaf("server", "localhost", 1, false);
    let client = pki.leaf("client", "client", 2, true);
    let extra = format!("          client_ca_file: {}", p(&pki.ca_path));
    let o = Oxidot::start(&receiver_config(&server, &extra, &extra));
    let body = one_span_request("mtls");
    // HTTP, rustls client: without a certificate the request fails, with one it is accepted.
    let without = post(o.ports.http, client_config(&pki.ca_der, None, ALL), "/v1/traces", &body);
    assert!(without.is_err(), "served without a client certificate: {without:?}");
    let with = post(o.ports.http, client_config(&pki.ca_der, Some(&client), ALL), "/v1/traces", &body);
    assert_eq!(with, Ok(200), "{}", o.stderr());
    // A certificate from another CA is refused too.
    let stranger = Pki::new("stranger").leaf("client", "client", 3, true);
    let bad = post(o.ports.http, client_config(&pki.ca_der, Some(&stranger), ALL), "/v1/traces", &body);
    assert!(bad.is_err(), "served with a client certificate from an unknown CA: {bad:?}");
    assert_eq!(accepted(&o, "http"), 1.0);
    // gRPC, the Python SDK.
    let grpc = format!("localhost:{}", o.ports.grpc);
    let ca = vec!["--ca".to_string(), p(&pki.ca_path)];
    assert!(sdk_refused("grpc", &grpc, &ca), "gRPC served without a client certificate");
    let mut with_cert = ca.clone();
    with_cert.extend(["--cert".to_string(), p(&client.cert), "--key".to_string(), p(&client.key)]);
    assert!(sdk_ok("grpc", &grpc, &with_cert), "gRPC mTLS failed:\n{}", o.stderr());
    assert_eq!(accepted(&o, "grpc"), 3.0);
}

#[test]
fn min_version_1_3_refuses_a_tls_1_2_client() {
    let pki = Pki::new("v13");
    let server = pki.leaf("server", "localhost", 1, false);
    let o = Oxidot::start(&receiver_config(&server, "          min_version: \"1.3\"", ""));
    let tls12 = client_config(&pki.ca_der, None, &[&rustls::version::TLS12]);
    assert!(handshake(o.ports.http, tls12.clone()).is_err(), "TLS 1.2 accepted with min_version 1.3");
    // The gRPC listener (default min_version 1.2) takes it; TLS 1.3 works on both.
    assert!(handshake(o.ports.grpc, with_alpn(tls12, b"h2")).is_ok());
    let tls13 = client_config(&pki.ca_der, None, &[&rustls::version::TLS13]);
    assert_eq!(post(o.ports.http, tls13, "/v1/traces", &one_span_request("v13")), Ok(200));
}

#[test]
fn replaced_certificate_files_are_served_to_new_connections() {
    let pki = Pki::new("reload");
    let first = pki.leaf("server", "first", 1, false);
    let o = Oxidot::start(&receiver_config(&first, "          reload_interval: 200ms", ""));
    assert_eq!(server_cert(o.ports.http, &pki.ca_der), first.der);
    // Write the new pair elsewhere, then move it over the configured files.
    let second = pki.leaf("next", "second", 2, false);
    std::fs::rename(&second.key, &first.key).unwrap();
    std::fs::rename(&second.cert, &first.cert).unwrap();
    let mut seen = None;
    let switched = eventually(5, || {
        seen = Some(server_cert(o.ports.http, &pki.ca_der));
        seen.as_ref() == Some(&second.der)
    });
    assert!(switched, "still serving the old certificate after 5 s\n{}", o.stderr());
    assert_eq!(
        post(o.ports.http, client_config(&pki.ca_der, None, ALL), "/v1/traces", &one_span_request("r")),
        Ok(200)
    );
}

#[test]
fn a_stalled_tls_handshake_is_closed() {
    let pki = Pki::new("stall");
    let server = pki.leaf("server", "localhost", 1, false);
    let o = Oxidot::start(&receiver_config(&server, "", ""));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", o.ports.http)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let t0 = Instant::now();
    let mut buf = [0u8; 64];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            _ => break true,
        }
        if t0.elapsed() > Duration::from_secs(10) {
            break false;
        }
    };
    assert!(closed, "a connection that never sends a ClientHello was kept 10 s (read_header_timeout 1s)");
}

#[test]
fn missing_certificate_file_fails_start_naming_key_and_path() {
    let cfg = r#"
receivers:
  otlp:
    protocols:
      grpc:
        tls:
          cert_file: /nonexistent/oxidot-server.pem
          key_file: /nonexistent/oxidot-server-key.pem
exporters:
  debug: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
"#;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.yaml");
    std::fs::write(&f, cfg).unwrap();
    let (code, _, err) = run_cli(&["validate", "--config", &p(&f)], &[]);
    assert_ne!(code, 0);
    assert!(
        err.contains(
            "receivers::otlp::protocols::grpc::tls::cert_file: file \"/nonexistent/oxidot-server.pem\" does not exist"
        ),
        "{err}"
    );
}

/// oxidot A (exporters under test) sends to oxidot B (TLS receivers requiring a client
/// certificate). Each exporter is its own pipeline fed from A's plaintext HTTP receiver.
fn exporter_config(exporters: &[(&str, String)]) -> String {
    let mut ex = String::new();
    for (id, block) in exporters {
        ex.push_str(&format!(
            "  {id}:\n{block}\n    retry_on_failure: {{enabled: false}}\n    sending_queue: {{enabled: false}}\n"
        ));
    }
    let ids: Vec<&str> = exporters.iter().map(|(id, _)| *id).collect();
    format!(
        r#"
extensions:
  health_check:
    endpoint: 127.0.0.1:$HEALTH
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$HTTP
exporters:
{ex}
service:
  extensions: [health_check]
  pipelines:
    traces: {{receivers: [otlp], exporters: [{}]}}
  telemetry:
    metrics:
      address: 127.0.0.1:$METRICS
"#,
        ids.join(", ")
    )
}

#[test]
fn otlp_and_otlphttp_exporters_speak_tls() {
    let pki = Pki::new("exp");
    let server = pki.leaf("server", "localhost", 1, false);
    let client = pki.leaf("client", "oxidot", 2, true);
    let mtls = format!("          client_ca_file: {}", p(&pki.ca_path));
    let b = Oxidot::start(&receiver_config(&server, &mtls, &mtls));
    let (ca, cert, key) = (p(&pki.ca_path), p(&client.cert), p(&client.key));
    let grpc = format!("localhost:{}", b.ports.grpc);
    let http = format!("https://localhost:{}", b.ports.http);
    let good = vec![
        ("otlp/mtls", format!("    endpoint: {grpc}\n    tls: {{ca_file: {ca}, cert_file: {cert}, key_file: {key}}}")),
        (
            "otlp/skip",
            format!(
                "    endpoint: {grpc}\n    tls: {{insecure_skip_verify: true, cert_file: {cert}, key_file: {key}}}"
            ),
        ),
        (
            "otlphttp/mtls",
            format!("    endpoint: {http}\n    tls: {{ca_file: {ca}, cert_file: {cert}, key_file: {key}}}"),
        ),
        (
            "otlphttp/skip",
            format!(
                "    endpoint: {http}\n    tls: {{insecure_skip_verify: true, cert_file: {cert}, key_file: {key}}}"
            ),
        ),
    ];
    let bad = vec![
        ("otlp/noca", format!("    endpoint: {grpc}\n    tls: {{cert_file: {cert}, key_file: {key}}}")),
        ("otlp/nocert", format!("    endpoint: {grpc}\n    tls: {{ca_file: {ca}}}")),
        ("otlphttp/noca", format!("    endpoint: {http}\n    tls: {{cert_file: {cert}, key_file: {key}}}")),
        ("otlphttp/nocert", format!("    endpoint: {http}\n    tls: {{ca_file: {ca}}}")),
        ("otlp/plaintext", format!("    endpoint: {grpc}\n    tls: {{insecure: true}}")),
        // The certificate names localhost and 127.0.0.1, not the override.
        (
            "otlp/wrongname",
            format!("    endpoint: 127.0.0.1:{}\n    tls: {{ca_file: {ca}, cert_file: {cert}, key_file: {key}, server_name_override: wrong.example}}", b.ports.grpc),
        ),
        (
            "otlphttp/wrongname",
            format!("    endpoint: https://127.0.0.1:{}\n    tls: {{ca_file: {ca}, cert_file: {cert}, key_file: {key}, server_name_override: wrong.example}}", b.ports.http),
        ),
    ];
    let a_good = Oxidot::start(&exporter_config(&good));
    let a_bad = Oxidot::start(&exporter_config(&bad));
    for a in [&a_good, &a_bad] {
        // With the queue off the export runs inside the request: A answers with the failure.
        let (code, _, _) = http_request(
            &format!("127.0.0.1:{}", a.ports.http),
            "POST",
            "/v1/traces",
            &[("Content-Type", "application/x-protobuf")],
            &one_span_request("tls-export"),
        )
        .unwrap();
        assert_ne!(code, 0, "A did not answer");
    }
    let sent = |a: &Oxidot, id: &str| a.metric("otelcol_exporter_sent_spans", &[("exporter", id)]);
    let failed = |a: &Oxidot, id: &str| a.metric("otelcol_exporter_send_failed_spans", &[("exporter", id)]);
    let done = eventually(20, || {
        good.iter().all(|(id, _)| sent(&a_good, id) == 1.0) && bad.iter().all(|(id, _)| failed(&a_bad, id) == 1.0)
    });
    let report: Vec<String> = good
        .iter()
        .map(|(id, _)| format!("{id}: sent {} failed {}", sent(&a_good, id), failed(&a_good, id)))
        .chain(bad.iter().map(|(id, _)| format!("{id}: sent {} failed {}", sent(&a_bad, id), failed(&a_bad, id))))
        .collect();
    assert!(done, "{report:#?}\n{}\n{}", a_good.stderr(), a_bad.stderr());
    assert_eq!(accepted(&b, "grpc"), 2.0);
    assert_eq!(accepted(&b, "http"), 2.0);
}
