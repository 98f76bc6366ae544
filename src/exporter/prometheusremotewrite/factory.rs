//! The `prometheusremotewrite` exporter's factory (Go: prometheusremotewriteexporter/
//! factory.go): its own counters, the sigv4auth signer through the host, its helper settings.

use super::{PrwConfig, PrwExporter, PrwTelemetry};
use crate::component::factory::{base, beta, decode, done, BuiltExporter, ExporterConfig, ExporterFactory, Parsed};
use crate::component::{BuildError, ComponentId, Factory, Kind, Settings, Signal, TypeInfo};
use crate::exporter::helper::HelperSettings;
use crate::telemetry::names::{
    LABEL_EXPORTER, PRW_CONSUMERS, PRW_FAILED_TRANSLATIONS, PRW_SENT_BATCHES, PRW_TRANSLATED_TIME_SERIES,
};
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct PrwFactory;

const TYPES: &[TypeInfo] = &[beta(
    Kind::Exporter,
    "prometheusremotewrite",
    &[Signal::Metrics],
    "Prometheus remote write 1.0, snappy, optional SigV4",
)];

impl Factory for PrwFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        serde_yaml_ng::from_str("endpoint: 'http://localhost:9090/api/v1/write'").unwrap_or(Value::Null)
    }
}

impl ExporterFactory for PrwFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExporterConfig>> {
        let c: PrwConfig = decode(Kind::Exporter, id, v)?;
        let (e, w) = c.validate(&base(Kind::Exporter, id));
        done(Box::new(c), e, w)
    }
}

impl ExporterConfig for PrwConfig {
    fn authenticator(&self) -> Option<&str> {
        self.auth.as_ref().map(|a| a.authenticator.as_str())
    }

    fn helper_settings(&self) -> HelperSettings {
        PrwExporter::helper_settings(self)
    }

    fn build(&self, set: &Settings, _signal: Signal) -> Result<BuiltExporter, BuildError> {
        let reg = set.telemetry;
        let labels = || vec![(LABEL_EXPORTER, set.id.to_string())];
        let t = PrwTelemetry {
            translated_time_series: reg.counter(
                PRW_TRANSLATED_TIME_SERIES,
                "Number of Prometheus time series that were translated from OTel metrics",
                labels(),
            ),
            failed_translations: reg.counter(
                PRW_FAILED_TRANSLATIONS,
                "Number of translation operations that failed to translate metrics from Otel to Prometheus",
                labels(),
            ),
            sent_batches: reg.counter(
                PRW_SENT_BATCHES,
                "Number of remote write request batches sent to the remote write endpoint regardless of success or failure",
                labels(),
            ),
            consumers: reg.gauge(
                PRW_CONSUMERS,
                "Number of configured workers to use to fan out the outgoing requests",
                labels(),
            ),
        };
        let signer = match self.authenticator() {
            Some(auth) => Some(
                set.host
                    .authenticator(auth)
                    .and_then(|a| a.signer(&self.endpoint))
                    .map_err(|e| BuildError::component(Kind::Exporter, set.id, e))?,
            ),
            None => None,
        };
        let e = PrwExporter::new(self, signer, t).map_err(|e| BuildError::component(Kind::Exporter, set.id, e))?;
        Ok(BuiltExporter { exporter: Arc::new(e), labels: vec![] })
    }
}
