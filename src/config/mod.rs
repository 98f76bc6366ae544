//! Configuration: sources, expansion, merge, and the typed, validated `Config`.

pub mod de;
pub mod error;
pub mod expand;
pub mod serde_util;
pub mod service;
pub mod source;

pub use error::{ConfigError, ConfigErrors};
pub use serde_util::GoDuration;
pub use service::{PipelineConfig, ServiceConfig, TelemetryConfig};

use crate::component::{ComponentId, Kind, PipelineId};
use crate::registry::{self, ExporterConfig, ExtensionConfig, ProcessorConfig, ReceiverConfig};
use serde_yaml_ng::Value;
use source::Source;
use std::collections::HashSet;

/// The configuration after sources were read, merged and expanded.
pub struct Resolved {
    pub sources: Vec<Source>,
    pub value: Value,
    /// Things worth one warning at start (unset variables, ...).
    pub warnings: Vec<String>,
    /// Which source kind won: for the start-up log line.
    pub description: String,
}

/// Reads the configuration the way ADOT does: `AOT_CONFIG_CONTENT` if set, else every `--config`
/// in order (later ones merge over earlier), else the embedded default.
pub fn resolve(uris: &[String], env: &dyn Fn(&str) -> Option<String>) -> Result<Resolved, String> {
    let mut warnings = Vec::new();
    let sources: Vec<Source> = match env(source::AOT_CONFIG_CONTENT).filter(|c| !c.trim().is_empty()) {
        Some(text) => {
            if !uris.is_empty() {
                warnings.push(format!(
                    "{} is set: it is the configuration, and --config {} is ignored",
                    source::AOT_CONFIG_CONTENT,
                    uris.join(" --config ")
                ));
            }
            let origin = format!("env:{}", source::AOT_CONFIG_CONTENT);
            vec![Source { value: source::parse(&origin, &text)?, origin }]
        }
        None if uris.is_empty() => vec![source::embedded_default()?],
        None => uris.iter().map(|u| source::load_uri(u, env)).collect::<Result<Vec<_>, _>>()?,
    };
    let description = sources.iter().map(|s| s.origin.as_str()).collect::<Vec<_>>().join(" + ");
    let mut merged = Value::Mapping(Default::default());
    for s in &sources {
        source::merge_into(&mut merged, s.value.clone());
    }
    let expanded = expand::expand(&merged, env).map_err(|e| {
        let origin = source::origin_of(&sources, &e.path);
        format!("{origin}: {}: {}", e.path.join("::"), e.message)
    })?;
    warnings.extend(expanded.warnings);
    Ok(Resolved { sources, value: expanded.value, warnings, description })
}

/// The validated configuration, every component typed.
#[derive(Debug, Clone)]
pub struct Config {
    pub receivers: Vec<(ComponentId, ReceiverConfig)>,
    pub processors: Vec<(ComponentId, ProcessorConfig)>,
    pub exporters: Vec<(ComponentId, ExporterConfig)>,
    pub extensions: Vec<(ComponentId, ExtensionConfig)>,
    pub service: ServiceConfig,
    /// Warnings found while validating (deprecated aliases, ignored debug extensions, ...).
    pub warnings: Vec<String>,
}

const TOP_LEVEL: &[&str] = &["receivers", "processors", "exporters", "extensions", "connectors", "service"];

impl Config {
    /// Types and validates the resolved tree; every error is located and reported at once.
    pub fn from_resolved(r: &Resolved) -> Result<Config, ConfigErrors> {
        let mut errors = Vec::new();
        let cfg = Self::build(&r.value, &mut errors);
        for e in &mut errors {
            let path: Vec<String> = e.path.split("::").filter(|s| !s.is_empty()).map(String::from).collect();
            e.origin = source::origin_of(&r.sources, &path).to_string();
        }
        match cfg {
            Some(c) if errors.is_empty() => Ok(c),
            _ => Err(ConfigErrors(errors)),
        }
    }

    fn build(root: &Value, errors: &mut Vec<ConfigError>) -> Option<Config> {
        let map = root.as_mapping()?;
        for k in map.keys() {
            let key = expand::key_text(k);
            if !TOP_LEVEL.contains(&key.as_str()) {
                errors.push(
                    ConfigError::new(
                        key.clone(),
                        format!("unknown top-level key {key:?} (valid keys: {})", TOP_LEVEL.join(", ")),
                    )
                    .with_suggestion(error::closest(&key, TOP_LEVEL.iter().copied())),
                );
            }
        }
        let mut warnings = Vec::new();
        let receivers = section(root, Kind::Receiver, errors, &mut warnings, registry::parse_receiver);
        let processors = section(root, Kind::Processor, errors, &mut warnings, registry::parse_processor);
        let exporters = section(root, Kind::Exporter, errors, &mut warnings, registry::parse_exporter);
        let extensions = section(root, Kind::Extension, errors, &mut warnings, registry::parse_extension);
        // No connector type is supported yet: any entry is an error naming it.
        let _: Vec<(ComponentId, ())> = section(root, Kind::Connector, errors, &mut warnings, |id, _| {
            Err(vec![ConfigError::new(
                format!("connectors::{id}"),
                format!("unknown type: {:?} for id {:?} (oxidot supports no connector yet)", id.type_, id.to_string()),
            )])
        });
        for (id, e) in &extensions {
            if let ExtensionConfig::Ignored(what) = e {
                warnings.push(format!("extension {id:?}: {what}"));
            }
        }
        let service_value = root.get("service").cloned().unwrap_or(Value::Null);
        let service: ServiceConfig = match de::from_value(&service_value) {
            Ok(s) => s,
            Err(e) => {
                errors.push(ConfigError::from_de(&["service"], e));
                return None;
            }
        };
        warnings.extend(service.validate(errors));
        let cfg = Config { receivers, processors, exporters, extensions, service, warnings };
        cfg.check_references(&raw_ids(root), errors);
        Some(cfg)
    }

    /// Every id a pipeline or `service.extensions` names must be defined, with the right signal.
    fn check_references(&self, raw: &HashSet<(Kind, ComponentId)>, errors: &mut Vec<ConfigError>) {
        // Written in the YAML but not parsed: its own error was reported already.
        let failed = |kind: Kind, id: &ComponentId| raw.contains(&(kind, id.clone()));
        let defined = |kind: Kind, id: &ComponentId| -> bool {
            match kind {
                Kind::Receiver => self.receivers.iter().any(|(i, _)| i == id),
                Kind::Processor => self.processors.iter().any(|(i, _)| i == id),
                Kind::Exporter => self.exporters.iter().any(|(i, _)| i == id),
                Kind::Extension => self.extensions.iter().any(|(i, _)| i == id),
                Kind::Connector => false,
            }
        };
        for (i, raw) in self.service.extensions.iter().enumerate() {
            match ComponentId::parse(raw) {
                Ok(id) if defined(Kind::Extension, &id) || failed(Kind::Extension, &id) => {}
                Ok(id) => errors.push(ConfigError::new(
                    format!("service::extensions::{i}"),
                    format!("references extension {:?} which is not configured", id.to_string()),
                )),
                Err(m) => errors.push(ConfigError::new(format!("service::extensions::{i}"), m)),
            }
        }
        for (id, e) in &self.exporters {
            let Some(auth) = e.authenticator() else { continue };
            let path = format!("exporters::{id}::auth::authenticator");
            let Ok(aid) = ComponentId::parse(auth) else {
                errors.push(ConfigError::new(path, format!("invalid extension id {auth:?}")));
                continue;
            };
            match self.extensions.iter().find(|(i, _)| *i == aid).map(|(_, c)| c) {
                None if failed(Kind::Extension, &aid) => {}
                None => errors
                    .push(ConfigError::new(path, format!("references extension {auth:?} which is not configured"))),
                Some(ExtensionConfig::SigV4Auth(_)) => {
                    if !self.service.extensions.iter().any(|x| x == auth) {
                        errors.push(ConfigError::new(
                            path,
                            format!("authenticator {auth:?} is not enabled: add it to service::extensions"),
                        ));
                    }
                }
                Some(_) => errors.push(ConfigError::new(path, format!("extension {auth:?} is not an authenticator"))),
            }
        }
        if self.service.pipelines.is_empty() {
            errors.push(ConfigError::new(
                "service::pipelines",
                "no pipelines are configured: define at least one (traces, metrics or logs)",
            ));
        }
        for (name, p) in &self.service.pipelines {
            let Ok(pid) = PipelineId::parse(name) else {
                continue;
            };
            for (kind, list) in
                [(Kind::Receiver, &p.receivers), (Kind::Processor, &p.processors), (Kind::Exporter, &p.exporters)]
            {
                let key = format!("{}s", kind.word());
                if list.is_empty() && kind != Kind::Processor {
                    errors.push(ConfigError::new(
                        format!("service::pipelines::{name}::{key}"),
                        format!("pipeline {name:?} must have at least one {}", kind.word()),
                    ));
                }
                let mut seen = std::collections::HashSet::new();
                for (i, raw) in list.iter().enumerate() {
                    let path = format!("service::pipelines::{name}::{key}::{i}");
                    let id = match ComponentId::parse(raw) {
                        Ok(id) => id,
                        Err(m) => {
                            errors.push(ConfigError::new(path, m));
                            continue;
                        }
                    };
                    if !seen.insert(id.clone()) {
                        errors.push(ConfigError::new(
                            path.clone(),
                            format!("references {} {:?} multiple times", kind.word(), id.to_string()),
                        ));
                    }
                    if !defined(kind, &id) {
                        if failed(kind, &id) {
                            continue;
                        }
                        errors.push(ConfigError::new(
                            path,
                            format!("references {} {:?} which is not configured", kind.word(), id.to_string()),
                        ));
                        continue;
                    }
                    if !registry::supports_signal(kind, &id.type_, pid.signal) {
                        errors.push(ConfigError::new(
                            path,
                            format!("{} {:?} does not support {}", kind.word(), id.to_string(), pid.signal),
                        ));
                    }
                }
            }
        }
    }
}

/// Every component id written in the YAML, parsed or not.
fn raw_ids(root: &Value) -> HashSet<(Kind, ComponentId)> {
    let mut out = HashSet::new();
    for kind in [Kind::Receiver, Kind::Processor, Kind::Exporter, Kind::Extension, Kind::Connector] {
        if let Some(Value::Mapping(m)) = root.get(kind.section()) {
            for k in m.keys() {
                if let Ok(id) = ComponentId::parse(&expand::key_text(k)) {
                    out.insert((kind, id));
                }
            }
        }
    }
    out
}

/// Parses one component section (`receivers:` ...) into typed configs, collecting errors.
fn section<T>(
    root: &Value,
    kind: Kind,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<String>,
    parse: impl Fn(&ComponentId, &Value) -> registry::Parsed<T>,
) -> Vec<(ComponentId, T)> {
    let mut out = Vec::new();
    let Some(v) = root.get(kind.section()) else {
        return out;
    };
    let map = match v {
        Value::Null => return out,
        Value::Mapping(m) => m,
        _ => {
            errors.push(ConfigError::new(kind.section(), "expected a map of component ids to their settings"));
            return out;
        }
    };
    for (k, v) in map {
        let raw = expand::key_text(k);
        let id = match ComponentId::parse(&raw) {
            Ok(id) => id,
            Err(m) => {
                errors.push(ConfigError::new(format!("{}::{raw}", kind.section()), m));
                continue;
            }
        };
        match parse(&id, v) {
            Ok((t, w)) => {
                warnings.extend(w);
                out.push((id, t))
            }
            Err(es) => errors.extend(es),
        }
    }
    out
}
