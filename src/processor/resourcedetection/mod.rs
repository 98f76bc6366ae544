//! The `resourcedetection` processor: detects where oxidot runs once at start (env, system,
//! ecs) and merges the result into every resource.
//!
//! As the Go processor (processor/resourcedetectionprocessor) at the collector version oxidot
//! follows: detectors run concurrently, each failing one is retried until `timeout`, earlier
//! detectors win over later ones, and any detector error fails the collector's start
//! (the gate `processor.resourcedetection.propagateerrors` was made stable and then removed in
//! Go v0.150, so there is no opt-out).

mod detect;
pub mod ec2;
pub mod ecs;
pub mod env;
pub mod factory;
pub mod system;

pub use detect::{merge, merge_results};

use crate::config::{ConfigError, GoDuration};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;
#[cfg(test)]
use std::time::Duration;

/// `resource_attributes: {name: {enabled: bool}}` toggles, as Go's generated metadata config.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Toggle {
    pub enabled: bool,
}

pub type Toggles = BTreeMap<String, Toggle>;

/// `processors: resourcedetection:` (Go: resourcedetectionprocessor config.go `Config`,
/// factory.go `createDefaultConfig`). Go's `attributes` option was removed (v0.142), so it is
/// an unknown key here too.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceDetectionConfig {
    pub detectors: Vec<String>,
    pub timeout: GoDuration,
    #[serde(rename = "override")]
    pub override_: bool,
    pub refresh_interval: Option<GoDuration>,
    pub system: system::SystemConfig,
    pub ecs: ecs::EcsConfig,
    pub env: Option<serde_yaml_ng::Value>,
    pub ec2: ec2::Ec2Config,
    /// Go squashes confighttp.ClientConfig into this config (`timeout` is its field). The HTTP
    /// client it builds is handed to detectors that use it, which env, system and ecs do not
    /// (ecs builds its own), so the other client keys are accepted and change nothing, as in Go.
    pub endpoint: Option<serde_yaml_ng::Value>,
    pub proxy_url: Option<serde_yaml_ng::Value>,
    pub tls: Option<serde_yaml_ng::Value>,
    pub read_buffer_size: Option<serde_yaml_ng::Value>,
    pub write_buffer_size: Option<serde_yaml_ng::Value>,
    pub headers: Option<serde_yaml_ng::Value>,
    pub auth: Option<serde_yaml_ng::Value>,
    pub compression: Option<serde_yaml_ng::Value>,
    pub compression_params: Option<serde_yaml_ng::Value>,
    pub max_idle_conns: Option<serde_yaml_ng::Value>,
    pub max_idle_conns_per_host: Option<serde_yaml_ng::Value>,
    pub max_conns_per_host: Option<serde_yaml_ng::Value>,
    pub idle_conn_timeout: Option<serde_yaml_ng::Value>,
    pub disable_keep_alives: Option<serde_yaml_ng::Value>,
    pub http2_read_idle_timeout: Option<serde_yaml_ng::Value>,
    pub http2_ping_timeout: Option<serde_yaml_ng::Value>,
    pub cookies: Option<serde_yaml_ng::Value>,
    pub middlewares: Option<serde_yaml_ng::Value>,
    pub force_attempt_http2: Option<serde_yaml_ng::Value>,
}

impl Default for ResourceDetectionConfig {
    // factory.go createDefaultConfig: detectors [env], client timeout 5s, override true.
    fn default() -> Self {
        ResourceDetectionConfig {
            detectors: vec!["env".into()],
            timeout: GoDuration::from_secs(5),
            override_: true,
            refresh_interval: None,
            system: Default::default(),
            ecs: Default::default(),
            env: None,
            ec2: Default::default(),
            endpoint: None,
            proxy_url: None,
            tls: None,
            read_buffer_size: None,
            write_buffer_size: None,
            headers: None,
            auth: None,
            compression: None,
            compression_params: None,
            max_idle_conns: None,
            max_idle_conns_per_host: None,
            max_conns_per_host: None,
            idle_conn_timeout: None,
            disable_keep_alives: None,
            http2_read_idle_timeout: None,
            http2_ping_timeout: None,
            cookies: None,
            middlewares: None,
            force_attempt_http2: None,
        }
    }
}

const SUPPORTED: &[&str] = &["env", "system", "ecs", "ec2"];

impl ResourceDetectionConfig {
    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        let mut errs = Vec::new();
        let mut warns = Vec::new();
        // factory.go getResourceProvider trims each name; internal/resourcedetection.go
        // getDetectors rejects an unknown one.
        for (i, d) in self.detectors.iter().map(|d| d.trim()).enumerate() {
            if !SUPPORTED.contains(&d) {
                errs.push(
                    ConfigError::new(
                        format!("{base}::detectors::{i}"),
                        format!("invalid detector key: {d} (oxidot supports: {})", SUPPORTED.join(", ")),
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
        errs.extend(self.ec2.validate(&format!("{base}::ec2")));
        (errs, warns)
    }
}

/// The process environment, as the env and ecs detectors read it.
pub fn process_env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

/// A detected attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
    List(Vec<String>),
}

impl AttrValue {
    fn to_any(&self) -> AnyValue {
        let str_any = |s: &str| AnyValue { value: Some(any_value::Value::StringValue(s.to_string())) };
        let v = match self {
            AttrValue::Str(s) => any_value::Value::StringValue(s.clone()),
            AttrValue::Int(i) => any_value::Value::IntValue(*i),
            AttrValue::List(l) => {
                any_value::Value::ArrayValue(ArrayValue { values: l.iter().map(|s| str_any(s)).collect() })
            }
        };
        AnyValue { value: Some(v) }
    }

    /// The value as golden files write it: a string, an integer or a list of strings.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            AttrValue::Str(s) => serde_json::Value::String(s.clone()),
            AttrValue::Int(i) => serde_json::Value::from(*i),
            AttrValue::List(l) => serde_json::Value::from(l.clone()),
        }
    }
}

/// What one detector found, in its order (Go's ResourceBuilder puts attributes in Set order).
pub type Detected = Vec<(String, AttrValue)>;

/// A detector's result: its attributes and the schema URL of the conventions it follows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detection {
    pub attrs: Detected,
    pub schema_url: &'static str,
}

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

/// Go's `%q` of a string (`strconv.Quote`), shared with the translators.
pub use crate::translate::gojson::quote as go_quote;

/// The error when no detector is configured (internal/resourcedetection.go detectResource).
pub const NO_DETECTOR_SUCCEEDED: &str = "resource detection failed: no detectors succeeded";

/// The processor's transform; attributes are filled by `detect` before data flows.
pub struct ResourceDetection {
    id: String,
    cfg: ResourceDetectionConfig,
    detected: OnceLock<(Vec<KeyValue>, &'static str)>,
    /// The pipeline and signal of the first instance built: Go's factory keeps one provider per
    /// processor id, logging with the first instance's logger (which carries them).
    first_pipeline: OnceLock<(String, &'static str)>,
}

impl ResourceDetection {
    pub fn new(id: String, cfg: ResourceDetectionConfig) -> Self {
        ResourceDetection { id, cfg, detected: OnceLock::new(), first_pipeline: OnceLock::new() }
    }

    /// Records the pipeline of an instance; the first one is the one logs name.
    pub fn built_in(&self, pipeline: String, signal: &'static str) {
        let _ = self.first_pipeline.set((pipeline, signal));
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The detected attributes (empty before `detect`).
    pub fn attributes(&self) -> &[KeyValue] {
        self.detected.get().map(|d| d.0.as_slice()).unwrap_or(&[])
    }

    fn schema_url(&self) -> &'static str {
        self.detected.get().map(|d| d.1).unwrap_or("")
    }
}

#[cfg(test)]
mod golden;

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

    fn det(pairs: &[(&str, &str)]) -> Result<Detection, String> {
        Ok(Detection {
            attrs: pairs.iter().map(|(k, v)| (k.to_string(), AttrValue::Str(v.to_string()))).collect(),
            schema_url: "",
        })
    }

    /// resourcedetection_test.go TestMergeResource.
    #[test]
    fn merge_respects_override() {
        let det = vec![kv("service.name", "detected"), kv("host.name", "h")];
        let mut a = vec![kv("service.name", "app")];
        merge(&mut a, &det, false);
        assert_eq!(a, vec![kv("service.name", "app"), kv("host.name", "h")]);
        let mut b = vec![kv("service.name", "app")];
        merge(&mut b, &det, true);
        assert_eq!(b, vec![kv("service.name", "detected"), kv("host.name", "h")]);
        let mut c = vec![];
        merge(&mut c, &det, false);
        assert_eq!(c, det);
    }

    /// resourcedetection_test.go TestDetect ("Detect three resources", "Detect empty resources").
    #[test]
    fn earlier_detectors_win_and_empty_ones_add_nothing() {
        let ((m, _), e) = merge_results(vec![
            det(&[("a", "1"), ("b", "2")]),
            det(&[("a", "11"), ("c", "3")]),
            det(&[("a", "12"), ("c", "3")]),
        ]);
        assert_eq!(e, None);
        let keys: Vec<(&str, &AttrValue)> = m.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(
            keys,
            vec![
                ("a", &AttrValue::Str("1".into())),
                ("b", &AttrValue::Str("2".into())),
                ("c", &AttrValue::Str("3".into()))
            ]
        );
        let ((m, _), e) = merge_results(vec![det(&[("a", "1"), ("b", "2")]), det(&[]), det(&[("a", "11")])]);
        assert_eq!((m.len(), e), (2, None));
    }

    /// resourcedetection_test.go TestDetectResource_Error (current Go: errors propagate, the
    /// partial result is still merged) and TestTrimmedBuildCreatesProcessorWithoutDetectors.
    #[test]
    fn errors_are_joined_and_no_detector_is_an_error() {
        let ((m, _), e) = merge_results(vec![det(&[("a", "1")]), Err("err1".into()), Err("err2".into())]);
        assert_eq!(m.len(), 1);
        assert_eq!(e.as_deref(), Some("err1\nerr2"));
        let ((m, _), e) = merge_results(vec![Err("only".into())]);
        assert!(m.is_empty());
        assert_eq!(e.as_deref(), Some("only"));
        let (_, e) = merge_results(vec![]);
        assert_eq!(e.as_deref(), Some(NO_DETECTOR_SUCCEEDED));
    }

    #[test]
    fn schema_url_is_the_first_non_empty_one() {
        let a = Ok(Detection { attrs: vec![], schema_url: "" });
        let b = Ok(Detection { attrs: vec![], schema_url: "https://opentelemetry.io/schemas/1.6.1" });
        let c = Ok(Detection { attrs: vec![], schema_url: "https://opentelemetry.io/schemas/1.39.0" });
        let ((_, s), _) = merge_results(vec![a, b, c]);
        assert_eq!(s, "https://opentelemetry.io/schemas/1.6.1");
    }

    #[test]
    fn gos_squashed_http_client_keys_are_accepted_and_attributes_is_not() {
        let ok: Result<ResourceDetectionConfig, _> = serde_yaml_ng::from_str(
            "detectors: [env]\ntimeout: 2s\nendpoint: http://x\nheaders: {a: b}\ntls: {insecure: true}\nmax_idle_conns: 10",
        );
        assert!(ok.is_ok(), "{ok:?}");
        let removed: Result<ResourceDetectionConfig, _> = serde_yaml_ng::from_str("attributes: [host.name]");
        assert!(removed.is_err());
    }

    #[test]
    fn defaults_are_gos() {
        let c = ResourceDetectionConfig::default();
        assert_eq!(c.detectors, vec!["env".to_string()]);
        assert!(c.override_);
        assert_eq!(c.timeout.0, Duration::from_secs(5));
        assert_eq!(c.system.hostname_sources, Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_failing_detector_fails_detection_after_the_timeout() {
        let cfg = ResourceDetectionConfig {
            detectors: vec!["env".into(), "system".into()],
            timeout: GoDuration(Duration::from_millis(300)),
            ..Default::default()
        };
        let rd = ResourceDetection::new("resourcedetection".into(), cfg);
        let env = |k: &str| (k == "OTEL_RESOURCE_ATTRIBUTES").then(|| "key=value,key".to_string());
        let started = std::time::Instant::now();
        let err = rd.detect(&env).await.unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(250), "retried until the timeout");
        assert_eq!(err, "invalid resource format, invalid text: \"key\"");
        // The system detector's result is still kept (Go returns the partial resource).
        assert!(rd.attributes().iter().any(|kv| kv.key == "host.name"));
    }

    #[tokio::test]
    async fn earlier_detectors_win_over_later_ones() {
        let cfg = ResourceDetectionConfig { detectors: vec!["env".into(), "system".into()], ..Default::default() };
        let rd = ResourceDetection::new("resourcedetection".into(), cfg);
        let env = |k: &str| (k == "OTEL_RESOURCE_ATTRIBUTES").then(|| "os.type=plan9,team=obs".to_string());
        rd.detect(&env).await.unwrap();
        let got: Vec<(String, String)> = rd
            .attributes()
            .iter()
            .map(|kv| (kv.key.clone(), crate::processor::attraction::any_to_string(kv.value.as_ref().unwrap())))
            .collect();
        assert_eq!(got[0], ("os.type".into(), "plan9".into()));
        assert!(got.iter().any(|(k, _)| k == "host.name"));
        assert_eq!(got.iter().filter(|(k, _)| k == "os.type").count(), 1);
    }
}
