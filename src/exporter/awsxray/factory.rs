//! The `awsxray` exporter's factory (Go: awsxrayexporter/factory.go).

use super::{XrayConfig, XrayExporter};
use crate::component::factory::{base, beta, decode, done, BuiltExporter, ExporterConfig, ExporterFactory, Parsed};
use crate::component::{BuildError, ComponentId, Factory, Kind, Settings, Signal, TypeInfo};
use crate::exporter::helper::HelperSettings;
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct XrayFactory;

const TYPES: &[TypeInfo] = &[beta(
    Kind::Exporter,
    "awsxray",
    &[Signal::Traces],
    "AWS X-Ray: PutTraceSegments (SigV4), the daemon's proxy, or its UDP port",
)];

impl Factory for XrayFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        // Go's default sends to the X-Ray API of the region found at start; locally, the daemon.
        serde_yaml_ng::from_str("endpoint: 'udp://127.0.0.1:2000'").unwrap_or(Value::Null)
    }
}

impl ExporterFactory for XrayFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExporterConfig>> {
        let c: XrayConfig = decode(Kind::Exporter, id, v)?;
        let (e, w) = c.validate(&base(Kind::Exporter, id));
        done(Box::new(c), e, w)
    }
}

impl ExporterConfig for XrayConfig {
    fn helper_settings(&self) -> HelperSettings {
        HelperSettings { queue: self.sending_queue.clone(), retry: self.retry_on_failure.clone(), timeout: None }
    }

    fn build(&self, set: &Settings, _signal: Signal) -> Result<BuiltExporter, BuildError> {
        let e = XrayExporter::new(self).map_err(|e| BuildError::component(Kind::Exporter, set.id, e))?;
        Ok(BuiltExporter { exporter: Arc::new(e), labels: vec![] })
    }
}
