//! `tls:` blocks (Go: config/configtls): the server side of receivers and the client side of
//! exporters, both with rustls (ring). Validation follows configtls.go `Config.Validate` and
//! `ServerConfig.Validate`; loading follows `loadTLSConfig`.

pub mod client;
mod reload;
pub mod server;

pub use client::TlsClientConfig;
pub use server::{ServerTls, TlsServerConfig};

use crate::config::ConfigError;
use crate::secret::Opaque;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::SupportedProtocolVersion;
use std::sync::Arc;

/// The keys configtls.Config has on both sides, borrowed from a client or server block.
pub(crate) struct Common<'a> {
    pub ca_file: &'a Option<String>,
    pub ca_pem: &'a Option<Opaque>,
    pub include_system_ca_certs_pool: bool,
    pub cert_file: &'a Option<String>,
    pub cert_pem: &'a Option<Opaque>,
    pub key_file: &'a Option<String>,
    pub key_pem: &'a Option<Opaque>,
    pub min_version: &'a str,
    pub max_version: &'a str,
    pub cipher_suites: &'a [String],
    pub curve_preferences: &'a [String],
    pub tpm: bool,
}

fn set(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty())
}
fn set_pem(v: &Option<Opaque>) -> bool {
    v.as_ref().is_some_and(|s| !s.as_str().is_empty())
}

/// A TLS version as configtls spells it (`tlsVersions`): "1.0" … "1.3"; "" is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Version {
    V10,
    V11,
    V12,
    V13,
}

/// configtls.go `convertVersion`: `None` for "" (the default), an error for unknown strings.
pub(crate) fn parse_version(v: &str) -> Result<Option<Version>, String> {
    match v {
        "" => Ok(None),
        "1.0" => Ok(Some(Version::V10)),
        "1.1" => Ok(Some(Version::V11)),
        "1.2" => Ok(Some(Version::V12)),
        "1.3" => Ok(Some(Version::V13)),
        _ => Err(format!("unsupported TLS version: {v:?}")),
    }
}

/// Go's curve names (configtls `tlsCurveTypes`) that ring's rustls provider offers.
const CURVES: &[(&str, rustls::NamedGroup)] = &[
    ("X25519", rustls::NamedGroup::X25519),
    ("P256", rustls::NamedGroup::secp256r1),
    ("P384", rustls::NamedGroup::secp384r1),
];

impl Common<'_> {
    /// configtls.go `Config.Validate`, plus what rustls cannot do (TLS 1.0/1.1, some curves,
    /// TPM keys). Go returns the first problem; so does this, under the key it concerns.
    pub(crate) fn validate(&self, base: &str) -> Option<ConfigError> {
        let p = |k: &str| format!("{base}::tls::{k}");
        if set(self.ca_file) && set_pem(self.ca_pem) {
            return Some(ConfigError::new(
                p("ca_file"),
                "provide either a CA file or the PEM-encoded string, but not both",
            ));
        }
        if set(self.cert_file) && set_pem(self.cert_pem) {
            return Some(ConfigError::new(p("cert_file"), "provide either certificate file or PEM, but not both"));
        }
        if set(self.key_file) && set_pem(self.key_pem) {
            return Some(ConfigError::new(p("key_file"), "provide either key file or PEM, but not both"));
        }
        if self.has_cert() != self.has_key() {
            let k = if self.has_cert() { "key_file" } else { "cert_file" };
            return Some(ConfigError::new(
                p(k),
                "TLS configuration must include both certificate and key (CertFile/CertPem and KeyFile/KeyPem)",
            ));
        }
        let min = match parse_version(self.min_version) {
            Ok(v) => v.unwrap_or(Version::V12),
            Err(e) => return Some(ConfigError::new(p("min_version"), format!("invalid TLS min_version: {e}"))),
        };
        let max = match parse_version(self.max_version) {
            Ok(v) => v,
            Err(e) => return Some(ConfigError::new(p("max_version"), format!("invalid TLS max_version: {e}"))),
        };
        if max.is_some_and(|m| m < min) {
            return Some(ConfigError::new(
                p("min_version"),
                "invalid TLS configuration: min_version cannot be greater than max_version",
            ));
        }
        // rustls implements TLS 1.2 and 1.3 only; Go still accepts 1.0 and 1.1.
        for (k, v) in [("min_version", Some(min)), ("max_version", max)] {
            if matches!(v, Some(Version::V10 | Version::V11)) {
                return Some(ConfigError::new(
                    p(k),
                    format!(
                        "TLS {:?} is not supported by oxidot (rustls implements TLS 1.2 and 1.3 only): use \"1.2\" or \"1.3\"",
                        if k == "min_version" { self.min_version } else { self.max_version }
                    ),
                ));
            }
        }
        for s in self.cipher_suites {
            if !cipher_suite_known(s) {
                return Some(ConfigError::new(p("cipher_suites"), format!("invalid TLS cipher suite: {s:?}")));
            }
        }
        for c in self.curve_preferences {
            if !CURVES.iter().any(|(n, _)| n == c) {
                let valid: Vec<&str> = CURVES.iter().map(|(n, _)| *n).collect();
                return Some(ConfigError::new(
                    p("curve_preferences"),
                    format!("invalid curve type: {c}. Expected values are {}", valid.join(", ")),
                ));
            }
        }
        if self.tpm {
            return Some(ConfigError::new(p("tpm"), "TPM-held keys are not supported by oxidot"));
        }
        None
    }

    pub(crate) fn has_cert(&self) -> bool {
        set(self.cert_file) || set_pem(self.cert_pem)
    }
    pub(crate) fn has_key(&self) -> bool {
        set(self.key_file) || set_pem(self.key_pem)
    }
    pub(crate) fn has_ca(&self) -> bool {
        set(self.ca_file) || set_pem(self.ca_pem)
    }

    /// The rustls provider restricted to the configured cipher suites and curves.
    pub(crate) fn provider(&self) -> rustls::crypto::CryptoProvider {
        let mut p = rustls::crypto::ring::default_provider();
        if !self.cipher_suites.is_empty() {
            // As Go: the list configures TLS 1.2 suites; TLS 1.3 suites are always enabled.
            p.cipher_suites.retain(|s| {
                s.version() == &rustls::version::TLS13 || self.cipher_suites.iter().any(|n| *n == suite_name(s))
            });
        }
        if !self.curve_preferences.is_empty() {
            let groups = self
                .curve_preferences
                .iter()
                .filter_map(|c| CURVES.iter().find(|(n, _)| n == c).map(|(_, g)| *g))
                .filter_map(|g| p.kx_groups.iter().find(|k| k.name() == g).copied())
                .collect();
            p.kx_groups = groups;
        }
        p
    }

    /// The protocol versions between min_version (default 1.2) and max_version (default 1.3).
    pub(crate) fn versions(&self) -> Vec<&'static SupportedProtocolVersion> {
        let min = parse_version(self.min_version).ok().flatten().unwrap_or(Version::V12);
        let max = parse_version(self.max_version).ok().flatten().unwrap_or(Version::V13);
        let mut out = Vec::new();
        if min <= Version::V12 && max >= Version::V12 {
            out.push(&rustls::version::TLS12);
        }
        if max >= Version::V13 {
            out.push(&rustls::version::TLS13);
        }
        out
    }

    /// The certificate chain and key from files or PEM, if configured.
    pub(crate) fn load_cert_key(
        &self,
    ) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, String> {
        if !self.has_cert() {
            return Ok(None);
        }
        let cert_pem = read_or_inline("cert_file", self.cert_file, self.cert_pem)?;
        let key_pem = read_or_inline("key_file", self.key_file, self.key_pem)?;
        let certs = rustls_pemfile::certs(&mut &cert_pem[..])
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("tls::cert_file: failed to parse certificate PEM: {e}"))?;
        if certs.is_empty() {
            return Err(format!("tls::cert_file: no certificate found in {}", source(self.cert_file)));
        }
        let key = rustls_pemfile::private_key(&mut &key_pem[..])
            .map_err(|e| format!("tls::key_file: failed to parse key PEM: {e}"))?
            .ok_or_else(|| format!("tls::key_file: no private key found in {}", source(self.key_file)))?;
        Ok(Some((certs, key)))
    }

    /// The CA bundle (`ca_file` or `ca_pem`) as a root store; with `include_system_ca_certs_pool`
    /// (or no CA at all) the system pool is added (oxidot: the Mozilla roots of webpki-roots).
    pub(crate) fn roots(&self) -> Result<rustls::RootCertStore, String> {
        let mut roots = rustls::RootCertStore::empty();
        if !self.has_ca() || self.include_system_ca_certs_pool {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if self.has_ca() {
            let pem = read_or_inline("ca_file", self.ca_file, self.ca_pem)?;
            add_pem_certs(&mut roots, &pem).map_err(|e| format!("tls::ca_file: {e} in {}", source(self.ca_file)))?;
        }
        Ok(roots)
    }
}

/// A configured file that does not exist is an error at validation, naming key and path.
pub(crate) fn check_files_exist(base: &str, files: &[(&str, String)], errors: &mut Vec<ConfigError>) {
    for (k, f) in files {
        if !std::path::Path::new(f).exists() {
            errors.push(ConfigError::new(format!("{base}::tls::{k}"), format!("file {f:?} does not exist")));
        }
    }
}

fn source(file: &Option<String>) -> String {
    match file {
        Some(f) if !f.is_empty() => format!("{f:?}"),
        _ => "the PEM string".into(),
    }
}

/// The contents of `<key>` (a file path) or of its `_pem` twin.
pub(crate) fn read_or_inline(key: &str, file: &Option<String>, pem: &Option<Opaque>) -> Result<Vec<u8>, String> {
    match file {
        Some(f) if !f.is_empty() => read_file(key, f),
        _ => Ok(pem.as_ref().map(|p| p.as_str().as_bytes().to_vec()).unwrap_or_default()),
    }
}

/// Certificates and keys are small; a larger file is a mistake (e.g. `/dev/zero`).
const MAX_PEM_BYTES: u64 = 4 * 1024 * 1024;

pub(crate) fn read_file(key: &str, path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| format!("tls::{key}: cannot read {path:?}: {e}"))?;
    let mut buf = Vec::new();
    f.take(MAX_PEM_BYTES + 1).read_to_end(&mut buf).map_err(|e| format!("tls::{key}: cannot read {path:?}: {e}"))?;
    if buf.len() as u64 > MAX_PEM_BYTES {
        return Err(format!("tls::{key}: {path:?} is larger than {MAX_PEM_BYTES} bytes"));
    }
    Ok(buf)
}

/// Adds every certificate in `pem`; at least one must parse (Go: AppendCertsFromPEM).
pub(crate) fn add_pem_certs(roots: &mut rustls::RootCertStore, pem: &[u8]) -> Result<(), String> {
    let mut added = 0;
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        let cert = cert.map_err(|e| format!("failed to parse cert: {e}"))?;
        roots.add(cert).map_err(|e| format!("failed to parse cert: {e}"))?;
        added += 1;
    }
    if added == 0 {
        return Err("failed to parse cert (no PEM certificate found)".into());
    }
    Ok(())
}

/// Go's name of a suite (crypto/tls `CipherSuiteName`), which rustls' `CipherSuite` debug
/// output spells the same way (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`).
fn suite_name(s: &rustls::SupportedCipherSuite) -> String {
    format!("{:?}", s.suite())
}

/// Go spells TLS 1.3 suites `TLS_AES_128_GCM_SHA256`, rustls `TLS13_AES_128_GCM_SHA256`.
fn cipher_suite_known(name: &str) -> bool {
    rustls::crypto::ring::default_provider()
        .cipher_suites
        .iter()
        .any(|s| suite_name(s) == name || suite_name(s).replacen("TLS13_", "TLS_", 1) == name)
}

/// Shared by server and client: the rustls provider as an Arc.
pub(crate) fn provider_arc(c: &Common<'_>) -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(c.provider())
}

#[cfg(test)]
mod tests;
