//! The `kafka` exporter's factory (Go: kafkaexporter/factory.go).

use super::produce::KafkaExporter;
use super::KafkaExporterConfig;
use crate::component::factory::{
    base, beta, decode, done, BuiltExporter, ExporterConfig, ExporterFactory, Parsed, ALL_SIGNALS,
};
use crate::component::{BuildError, ComponentId, Factory, Kind, Settings, Signal, TypeInfo};
use crate::exporter::helper::HelperSettings;
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct KafkaExporterFactory;

const TYPES: &[TypeInfo] =
    &[beta(Kind::Exporter, "kafka", ALL_SIGNALS, "Kafka topics (OTLP protobuf or JSON), librdkafka")];

impl Factory for KafkaExporterFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        Value::Mapping(Default::default())
    }
}

impl ExporterFactory for KafkaExporterFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExporterConfig>> {
        let c: KafkaExporterConfig = decode(Kind::Exporter, id, v)?;
        let (e, w) = c.validate(&base(Kind::Exporter, id));
        done(Box::new(c), e, w)
    }
}

impl ExporterConfig for KafkaExporterConfig {
    fn helper_settings(&self) -> HelperSettings {
        // No helper timeout: librdkafka's message.timeout.ms (= `timeout`) bounds each attempt,
        // as Go hands its timeout to the producer.
        HelperSettings { queue: self.sending_queue.clone(), retry: self.retry_on_failure.clone(), timeout: None }
    }

    fn build(&self, set: &Settings, signal: Signal) -> Result<BuiltExporter, BuildError> {
        let e = KafkaExporter::new(self, signal, set.id.to_string(), Arc::clone(set.telemetry))
            .map_err(|e| BuildError::component(Kind::Exporter, set.id, e))?;
        Ok(BuiltExporter { exporter: Arc::new(e), labels: vec![] })
    }
}
