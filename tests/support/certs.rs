//! A throw-away PKI for TLS tests (made with rcgen at test time) and a blocking rustls client.
#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A CA in a temp directory; `leaf` writes certificates it signs.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca_path: PathBuf,
    pub ca_der: CertificateDer<'static>,
    ca_params: CertificateParams,
    ca_key: KeyPair,
}

/// A certificate and key written to files, with the certificate's DER to compare against.
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: CertificateDer<'static>,
    pub key_der: Vec<u8>,
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, format!("{name} test CA"));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca = params.clone().self_signed(&ca_key).unwrap();
        let ca_path = dir.path().join(format!("{name}-ca.pem"));
        std::fs::write(&ca_path, ca.pem()).unwrap();
        Pki { ca_der: ca.der().clone(), dir, ca_path, ca_params: params, ca_key }
    }

    /// A certificate for `localhost`/127.0.0.1 (server) or a client, written as `<file>.pem`
    /// and `<file>-key.pem`.
    pub fn leaf(&self, file: &str, cn: &str, serial: u64, client: bool) -> Leaf {
        let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.serial_number = Some(SerialNumber::from(serial));
        params.extended_key_usages =
            vec![if client { ExtendedKeyUsagePurpose::ClientAuth } else { ExtendedKeyUsagePurpose::ServerAuth }];
        let key = KeyPair::generate().unwrap();
        let issuer = self.ca_params.clone().self_signed(&self.ca_key).unwrap();
        let cert = params.signed_by(&key, &issuer, &self.ca_key).unwrap();
        let leaf = Leaf {
            cert: self.dir.path().join(format!("{file}.pem")),
            key: self.dir.path().join(format!("{file}-key.pem")),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        };
        std::fs::write(&leaf.cert, cert.pem()).unwrap();
        std::fs::write(&leaf.key, key.serialize_pem()).unwrap();
        leaf
    }
}

pub fn p(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A rustls client trusting `ca`, optionally presenting `client`, limited to `versions`.
pub fn client_config(
    ca: &CertificateDer<'static>,
    client: Option<&Leaf>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let mut cfg = match client {
        Some(l) => b
            .with_client_auth_cert(
                vec![l.der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(l.key_der.clone())),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

/// The same client offering only `proto` in ALPN (`h2` for a gRPC listener).
pub fn with_alpn(cfg: Arc<rustls::ClientConfig>, proto: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut c = (*cfg).clone();
    c.alpn_protocols = vec![proto.to_vec()];
    Arc::new(c)
}

pub const ALL: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12, &rustls::version::TLS13];

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Connects and finishes the handshake.
pub fn handshake(port: u16, cfg: Arc<rustls::ClientConfig>) -> Result<Tls, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let conn = rustls::ClientConnection::new(cfg, ServerName::try_from("localhost").unwrap()).unwrap();
    let mut s = rustls::StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock).map_err(|e| e.to_string())?;
    }
    Ok(s)
}

/// The certificate the server presented.
pub fn server_cert(port: u16, ca: &CertificateDer<'static>) -> CertificateDer<'static> {
    let s = handshake(port, client_config(ca, None, ALL)).unwrap();
    s.conn.peer_certificates().unwrap()[0].clone().into_owned()
}

/// POSTs `body` as OTLP protobuf over HTTPS/1.1; the status, or an error (handshake refused,
/// connection closed by an alert).
pub fn post(port: u16, cfg: Arc<rustls::ClientConfig>, path: &str, body: &[u8]) -> Result<u16, String> {
    let mut s = handshake(port, cfg)?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    s.write_all(body).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let r = s.read_to_end(&mut raw);
    if raw.is_empty() {
        return Err(format!("no answer: {r:?}"));
    }
    let line = String::from_utf8_lossy(&raw).lines().next().unwrap_or_default().to_string();
    line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or(line)
}
