//! The `awsxray` receiver: X-Ray segment documents from the X-Ray SDKs over UDP (the X-Ray
//! daemon's protocol) become OTLP spans, and a local TCP proxy forwards the SDKs' sampling
//! calls to the X-Ray API, signed with SigV4. Go: contrib `receiver/awsxrayreceiver` and
//! `internal/aws/proxy`.

pub mod factory;
pub mod proxy;
pub mod segment;
pub mod translate;
pub mod udp;

use crate::config::ConfigError;
use serde::Deserialize;
use serde_yaml_ng::Value;

/// `receivers: awsxray:` (Go: config.go `Config`: confignet.NetAddr squashed in, plus
/// `proxy_server`). Defaults: factory.go `createDefaultConfig`.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct XrayReceiverConfig {
    /// UDP address segments arrive on.
    pub endpoint: String,
    /// Only `udp` (udppoller.go refuses any other).
    pub transport: String,
    /// confignet's dialer settings: accepted, unused by a listener (as in Go).
    pub dialer: Option<Value>,
    pub proxy_server: ProxyServerConfig,
}

impl Default for XrayReceiverConfig {
    fn default() -> Self {
        XrayReceiverConfig {
            endpoint: "localhost:2000".into(),
            transport: "udp".into(),
            dialer: None,
            proxy_server: ProxyServerConfig::default(),
        }
    }
}

/// `proxy_server` (Go: internal/aws/proxy/cfg.go `Config`, defaults `DefaultConfig`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyServerConfig {
    /// TCP address the SDKs' sampling calls arrive on.
    pub endpoint: String,
    pub dialer: Option<Value>,
    /// An HTTP proxy to reach X-Ray through (accepted and not used by oxidot: see README).
    pub proxy_address: String,
    pub tls: crate::tls::TlsClientConfig,
    /// Region of the X-Ray API; else `AWS_DEFAULT_REGION`, `AWS_REGION`, the ECS metadata file.
    pub region: String,
    /// Role to assume (through STS) for the calls.
    pub role_arn: String,
    /// X-Ray API endpoint; default `https://xray.<region>.amazonaws.com`.
    pub aws_endpoint: String,
    /// Go: skips the EC2 instance metadata region lookup; oxidot never makes it.
    pub local_mode: bool,
    /// SigV4 service name.
    pub service_name: String,
}

impl Default for ProxyServerConfig {
    fn default() -> Self {
        ProxyServerConfig {
            endpoint: "localhost:2000".into(),
            dialer: None,
            proxy_address: String::new(),
            tls: Default::default(),
            region: String::new(),
            role_arn: String::new(),
            aws_endpoint: String::new(),
            local_mode: false,
            service_name: "xray".into(),
        }
    }
}

impl XrayReceiverConfig {
    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        let mut errs = Vec::new();
        let mut warns = Vec::new();
        if self.transport != udp::TRANSPORT {
            errs.push(ConfigError::new(
                format!("{base}::transport"),
                format!("X-Ray receiver only supports ingesting spans through UDP, provided: {}", self.transport),
            ));
        }
        if self.endpoint.is_empty() {
            errs.push(ConfigError::new(format!("{base}::endpoint"), "must not be empty"));
        }
        let p = &self.proxy_server;
        let pb = format!("{base}::proxy_server");
        if p.endpoint.is_empty() {
            errs.push(ConfigError::new(format!("{pb}::endpoint"), "must not be empty"));
        }
        if !p.aws_endpoint.is_empty()
            && !p.aws_endpoint.starts_with("https://")
            && !p.aws_endpoint.starts_with("http://")
        {
            errs.push(ConfigError::new(
                format!("{pb}::aws_endpoint"),
                format!("invalid endpoint {:?}: use https://… or http://…", crate::secret::redact_url(&p.aws_endpoint)),
            ));
        }
        if p.service_name.is_empty() {
            errs.push(ConfigError::new(format!("{pb}::service_name"), "must not be empty"));
        }
        p.tls.validate(&format!("{pb}::tls"), &mut errs);
        if !p.proxy_address.is_empty() {
            warns
                .push(format!("{pb}::proxy_address: accepted but not used: oxidot connects to the X-Ray API directly"));
        }
        (errs, warns)
    }
}

#[cfg(test)]
mod tests;
