//! Message value encodings of the kafka exporter and receiver (Go: the `encoding` setting;
//! `otlp_proto`, the default, and `otlp_json`: an OTLP export request per message).

use crate::component::Signal;
use crate::config::ConfigError;
use crate::pipeline::data::Batch;
use crate::receiver::otlp::decode::{decode_request, Encoding as WireEncoding};

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
            Encoding::OtlpJson => crate::exporter::otlp::encode_request_json(&batch.decoded()),
        }
    }

    /// The batch in one message value.
    pub fn decode(self, signal: Signal, value: &[u8]) -> Result<Batch, String> {
        let enc = match self {
            Encoding::OtlpProto => WireEncoding::Protobuf,
            Encoding::OtlpJson => WireEncoding::Json,
        };
        decode_request(signal, enc, value).map_err(|e| e.to_string())
    }
}
