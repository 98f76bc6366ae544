//! The `attributes` processor: actions on span, log record and data point attributes.

pub mod factory;

use super::attraction::{self, Action, ActionConfig};
use super::Transform;
use crate::config::ConfigError;
use crate::pipeline::data::Batch;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use serde::Deserialize;
use serde_yaml_ng::Value;

/// `processors: attributes:`.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AttributesConfig {
    pub actions: Vec<ActionConfig>,
    pub include: Option<Value>,
    pub exclude: Option<Value>,
}

impl AttributesConfig {
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        if self.actions.is_empty() {
            errs.push(ConfigError::new(format!("{base}::actions"), "missing required field \"actions\""));
        }
        for k in [("include", self.include.is_some()), ("exclude", self.exclude.is_some())]
            .iter()
            .filter(|(_, set)| *set)
            .map(|(k, _)| k)
        {
            errs.push(ConfigError::new(
                format!("{base}::{k}"),
                "include/exclude matching is not supported by oxidot yet",
            ));
        }
        if let Err(e) = attraction::compile(&self.actions, &format!("{base}::actions")) {
            errs.extend(e);
        }
        errs
    }
}

pub struct AttributesTransform {
    actions: Vec<Action>,
}

impl AttributesTransform {
    pub fn new(cfg: &AttributesConfig) -> Result<Self, String> {
        let actions = attraction::compile(&cfg.actions, "actions")
            .map_err(|e| e.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("; "))?;
        Ok(AttributesTransform { actions })
    }
}

impl Transform for AttributesTransform {
    fn apply(&self, batch: &mut Batch) {
        let a = &self.actions;
        batch.decode_in_place();
        match batch {
            // Just decoded.
            Batch::Raw(_) => {}
            Batch::Traces(rs) => rs
                .iter_mut()
                .flat_map(|r| &mut r.scope_spans)
                .flat_map(|s| &mut s.spans)
                .for_each(|sp| attraction::apply(a, &mut sp.attributes)),
            Batch::Logs(rs) => rs
                .iter_mut()
                .flat_map(|r| &mut r.scope_logs)
                .flat_map(|s| &mut s.log_records)
                .for_each(|l| attraction::apply(a, &mut l.attributes)),
            Batch::Metrics(rs) => {
                for m in rs.iter_mut().flat_map(|r| &mut r.scope_metrics).flat_map(|s| &mut s.metrics) {
                    match &mut m.data {
                        Some(Data::Gauge(g)) => {
                            g.data_points.iter_mut().for_each(|p| attraction::apply(a, &mut p.attributes))
                        }
                        Some(Data::Sum(g)) => {
                            g.data_points.iter_mut().for_each(|p| attraction::apply(a, &mut p.attributes))
                        }
                        Some(Data::Histogram(g)) => {
                            g.data_points.iter_mut().for_each(|p| attraction::apply(a, &mut p.attributes))
                        }
                        Some(Data::ExponentialHistogram(g)) => {
                            g.data_points.iter_mut().for_each(|p| attraction::apply(a, &mut p.attributes))
                        }
                        Some(Data::Summary(g)) => {
                            g.data_points.iter_mut().for_each(|p| attraction::apply(a, &mut p.attributes))
                        }
                        None => {}
                    }
                }
            }
        }
    }
}
