//! The client side (`tls:` of exporters; Go: configtls.ClientConfig): one rustls
//! `ClientConfig` builder used by the shared HTTP client and the OTLP gRPC exporter.

use super::Common;
use crate::config::serde_util::GoDuration;
use crate::config::ConfigError;
use crate::secret::Opaque;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::sync::Arc;

/// `tls:` of a client (Go: configtls.ClientConfig, its keys and defaults).
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsClientConfig {
    /// gRPC: plaintext. HTTP: ignored (the endpoint's scheme decides), as in Go.
    pub insecure: bool,
    /// TLS without verifying the server's certificate chain and name.
    pub insecure_skip_verify: bool,
    pub server_name_override: Option<String>,
    pub ca_file: Option<String>,
    pub ca_pem: Option<Opaque>,
    pub include_system_ca_certs_pool: bool,
    pub cert_file: Option<String>,
    pub cert_pem: Option<Opaque>,
    pub key_file: Option<String>,
    pub key_pem: Option<Opaque>,
    pub min_version: String,
    pub max_version: String,
    pub cipher_suites: Vec<String>,
    /// Accepted; a client certificate is read once at start (see README, TLS).
    pub reload_interval: Option<GoDuration>,
    pub curve_preferences: Vec<String>,
    pub tpm: Option<Value>,
}

impl TlsClientConfig {
    pub(crate) fn common(&self) -> Common<'_> {
        Common {
            ca_file: &self.ca_file,
            ca_pem: &self.ca_pem,
            include_system_ca_certs_pool: self.include_system_ca_certs_pool,
            cert_file: &self.cert_file,
            cert_pem: &self.cert_pem,
            key_file: &self.key_file,
            key_pem: &self.key_pem,
            min_version: &self.min_version,
            max_version: &self.max_version,
            cipher_suites: &self.cipher_suites,
            curve_preferences: &self.curve_preferences,
            tpm: self.tpm.is_some(),
        }
    }

    /// configtls `Config.Validate`; files that do not exist are errors at validation, naming the
    /// key and the path.
    pub fn validate(&self, base: &str, errors: &mut Vec<ConfigError>) {
        if let Some(e) = self.common().validate(base) {
            errors.push(e);
            return;
        }
        let files: Vec<(&str, String)> =
            [("ca_file", &self.ca_file), ("cert_file", &self.cert_file), ("key_file", &self.key_file)]
                .into_iter()
                .filter_map(|(k, f)| f.clone().filter(|f| !f.is_empty()).map(|f| (k, f)))
                .collect();
        super::check_files_exist(base, &files, errors);
    }

    /// The rustls client config: roots (CA or system pool), client certificate, versions,
    /// suites, curves, `insecure_skip_verify`, and ALPN `alpn`.
    pub fn rustls_config(&self, alpn: &[&[u8]]) -> Result<rustls::ClientConfig, String> {
        let c = self.common();
        let provider = super::provider_arc(&c);
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&c.versions())
            .map_err(|e| format!("tls: {e}"))?;
        let builder = if self.insecure_skip_verify {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        } else {
            builder.with_root_certificates(c.roots()?)
        };
        let mut cfg = match c.load_cert_key()? {
            Some((certs, key)) => builder.with_client_auth_cert(certs, key).map_err(|e| format!("tls: {e}"))?,
            None => builder.with_no_client_auth(),
        };
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(cfg)
    }

    /// The name the server certificate is checked against: `server_name_override`, else `host`.
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, String> {
        let name = self.server_name_override.as_deref().filter(|s| !s.is_empty()).unwrap_or(host);
        let name = name.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(name.to_string()).map_err(|e| format!("tls: invalid server name {name:?}: {e}"))
    }
}

/// `insecure_skip_verify: true`: any certificate is accepted; signatures are still checked so
/// the handshake itself is sound (Go: tls.Config.InsecureSkipVerify).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Connects TCP then TLS for the OTLP gRPC exporter's tonic channel (tonic's own TLS cannot
/// take a client config with `insecure_skip_verify`, versions or suites).
#[derive(Clone)]
pub struct GrpcTlsConnector {
    tls: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

impl GrpcTlsConnector {
    /// `host` is the endpoint's host; the certificate is checked against it (or the override).
    pub fn new(cfg: &TlsClientConfig, host: &str) -> Result<GrpcTlsConnector, String> {
        let rustls_cfg = cfg.rustls_config(&[b"h2"])?;
        Ok(GrpcTlsConnector {
            tls: tokio_rustls::TlsConnector::from(Arc::new(rustls_cfg)),
            name: cfg.server_name(host)?,
        })
    }
}

type ConnectFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<
                    hyper_util::rt::TokioIo<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>,
                    std::io::Error,
                >,
            > + Send,
    >,
>;

impl tonic::codegen::Service<http::Uri> for GrpcTlsConnector {
    type Response = hyper_util::rt::TokioIo<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;
    type Error = std::io::Error;
    type Future = ConnectFuture;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let tls = self.tls.clone();
        let name = self.name.clone();
        Box::pin(async move {
            let bad = || std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("no host in {uri}"));
            let host = uri.host().ok_or_else(bad)?.trim_start_matches('[').trim_end_matches(']').to_string();
            let port = uri.port_u16().unwrap_or(443);
            let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
            let _ = tcp.set_nodelay(true);
            let stream = tls.connect(name, tcp).await?;
            Ok(hyper_util::rt::TokioIo::new(stream))
        })
    }
}
