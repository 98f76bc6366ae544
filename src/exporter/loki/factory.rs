//! The `loki` exporter's factory (Go: lokiexporter/factory.go).

use super::{LokiConfig, LokiExporter};
use crate::component::factory::{base, beta, decode, done, BuiltExporter, ExporterConfig, ExporterFactory, Parsed};
use crate::component::{BuildError, ComponentId, Factory, Kind, Settings, Signal, TypeInfo};
use crate::exporter::helper::HelperSettings;
use crate::telemetry::names::{LABEL_EXPORTER, LOKI_SEND_FAILED_DUE_TO_MISSING_LABELS};
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct LokiFactory;

const TYPES: &[TypeInfo] = &[beta(Kind::Exporter, "loki", &[Signal::Logs], "Grafana Loki push API (protobuf, snappy)")];

impl Factory for LokiFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        serde_yaml_ng::from_str("endpoint: 'http://localhost:3100/loki/api/v1/push'").unwrap_or(Value::Null)
    }
}

impl ExporterFactory for LokiFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExporterConfig>> {
        let c: LokiConfig = decode(Kind::Exporter, id, v)?;
        let (e, w) = c.validate(&base(Kind::Exporter, id));
        done(Box::new(c), e, w)
    }
}

impl ExporterConfig for LokiConfig {
    fn helper_settings(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: self.retry_on_failure.clone(),
            timeout: Some(self.timeout.0),
        }
    }

    fn build(&self, set: &Settings, _signal: Signal) -> Result<BuiltExporter, BuildError> {
        let missing = set.telemetry.counter(
            LOKI_SEND_FAILED_DUE_TO_MISSING_LABELS,
            "Number of log records failed to send because labels were missing",
            vec![(LABEL_EXPORTER, set.id.to_string())],
        );
        let e = LokiExporter::new(self, missing).map_err(|e| BuildError::component(Kind::Exporter, set.id, e))?;
        Ok(BuiltExporter { exporter: Arc::new(e), labels: vec![] })
    }
}
