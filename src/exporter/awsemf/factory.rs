//! The `awsemf` exporter's factory (Go: awsemfexporter/factory.go).

use super::{EmfConfig, EmfExporter};
use crate::component::factory::{base, beta, decode, done, BuiltExporter, ExporterConfig, ExporterFactory, Parsed};
use crate::component::{BuildError, ComponentId, Factory, Kind, Settings, Signal, TypeInfo};
use crate::exporter::helper::HelperSettings;
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct EmfFactory;

const TYPES: &[TypeInfo] = &[beta(
    Kind::Exporter,
    "awsemf",
    &[Signal::Metrics],
    "CloudWatch embedded metric format: PutLogEvents (SigV4) or stdout",
)];

impl Factory for EmfFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        // Go's default sends to CloudWatch Logs of the region found at start; locally, stdout.
        serde_yaml_ng::from_str("output_destination: stdout").unwrap_or(Value::Null)
    }
}

impl ExporterFactory for EmfFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExporterConfig>> {
        let c: EmfConfig = decode(Kind::Exporter, id, v)?;
        let (e, w) = c.validate(&base(Kind::Exporter, id));
        done(Box::new(c), e, w)
    }
}

impl ExporterConfig for EmfConfig {
    fn helper_settings(&self) -> HelperSettings {
        HelperSettings { queue: self.sending_queue.clone(), retry: self.retry_on_failure.clone(), timeout: None }
    }

    fn build(&self, set: &Settings, _signal: Signal) -> Result<BuiltExporter, BuildError> {
        let e = EmfExporter::new(self).map_err(|e| BuildError::component(Kind::Exporter, set.id, e))?;
        Ok(BuiltExporter { exporter: Arc::new(e), labels: vec![] })
    }
}
