//! Message value encodings of the kafka exporter and receiver (Go: the `encoding` setting;
//! `otlp_proto`, the default, and `otlp_json`: an OTLP export request per message).

use crate::component::Signal;
use crate::config::ConfigError;
use crate::pipeline::data::raw::RawBatch;
use crate::pipeline::data::Batch;
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use opentelemetry_proto::tonic::metrics::v1::ResourceMetrics;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use prost::Message;

pub const DEFAULT_ENCODING: &str = "otlp_proto";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    OtlpProto,
    OtlpJson,
}

impl Encoding {
    /// The encoding named `name`; any other name (Go's jaeger_*, zipkin_*, raw, text, json,
    /// encoding extensions, ...) is a config error at `path`.
    pub fn parse(name: &str, path: String) -> Result<Encoding, ConfigError> {
        match name {
            "otlp_proto" => Ok(Encoding::OtlpProto),
            "otlp_json" => Ok(Encoding::OtlpJson),
            other => Err(ConfigError::new(
                path,
                format!("encoding {other:?} is not supported yet by oxidot (supported: otlp_proto, otlp_json)"),
            )),
        }
    }

    /// The message value of `batch`.
    pub fn encode(self, batch: &Batch) -> Vec<u8> {
        match self {
            Encoding::OtlpProto => {
                let mut buf = Vec::new();
                batch.encode_request(&mut buf);
                buf
            }
            Encoding::OtlpJson => encode_json(batch),
        }
    }

    /// The batch in one message value.
    pub fn decode(self, signal: Signal, value: &[u8]) -> Result<Batch, String> {
        match self {
            Encoding::OtlpProto => {
                // Kept encoded when it is well formed (see `pipeline::data::raw`).
                if let Some(raw) = RawBatch::scan(signal, Bytes::copy_from_slice(value)) {
                    return Ok(Batch::Raw(raw));
                }
                let bad = |e: prost::DecodeError| format!("invalid OTLP protobuf: {e}");
                Ok(match signal {
                    Signal::Traces => {
                        Batch::Traces(ExportTraceServiceRequest::decode(value).map_err(bad)?.resource_spans)
                    }
                    Signal::Metrics => {
                        Batch::Metrics(ExportMetricsServiceRequest::decode(value).map_err(bad)?.resource_metrics)
                    }
                    Signal::Logs => Batch::Logs(ExportLogsServiceRequest::decode(value).map_err(bad)?.resource_logs),
                })
            }
            Encoding::OtlpJson => {
                let bad = |e: serde_json::Error| format!("invalid OTLP/JSON: {e}");
                Ok(match signal {
                    Signal::Traces => Batch::Traces(
                        serde_json::from_slice::<ExportTraceServiceRequest>(value).map_err(bad)?.resource_spans,
                    ),
                    Signal::Metrics => Batch::Metrics(
                        serde_json::from_slice::<ExportMetricsServiceRequest>(value).map_err(bad)?.resource_metrics,
                    ),
                    Signal::Logs => Batch::Logs(
                        serde_json::from_slice::<ExportLogsServiceRequest>(value).map_err(bad)?.resource_logs,
                    ),
                })
            }
        }
    }
}

/// The OTLP/JSON export request of `batch` (the proto types' serde form, camelCase keys).
fn encode_json(batch: &Batch) -> Vec<u8> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct T<'a> {
        resource_spans: &'a [ResourceSpans],
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct M<'a> {
        resource_metrics: &'a [ResourceMetrics],
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct L<'a> {
        resource_logs: &'a [ResourceLogs],
    }
    let decoded = batch.decoded();
    let r = match &*decoded {
        // `decoded` built the structs.
        Batch::Raw(_) => Ok(Vec::new()),
        Batch::Traces(rs) => serde_json::to_vec(&T { resource_spans: rs }),
        Batch::Metrics(rs) => serde_json::to_vec(&M { resource_metrics: rs }),
        Batch::Logs(rs) => serde_json::to_vec(&L { resource_logs: rs }),
    };
    r.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undecodable_values_are_errors() {
        for enc in [Encoding::OtlpProto, Encoding::OtlpJson] {
            for s in Signal::ALL {
                assert!(enc.decode(s, b"\xff\xff{not otlp").is_err(), "{enc:?} {s:?}");
            }
        }
        assert_eq!(Encoding::OtlpProto.decode(Signal::Logs, b"").map(|b| b.items()), Ok(0));
    }
}
