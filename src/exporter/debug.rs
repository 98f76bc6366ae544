//! The `debug` exporter: prints what passes through, to oxidot's log on stderr.

pub mod factory;

use super::helper::config::QueueConfig;
use super::{ExportError, Exporter};
use crate::component::ComponentId;
use crate::config::ConfigError;
use crate::pipeline::data::Batch;
use async_trait::async_trait;
use serde::Deserialize;
use std::fmt::Write as _;

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verbosity {
    Basic,
    Normal,
    Detailed,
    None,
}

/// `exporters: debug:` (Go: debugexporter `createDefaultConfig`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DebugConfig {
    pub verbosity: Verbosity,
    pub sampling_initial: u32,
    pub sampling_thereafter: u32,
    pub use_internal_logger: bool,
    pub output_paths: Option<Vec<String>>,
    pub sending_queue: QueueConfig,
}

impl Default for DebugConfig {
    fn default() -> Self {
        DebugConfig {
            verbosity: Verbosity::Basic,
            sampling_initial: 2,
            sampling_thereafter: 1,
            use_internal_logger: true,
            output_paths: None,
            sending_queue: QueueConfig::disabled_default(),
        }
    }
}

impl DebugConfig {
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        if self.verbosity == Verbosity::None {
            errs.push(ConfigError::new(
                format!("{base}::verbosity"),
                "verbosity level \"None\" is not supported (use basic, normal or detailed)",
            ));
        }
        if self.output_paths.is_some() {
            errs.push(ConfigError::new(
                format!("{base}::output_paths"),
                "output_paths is not supported by oxidot: the debug exporter writes to stderr",
            ));
        }
        self.sending_queue.validate(base, &mut errs);
        errs
    }
}

pub struct DebugExporter {
    id: ComponentId,
    verbosity: Verbosity,
}

impl DebugExporter {
    pub fn new(id: ComponentId, cfg: &DebugConfig) -> Self {
        DebugExporter { id, verbosity: cfg.verbosity }
    }
}

#[async_trait]
impl Exporter for DebugExporter {
    async fn export(&self, batch: &Batch) -> Result<(), ExportError> {
        let items = batch.items();
        let decoded = batch.decoded();
        let batch: &Batch = &decoded;
        let res = batch.resources();
        match batch {
            // `decoded` built the structs.
            Batch::Raw(_) => {}
            Batch::Traces(_) => {
                tracing::info!(exporter = %self.id, "resource spans" = res, spans = items, "Traces")
            }
            Batch::Metrics(rm) => {
                let metrics: usize = rm.iter().flat_map(|r| &r.scope_metrics).map(|s| s.metrics.len()).sum();
                tracing::info!(exporter = %self.id, "resource metrics" = res, metrics = metrics, "data points" = items, "Metrics")
            }
            Batch::Logs(_) => {
                tracing::info!(exporter = %self.id, "resource logs" = res, "log records" = items, "Logs")
            }
        }
        if self.verbosity != Verbosity::Basic {
            let text = render(batch, self.verbosity == Verbosity::Detailed);
            tracing::info!(exporter = %self.id, "{}", text);
        }
        Ok(())
    }
}

fn any_text(v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BytesValue(b)) => hex::encode(b),
        Some(Value::ArrayValue(a)) => {
            format!("[{}]", a.values.iter().map(|x| any_text(&Some(x.clone()))).collect::<Vec<_>>().join(", "))
        }
        Some(Value::KvlistValue(kv)) => format!(
            "{{{}}}",
            kv.values.iter().map(|k| format!("{}: {}", k.key, any_text(&k.value))).collect::<Vec<_>>().join(", ")
        ),
        Some(Value::StringValueStrindex(i)) => format!("strindex:{i}"),
        None => String::new(),
    }
}

fn attrs(a: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> String {
    a.iter().map(|k| format!("{}={}", k.key, any_text(&k.value))).collect::<Vec<_>>().join(" ")
}

/// `normal`: one line per span / data point group / log record; `detailed`: with attributes.
fn render(batch: &Batch, detailed: bool) -> String {
    let mut out = String::new();
    match batch {
        // The caller passes a decoded batch.
        Batch::Raw(_) => {}
        Batch::Traces(rs) => {
            for (i, r) in rs.iter().enumerate() {
                if detailed {
                    let _ = writeln!(
                        out,
                        "ResourceSpans #{i} {}",
                        attrs(r.resource.as_ref().map_or(&[][..], |r| &r.attributes))
                    );
                }
                for s in r.scope_spans.iter().flat_map(|s| &s.spans) {
                    let _ = write!(out, "{} {} {}", s.name, hex::encode(&s.trace_id), hex::encode(&s.span_id));
                    if detailed {
                        let _ = write!(
                            out,
                            " kind={} start={} end={} {}",
                            s.kind,
                            s.start_time_unix_nano,
                            s.end_time_unix_nano,
                            attrs(&s.attributes)
                        );
                    }
                    out.push('\n');
                }
            }
        }
        Batch::Metrics(rm) => {
            for (i, r) in rm.iter().enumerate() {
                if detailed {
                    let _ = writeln!(
                        out,
                        "ResourceMetrics #{i} {}",
                        attrs(r.resource.as_ref().map_or(&[][..], |r| &r.attributes))
                    );
                }
                for m in r.scope_metrics.iter().flat_map(|s| &s.metrics) {
                    let _ = writeln!(out, "{} {} points={}", m.name, m.unit, crate::pipeline::data::data_points(m));
                }
            }
        }
        Batch::Logs(rl) => {
            for (i, r) in rl.iter().enumerate() {
                if detailed {
                    let _ = writeln!(
                        out,
                        "ResourceLog #{i} {}",
                        attrs(r.resource.as_ref().map_or(&[][..], |r| &r.attributes))
                    );
                }
                for l in r.scope_logs.iter().flat_map(|s| &s.log_records) {
                    let _ = write!(out, "{} {}", l.severity_text, any_text(&l.body));
                    if detailed {
                        let _ = write!(
                            out,
                            " trace_id={} span_id={} {}",
                            hex::encode(&l.trace_id),
                            hex::encode(&l.span_id),
                            attrs(&l.attributes)
                        );
                    }
                    out.push('\n');
                }
            }
        }
    }
    out
}
