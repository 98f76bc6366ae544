//! The `service:` section: extensions, pipelines and the collector's own telemetry.

use super::error::ConfigError;
use crate::component::PipelineId;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    pub extensions: Vec<String>,
    pub pipelines: BTreeMap<String, PipelineConfig>,
    pub telemetry: TelemetryConfig,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    pub receivers: Vec<String>,
    pub processors: Vec<String>,
    pub exporters: Vec<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    pub logs: LogsConfig,
    pub metrics: MetricsConfig,
    /// Resource attributes of the collector itself (printed on `target_info`); null removes one.
    pub resource: BTreeMap<String, Option<String>>,
    /// oxidot does not trace itself; accepted so configs that set it still load.
    pub traces: Option<Value>,
}

/// `service.telemetry.logs`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    pub level: String,
    pub encoding: String,
    pub development: bool,
    pub disable_caller: bool,
    pub disable_stacktrace: bool,
    pub output_paths: Option<Vec<String>>,
    pub error_output_paths: Option<Vec<String>>,
    pub initial_fields: BTreeMap<String, Value>,
    pub sampling: Option<Value>,
    pub processors: Option<Value>,
    /// Leaves the `resource` field out of every log line.
    pub disable_zap_resource: bool,
}

impl Default for LogsConfig {
    fn default() -> Self {
        // Go: zap production config, level info, console encoding.
        LogsConfig {
            level: "info".into(),
            encoding: "console".into(),
            development: false,
            disable_caller: false,
            disable_stacktrace: false,
            output_paths: None,
            error_output_paths: None,
            initial_fields: BTreeMap::new(),
            sampling: None,
            processors: None,
            disable_zap_resource: false,
        }
    }
}

/// `service.telemetry.metrics`: the newer `readers` form, or the older `address` ADOT configs use.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub level: String,
    /// Older form (`address: 0.0.0.0:8888`), still written by ADOT configs.
    pub address: Option<String>,
    pub readers: Option<Vec<ReaderConfig>>,
    pub views: Option<Value>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { level: "normal".into(), address: None, readers: None, views: None }
    }
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ReaderConfig {
    pub pull: Option<PullReader>,
    pub periodic: Option<Value>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PullReader {
    pub exporter: PullExporter,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PullExporter {
    pub prometheus: Option<PrometheusReader>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusReader {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub without_type_suffix: Option<bool>,
    pub without_units: Option<bool>,
    pub without_scope_info: Option<bool>,
    pub with_resource_constant_labels: Option<Value>,
}

/// The metrics level, as the collector names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MetricsLevel {
    None,
    Basic,
    Normal,
    Detailed,
}

/// Where and how self-metrics are served, after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsEndpoint {
    pub address: String,
    /// `_total` and unit suffixes (only when a reader sets `without_type_suffix`/`without_units: false`).
    pub with_suffixes: bool,
}

impl MetricsConfig {
    pub fn level(&self) -> Result<MetricsLevel, String> {
        match self.level.to_ascii_lowercase().as_str() {
            "none" => Ok(MetricsLevel::None),
            "basic" => Ok(MetricsLevel::Basic),
            "normal" => Ok(MetricsLevel::Normal),
            "detailed" => Ok(MetricsLevel::Detailed),
            _ => Err(format!("unknown metrics level {:?} (valid: none, basic, normal, detailed)", self.level)),
        }
    }

    /// The one Prometheus endpoint to serve, or `None` at level `none`.
    pub fn endpoint(&self) -> Result<Option<MetricsEndpoint>, String> {
        if self.level()? == MetricsLevel::None {
            return Ok(None);
        }
        if let Some(addr) = &self.address {
            if self.readers.is_some() {
                return Err("set either address or readers, not both".into());
            }
            return Ok(Some(MetricsEndpoint { address: addr.clone(), with_suffixes: false }));
        }
        let Some(readers) = &self.readers else {
            return Ok(Some(MetricsEndpoint { address: "localhost:8888".into(), with_suffixes: false }));
        };
        let mut found = None;
        for r in readers {
            if r.periodic.is_some() {
                return Err("periodic readers (pushing self-metrics by OTLP) are not supported by oxidot yet; use a pull reader".into());
            }
            let Some(p) = r.pull.as_ref().and_then(|p| p.exporter.prometheus.as_ref()) else {
                return Err("a reader must be pull.exporter.prometheus".into());
            };
            let host = p.host.clone().ok_or("readers: host must be specified")?;
            let port = p.port.ok_or("readers: port must be specified")?;
            if found.is_some() {
                return Err("oxidot serves one Prometheus reader; several are configured".into());
            }
            let with_suffixes = p.without_type_suffix == Some(false) || p.without_units == Some(false);
            let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
            let address = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
            found = Some(MetricsEndpoint { address, with_suffixes });
        }
        if found.is_none() {
            return Err("collector telemetry metrics reader should exist when metric level is not none".into());
        }
        Ok(found)
    }
}

impl ServiceConfig {
    /// Checks what can be checked within `service:`; returns warnings.
    pub fn validate(&self, errors: &mut Vec<ConfigError>) -> Vec<String> {
        let mut warnings = Vec::new();
        for name in self.pipelines.keys() {
            if let Err(m) = PipelineId::parse(name) {
                errors.push(ConfigError::new(format!("service::pipelines::{name}"), m));
            }
        }
        if let Err(m) = self.telemetry.metrics.endpoint() {
            errors.push(ConfigError::new("service::telemetry::metrics", m));
        }
        if self.telemetry.metrics.views.is_some() {
            warnings.push("service::telemetry::metrics::views is not supported by oxidot and is ignored".into());
        }
        let logs = &self.telemetry.logs;
        if !matches!(
            logs.level.to_ascii_lowercase().as_str(),
            "debug" | "info" | "warn" | "error" | "dpanic" | "panic" | "fatal"
        ) {
            errors.push(ConfigError::new(
                "service::telemetry::logs::level",
                format!("unknown log level {:?} (valid: debug, info, warn, error)", logs.level),
            ));
        }
        if !matches!(logs.encoding.as_str(), "console" | "json") {
            errors.push(ConfigError::new(
                "service::telemetry::logs::encoding",
                format!("unknown log encoding {:?} (valid: console, json)", logs.encoding),
            ));
        }
        for (key, set) in [
            ("output_paths", logs.output_paths.is_some()),
            ("error_output_paths", logs.error_output_paths.is_some()),
            ("sampling", logs.sampling.is_some()),
            ("processors", logs.processors.is_some()),
        ] {
            if set {
                warnings
                    .push(format!("service::telemetry::logs::{key} is accepted but not used: oxidot logs to stderr"));
            }
        }
        if self.telemetry.traces.as_ref().is_some_and(|v| !v.is_null()) {
            warnings.push("service::telemetry::traces is accepted but oxidot does not trace itself".into());
        }
        warnings
    }
}
