//! The `prometheus` receiver (Go: contrib receiver/prometheusreceiver): scrapes Prometheus
//! `/metrics` endpoints listed in a Prometheus `config:` (static targets) and turns each scrape
//! into OTLP metrics.

pub mod adjust;
pub mod config;
pub mod factory;
pub mod labels;
mod md5;
pub mod relabel;
pub mod scrape;
pub mod target;
pub mod textparse;
pub mod transaction;

use crate::config::ConfigError;
use serde::Deserialize;
use serde_yaml_ng::Value;

/// `receivers: prometheus:` (Go: prometheusreceiver.Config).
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusReceiverConfig {
    /// The Prometheus configuration (`global`, `scrape_configs`).
    pub config: Option<Value>,
    pub trim_metric_suffixes: bool,
    pub use_start_time_metric: bool,
    pub start_time_metric_regex: Option<String>,
    pub report_extra_scrape_metrics: bool,
    pub target_allocator: Option<Value>,
    pub api_server: Option<Value>,
    /// Go: only for receiver_creator; must stay empty.
    pub endpoint: Option<String>,
    #[serde(skip)]
    pub resolved: config::PromConfig,
}

impl PrometheusReceiverConfig {
    /// Resolves `config:` (Go: Config.Validate and PromConfig.Validate).
    pub fn validate(&mut self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        let mut errs = Vec::new();
        let warns = Vec::new();
        if self.target_allocator.is_some() {
            errs.push(ConfigError::new(format!("{base}::target_allocator"), "is not supported by oxidot yet"));
        }
        if self.api_server.as_ref().is_some_and(|v| v.get("enabled").and_then(Value::as_bool) == Some(true)) {
            errs.push(ConfigError::new(format!("{base}::api_server"), "is not supported by oxidot yet"));
        }
        if self.use_start_time_metric {
            errs.push(ConfigError::new(
                format!("{base}::use_start_time_metric"),
                "is not supported by oxidot yet (start times come from _created or the first scrape)",
            ));
        }
        if self.endpoint.as_deref().is_some_and(|e| !e.is_empty()) {
            errs.push(ConfigError::new(
                format!("{base}::endpoint"),
                "is only for receiver_creator and must not be set",
            ));
        }
        match &self.config {
            None | Some(Value::Null) => {
                if self.target_allocator.is_none() {
                    errs.push(ConfigError::new(base, "no Prometheus scrape_configs or target_allocator set"));
                }
            }
            Some(v) => {
                // Prometheus' config.Load expands external label values with os.Expand, reading
                // the environment: this is configuration loading, as the collector's own ${env:}.
                let env = |k: &str| std::env::var(k).ok();
                match config::parse(v, &format!("{base}::config"), &env) {
                    Ok(c) => self.resolved = c,
                    Err(mut e) => errs.append(&mut e),
                }
            }
        }
        (errs, warns)
    }
}
