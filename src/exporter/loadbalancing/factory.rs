//! The `loadbalancing` exporter's factory (Go: loadbalancingexporter/factory.go).

use super::{LoadBalancer, LoadBalancingConfig};
use crate::component::factory::{
    base, beta, decode, done, BuiltExporter, ExporterConfig, ExporterFactory, Parsed, ALL_SIGNALS,
};
use crate::component::{BuildError, ComponentId, Factory, Kind, Settings, Signal, TypeInfo};
use crate::exporter::helper::HelperSettings;
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct LoadBalancingFactory;

const TYPES: &[TypeInfo] = &[beta(
    Kind::Exporter,
    "loadbalancing",
    ALL_SIGNALS,
    "OTLP to a tier of backends on a consistent-hash ring (static or DNS resolver)",
)];

impl Factory for LoadBalancingFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        // Go's default has no resolver (the user must name one): a local backend here.
        serde_yaml_ng::from_str("resolver: {static: {hostnames: ['localhost:4317']}}").unwrap_or(Value::Null)
    }
}

impl ExporterFactory for LoadBalancingFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExporterConfig>> {
        let c: LoadBalancingConfig = decode(Kind::Exporter, id, v)?;
        let (e, w) = c.validate(&base(Kind::Exporter, id));
        done(Box::new(c), e, w)
    }
}

impl ExporterConfig for LoadBalancingConfig {
    fn helper_settings(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: self.retry_on_failure.clone(),
            // The parts wait for room in the backends' queues up to `timeout` (see Core::route).
            timeout: None,
        }
    }

    fn build(&self, set: &Settings, signal: Signal) -> Result<BuiltExporter, BuildError> {
        let lb = LoadBalancer::new(self, set.id, signal, set.telemetry)
            .map_err(|e| BuildError::component(Kind::Exporter, set.id, e))?;
        Ok(BuiltExporter { exporter: Arc::new(lb), labels: vec![] })
    }
}
