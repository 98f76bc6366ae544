//! Validation cases after configtls_test.go (`TestConfigValidate`, `TestServerConfigValidate`,
//! `TestMinMaxTLSVersions`, `TestCipherSuites`, `TestCurvePreferences`), plus rustls' limits.

use super::*;

fn client(yaml: &str) -> Vec<String> {
    let c: TlsClientConfig = serde_yaml_ng::from_str(yaml).unwrap();
    let mut errs = Vec::new();
    c.validate("exporters::otlp", &mut errs);
    errs.iter().map(|e| e.to_string()).collect()
}

fn server(yaml: &str) -> Vec<String> {
    let c: TlsServerConfig = serde_yaml_ng::from_str(yaml).unwrap();
    let mut errs = Vec::new();
    c.validate("receivers::otlp::protocols::grpc", &mut errs);
    errs.iter().map(|e| e.to_string()).collect()
}

#[test]
fn client_validation_follows_configtls() {
    let cases: &[(&str, &str)] = &[
        ("{}", ""),
        ("insecure: true", ""),
        ("min_version: \"1.2\"\nmax_version: \"1.3\"", ""),
        ("min_version: \"1.3\"", ""),
        ("max_version: \"1.2\"", ""),
        (
            "min_version: \"1.4\"",
            "exporters::otlp::tls::min_version: invalid TLS min_version: unsupported TLS version: \"1.4\"",
        ),
        (
            "max_version: \"1.4\"",
            "exporters::otlp::tls::max_version: invalid TLS max_version: unsupported TLS version: \"1.4\"",
        ),
        (
            "min_version: \"1.3\"\nmax_version: \"1.2\"",
            "exporters::otlp::tls::min_version: invalid TLS configuration: min_version cannot be greater than max_version",
        ),
        (
            "ca_file: /x\nca_pem: abc",
            "exporters::otlp::tls::ca_file: provide either a CA file or the PEM-encoded string, but not both",
        ),
        (
            "cert_file: /x\ncert_pem: abc\nkey_pem: k",
            "exporters::otlp::tls::cert_file: provide either certificate file or PEM, but not both",
        ),
        (
            "key_file: /x\nkey_pem: abc\ncert_pem: c",
            "exporters::otlp::tls::key_file: provide either key file or PEM, but not both",
        ),
        (
            "cert_pem: abc",
            "exporters::otlp::tls::key_file: TLS configuration must include both certificate and key (CertFile/CertPem and KeyFile/KeyPem)",
        ),
        (
            "key_file: /k",
            "exporters::otlp::tls::cert_file: TLS configuration must include both certificate and key (CertFile/CertPem and KeyFile/KeyPem)",
        ),
        ("cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]", ""),
        ("cipher_suites: [TLS_INVALID_CIPHER]", "exporters::otlp::tls::cipher_suites: invalid TLS cipher suite: \"TLS_INVALID_CIPHER\""),
        ("curve_preferences: [X25519, P256, P384]", ""),
        (
            "curve_preferences: [P1]",
            "exporters::otlp::tls::curve_preferences: invalid curve type: P1. Expected values are X25519, P256, P384",
        ),
        (
            "ca_file: /nonexistent/ca.pem",
            "exporters::otlp::tls::ca_file: file \"/nonexistent/ca.pem\" does not exist",
        ),
    ];
    for (yaml, want) in cases {
        let got = client(yaml);
        if want.is_empty() {
            assert!(got.is_empty(), "{yaml}: {got:?}");
        } else {
            assert_eq!(got, vec![want.to_string()], "{yaml}");
        }
    }
}

#[test]
fn tls_1_0_and_1_1_are_refused_naming_the_key() {
    for (yaml, key) in [
        ("min_version: \"1.0\"", "min_version"),
        ("min_version: \"1.1\"", "min_version"),
        ("min_version: \"1.0\"\nmax_version: \"1.1\"", "min_version"),
    ] {
        let got = client(yaml);
        assert_eq!(got.len(), 1, "{yaml}: {got:?}");
        assert!(got[0].starts_with(&format!("exporters::otlp::tls::{key}: TLS \"1.")), "{got:?}");
        assert!(got[0].contains("rustls implements TLS 1.2 and 1.3 only"), "{got:?}");
    }
}

#[test]
fn server_needs_a_certificate_and_existing_files() {
    assert_eq!(
        server("{}"),
        vec!["receivers::otlp::protocols::grpc::tls::cert_file: TLS configuration must include both certificate and key for server connections"]
    );
    assert_eq!(
        server("cert_file: /nonexistent/c.pem\nkey_file: /nonexistent/k.pem\nclient_ca_file: /nonexistent/ca.pem"),
        vec![
            "receivers::otlp::protocols::grpc::tls::cert_file: file \"/nonexistent/c.pem\" does not exist",
            "receivers::otlp::protocols::grpc::tls::key_file: file \"/nonexistent/k.pem\" does not exist",
            "receivers::otlp::protocols::grpc::tls::client_ca_file: file \"/nonexistent/ca.pem\" does not exist",
        ]
    );
    assert_eq!(
        server("cert_pem: c\nkey_pem: k\nmin_version: \"1.4\""),
        vec!["receivers::otlp::protocols::grpc::tls::min_version: invalid TLS min_version: unsupported TLS version: \"1.4\""]
    );
    let unknown: Result<TlsServerConfig, _> = serde_yaml_ng::from_str("cert_fil: x");
    assert!(unknown.is_err());
}

#[test]
fn versions_follow_min_and_max() {
    let v = |yaml: &str| {
        let c: TlsClientConfig = serde_yaml_ng::from_str(yaml).unwrap();
        c.common().versions().iter().map(|v| format!("{:?}", v.version)).collect::<Vec<_>>()
    };
    assert_eq!(v("{}"), vec!["TLSv1_2", "TLSv1_3"]);
    assert_eq!(v("min_version: \"1.3\""), vec!["TLSv1_3"]);
    assert_eq!(v("max_version: \"1.2\""), vec!["TLSv1_2"]);
}

#[test]
fn cipher_suites_keep_tls13_and_filter_tls12() {
    let c: TlsClientConfig = serde_yaml_ng::from_str("cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]").unwrap();
    let names: Vec<String> = c.common().provider().cipher_suites.iter().map(suite_name).collect();
    assert!(names.contains(&"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_string()), "{names:?}");
    assert!(!names.contains(&"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".to_string()), "{names:?}");
    assert!(names.contains(&"TLS13_AES_128_GCM_SHA256".to_string()), "{names:?}");
}

#[test]
fn secrets_in_pem_keys_are_not_printed() {
    let c: TlsClientConfig = serde_yaml_ng::from_str("key_pem: SECRETKEY\ncert_pem: c").unwrap();
    assert!(!format!("{c:?}").contains("SECRETKEY"));
}

/// A self-signed certificate and key for `localhost`, as PEM.
fn self_signed(cn: &str) -> (String, String) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[test]
fn reload_swaps_only_on_a_loadable_change() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let (c1, k1) = self_signed("one");
    std::fs::write(&cert, &c1).unwrap();
    std::fs::write(&key, &k1).unwrap();
    let yaml = format!("cert_file: {}\nkey_file: {}\nreload_interval: 1ms", cert.display(), key.display());
    let cfg: TlsServerConfig = serde_yaml_ng::from_str(&yaml).unwrap();
    let tls = ServerTls::new("test".into(), &cfg, server::ALPN_HTTP).unwrap();
    let first = tls.current();
    assert_eq!(first.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    let wait = || std::thread::sleep(std::time::Duration::from_millis(5));
    wait();
    assert!(Arc::ptr_eq(&first, &tls.current()), "unchanged files must not rebuild");
    // A half-written certificate: the old config stays.
    std::fs::write(&cert, &c1[..c1.len() / 2]).unwrap();
    wait();
    assert!(Arc::ptr_eq(&first, &tls.current()), "a file that does not load replaced the config");
    // The new pair, once both files are written, is taken.
    let (c2, k2) = self_signed("two");
    std::fs::write(&key, &k2).unwrap();
    std::fs::write(&cert, &c2).unwrap();
    wait();
    let second = tls.current();
    assert!(!Arc::ptr_eq(&first, &second), "a changed, loadable pair was not taken");
    wait();
    assert!(Arc::ptr_eq(&second, &tls.current()));
}

#[test]
fn server_start_errors_name_the_key_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("c.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    let yaml = format!("cert_file: {}\nkey_file: /nonexistent/k.pem", cert.display());
    let cfg: TlsServerConfig = serde_yaml_ng::from_str(&yaml).unwrap();
    let err = ServerTls::new("t".into(), &cfg, server::ALPN_GRPC).err().unwrap();
    assert!(err.starts_with("tls::key_file: cannot read \"/nonexistent/k.pem\""), "{err}");
}
