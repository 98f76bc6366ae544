//! What the `kafka` exporter and receiver share (Go: pkg/kafka/configkafka ClientConfig,
//! AuthenticationConfig, MetadataConfig): the client settings as Go names them, their checks, and
//! their translation into librdkafka properties (the client is librdkafka, through `rdkafka`).

pub mod encoding;

use crate::config::{ConfigError, GoDuration};
use crate::http_client::TlsClientConfig;
use crate::secret::Opaque;
use serde::Deserialize;
use serde_yaml_ng::Value;

/// The default topic of each signal (kafkaexporter and kafkareceiver factory.go).
pub fn default_topic(signal: crate::component::Signal) -> &'static str {
    use crate::component::Signal;
    match signal {
        Signal::Traces => "otlp_spans",
        Signal::Metrics => "otlp_metrics",
        Signal::Logs => "otlp_logs",
    }
}

/// configkafka's defaults (`NewDefaultClientConfig`).
pub const DEFAULT_BROKER: &str = "localhost:9092";
pub const DEFAULT_CLIENT_ID: &str = "otel-collector";

/// `auth:` (Go: configkafka.AuthenticationConfig).
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Deprecated in Go (v0.123): SASL/PLAIN.
    pub plain_text: Option<PlainTextConfig>,
    pub sasl: Option<SaslConfig>,
    pub kerberos: Option<Value>,
    /// Deprecated in Go (v0.124): used when the top-level `tls` is not set.
    pub tls: Option<TlsClientConfig>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PlainTextConfig {
    pub username: String,
    pub password: Opaque,
}

/// `auth::sasl` (Go: configkafka.SASLConfig).
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SaslConfig {
    pub username: String,
    pub password: Opaque,
    pub mechanism: String,
    pub version: i64,
    pub aws_msk: Option<Value>,
    pub oidc_file: Option<Value>,
}

/// `metadata:` (Go: configkafka.MetadataConfig, sarama's defaults).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataConfig {
    pub full: bool,
    pub refresh_interval: GoDuration,
    pub retry: MetadataRetryConfig,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig { full: true, refresh_interval: GoDuration::from_secs(600), retry: Default::default() }
    }
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataRetryConfig {
    pub max: i64,
    pub backoff: GoDuration,
}

impl Default for MetadataRetryConfig {
    fn default() -> Self {
        MetadataRetryConfig { max: 3, backoff: GoDuration::from_millis(250) }
    }
}

/// The client part of a kafka component's config, borrowed from the exporter's or receiver's
/// struct (serde cannot flatten it there: `deny_unknown_fields` would stop working).
pub struct ClientView<'a> {
    pub brokers: &'a [String],
    pub resolve_canonical_bootstrap_servers_only: bool,
    pub protocol_version: &'a str,
    pub client_id: &'a str,
    pub auth: &'a AuthConfig,
    pub tls: &'a Option<TlsClientConfig>,
    pub metadata: &'a MetadataConfig,
    pub rack_id: &'a str,
}

impl ClientView<'_> {
    /// configkafka `ClientConfig.Validate` plus `SASLConfig.Validate`, and what oxidot cannot do.
    pub fn validate(&self, base: &str, errs: &mut Vec<ConfigError>) {
        if self.brokers.is_empty() || self.brokers.iter().any(|b| b.trim().is_empty()) {
            errs.push(ConfigError::new(format!("{base}::brokers"), "brokers must be specified"));
        }
        if !self.protocol_version.is_empty() && !valid_protocol_version(self.protocol_version) {
            errs.push(ConfigError::new(
                format!("{base}::protocol_version"),
                format!("invalid protocol version: invalid version `{}`", self.protocol_version),
            ));
        }
        if let Some(s) = &self.auth.sasl {
            let p = |k: &str| format!("{base}::auth::sasl::{k}");
            match s.mechanism.as_str() {
                "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512" => {
                    if s.username.is_empty() {
                        errs.push(ConfigError::new(p("username"), "username is required"));
                    }
                    if s.password.as_str().is_empty() {
                        errs.push(ConfigError::new(p("password"), "password is required"));
                    }
                }
                "AWS_MSK_IAM_OAUTHBEARER" | "OIDCFILE" => errs.push(ConfigError::new(
                    p("mechanism"),
                    format!("SASL mechanism {:?} is not supported yet by oxidot (use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", s.mechanism),
                )),
                m => errs.push(ConfigError::new(
                    p("mechanism"),
                    format!("mechanism should be one of 'PLAIN', 'AWS_MSK_IAM_OAUTHBEARER', 'SCRAM-SHA-256' or 'SCRAM-SHA-512'. configured value {m}"),
                )),
            }
            if !(0..=1).contains(&s.version) {
                errs.push(ConfigError::new(
                    p("version"),
                    format!("version has to be either 0 or 1. configured value {}", s.version),
                ));
            }
        }
        if let Some(pt) = &self.auth.plain_text {
            if pt.username.is_empty() || pt.password.as_str().is_empty() {
                errs.push(ConfigError::new(format!("{base}::auth::plain_text"), "username and password are required"));
            }
        }
        if self.auth.kerberos.is_some() {
            errs.push(ConfigError::new(
                format!("{base}::auth::kerberos"),
                "Kerberos (GSSAPI) authentication is not supported yet by oxidot",
            ));
        }
        if let Some(t) = self.effective_tls() {
            let key = if self.tls.is_some() { "tls" } else { "auth::tls" };
            t.validate(&format!("{base}::{key}"), errs);
            if t.tpm.is_some() || !t.cipher_suites.is_empty() || !t.curve_preferences.is_empty() {
                errs.push(ConfigError::new(
                    format!("{base}::{key}"),
                    "tpm, cipher_suites and curve_preferences are not supported on the kafka client (librdkafka's OpenSSL)",
                ));
            }
        }
        crate::config::limits::check_duration(
            errs,
            format!("{base}::metadata::refresh_interval"),
            self.metadata.refresh_interval.0,
            crate::config::limits::DURATION,
        );
    }

    /// `tls`, or the deprecated `auth::tls` when `tls` is not set (as Go).
    fn effective_tls(&self) -> Option<&TlsClientConfig> {
        self.tls.as_ref().or(self.auth.tls.as_ref())
    }

    /// The librdkafka properties of this client (names from librdkafka's CONFIGURATION.md).
    pub fn properties(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![
            ("bootstrap.servers", self.brokers.join(",")),
            ("client.id", self.client_id.to_string()),
            ("topic.metadata.refresh.interval.ms", self.metadata.refresh_interval.0.as_millis().to_string()),
            ("retry.backoff.ms", self.metadata.retry.backoff.0.as_millis().max(1).to_string()),
            // librdkafka logs through its own logger; oxidot's logs say what matters.
            ("log_level", "3".to_string()),
        ];
        if self.resolve_canonical_bootstrap_servers_only {
            p.push(("client.dns.lookup", "resolve_canonical_bootstrap_servers_only".to_string()));
        }
        if !self.rack_id.is_empty() {
            p.push(("client.rack", self.rack_id.to_string()));
        }
        // TLS: set and not `insecure: true` (configtls: insecure disables TLS for a client).
        let tls = self.effective_tls().filter(|t| !t.insecure);
        let sasl = self.sasl();
        let proto = match (tls.is_some(), sasl.is_some()) {
            (false, false) => "plaintext",
            (true, false) => "ssl",
            (false, true) => "sasl_plaintext",
            (true, true) => "sasl_ssl",
        };
        p.push(("security.protocol", proto.to_string()));
        if let Some((mech, user, pass)) = sasl {
            p.push(("sasl.mechanisms", mech.to_string()));
            p.push(("sasl.username", user.to_string()));
            p.push(("sasl.password", pass.to_string()));
        }
        if let Some(t) = tls {
            if let Some(f) = t.ca_file.as_ref().filter(|f| !f.is_empty()) {
                p.push(("ssl.ca.location", f.clone()));
            }
            if let Some(pem) = &t.ca_pem {
                p.push(("ssl.ca.pem", pem.as_str().to_string()));
            }
            if let Some(f) = t.cert_file.as_ref().filter(|f| !f.is_empty()) {
                p.push(("ssl.certificate.location", f.clone()));
            }
            if let Some(pem) = &t.cert_pem {
                p.push(("ssl.certificate.pem", pem.as_str().to_string()));
            }
            if let Some(f) = t.key_file.as_ref().filter(|f| !f.is_empty()) {
                p.push(("ssl.key.location", f.clone()));
            }
            if let Some(pem) = &t.key_pem {
                p.push(("ssl.key.pem", pem.as_str().to_string()));
            }
            if t.insecure_skip_verify {
                p.push(("enable.ssl.certificate.verification", "false".to_string()));
                p.push(("ssl.endpoint.identification.algorithm", "none".to_string()));
            }
        }
        p
    }

    fn sasl(&self) -> Option<(&str, &str, &str)> {
        if let Some(s) = &self.auth.sasl {
            return Some((s.mechanism.as_str(), s.username.as_str(), s.password.as_str()));
        }
        self.auth.plain_text.as_ref().map(|p| ("PLAIN", p.username.as_str(), p.password.as_str()))
    }
}

/// sarama `ParseKafkaVersion`: `0.a.b.c` before 1.0, `a.b.c` after.
fn valid_protocol_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    let nums = parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    nums && if parts.first() == Some(&"0") { parts.len() == 4 } else { parts.len() == 3 }
}

/// The properties to print in a log line: values of secret keys replaced.
pub fn redacted(props: &[(&'static str, String)]) -> String {
    props
        .iter()
        .map(
            |(k, v)| {
                if k.contains("password") || k.ends_with(".pem") {
                    format!("{k}=[REDACTED]")
                } else {
                    format!("{k}={v}")
                }
            },
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// librdkafka's own log lines and client errors, through oxidot's log and rate-limited: a
/// broker that is down makes librdkafka report every reconnect attempt, for every client.
pub struct LogContext {
    component: String,
    logs: crate::telemetry::logging::RateLimit,
    errors: crate::telemetry::logging::RateLimit,
}

impl LogContext {
    pub fn new(component: String) -> LogContext {
        LogContext {
            component,
            logs: crate::telemetry::logging::RateLimit::new(),
            errors: crate::telemetry::logging::RateLimit::new(),
        }
    }

    /// A librdkafka log line (its syslog level: 0–3 error, 4 warning, 5–6 info, 7 debug).
    pub fn log_line(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, msg: &str) {
        use rdkafka::config::RDKafkaLogLevel as L;
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error | L::Warning => {
                if self.logs.allow(30) {
                    tracing::warn!(component = %self.component, facility = fac, message = msg,
                        "librdkafka (repeats within 30 s not logged)");
                }
            }
            L::Notice | L::Info | L::Debug => {
                tracing::debug!(component = %self.component, facility = fac, message = msg, "librdkafka")
            }
        }
    }

    /// A client-wide error (all brokers down, resolution failed, authentication failed).
    pub fn error_line(&self, error: &rdkafka::error::KafkaError, reason: &str) {
        if self.errors.allow(30) {
            tracing::error!(component = %self.component, error = %error, reason,
                "Kafka client error (repeats within 30 s not logged)");
        }
    }
}

impl rdkafka::client::ClientContext for LogContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.log_line(level, fac, log_message);
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        self.error_line(&error, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(
        auth: &'a AuthConfig,
        tls: &'a Option<TlsClientConfig>,
        md: &'a MetadataConfig,
        b: &'a [String],
    ) -> ClientView<'a> {
        ClientView {
            brokers: b,
            resolve_canonical_bootstrap_servers_only: false,
            protocol_version: "",
            client_id: DEFAULT_CLIENT_ID,
            auth,
            tls,
            metadata: md,
            rack_id: "",
        }
    }

    #[test]
    fn protocol_versions_as_sarama() {
        for ok in ["2.0.0", "3.7.1", "0.10.2.0", "1.0.0"] {
            assert!(valid_protocol_version(ok), "{ok}");
        }
        for bad in ["2.0", "0.10.2", "a.b.c", "", "2..0"] {
            assert!(!valid_protocol_version(bad), "{bad}");
        }
    }

    #[test]
    fn sasl_and_tls_choose_the_security_protocol() {
        let md = MetadataConfig::default();
        let b = vec!["k1:9092".to_string(), "k2:9092".to_string()];
        let auth = AuthConfig {
            sasl: Some(SaslConfig {
                username: "u".into(),
                password: "s3cret".into(),
                mechanism: "SCRAM-SHA-512".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let tls = Some(TlsClientConfig::default());
        let p = view(&auth, &tls, &md, &b).properties();
        let get = |k: &str| p.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get("bootstrap.servers").as_deref(), Some("k1:9092,k2:9092"));
        assert_eq!(get("security.protocol").as_deref(), Some("sasl_ssl"));
        assert_eq!(get("sasl.mechanisms").as_deref(), Some("SCRAM-SHA-512"));
        assert!(!redacted(&p).contains("s3cret"));
        let none = AuthConfig::default();
        let p = view(&none, &None, &md, &b).properties();
        assert!(p.contains(&("security.protocol", "plaintext".to_string())));
        let insecure = Some(TlsClientConfig { insecure: true, ..Default::default() });
        let p = view(&none, &insecure, &md, &b).properties();
        assert!(p.contains(&("security.protocol", "plaintext".to_string())));
    }

    #[test]
    fn unsupported_mechanisms_are_config_errors() {
        let md = MetadataConfig::default();
        let b = vec![DEFAULT_BROKER.to_string()];
        for (mech, want) in [
            ("AWS_MSK_IAM_OAUTHBEARER", "not supported yet"),
            ("GSSAPI", "mechanism should be one of"),
            ("PLAIN", "username is required"),
        ] {
            let auth = AuthConfig {
                sasl: Some(SaslConfig { mechanism: mech.into(), ..Default::default() }),
                ..Default::default()
            };
            let mut errs = vec![];
            view(&auth, &None, &md, &b).validate("exporters::kafka", &mut errs);
            assert!(errs.iter().any(|e| e.to_string().contains(want)), "{mech}: {errs:?}");
        }
        let mut errs = vec![];
        view(&AuthConfig::default(), &None, &md, &[]).validate("x", &mut errs);
        assert!(errs[0].to_string().contains("brokers must be specified"));
    }
}
