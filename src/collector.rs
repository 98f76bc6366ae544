//! The typed, validated configuration: the resolved YAML (`crate::config`) with every
//! component config parsed by its factory from the registry, and the references between
//! `service` and the components checked (Go: otelcol/unmarshaler.go, otelcol/config.go).

use crate::component::factory::{ExporterConfig, ExtensionConfig, Parsed, ProcessorConfig, ReceiverConfig};
use crate::component::{ComponentId, Kind, PipelineId};
use crate::config::{de, error, expand, source, ConfigError, ConfigErrors, Resolved, ServiceConfig, TOP_LEVEL};
use crate::registry;
use serde_yaml_ng::Value;
use std::collections::HashSet;

/// The validated configuration, every component typed.
#[derive(Debug)]
pub struct Config {
    pub receivers: Vec<(ComponentId, Box<dyn ReceiverConfig>)>,
    pub processors: Vec<(ComponentId, Box<dyn ProcessorConfig>)>,
    pub exporters: Vec<(ComponentId, Box<dyn ExporterConfig>)>,
    pub extensions: Vec<(ComponentId, Box<dyn ExtensionConfig>)>,
    pub service: ServiceConfig,
    /// Warnings found while validating (deprecated aliases, ignored debug extensions, ...).
    pub warnings: Vec<String>,
}

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
        let receivers = section(root, Kind::Receiver, errors, &mut warnings, |id, v| {
            registry::receiver(id).map_err(|e| vec![e])?.parse(id, v)
        });
        let processors = section(root, Kind::Processor, errors, &mut warnings, |id, v| {
            registry::processor(id).map_err(|e| vec![e])?.parse(id, v)
        });
        let exporters = section(root, Kind::Exporter, errors, &mut warnings, |id, v| {
            registry::exporter(id).map_err(|e| vec![e])?.parse(id, v)
        });
        let extensions = section(root, Kind::Extension, errors, &mut warnings, |id, v| {
            registry::extension(id).map_err(|e| vec![e])?.parse(id, v)
        });
        // No connector type is supported yet: any entry is an error naming it.
        let _: Vec<(ComponentId, ())> = section(root, Kind::Connector, errors, &mut warnings, |id, _| {
            Err(vec![ConfigError::new(
                format!("connectors::{id}"),
                format!("unknown type: {:?} for id {:?} (oxidot supports no connector yet)", id.type_, id.to_string()),
            )])
        });
        for (id, e) in &extensions {
            if let Some(what) = e.ignored() {
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
                Some(c) if c.is_authenticator() => {
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
        // `sending_queue.storage` must name an enabled storage extension (Go finds out at start:
        // "no storage client extension found"; oxidot says so at validate).
        for (id, e) in &self.exporters {
            let q = e.helper_settings().queue;
            let Some(st) = q.storage.filter(|_| q.enabled) else { continue };
            let path = format!("exporters::{id}::sending_queue::storage");
            let Ok(sid) = ComponentId::parse(&st) else {
                errors.push(ConfigError::new(path, format!("invalid extension id {st:?}")));
                continue;
            };
            match self.extensions.iter().find(|(i, _)| *i == sid).map(|(_, c)| c) {
                None if failed(Kind::Extension, &sid) => {}
                None => {
                    errors.push(ConfigError::new(path, format!("references extension {st:?} which is not configured")))
                }
                Some(c) if !c.is_storage() => {
                    errors.push(ConfigError::new(path, format!("extension {st:?} is not a storage extension")))
                }
                Some(_) if !self.service.extensions.iter().any(|x| ComponentId::parse(x).is_ok_and(|x| x == sid)) => {
                    errors.push(ConfigError::new(
                        path,
                        format!("storage {st:?} is not enabled: add it to service::extensions"),
                    ))
                }
                Some(_) => {}
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
    parse: impl Fn(&ComponentId, &Value) -> Parsed<T>,
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
