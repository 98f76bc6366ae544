//! The server side (`protocols.{grpc,http}.tls` of receivers; Go: configtls.ServerConfig).

use super::reload::Reloading;
use super::Common;
use crate::config::serde_util::GoDuration;
use crate::config::ConfigError;
use crate::secret::Opaque;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::sync::Arc;
use std::time::Duration;

/// `tls:` of a server (Go: configtls.ServerConfig, its keys and defaults).
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsServerConfig {
    pub cert_file: Option<String>,
    pub cert_pem: Option<Opaque>,
    pub key_file: Option<String>,
    pub key_pem: Option<Opaque>,
    /// Go sets it as RootCAs, which a server does not use; accepted and ignored, as there.
    pub ca_file: Option<String>,
    pub ca_pem: Option<Opaque>,
    pub include_system_ca_certs_pool: bool,
    /// Clients must present a certificate signed by one of these (mTLS; Go:
    /// RequireAndVerifyClientCert).
    pub client_ca_file: Option<String>,
    pub client_ca_file_reload: bool,
    pub min_version: String,
    pub max_version: String,
    pub cipher_suites: Vec<String>,
    /// How often the files are checked for changes (on a new connection); see `reload.rs`.
    pub reload_interval: Option<GoDuration>,
    pub curve_preferences: Vec<String>,
    pub tpm: Option<Value>,
}

/// How often cert/key/client CA files are checked when `reload_interval` is unset (Go never
/// reloads then; oxidot picks up a renewed certificate without a restart).
pub const DEFAULT_RELOAD_CHECK: Duration = Duration::from_secs(10);

impl TlsServerConfig {
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

    /// configtls `Config.Validate` then `ServerConfig.Validate` (a server needs a certificate).
    pub fn validate(&self, base: &str, errors: &mut Vec<ConfigError>) {
        let c = self.common();
        if let Some(e) = c.validate(base) {
            errors.push(e);
            return;
        }
        if !c.has_cert() && !c.has_key() {
            errors.push(ConfigError::new(
                format!("{base}::tls::cert_file"),
                "TLS configuration must include both certificate and key for server connections",
            ));
        }
        super::check_files_exist(base, &self.watched_files(), errors);
    }

    /// The file paths whose contents make up the rustls config (checked for changes).
    pub(crate) fn watched_files(&self) -> Vec<(&'static str, String)> {
        [("cert_file", &self.cert_file), ("key_file", &self.key_file), ("client_ca_file", &self.client_ca_file)]
            .into_iter()
            .filter_map(|(k, f)| f.clone().filter(|f| !f.is_empty()).map(|f| (k, f)))
            .collect()
    }

    /// Builds the rustls server config from the current files (Go: ServerConfig.LoadTLSConfig).
    pub(crate) fn build(&self, alpn: &[&[u8]]) -> Result<rustls::ServerConfig, String> {
        let c = self.common();
        let provider = super::provider_arc(&c);
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&c.versions())
            .map_err(|e| format!("tls: {e}"))?;
        let builder = match self.client_ca_file.as_deref().filter(|f| !f.is_empty()) {
            Some(path) => {
                let pem = super::read_file("client_ca_file", path)?;
                let mut roots = rustls::RootCertStore::empty();
                super::add_pem_certs(&mut roots, &pem)
                    .map_err(|e| format!("tls::client_ca_file: failed to parse CA {path:?}: {e}"))?;
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|e| format!("tls::client_ca_file: {e}"))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let (certs, key) = c.load_cert_key()?.ok_or("tls::cert_file: a server needs cert_file and key_file")?;
        let mut cfg =
            builder.with_single_cert(certs, key).map_err(|e| format!("tls: failed to load TLS cert and key: {e}"))?;
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(cfg)
    }

    fn check_interval(&self) -> Duration {
        self.reload_interval.map(|d| d.0).filter(|d| !d.is_zero()).unwrap_or(DEFAULT_RELOAD_CHECK)
    }
}

/// A listener's TLS: the current rustls config, rebuilt when its files change.
pub struct ServerTls {
    inner: Reloading,
}

impl ServerTls {
    /// Loads the files now: a missing or bad file fails the start, naming key and path.
    /// `what` names the listener in logs (`receiver otlp (grpc)`).
    pub fn new(what: String, cfg: &TlsServerConfig, alpn: &'static [&'static [u8]]) -> Result<ServerTls, String> {
        let interval = cfg.check_interval();
        let files = cfg.watched_files();
        let owned = cfg.clone();
        let build: super::reload::Build = Box::new(move || owned.build(alpn));
        Ok(ServerTls { inner: Reloading::new(what, files, build, interval)? })
    }

    /// The acceptor for a new connection (after checking the files, at most once per interval).
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.inner.current())
    }

    #[cfg(test)]
    pub(crate) fn current(&self) -> Arc<rustls::ServerConfig> {
        self.inner.current()
    }
}

/// ALPN for a gRPC listener (h2 only, as grpc-go's credentials) and an HTTP one.
pub const ALPN_GRPC: &[&[u8]] = &[b"h2"];
pub const ALPN_HTTP: &[&[u8]] = &[b"h2", b"http/1.1"];
