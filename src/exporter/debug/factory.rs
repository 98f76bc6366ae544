//! The `debug` exporter's factory (Go: debugexporter/factory.go).

use super::{DebugConfig, DebugExporter};
use crate::component::factory::{
    base, beta, decode, done, BuiltExporter, ExporterConfig, ExporterFactory, Parsed, ALL_SIGNALS,
};
use crate::component::{BuildError, ComponentId, Factory, Kind, Settings, Signal, TypeInfo};
use crate::exporter::helper::config::RetryConfig;
use crate::exporter::helper::HelperSettings;
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct DebugFactory;

const TYPES: &[TypeInfo] = &[beta(Kind::Exporter, "debug", ALL_SIGNALS, "prints to stderr")];

impl Factory for DebugFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
}

impl ExporterFactory for DebugFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExporterConfig>> {
        let c: DebugConfig = decode(Kind::Exporter, id, v)?;
        let e = c.validate(&base(Kind::Exporter, id));
        done(Box::new(c), e, vec![])
    }
}

impl ExporterConfig for DebugConfig {
    fn helper_settings(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: RetryConfig { enabled: false, ..Default::default() },
            timeout: None,
        }
    }

    fn build(&self, set: &Settings, _signal: Signal) -> Result<BuiltExporter, BuildError> {
        Ok(BuiltExporter { exporter: Arc::new(DebugExporter::new(set.id.clone(), self)), labels: vec![] })
    }
}
