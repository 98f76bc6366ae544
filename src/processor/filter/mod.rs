//! The `filter` processor: drops spans, metrics and log records that its include/exclude rules
//! select, with the legacy (non-OTTL) keys of contrib's filterprocessor (config.go) and the
//! matching rules of internal/filter (filterset, filterconfig, filtermatcher, filterspan,
//! filterlog, filtermetric). OTTL conditions are a config error that names the key.

pub mod factory;
pub mod matcher;
mod processor;

use crate::config::ConfigError;
use matcher::{Compiled, LogsFilter, MetricsFilter, SpansFilter};
use serde::Deserialize;
use serde_yaml_ng::Value;

/// `processors: filter:` (filterprocessor/config.go `Config`).
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    /// `ignore`, `propagate` or `silent`; the legacy matchers raise no errors, so it changes nothing.
    pub error_mode: Option<String>,
    pub spans: MatchConfig,
    pub metrics: MetricFilters,
    pub logs: LogFilters,
    pub traces: TraceFilters,
    pub profiles: Option<Value>,
    pub metric_conditions: Option<Value>,
    pub log_conditions: Option<Value>,
    pub trace_conditions: Option<Value>,
    pub profile_conditions: Option<Value>,
}

/// filterconfig.MatchConfig: `include` is checked before `exclude`.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MatchConfig {
    pub include: Option<MatchProperties>,
    pub exclude: Option<MatchProperties>,
}

/// filterset.Config's `regexp:` (cache settings; Go's cache changes speed, not results).
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RegexpConfig {
    pub cacheenabled: bool,
    pub cachemaxnumentries: i64,
}

/// filterconfig.MatchProperties (the span form; the log and metric fields exist in Go's struct
/// and are refused for spans by `ValidateForSpans`).
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MatchProperties {
    pub match_type: String,
    pub regexp: Option<RegexpConfig>,
    pub services: Vec<String>,
    pub span_names: Vec<String>,
    pub log_bodies: Vec<String>,
    pub log_severity_texts: Vec<String>,
    pub log_severity_number: Option<Value>,
    pub metric_names: Vec<String>,
    pub attributes: Vec<Attribute>,
    pub resources: Vec<Attribute>,
    pub libraries: Vec<Library>,
    pub span_kinds: Vec<String>,
}

/// filterconfig.Attribute: a key, and optionally the value it must have.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Attribute {
    pub key: String,
    pub value: Option<Value>,
}

/// filterconfig.InstrumentationLibrary.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Library {
    pub name: String,
    pub version: Option<String>,
}

/// `metrics:` (config.go `MetricFilters`).
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricFilters {
    pub include: Option<MetricMatchProperties>,
    pub exclude: Option<MetricMatchProperties>,
    pub regexp: Option<RegexpConfig>,
    pub resource: Option<Value>,
    pub metric: Option<Value>,
    pub datapoint: Option<Value>,
}

/// filterconfig.MetricMatchProperties.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricMatchProperties {
    pub match_type: String,
    pub regexp: Option<RegexpConfig>,
    pub metric_names: Vec<String>,
    pub expressions: Vec<String>,
    pub resource_attributes: Vec<Attribute>,
}

/// `logs:` (config.go `LogFilters`).
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LogFilters {
    pub include: Option<LogMatchProperties>,
    pub exclude: Option<LogMatchProperties>,
    pub resource: Option<Value>,
    pub log_record: Option<Value>,
}

/// config.go `LogMatchProperties`.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LogMatchProperties {
    pub match_type: String,
    pub resource_attributes: Vec<Attribute>,
    pub record_attributes: Vec<Attribute>,
    pub severity_texts: Vec<String>,
    pub severity_number: Option<SeverityNumber>,
    pub bodies: Vec<String>,
}

/// config.go `LogSeverityNumberMatchProperties`.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityNumber {
    pub min: String,
    pub match_undefined: bool,
}

/// `traces:` (OTTL only).
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TraceFilters {
    pub resource: Option<Value>,
    pub span: Option<Value>,
    pub spanevent: Option<Value>,
}

const OTTL: &str = "OTTL conditions are not supported yet (oxidot has the legacy include/exclude matching only)";

impl FilterConfig {
    /// Every error at once: OTTL keys, then what building the matchers would refuse (Go
    /// reports those when the processor is created, i.e. also at start).
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let p = |k: &str| format!("{base}::{k}");
        let mut errs = Vec::new();
        let ottl: [(&str, bool); 13] = [
            ("metrics::resource", self.metrics.resource.is_some()),
            ("metrics::metric", self.metrics.metric.is_some()),
            ("metrics::datapoint", self.metrics.datapoint.is_some()),
            ("logs::resource", self.logs.resource.is_some()),
            ("logs::log_record", self.logs.log_record.is_some()),
            ("traces::resource", self.traces.resource.is_some()),
            ("traces::span", self.traces.span.is_some()),
            ("traces::spanevent", self.traces.spanevent.is_some()),
            ("profiles", self.profiles.is_some()),
            ("metric_conditions", self.metric_conditions.is_some()),
            ("log_conditions", self.log_conditions.is_some()),
            ("trace_conditions", self.trace_conditions.is_some()),
            ("profile_conditions", self.profile_conditions.is_some()),
        ];
        for (k, _) in ottl.iter().filter(|(_, set)| *set) {
            errs.push(ConfigError::new(p(k), OTTL));
        }
        if let Some(m) = &self.error_mode {
            // ottl.ErrorMode UnmarshalText lower-cases the value first.
            if !["ignore", "propagate", "silent"].contains(&m.to_ascii_lowercase().as_str()) {
                errs.push(ConfigError::new(
                    p("error_mode"),
                    format!("{m:?} is not a valid error mode (valid: ignore, propagate, silent)"),
                ));
            }
        }
        if let Err(e) = self.compile() {
            errs.extend(e.into_iter().map(|(k, m)| ConfigError::new(p(&k), m)));
        }
        errs
    }

    /// The three matchers (each `None` when it would keep everything).
    pub fn compile(&self) -> Result<Compiled, Vec<(String, String)>> {
        let mut errs = Vec::new();
        let spans = SpansFilter::new(&self.spans).map_err(|e| errs.push(e)).ok().flatten();
        let metrics = MetricsFilter::new(&self.metrics).map_err(|e| errs.push(e)).ok().flatten();
        let logs = LogsFilter::new(&self.logs).map_err(|e| errs.push(e)).ok().flatten();
        if errs.is_empty() {
            Ok(Compiled { spans, metrics, logs })
        } else {
            Err(errs)
        }
    }
}

#[cfg(test)]
mod tests;
