//! The factory contract, one trait per kind (Go: component.Factory and receiver/processor/
//! exporter/extension.Factory). A factory names its type, stability and signals, gives its
//! default config, parses and validates a config into a typed value, and that value builds the
//! running component with `Settings` (id, telemetry handles, host access to extensions).
//!
//! No `any` and no downcast: parsing returns a boxed `…Config` trait object that knows how to
//! build its own component, so nothing outside the component's folder names its types.

pub use super::lifecycle::{Authenticator, Extension};
use super::lifecycle::{BuildError, Component, Host};
use super::{ComponentId, Kind, PipelineId, Signal};
use crate::config::service::MetricsLevel;
use crate::config::{de, ConfigError};
use crate::exporter::helper::HelperSettings;
use crate::exporter::Exporter;
use crate::pipeline::consumer::{Consumer, SignalConsumers};
use crate::telemetry::Registry;
use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;
use std::fmt;
use std::sync::Arc;

/// One type name a factory answers to (its own, or an alias), as `oxidot components` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    pub kind: Kind,
    pub name: &'static str,
    pub signals: &'static [Signal],
    pub stability: &'static str,
    pub note: &'static str,
}

pub const ALL_SIGNALS: &[Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];

/// A Beta type (every oxidot type is Beta today).
pub const fn beta(kind: Kind, name: &'static str, signals: &'static [Signal], note: &'static str) -> TypeInfo {
    TypeInfo { kind, name, signals, stability: "Beta", note }
}

/// A parsed component config plus warnings to log once at start, or every error found.
pub type Parsed<T> = Result<(T, Vec<String>), Vec<ConfigError>>;

/// What every factory says about itself.
pub trait Factory: Send + Sync {
    /// The type, then its aliases (same component, another name), each with its own line.
    fn types(&self) -> &'static [TypeInfo];
    /// The default configuration as YAML (Go: CreateDefaultConfig): what parsing an empty
    /// section gives, with the settings Go requires the user to set filled with local values.
    fn default_config(&self) -> Value {
        Value::Mapping(Default::default())
    }
}

/// What building any component gets: its id, telemetry handles and access to extensions.
pub struct Settings<'a> {
    pub id: &'a ComponentId,
    pub telemetry: &'a Arc<Registry>,
    /// `service::telemetry::metrics::level`.
    pub level: MetricsLevel,
    pub host: &'a Host,
}

// ---- receivers ----

pub trait ReceiverFactory: Factory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ReceiverConfig>>;
}

pub trait ReceiverConfig: fmt::Debug + Send + Sync {
    /// One receiver per id, feeding the first stage of every pipeline that names it.
    fn build(&self, set: &Settings, consumers: SignalConsumers) -> Result<Arc<dyn Component>, BuildError>;
}

// ---- processors ----

pub trait ProcessorFactory: Factory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ProcessorConfig>>;
}

pub trait ProcessorConfig: fmt::Debug + Send + Sync {
    /// One processor per id; `Processor::attach` puts it into each pipeline naming it.
    fn build(&self, set: &Settings) -> Result<Arc<dyn Processor>, BuildError>;
}

/// A processor: shared state per id (started and shut down once), one stage per pipeline.
pub trait Processor: Component {
    fn attach(&self, set: &Settings, pipeline: &PipelineId, next: Arc<dyn Consumer>) -> Result<Stage, BuildError>;
}

/// One processor's stage in one pipeline.
pub struct Stage {
    pub consumer: Arc<dyn Consumer>,
    /// The stage's own shutdown (a batch processor's flush), run front to back per pipeline.
    pub lifecycle: Option<Arc<dyn Component>>,
}

// ---- exporters ----

pub trait ExporterFactory: Factory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExporterConfig>>;
}

pub trait ExporterConfig: fmt::Debug + Send + Sync {
    /// The extension named in `auth.authenticator`, if any.
    fn authenticator(&self) -> Option<&str> {
        None
    }
    /// Queue, retry and timeout: declared once here, applied by the shared helper.
    fn helper_settings(&self) -> HelperSettings;
    /// One exporter per id and signal.
    fn build(&self, set: &Settings, signal: Signal) -> Result<BuiltExporter, BuildError>;
}

/// A backend exporter and the extra labels of its self-metrics (`server.address`, ...).
pub struct BuiltExporter {
    pub exporter: Arc<dyn Exporter>,
    pub labels: Vec<(&'static str, String)>,
}

// ---- extensions ----

pub trait ExtensionFactory: Factory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExtensionConfig>>;
}

pub trait ExtensionConfig: fmt::Debug + Send + Sync {
    /// Whether exporters may name it in `auth.authenticator`.
    fn is_authenticator(&self) -> bool {
        false
    }
    /// Whether exporters may name it in `sending_queue.storage`.
    fn is_storage(&self) -> bool {
        false
    }
    /// Accepted and not run: the warning to log once.
    fn ignored(&self) -> Option<&'static str> {
        None
    }
    fn build(&self, set: &Settings) -> Result<Arc<dyn Extension>, BuildError>;
}

// ---- helpers for factories ----

/// Decodes a component's YAML into its config struct; errors are located at `<section>::<id>`.
pub fn decode<T: DeserializeOwned>(kind: Kind, id: &ComponentId, v: &Value) -> Result<T, Vec<ConfigError>> {
    let ids = id.to_string();
    de::from_value(v).map_err(|e| vec![ConfigError::from_de(&[kind.section(), &ids], e)])
}

/// The YAML path of a component: `<section>::<id>`.
pub fn base(kind: Kind, id: &ComponentId) -> String {
    format!("{}::{id}", kind.section())
}

/// `Ok` with the warnings when there is no error.
pub fn done<T>(cfg: T, errs: Vec<ConfigError>, warns: Vec<String>) -> Parsed<T> {
    if errs.is_empty() {
        Ok((cfg, warns))
    } else {
        Err(errs)
    }
}
