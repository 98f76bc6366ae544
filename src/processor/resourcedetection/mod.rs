//! The `resourcedetection` processor: detects where oxidot runs once at start (env, system,
//! ecs) and merges the result into every resource. A detector that fails logs one warning and
//! contributes nothing, as in the Go collector; earlier detectors win over later ones.

pub mod ecs;
pub mod env;
pub mod system;

use super::{for_each_resource, Transform};
use crate::config::{ConfigError, GoDuration};
use crate::pipeline::data::Batch;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// `resource_attributes: {name: {enabled: bool}}` toggles, as Go's generated metadata config.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Toggle {
    pub enabled: bool,
}

pub type Toggles = BTreeMap<String, Toggle>;

/// `processors: resourcedetection:` (Go: resourcedetectionprocessor `createDefaultConfig`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceDetectionConfig {
    pub detectors: Vec<String>,
    pub timeout: GoDuration,
    #[serde(rename = "override")]
    pub override_: bool,
    /// Deprecated in Go: keep only these attributes.
    pub attributes: Option<Vec<String>>,
    pub refresh_interval: Option<GoDuration>,
    pub system: system::SystemConfig,
    pub ecs: ecs::EcsConfig,
    pub env: Option<Value>,
    pub ec2: Option<Value>,
}

impl Default for ResourceDetectionConfig {
    fn default() -> Self {
        ResourceDetectionConfig {
            detectors: Vec::new(),
            timeout: GoDuration::from_secs(5),
            override_: true,
            attributes: None,
            refresh_interval: None,
            system: Default::default(),
            ecs: Default::default(),
            env: None,
            ec2: None,
        }
    }
}

/// Detectors the Go collector has that oxidot does not; `ec2` is accepted (ADOT's ECS configs
/// list it) with a warning, because on Fargate it finds nothing anyway.
const ACCEPTED_WITHOUT_EFFECT: &[&str] = &["ec2"];
const SUPPORTED: &[&str] = &["env", "system", "ecs"];

impl ResourceDetectionConfig {
    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        let mut errs = Vec::new();
        let mut warns = Vec::new();
        for (i, d) in self.detectors.iter().enumerate() {
            if ACCEPTED_WITHOUT_EFFECT.contains(&d.as_str()) {
                warns.push(format!(
                    "{base}::detectors: detector {d:?} is not implemented by oxidot and detects nothing"
                ));
            } else if !SUPPORTED.contains(&d.as_str()) {
                errs.push(
                    ConfigError::new(
                        format!("{base}::detectors::{i}"),
                        format!("detector {d:?} is not supported (supported: {})", SUPPORTED.join(", ")),
                    )
                    .with_suggestion(crate::config::error::closest(d, SUPPORTED.iter().copied())),
                );
            }
        }
        if self.refresh_interval.is_some_and(|r| !r.0.is_zero()) {
            warns.push(format!(
                "{base}::refresh_interval: oxidot detects once at start; periodic refresh is not implemented"
            ));
        }
        errs.extend(self.system.validate(&format!("{base}::system")));
        errs.extend(self.ecs.validate(&format!("{base}::ecs")));
        (errs, warns)
    }
}

/// The process environment, as the env and ecs detectors read it.
pub fn process_env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

/// A detected attribute value: a string or a list of strings.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    List(Vec<String>),
}

impl AttrValue {
    fn to_any(&self) -> AnyValue {
        let v = match self {
            AttrValue::Str(s) => any_value::Value::StringValue(s.clone()),
            AttrValue::List(l) => any_value::Value::ArrayValue(ArrayValue {
                values: l.iter().map(|s| AnyValue { value: Some(any_value::Value::StringValue(s.clone())) }).collect(),
            }),
        };
        AnyValue { value: Some(v) }
    }
}

/// What detectors found, in order of precedence.
pub type Detected = Vec<(String, AttrValue)>;

/// Validates a toggle map against the attributes a detector knows.
pub fn validate_toggles(base: &str, toggles: &Toggles, known: &[(&str, bool)]) -> Vec<ConfigError> {
    toggles
        .keys()
        .filter(|k| !known.iter().any(|(n, _)| n == k))
        .map(|k| {
            ConfigError::new(format!("{base}::resource_attributes::{k}"), format!("unknown resource attribute {k:?}"))
                .with_suggestion(crate::config::error::closest(k, known.iter().map(|(n, _)| *n)))
        })
        .collect()
}

/// Whether `name` is on: the user's toggle, else the detector's default.
pub fn enabled(toggles: &Toggles, known: &[(&str, bool)], name: &str) -> bool {
    toggles.get(name).map(|t| t.enabled).unwrap_or_else(|| known.iter().any(|(n, d)| *n == name && *d))
}

/// The processor's transform; attributes are filled by `detect` before data flows.
pub struct ResourceDetection {
    id: String,
    cfg: ResourceDetectionConfig,
    detected: OnceLock<Vec<KeyValue>>,
}

impl ResourceDetection {
    pub fn new(id: String, cfg: ResourceDetectionConfig) -> Self {
        ResourceDetection { id, cfg, detected: OnceLock::new() }
    }

    /// Runs the detectors once, bounded by `timeout`; failures become warnings.
    pub async fn detect(&self, env: &(dyn Fn(&str) -> Option<String> + Sync)) {
        let mut merged: Detected = Vec::new();
        for d in &self.cfg.detectors {
            let fut = async {
                match d.as_str() {
                    "env" => env::detect(env),
                    "system" => system::detect(&self.cfg.system),
                    "ecs" => ecs::detect(&self.cfg.ecs, env).await,
                    _ => Ok(Vec::new()),
                }
            };
            let result = match tokio::time::timeout(self.cfg.timeout.0, fut).await {
                Ok(r) => r,
                Err(_) => Err(format!("timed out after {:?}", self.cfg.timeout.0)),
            };
            match result {
                Ok(found) => {
                    for (k, v) in found {
                        // Earlier detectors win.
                        if !merged.iter().any(|(mk, _)| *mk == k) {
                            merged.push((k, v));
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(processor = %self.id, detector = %d, error = %e, "failed to detect resource; continuing without it")
                }
            }
        }
        if let Some(keep) = &self.cfg.attributes {
            merged.retain(|(k, _)| keep.contains(k));
        }
        tracing::info!(processor = %self.id, attributes = merged.len(), "detected resource information");
        let kvs = merged
            .into_iter()
            .map(|(k, v)| KeyValue { key: k, value: Some(v.to_any()), ..Default::default() })
            .collect();
        let _ = self.detected.set(kvs);
    }

    /// The detected attributes (empty before `detect`).
    pub fn attributes(&self) -> &[KeyValue] {
        self.detected.get().map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Merges `detected` into `attrs`: replaces existing keys when `override_`, else only adds.
pub fn merge(attrs: &mut Vec<KeyValue>, detected: &[KeyValue], override_: bool) {
    for d in detected {
        match attrs.iter_mut().find(|a| a.key == d.key) {
            Some(a) if override_ => a.value = d.value.clone(),
            Some(_) => {}
            None => attrs.push(d.clone()),
        }
    }
}

impl Transform for ResourceDetection {
    fn apply(&self, batch: &mut Batch) {
        let detected = self.attributes();
        if detected.is_empty() {
            return;
        }
        for_each_resource(batch, |attrs| merge(attrs, detected, self.cfg.override_));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
            ..Default::default()
        }
    }

    #[test]
    fn merge_respects_override() {
        let det = vec![kv("service.name", "detected"), kv("host.name", "h")];
        let mut a = vec![kv("service.name", "app")];
        merge(&mut a, &det, false);
        assert_eq!(a, vec![kv("service.name", "app"), kv("host.name", "h")]);
        let mut b = vec![kv("service.name", "app")];
        merge(&mut b, &det, true);
        assert_eq!(b, vec![kv("service.name", "detected"), kv("host.name", "h")]);
    }

    #[tokio::test]
    async fn earlier_detectors_win_and_failures_are_skipped() {
        let cfg = ResourceDetectionConfig {
            detectors: vec!["env".into(), "ecs".into(), "system".into()],
            ..Default::default()
        };
        let rd = ResourceDetection::new("resourcedetection".into(), cfg);
        let env = |k: &str| match k {
            "OTEL_RESOURCE_ATTRIBUTES" => Some("os.type=plan9,deployment.environment=dev".to_string()),
            _ => None,
        };
        rd.detect(&env).await;
        let got: Vec<(String, String)> = rd
            .attributes()
            .iter()
            .map(|kv| (kv.key.clone(), crate::processor::attraction::any_to_string(kv.value.as_ref().unwrap())))
            .collect();
        assert!(got.contains(&("os.type".into(), "plan9".into())), "env set first wins: {got:?}");
        assert!(got.contains(&("deployment.environment".into(), "dev".into())));
        assert!(got.iter().any(|(k, _)| k == "host.name"), "system still ran after ecs failed: {got:?}");
    }
}
