//! The `statsd` receiver (contrib receiver/statsdreceiver): StatsD and DogStatsD lines over
//! UDP, aggregated per client address and `aggregation_interval` into OTLP metrics.

pub mod aggregate;
pub mod expo;
pub mod factory;
pub mod parser;

use crate::config::serde_util::GoDuration;
use crate::config::{limits, ConfigError};
use serde::Deserialize;
use std::time::Duration;

/// `receivers: statsd:` (Go config.go; defaults from factory.go createDefaultConfig).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StatsdConfig {
    pub endpoint: String,
    pub transport: String,
    pub aggregation_interval: GoDuration,
    pub enable_metric_type: bool,
    pub enable_simple_tags: bool,
    pub enable_ip_only_aggregation: bool,
    /// Newer contrib: every client's lines aggregate together, whatever their address.
    pub ignore_host: bool,
    pub is_monotonic_counter: bool,
    /// `int` (default: each line's value truncated), `float`, `stochastic_int`.
    pub counter_type: String,
    pub timer_histogram_mapping: Vec<TimerHistogramMapping>,
    /// Only for `transport: unixgram`, which oxidot does not serve yet.
    pub socket_permissions: Option<serde_yaml_ng::Value>,
}

/// One `timer_histogram_mapping` entry (Go protocol.TimerHistogramMapping).
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TimerHistogramMapping {
    /// timer/timing (`ms` lines) or histogram/distribution (`h` and `d` lines).
    pub statsd_type: String,
    /// gauge (one point per line), summary or histogram (exponential).
    pub observer_type: String,
    pub histogram: HistogramConfig,
    pub summary: SummaryConfig,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HistogramConfig {
    pub max_size: i32,
    /// The largest (starting) scale; absent: 20.
    pub max_scale: Option<i32>,
    pub explicit_buckets: Option<Vec<ExplicitBucket>>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExplicitBucket {
    pub matcher_pattern: String,
    pub buckets: Vec<f64>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SummaryConfig {
    pub percentiles: Vec<f64>,
}

impl Default for StatsdConfig {
    fn default() -> Self {
        let map = |s: &str| TimerHistogramMapping {
            statsd_type: s.into(),
            observer_type: "gauge".into(),
            ..Default::default()
        };
        StatsdConfig {
            // factory.go: defaultBindEndpoint, defaultTransport, defaultAggregationInterval.
            endpoint: "localhost:8125".into(),
            transport: "udp".into(),
            aggregation_interval: GoDuration(Duration::from_secs(60)),
            enable_metric_type: false,
            enable_simple_tags: false,
            enable_ip_only_aggregation: false,
            ignore_host: false,
            is_monotonic_counter: false,
            counter_type: "int".into(),
            // defaultTimerHistogramMapping
            timer_histogram_mapping: vec![map("timer"), map("histogram")],
            socket_permissions: None,
        }
    }
}

/// The statsd types a mapping may name (Go protocol.TypeName).
const STATSD_TYPES: &[&str] = &["timing", "timer", "histogram", "distribution"];
/// The observer types a mapping may name (Go protocol.ObserverType, "disabled" excluded).
const OBSERVER_TYPES: &[&str] = &["gauge", "summary", "histogram"];

impl StatsdConfig {
    /// Go config.go Validate, plus what oxidot does not serve yet.
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let at = |k: &str| format!("{base}::{k}");
        match self.transport.as_str() {
            "udp" | "udp4" | "udp6" => {}
            "tcp" | "tcp4" | "tcp6" | "unixgram" => errs.push(ConfigError::new(
                at("transport"),
                format!("transport {:?} is not supported by oxidot yet (only udp, udp4, udp6)", self.transport),
            )),
            t => errs.push(ConfigError::new(at("transport"), format!("unsupported transport {t:?}"))),
        }
        if self.aggregation_interval.0.is_zero() {
            errs.push(ConfigError::new(at("aggregation_interval"), "aggregation_interval must be a positive duration"));
        }
        limits::check_duration(&mut errs, at("aggregation_interval"), self.aggregation_interval.0, limits::DURATION);
        if !["int", "float", "stochastic_int"].contains(&self.counter_type.as_str()) {
            errs.push(ConfigError::new(
                at("counter_type"),
                format!("counter_type must be one of int, float, stochastic_int (got {:?})", self.counter_type),
            ));
        }
        let path = at("timer_histogram_mapping");
        let mut missing = false;
        for m in &self.timer_histogram_mapping {
            let mut err = |msg: String| errs.push(ConfigError::new(path.clone(), msg));
            if m.statsd_type.is_empty() {
                missing = true;
                break;
            }
            if !STATSD_TYPES.contains(&m.statsd_type.as_str()) {
                err(format!(
                    "statsd_type is not a supported mapping for histogram and timing metrics: {}",
                    m.statsd_type
                ));
            }
            if m.observer_type.is_empty() {
                missing = true;
                break;
            }
            if !OBSERVER_TYPES.contains(&m.observer_type.as_str()) {
                err(format!("observer_type is not supported for histogram and timing metrics: {}", m.observer_type));
            }
            let h = &m.histogram;
            if m.observer_type == "histogram" {
                if h.max_size != 0 && !(expo::MIN_SIZE..=expo::MAXIMUM_MAX_SIZE).contains(&h.max_size) {
                    err(format!("histogram max_size out of range: {}", h.max_size));
                }
                if let Some(s) = h.max_scale {
                    if !(expo::MIN_SCALE..=expo::MAX_SCALE).contains(&s) {
                        err(format!("histogram max_scale out of range: {s}"));
                    }
                }
                if h.explicit_buckets.is_some() {
                    err("histogram explicit_buckets are not supported by oxidot yet".into());
                }
            } else if h.max_size != 0 || h.max_scale.is_some() || h.explicit_buckets.is_some() {
                err("histogram configuration requires observer_type: histogram".into());
            }
            if !m.summary.percentiles.is_empty() {
                for p in &m.summary.percentiles {
                    if !(0.0..=100.0).contains(p) {
                        err(format!("summary percentiles out of [0, 100] range: {p}"));
                    }
                }
                if m.observer_type != "summary" {
                    err("summary configuration requires observer_type: summary".into());
                }
            }
        }
        if missing {
            errs.push(ConfigError::new(path, "must specify object id for all TimerHistogramMappings"));
        }
        errs
    }

    /// The endpoint to bind (Go newReceiver: an empty endpoint means the default).
    pub fn bind_endpoint(&self) -> &str {
        if self.endpoint.is_empty() {
            "localhost:8125"
        } else {
            &self.endpoint
        }
    }
}

#[cfg(test)]
mod tests;
