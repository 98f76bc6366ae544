//! The `resource` processor: actions on resource attributes.

pub mod factory;

use super::attraction::{self, Action, ActionConfig};
use super::{for_each_resource, Transform};
use crate::config::ConfigError;
use crate::pipeline::data::Batch;
use serde::Deserialize;

/// `processors: resource:`.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceConfig {
    pub attributes: Vec<ActionConfig>,
}

impl ResourceConfig {
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        if self.attributes.is_empty() {
            errs.push(ConfigError::new(format!("{base}::attributes"), "missing required field \"attributes\""));
        }
        if let Err(e) = attraction::compile(&self.attributes, &format!("{base}::attributes")) {
            errs.extend(e);
        }
        errs
    }
}

pub struct ResourceTransform {
    actions: Vec<Action>,
}

impl ResourceTransform {
    pub fn new(cfg: &ResourceConfig) -> Result<Self, String> {
        let actions = attraction::compile(&cfg.attributes, "attributes")
            .map_err(|e| e.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("; "))?;
        Ok(ResourceTransform { actions })
    }
}

impl Transform for ResourceTransform {
    fn apply(&self, batch: &mut Batch) {
        for_each_resource(batch, |attrs| attraction::apply(&self.actions, attrs));
    }
}
