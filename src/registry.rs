//! THE table of component types: what each kind supports, how its config is parsed and
//! validated. `oxidot components` prints it; config errors list it.

use crate::component::{ComponentId, Kind, Signal};
use crate::config::de;
use crate::config::ConfigError;
use crate::exporter::awsxray::XrayConfig;
use crate::exporter::debug::DebugConfig;
use crate::exporter::loki::LokiConfig;
use crate::exporter::otlp::{OtlpGrpcConfig, OtlpHttpConfig};
use crate::exporter::prometheusremotewrite::PrwConfig;
use crate::extension::health_check::HealthCheckConfig;
use crate::extension::sigv4auth::SigV4AuthConfig;
use crate::processor::attributes::AttributesConfig;
use crate::processor::batch::BatchConfig;
use crate::processor::memory_limiter::MemoryLimiterConfig;
use crate::processor::resource::ResourceConfig;
use crate::processor::resourcedetection::ResourceDetectionConfig;
use crate::receiver::otlp::OtlpReceiverConfig;
use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum ReceiverConfig {
    Otlp(OtlpReceiverConfig),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProcessorConfig {
    Batch(BatchConfig),
    MemoryLimiter(MemoryLimiterConfig),
    ResourceDetection(Box<ResourceDetectionConfig>),
    Resource(ResourceConfig),
    Attributes(AttributesConfig),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExporterConfig {
    Debug(DebugConfig),
    OtlpGrpc(OtlpGrpcConfig),
    OtlpHttp(OtlpHttpConfig),
    PrometheusRemoteWrite(Box<PrwConfig>),
    AwsXray(Box<XrayConfig>),
    Loki(Box<LokiConfig>),
}

impl ExporterConfig {
    /// The extension id named in `auth.authenticator`, if any.
    pub fn authenticator(&self) -> Option<&str> {
        match self {
            ExporterConfig::PrometheusRemoteWrite(c) => c.auth.as_ref().map(|a| a.authenticator.as_str()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExtensionConfig {
    HealthCheck(Box<HealthCheckConfig>),
    SigV4Auth(SigV4AuthConfig),
    /// A debug-only extension oxidot accepts and does not run (pprof, zpages): the warning.
    Ignored(&'static str),
}

/// One supported component type.
pub struct TypeInfo {
    pub kind: Kind,
    pub name: &'static str,
    pub signals: &'static [Signal],
    pub stability: &'static str,
    pub note: &'static str,
}

const ALL: &[Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];

const fn t(kind: Kind, name: &'static str, signals: &'static [Signal], note: &'static str) -> TypeInfo {
    TypeInfo { kind, name, signals, stability: "Beta", note }
}

#[rustfmt::skip]
pub const COMPONENTS: &[TypeInfo] = &[
    t(Kind::Receiver, "otlp", ALL, "OTLP over gRPC and HTTP (protobuf, JSON)"),
    t(Kind::Processor, "batch", ALL, "batches by size and time"),
    t(Kind::Processor, "memory_limiter", ALL, "refuses data above a memory limit"),
    t(Kind::Processor, "resource_detection", ALL, "detectors env, system, ecs"),
    t(Kind::Processor, "resourcedetection", ALL, "deprecated alias of resource_detection"),
    t(Kind::Processor, "resource", ALL, "actions on resource attributes"),
    t(Kind::Processor, "attributes", ALL, "actions on span, log record and data point attributes"),
    t(Kind::Exporter, "debug", ALL, "prints to stderr"),
    t(Kind::Exporter, "otlp", ALL, "OTLP/gRPC (alias: otlp_grpc)"),
    t(Kind::Exporter, "otlp_grpc", ALL, "OTLP/gRPC"),
    t(Kind::Exporter, "otlphttp", ALL, "OTLP/HTTP (alias: otlp_http)"),
    t(Kind::Exporter, "otlp_http", ALL, "OTLP/HTTP"),
    t(Kind::Exporter, "awsxray", &[Signal::Traces], "AWS X-Ray: PutTraceSegments (SigV4), the daemon's proxy, or its UDP port"),
    t(Kind::Exporter, "loki", &[Signal::Logs], "Grafana Loki push API (protobuf, snappy)"),
    t(Kind::Exporter, "prometheusremotewrite", &[Signal::Metrics], "Prometheus remote write 1.0, snappy, optional SigV4"),
    t(Kind::Extension, "health_check", &[], "HTTP health endpoint"),
    t(Kind::Extension, "pprof", &[], "accepted, not run (one warning)"),
    t(Kind::Extension, "sigv4auth", &[], "signs exporter requests with AWS SigV4"),
    t(Kind::Extension, "zpages", &[], "accepted, not run (one warning)"),
];

/// Types the Go collector/ADOT have that oxidot plans to build: named in errors as such.
#[rustfmt::skip]
const PLANNED: &[(Kind, &str, &str)] = &[];

fn supported(kind: Kind) -> Vec<&'static str> {
    let mut v: Vec<&str> = COMPONENTS.iter().filter(|c| c.kind == kind).map(|c| c.name).collect();
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

fn decode<T: DeserializeOwned>(kind: Kind, id: &ComponentId, v: &Value) -> Result<T, Vec<ConfigError>> {
    let ids = id.to_string();
    de::from_value(v).map_err(|e| vec![ConfigError::from_de(&[kind.section(), &ids], e)])
}

fn base(kind: Kind, id: &ComponentId) -> String {
    format!("{}::{id}", kind.section())
}

/// A parsed component config plus warnings to log once at start.
pub type Parsed<T> = Result<(T, Vec<String>), Vec<ConfigError>>;

fn done<T>(cfg: T, errs: Vec<ConfigError>, warns: Vec<String>) -> Parsed<T> {
    if errs.is_empty() {
        Ok((cfg, warns))
    } else {
        Err(errs)
    }
}

pub fn parse_receiver(id: &ComponentId, v: &Value) -> Parsed<ReceiverConfig> {
    match id.type_.as_str() {
        "otlp" => {
            let c: OtlpReceiverConfig = decode(Kind::Receiver, id, v)?;
            let (e, w) = c.validate(&base(Kind::Receiver, id));
            done(ReceiverConfig::Otlp(c), e, w)
        }
        _ => Err(vec![unknown_type(Kind::Receiver, id)]),
    }
}

pub fn parse_processor(id: &ComponentId, v: &Value) -> Parsed<ProcessorConfig> {
    match id.type_.as_str() {
        "batch" => {
            let c: BatchConfig = decode(Kind::Processor, id, v)?;
            let e = c.validate(&base(Kind::Processor, id));
            done(ProcessorConfig::Batch(c), e, vec![])
        }
        "memory_limiter" => {
            let c: MemoryLimiterConfig = decode(Kind::Processor, id, v)?;
            let e = c.validate(&base(Kind::Processor, id));
            done(ProcessorConfig::MemoryLimiter(c), e, vec![])
        }
        // contrib v0.153 renamed the type to resource_detection and kept the old name as a
        // deprecated alias (processor/resourcedetectionprocessor metadata.yaml, #48525).
        "resource_detection" | "resourcedetection" => {
            let c: ResourceDetectionConfig = decode(Kind::Processor, id, v)?;
            let (e, mut w) = c.validate(&base(Kind::Processor, id));
            // The collector warns when a deprecated type alias is used (collector #14349).
            if id.type_ == "resourcedetection" {
                w.insert(0, "Using deprecated alias resourcedetection; use resource_detection instead".to_string());
            }
            done(ProcessorConfig::ResourceDetection(Box::new(c)), e, w)
        }
        "resource" => {
            let c: ResourceConfig = decode(Kind::Processor, id, v)?;
            let e = c.validate(&base(Kind::Processor, id));
            done(ProcessorConfig::Resource(c), e, vec![])
        }
        "attributes" => {
            let c: AttributesConfig = decode(Kind::Processor, id, v)?;
            let e = c.validate(&base(Kind::Processor, id));
            done(ProcessorConfig::Attributes(c), e, vec![])
        }
        _ => Err(vec![unknown_type(Kind::Processor, id)]),
    }
}

pub fn parse_exporter(id: &ComponentId, v: &Value) -> Parsed<ExporterConfig> {
    let b = base(Kind::Exporter, id);
    match id.type_.as_str() {
        "debug" => {
            let c: DebugConfig = decode(Kind::Exporter, id, v)?;
            let e = c.validate(&b);
            done(ExporterConfig::Debug(c), e, vec![])
        }
        "otlp" | "otlp_grpc" => {
            let c: OtlpGrpcConfig = decode(Kind::Exporter, id, v)?;
            let e = c.validate(&b);
            done(ExporterConfig::OtlpGrpc(c), e, vec![])
        }
        "otlphttp" | "otlp_http" => {
            let c: OtlpHttpConfig = decode(Kind::Exporter, id, v)?;
            let e = c.validate(&b);
            done(ExporterConfig::OtlpHttp(c), e, vec![])
        }
        "awsxray" => {
            let c: XrayConfig = decode(Kind::Exporter, id, v)?;
            let (e, w) = c.validate(&b);
            done(ExporterConfig::AwsXray(Box::new(c)), e, w)
        }
        "loki" => {
            let c: LokiConfig = decode(Kind::Exporter, id, v)?;
            let (e, w) = c.validate(&b);
            done(ExporterConfig::Loki(Box::new(c)), e, w)
        }
        "prometheusremotewrite" => {
            let c: PrwConfig = decode(Kind::Exporter, id, v)?;
            let (e, w) = c.validate(&b);
            done(ExporterConfig::PrometheusRemoteWrite(Box::new(c)), e, w)
        }
        _ => Err(vec![unknown_type(Kind::Exporter, id)]),
    }
}

pub fn parse_extension(id: &ComponentId, v: &Value) -> Parsed<ExtensionConfig> {
    match id.type_.as_str() {
        "health_check" => {
            let c: HealthCheckConfig = decode(Kind::Extension, id, v)?;
            let (e, w) = c.validate(&base(Kind::Extension, id));
            done(ExtensionConfig::HealthCheck(Box::new(c)), e, w)
        }
        "sigv4auth" => {
            let c: SigV4AuthConfig = decode(Kind::Extension, id, v)?;
            let e = c.validate(&base(Kind::Extension, id));
            done(ExtensionConfig::SigV4Auth(c), e, vec![])
        }
        // Debug endpoints of the Go runtime; nothing in a pipeline depends on them.
        "pprof" => Ok((
            ExtensionConfig::Ignored("pprof is a Go profiling endpoint; oxidot accepts it and does not run it"),
            vec![],
        )),
        "zpages" => {
            Ok((ExtensionConfig::Ignored("zpages is a debug page set; oxidot accepts it and does not run it"), vec![]))
        }
        _ => Err(vec![unknown_type(Kind::Extension, id)]),
    }
}

/// Whether `type_` of `kind` can sit in a pipeline of `signal`.
pub fn supports_signal(kind: Kind, type_: &str, signal: Signal) -> bool {
    COMPONENTS.iter().any(|c| c.kind == kind && c.name == type_ && c.signals.contains(&signal))
}

/// The YAML `oxidot components` prints.
pub fn components_yaml() -> String {
    let mut out = format!(
        "buildinfo:\n  command: oxidot\n  description: oxidot, an OpenTelemetry collector in Rust\n  version: {}\n",
        env!("CARGO_PKG_VERSION")
    );
    for kind in [Kind::Receiver, Kind::Processor, Kind::Exporter, Kind::Connector, Kind::Extension] {
        out.push_str(&format!("{}:\n", kind.section()));
        let mut items: Vec<&TypeInfo> = COMPONENTS.iter().filter(|c| c.kind == kind).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ComponentId {
        ComponentId::parse(s).expect("component id")
    }

    /// contrib v0.153: `resource_detection` is the type, `resourcedetection` its deprecated
    /// alias; both parse to the same processor and both are listed by `oxidot components`.
    #[test]
    fn resource_detection_and_its_old_name_are_the_same_processor() {
        let v: Value = serde_yaml_ng::from_str("detectors: [env, system]").unwrap();
        let (new, new_warns) = parse_processor(&id("resource_detection"), &v).unwrap();
        let (old, old_warns) = parse_processor(&id("resourcedetection/ecs"), &v).unwrap();
        assert_eq!(new, old);
        assert!(new_warns.is_empty(), "{new_warns:?}");
        assert_eq!(old_warns, vec!["Using deprecated alias resourcedetection; use resource_detection instead"]);
        assert!(matches!(new, ProcessorConfig::ResourceDetection(_)));
        for t in ["resource_detection", "resourcedetection"] {
            assert!(supports_signal(Kind::Processor, t, Signal::Logs), "{t}");
        }
        let listed = components_yaml();
        assert!(listed.contains("  - name: resource_detection\n"), "{listed}");
        assert!(listed.contains("  - name: resourcedetection\n"), "{listed}");
    }
}
