//! The `awsecscontainermetrics` receiver (contrib receiver/awsecscontainermetricsreceiver):
//! every `collection_interval` it reads the ECS task metadata endpoint v4 (`/task` and
//! `/task/stats`) and emits the task's and each container's resource usage as OTLP metrics.

pub mod factory;
pub mod model;
pub mod translate;

use crate::config::serde_util::GoDuration;
use crate::config::{limits, ConfigError};
use serde::Deserialize;
use std::time::Duration;

/// `receivers: awsecscontainermetrics:` (Go config.go; factory.go defaultCollectionInterval).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EcsContainerMetricsConfig {
    pub collection_interval: GoDuration,
}

impl Default for EcsContainerMetricsConfig {
    fn default() -> Self {
        EcsContainerMetricsConfig { collection_interval: GoDuration(Duration::from_secs(20)) }
    }
}

impl EcsContainerMetricsConfig {
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let path = format!("{base}::collection_interval");
        // Go has no check; its time.NewTicker panics on a zero interval.
        if self.collection_interval.0.is_zero() {
            errs.push(ConfigError::new(path.clone(), "collection_interval must be a positive duration"));
        }
        limits::check_duration(&mut errs, path, self.collection_interval.0, limits::DURATION);
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_validation() {
        let c: EcsContainerMetricsConfig = serde_yaml_ng::from_str("{}").unwrap();
        assert_eq!(c.collection_interval.0, Duration::from_secs(20));
        assert!(c.validate("r").is_empty());
        let c: EcsContainerMetricsConfig = serde_yaml_ng::from_str("collection_interval: 0s").unwrap();
        assert_eq!(
            c.validate("r")[0].to_string(),
            "r::collection_interval: collection_interval must be a positive duration"
        );
        assert!(serde_yaml_ng::from_str::<EcsContainerMetricsConfig>("endpoint: x").is_err());
    }
}
