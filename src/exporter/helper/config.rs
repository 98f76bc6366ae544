//! `sending_queue`, `retry_on_failure`: the Go exporterhelper's keys and defaults.

use crate::config::{limits, ConfigError, GoDuration};
use serde::Deserialize;
use serde_yaml_ng::Value;

/// How queue capacity is counted.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Sizer {
    /// One per incoming batch (the Go default).
    Requests,
    /// Spans, data points or log records.
    Items,
    /// Protobuf-marshalled size of the request (Go's bytes sizer); in-memory queues only.
    Bytes,
}

/// `sending_queue` (Go: exporterhelper `NewDefaultQueueConfig`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    pub enabled: bool,
    pub num_consumers: usize,
    pub queue_size: usize,
    pub sizer: Sizer,
    pub block_on_overflow: bool,
    pub wait_for_result: bool,
    pub storage: Option<String>,
    pub batch: Option<Value>,
}

impl QueueConfig {
    /// The default for exporters whose Go factory enables the queue (otlp, otlphttp, ...).
    pub fn enabled_default() -> Self {
        QueueConfig {
            enabled: true,
            num_consumers: 10,
            queue_size: 1000,
            sizer: Sizer::Requests,
            block_on_overflow: false,
            wait_for_result: false,
            storage: None,
            batch: None,
        }
    }

    /// The default for exporters without a queue (debug).
    pub fn disabled_default() -> Self {
        QueueConfig { enabled: false, ..Self::enabled_default() }
    }

    pub fn validate(&self, base: &str, errors: &mut Vec<ConfigError>) {
        let p = |k: &str| format!("{base}::sending_queue::{k}");
        if !self.enabled {
            return;
        }
        if self.num_consumers == 0 {
            errors.push(ConfigError::new(p("num_consumers"), "`num_consumers` must be positive"));
        }
        if self.queue_size == 0 {
            errors.push(ConfigError::new(p("queue_size"), "`queue_size` must be positive"));
        }
        limits::check(errors, p("num_consumers"), self.num_consumers as u64, limits::CONSUMERS);
        limits::check(errors, p("queue_size"), self.queue_size as u64, limits::QUEUE_SIZE);
        if self.sizer == Sizer::Bytes && self.storage.is_some() {
            errors.push(ConfigError::new(
                p("sizer"),
                "sizer \"bytes\" is not supported by oxidot with a persistent queue (storage) yet (use requests or items)",
            ));
        }
        if self.batch.is_some() {
            errors.push(ConfigError::new(
                p("batch"),
                "exporter-side batching is not supported by oxidot yet: use the batch processor",
            ));
        }
        if self.wait_for_result {
            errors.push(ConfigError::new(p("wait_for_result"), "wait_for_result is not supported by oxidot yet"));
        }
    }
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self::enabled_default()
    }
}

/// `retry_on_failure` (Go: configretry `NewDefaultBackOffConfig`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    pub enabled: bool,
    pub initial_interval: GoDuration,
    pub max_interval: GoDuration,
    /// 0 = retry until shutdown.
    pub max_elapsed_time: GoDuration,
    pub randomization_factor: f64,
    pub multiplier: f64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            enabled: true,
            initial_interval: GoDuration::from_secs(5),
            max_interval: GoDuration::from_secs(30),
            max_elapsed_time: GoDuration::from_secs(300),
            randomization_factor: 0.5,
            multiplier: 1.5,
        }
    }
}

impl RetryConfig {
    pub fn validate(&self, base: &str, errors: &mut Vec<ConfigError>) {
        let p = |k: &str| format!("{base}::retry_on_failure::{k}");
        if !(0.0..=1.0).contains(&self.randomization_factor) {
            errors.push(ConfigError::new(p("randomization_factor"), "'randomization_factor' must be within [0, 1]"));
        }
        if self.multiplier <= 0.0 {
            errors.push(ConfigError::new(p("multiplier"), "'multiplier' must be positive"));
        }
        if !self.multiplier.is_finite() || self.multiplier > 1000.0 {
            errors.push(ConfigError::new(p("multiplier"), "'multiplier' must be at most 1000"));
        }
        for (k, d) in [("initial_interval", self.initial_interval), ("max_interval", self.max_interval)] {
            limits::check_duration(errors, p(k), d.0, limits::DURATION);
        }
        let me = self.max_elapsed_time.0;
        if !me.is_zero() {
            if me < self.initial_interval.0 {
                errors.push(ConfigError::new(
                    p("max_elapsed_time"),
                    "'max_elapsed_time' must not be less than 'initial_interval'",
                ));
            }
            if me < self.max_interval.0 {
                errors.push(ConfigError::new(
                    p("max_elapsed_time"),
                    "'max_elapsed_time' must not be less than 'max_interval'",
                ));
            }
        }
    }
}
