//! Component identity (`type[/name]` ids, kinds, signals), the factory contract per kind
//! (`factory`) and the start/shutdown lifecycle every running component has (`lifecycle`).

pub mod factory;
pub mod lifecycle;

pub use factory::{Factory, Settings, TypeInfo};
pub use lifecycle::{BuildError, Component, Host, StartError};

use std::fmt;

/// The kind of a component section in the YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Receiver,
    Processor,
    Exporter,
    Extension,
    Connector,
}

impl Kind {
    /// The top-level YAML section holding this kind.
    pub fn section(self) -> &'static str {
        match self {
            Kind::Receiver => "receivers",
            Kind::Processor => "processors",
            Kind::Exporter => "exporters",
            Kind::Extension => "extensions",
            Kind::Connector => "connectors",
        }
    }

    /// Singular word, for messages ("references exporter ...").
    pub fn word(self) -> &'static str {
        match self {
            Kind::Receiver => "receiver",
            Kind::Processor => "processor",
            Kind::Exporter => "exporter",
            Kind::Extension => "extension",
            Kind::Connector => "connector",
        }
    }
}

/// The three telemetry signals a pipeline carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    pub fn parse(s: &str) -> Option<Signal> {
        match s {
            "traces" => Some(Signal::Traces),
            "metrics" => Some(Signal::Metrics),
            "logs" => Some(Signal::Logs),
            _ => None,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A component id as written in the YAML: `type` or `type/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComponentId {
    pub type_: String,
    pub name: Option<String>,
}

impl ComponentId {
    /// Parses `type[/name]`. The type must be non-empty and made of letters, digits and `_`.
    pub fn parse(s: &str) -> Result<ComponentId, String> {
        let (t, n) = match s.split_once('/') {
            Some((t, n)) => (t.trim(), Some(n.trim())),
            None => (s.trim(), None),
        };
        if t.is_empty() {
            return Err(format!("the part before / should not be empty in id {s:?}"));
        }
        if !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("invalid character(s) in type {t:?} of id {s:?}: use letters, digits and _"));
        }
        if let Some(n) = n {
            if n.is_empty() {
                return Err(format!("the part after / should not be empty in id {s:?}"));
            }
        }
        Ok(ComponentId { type_: t.to_string(), name: n.map(str::to_string) })
    }

    pub fn new(type_: &str) -> ComponentId {
        ComponentId { type_: type_.to_string(), name: None }
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{}/{}", self.type_, n),
            None => f.write_str(&self.type_),
        }
    }
}

/// A pipeline id: `traces|metrics|logs[/name]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PipelineId {
    pub signal: Signal,
    pub name: Option<String>,
}

impl PipelineId {
    pub fn parse(s: &str) -> Result<PipelineId, String> {
        let id = ComponentId::parse(s)?;
        let signal = Signal::parse(&id.type_).ok_or_else(|| {
            format!("pipeline {s:?}: the signal must be one of traces, metrics, logs (got {:?})", id.type_)
        })?;
        Ok(PipelineId { signal, name: id.name })
    }
}

impl fmt::Display for PipelineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{}/{}", self.signal, n),
            None => f.write_str(self.signal.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids() {
        let id = ComponentId::parse("otlphttp/loki").unwrap();
        assert_eq!(id.type_, "otlphttp");
        assert_eq!(id.name.as_deref(), Some("loki"));
        assert_eq!(id.to_string(), "otlphttp/loki");
        assert!(ComponentId::parse("/x").is_err());
        assert!(ComponentId::parse("a/").is_err());
        assert!(ComponentId::parse("a-b").is_err());
        let p = PipelineId::parse("metrics/amp").unwrap();
        assert_eq!(p.signal, Signal::Metrics);
        assert!(PipelineId::parse("spans").is_err());
    }
}
