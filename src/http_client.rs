//! The one HTTP client builder (HTTP/1.1 and HTTP/2 over TLS or plaintext) all exporters use,
//! and the shared TLS client settings (`tls:` in exporter configs).

use crate::config::ConfigError;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use std::sync::Arc;

/// `tls:` of a client (Go: configtls.ClientConfig). oxidot implements `insecure`,
/// `insecure_skip_verify`, `ca_file`, `cert_file`+`key_file` and `server_name_override`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsClientConfig {
    pub insecure: bool,
    pub insecure_skip_verify: bool,
    pub ca_file: Option<String>,
    pub ca_pem: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub server_name_override: Option<String>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    pub include_system_ca_certs_pool: Option<bool>,
    pub reload_interval: Option<String>,
}

impl TlsClientConfig {
    pub fn validate(&self, base: &str, errors: &mut Vec<ConfigError>) {
        let p = |k: &str| format!("{base}::tls::{k}");
        if self.cert_file.is_some() != self.key_file.is_some() {
            errors.push(ConfigError::new(p("cert_file"), "cert_file and key_file must be set together"));
        }
        if self.ca_pem.is_some() {
            errors.push(ConfigError::new(p("ca_pem"), "ca_pem is not supported by oxidot yet: use ca_file"));
        }
        if self.insecure_skip_verify {
            errors.push(ConfigError::new(
                p("insecure_skip_verify"),
                "insecure_skip_verify is not supported by oxidot yet",
            ));
        }
        for (k, v) in [("ca_file", &self.ca_file), ("cert_file", &self.cert_file), ("key_file", &self.key_file)] {
            if let Some(f) = v {
                if !std::path::Path::new(f).exists() {
                    errors.push(ConfigError::new(p(k), format!("file {f:?} does not exist")));
                }
            }
        }
    }

    /// PEM bytes of `ca_file`, if set.
    pub fn ca_pem_bytes(&self) -> Result<Option<Vec<u8>>, String> {
        match &self.ca_file {
            Some(f) => std::fs::read(f).map(Some).map_err(|e| format!("cannot read tls::ca_file {f:?}: {e}")),
            None => Ok(None),
        }
    }
}

pub type HttpClient =
    Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, Full<Bytes>>;

/// An HTTP client trusting the web PKI roots plus `tls.ca_file`.
pub fn build(tls: &TlsClientConfig) -> Result<HttpClient, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = tls.ca_pem_bytes()? {
        for cert in rustls_pemfile::certs(&mut &pem[..]) {
            let cert = cert.map_err(|e| format!("tls::ca_file: {e}"))?;
            roots.add(cert).map_err(|e| format!("tls::ca_file: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_root_certificates(roots);
    let cfg = match (&tls.cert_file, &tls.key_file) {
        (Some(c), Some(k)) => {
            let certs = std::fs::read(c).map_err(|e| format!("tls::cert_file: {e}"))?;
            let certs = rustls_pemfile::certs(&mut &certs[..])
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("tls::cert_file: {e}"))?;
            let key = std::fs::read(k).map_err(|e| format!("tls::key_file: {e}"))?;
            let key = rustls_pemfile::private_key(&mut &key[..])
                .map_err(|e| format!("tls::key_file: {e}"))?
                .ok_or("tls::key_file: no private key found")?;
            builder.with_client_auth_cert(certs, key).map_err(|e| format!("tls: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(cfg)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).pool_idle_timeout(std::time::Duration::from_secs(90)).build(https))
}

/// Parses `Retry-After` (seconds or an HTTP date) into a delay.
pub fn retry_after(h: &http::HeaderMap) -> Option<std::time::Duration> {
    let v = h.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    when.duration_since(std::time::SystemTime::now()).ok()
}

/// Request headers from an exporter's `headers:`; errors name the header, never its value
/// (values are often credentials).
pub fn header_map(
    headers: &std::collections::BTreeMap<String, crate::secret::Opaque>,
) -> Result<http::HeaderMap, String> {
    let mut out = http::HeaderMap::new();
    for (k, v) in headers {
        let name =
            http::HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("headers: invalid header name {k:?}"))?;
        let mut val =
            http::HeaderValue::from_str(v.as_str()).map_err(|_| format!("headers: invalid value for header {k:?}"))?;
        val.set_sensitive(true);
        out.insert(name, val);
    }
    Ok(out)
}

/// An error and its sources, joined by `: ` (hyper and aws-config errors hide the cause).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
