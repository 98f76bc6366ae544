//! THE table of component types: the one module that names concrete components. Adding a
//! component = its folder (config, factory, code) + one line in `FACTORIES`. `oxidot
//! components`, the "unknown type"/"did you mean" lists, the README components table and the
//! typed config (`crate::collector`) all come from this table.

use crate::component::factory::{ExporterFactory, ExtensionFactory, Factory, ProcessorFactory, ReceiverFactory};
use crate::component::{ComponentId, Kind, Signal, TypeInfo};
use crate::config::ConfigError;
use crate::exporter::awsemf::factory::EmfFactory;
use crate::exporter::awsxray::factory::XrayFactory;
use crate::exporter::debug::factory::DebugFactory;
use crate::exporter::kafka::factory::KafkaExporterFactory;
use crate::exporter::loadbalancing::factory::LoadBalancingFactory;
use crate::exporter::loki::factory::LokiFactory;
use crate::exporter::otlp::factory::{OtlpGrpcFactory, OtlpHttpFactory};
use crate::exporter::prometheusremotewrite::factory::PrwFactory;
use crate::extension::file_storage::factory::FileStorageFactory;
use crate::extension::health_check::factory::HealthCheckFactory;
use crate::extension::ignored::{PPROF, ZPAGES};
use crate::extension::sigv4auth::factory::SigV4AuthFactory;
use crate::processor::attributes::factory::AttributesFactory;
use crate::processor::batch::factory::BatchFactory;
use crate::processor::filter::factory::FilterFactory;
use crate::processor::memory_limiter::factory::MemoryLimiterFactory;
use crate::processor::resource::factory::ResourceFactory;
use crate::processor::resourcedetection::factory::ResourceDetectionFactory;
use crate::receiver::awsecscontainermetrics::factory::EcsContainerMetricsFactory;
use crate::receiver::awsxray::factory::XrayReceiverFactory;
use crate::receiver::kafka::factory::KafkaReceiverFactory;
use crate::receiver::otlp::factory::OtlpReceiverFactory;
use crate::receiver::prometheus::factory::PrometheusReceiverFactory;
use crate::receiver::statsd::factory::StatsdReceiverFactory;

/// A factory of one kind (connectors will be a fifth arm).
#[derive(Clone, Copy)]
pub enum AnyFactory {
    Receiver(&'static dyn ReceiverFactory),
    Processor(&'static dyn ProcessorFactory),
    Exporter(&'static dyn ExporterFactory),
    Extension(&'static dyn ExtensionFactory),
}

impl AnyFactory {
    pub fn factory(self) -> &'static dyn Factory {
        match self {
            AnyFactory::Receiver(f) => f,
            AnyFactory::Processor(f) => f,
            AnyFactory::Exporter(f) => f,
            AnyFactory::Extension(f) => f,
        }
    }
}

use AnyFactory::{Exporter as E, Extension as X, Processor as P, Receiver as R};

/// Every component type oxidot has, one line each.
#[rustfmt::skip]
pub const FACTORIES: &[AnyFactory] = &[
    R(&OtlpReceiverFactory),
    R(&XrayReceiverFactory),
    R(&StatsdReceiverFactory),
    R(&EcsContainerMetricsFactory),
    R(&PrometheusReceiverFactory),
    R(&KafkaReceiverFactory),
    P(&BatchFactory),
    P(&MemoryLimiterFactory),
    P(&ResourceDetectionFactory),
    P(&ResourceFactory),
    P(&AttributesFactory),
    P(&FilterFactory),
    E(&DebugFactory),
    E(&OtlpGrpcFactory),
    E(&OtlpHttpFactory),
    E(&XrayFactory),
    E(&LokiFactory),
    E(&PrwFactory),
    E(&LoadBalancingFactory),
    E(&EmfFactory),
    E(&KafkaExporterFactory),
    X(&FileStorageFactory),
    X(&HealthCheckFactory),
    X(&PPROF),
    X(&SigV4AuthFactory),
    X(&ZPAGES),
];

/// Every type name (aliases included) with its factory.
pub fn types() -> impl Iterator<Item = (&'static TypeInfo, AnyFactory)> {
    FACTORIES.iter().flat_map(|f| f.factory().types().iter().map(move |t| (t, *f)))
}

fn find(kind: Kind, type_: &str) -> Option<AnyFactory> {
    types().find(|(t, _)| t.kind == kind && t.name == type_).map(|(_, f)| f)
}

pub fn receiver(id: &ComponentId) -> Result<&'static dyn ReceiverFactory, ConfigError> {
    match find(Kind::Receiver, &id.type_) {
        Some(AnyFactory::Receiver(f)) => Ok(f),
        _ => Err(unknown_type(Kind::Receiver, id)),
    }
}

pub fn processor(id: &ComponentId) -> Result<&'static dyn ProcessorFactory, ConfigError> {
    match find(Kind::Processor, &id.type_) {
        Some(AnyFactory::Processor(f)) => Ok(f),
        _ => Err(unknown_type(Kind::Processor, id)),
    }
}

pub fn exporter(id: &ComponentId) -> Result<&'static dyn ExporterFactory, ConfigError> {
    match find(Kind::Exporter, &id.type_) {
        Some(AnyFactory::Exporter(f)) => Ok(f),
        _ => Err(unknown_type(Kind::Exporter, id)),
    }
}

pub fn extension(id: &ComponentId) -> Result<&'static dyn ExtensionFactory, ConfigError> {
    match find(Kind::Extension, &id.type_) {
        Some(AnyFactory::Extension(f)) => Ok(f),
        _ => Err(unknown_type(Kind::Extension, id)),
    }
}

/// Types the Go collector/ADOT have that oxidot plans to build: named in errors as such.
#[rustfmt::skip]
const PLANNED: &[(Kind, &str, &str)] = &[];

fn supported(kind: Kind) -> Vec<&'static str> {
    let mut v: Vec<&str> = types().filter(|(t, _)| t.kind == kind).map(|(t, _)| t.name).collect();
    v.sort();
    v
}

/// The error for a type oxidot does not have.
fn unknown_type(kind: Kind, id: &ComponentId) -> ConfigError {
    let path = format!("{}::{id}", kind.section());
    if kind == Kind::Exporter && id.type_ == "logging" {
        return ConfigError::new(path, "the logging exporter has been deprecated, use the debug exporter instead");
    }
    if let Some((_, _, what)) = PLANNED.iter().find(|(k, n, _)| *k == kind && *n == id.type_) {
        return ConfigError::new(
            path,
            format!("{} type {:?} ({what}) is not implemented in this version of oxidot yet", kind.word(), id.type_),
        );
    }
    let valid = supported(kind);
    ConfigError::new(
        path,
        format!("unknown type: {:?} for id: {:?} (valid values: [{}])", id.type_, id.to_string(), valid.join(" ")),
    )
    .with_suggestion(crate::config::error::closest(&id.type_, valid.iter().copied()))
}

/// Whether `type_` of `kind` can sit in a pipeline of `signal`.
pub fn supports_signal(kind: Kind, type_: &str, signal: Signal) -> bool {
    types().any(|(c, _)| c.kind == kind && c.name == type_ && c.signals.contains(&signal))
}

/// The YAML `oxidot components` prints.
pub fn components_yaml() -> String {
    let mut out = format!(
        "buildinfo:\n  command: oxidot\n  description: oxidot, an OpenTelemetry collector in Rust\n  version: {}\n",
        env!("CARGO_PKG_VERSION")
    );
    for kind in [Kind::Receiver, Kind::Processor, Kind::Exporter, Kind::Connector, Kind::Extension] {
        out.push_str(&format!("{}:\n", kind.section()));
        let mut items: Vec<&TypeInfo> = types().map(|(t, _)| t).filter(|c| c.kind == kind).collect();
        items.sort_by_key(|c| c.name);
        if items.is_empty() {
            out.push_str("  []\n");
        }
        for c in items {
            out.push_str(&format!("  - name: {}\n    note: {:?}\n    stability:\n", c.name, c.note));
            if c.kind == Kind::Extension {
                out.push_str(&format!("      extension: {}\n", c.stability));
            } else {
                for s in c.signals {
                    out.push_str(&format!("      {}: {}\n", s.as_str(), c.stability));
                }
            }
        }
    }
    out.push_str("providers:\n  - scheme: env\n  - scheme: file\n  - scheme: yaml\n");
    if !PLANNED.is_empty() {
        out.push_str("planned:\n");
        for (k, n, what) in PLANNED {
            out.push_str(&format!("  - {{kind: {}, name: {n}, what: {what:?}}}\n", k.word()));
        }
    }
    out
}

/// The README's components table, generated from `FACTORIES` (a test keeps README equal).
pub fn components_markdown() -> String {
    let mut out = String::from("| kind | type | signals | stability | note |\n|---|---|---|---|---|\n");
    for (t, _) in types() {
        let signals = if t.kind == Kind::Extension {
            "—".to_string()
        } else {
            t.signals.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        };
        out.push_str(&format!("| {} | `{}` | {signals} | {} | {} |\n", t.kind.word(), t.name, t.stability, t.note));
    }
    out
}

#[cfg(test)]
mod tests;
