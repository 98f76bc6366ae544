//! The `otlp` (gRPC) and `otlphttp` exporters' factories (Go: otlpexporter/factory.go,
//! otlphttpexporter/factory.go).

use super::grpc::{target, OtlpGrpcExporter};
use super::http::OtlpHttpExporter;
use super::{OtlpGrpcConfig, OtlpHttpConfig};
use crate::component::factory::{
    base, beta, decode, done, BuiltExporter, ExporterConfig, ExporterFactory, Parsed, ALL_SIGNALS,
};
use crate::component::{BuildError, ComponentId, Factory, Kind, Settings, Signal, TypeInfo};
use crate::exporter::helper::HelperSettings;
use crate::telemetry::names::{LABEL_SERVER_ADDRESS, LABEL_SERVER_PORT, LABEL_URL_PATH};
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct OtlpGrpcFactory;
pub struct OtlpHttpFactory;

const GRPC: &[TypeInfo] = &[
    beta(Kind::Exporter, "otlp", ALL_SIGNALS, "OTLP/gRPC (alias: otlp_grpc)"),
    beta(Kind::Exporter, "otlp_grpc", ALL_SIGNALS, "OTLP/gRPC"),
];
const HTTP: &[TypeInfo] = &[
    beta(Kind::Exporter, "otlphttp", ALL_SIGNALS, "OTLP/HTTP (alias: otlp_http)"),
    beta(Kind::Exporter, "otlp_http", ALL_SIGNALS, "OTLP/HTTP"),
];

fn yaml(s: &str) -> Value {
    serde_yaml_ng::from_str(s).unwrap_or(Value::Null)
}

impl Factory for OtlpGrpcFactory {
    fn types(&self) -> &'static [TypeInfo] {
        GRPC
    }
    fn default_config(&self) -> Value {
        yaml("endpoint: 'localhost:4317'")
    }
}

impl ExporterFactory for OtlpGrpcFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExporterConfig>> {
        let c: OtlpGrpcConfig = decode(Kind::Exporter, id, v)?;
        let e = c.validate(&base(Kind::Exporter, id));
        done(Box::new(c), e, vec![])
    }
}

impl ExporterConfig for OtlpGrpcConfig {
    fn helper_settings(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: self.retry_on_failure.clone(),
            timeout: Some(self.timeout.0),
        }
    }

    fn build(&self, set: &Settings, _signal: Signal) -> Result<BuiltExporter, BuildError> {
        let (hostport, _) = target(self);
        let (host, port) = hostport
            .rsplit_once(':')
            .map(|(h, p)| (h.to_string(), p.to_string()))
            .unwrap_or((hostport.clone(), String::new()));
        let e = OtlpGrpcExporter::new(self).map_err(|e| BuildError::component(Kind::Exporter, set.id, e))?;
        Ok(BuiltExporter {
            exporter: Arc::new(e),
            labels: vec![(LABEL_SERVER_ADDRESS, host), (LABEL_SERVER_PORT, port)],
        })
    }
}

impl Factory for OtlpHttpFactory {
    fn types(&self) -> &'static [TypeInfo] {
        HTTP
    }
    fn default_config(&self) -> Value {
        yaml("endpoint: 'http://localhost:4318'")
    }
}

impl ExporterFactory for OtlpHttpFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExporterConfig>> {
        let c: OtlpHttpConfig = decode(Kind::Exporter, id, v)?;
        let e = c.validate(&base(Kind::Exporter, id));
        done(Box::new(c), e, vec![])
    }
}

impl ExporterConfig for OtlpHttpConfig {
    fn helper_settings(&self) -> HelperSettings {
        HelperSettings {
            queue: self.sending_queue.clone(),
            retry: self.retry_on_failure.clone(),
            timeout: Some(self.timeout.0),
        }
    }

    fn build(&self, set: &Settings, signal: Signal) -> Result<BuiltExporter, BuildError> {
        let e = OtlpHttpExporter::new(self, signal).map_err(|e| BuildError::component(Kind::Exporter, set.id, e))?;
        let u = e.url().clone();
        let mut labels = vec![(LABEL_SERVER_ADDRESS, u.host().unwrap_or_default().to_string())];
        if !u.path().is_empty() {
            labels.push((LABEL_URL_PATH, u.path().to_string()));
        }
        if let Some(p) = u.port_u16() {
            labels.push((LABEL_SERVER_PORT, p.to_string()));
        }
        Ok(BuiltExporter { exporter: Arc::new(e), labels })
    }
}
