//! The `google.rpc` messages carried in gRPC and OTLP/HTTP error bodies (`Status`, `RetryInfo`),
//! the gRPC codes oxidot uses and the OTLP gRPC method paths: wire facts shared by the OTLP
//! receiver and the OTLP exporters.

use prost::Message;
use std::time::Duration;

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    #[serde(skip)]
    pub details: Vec<Any>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoDuration {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

pub const RETRY_INFO_TYPE: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// gRPC codes used here (numbers from the gRPC spec).
pub mod code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const INTERNAL: i32 = 13;
    pub const UNAVAILABLE: i32 = 14;
}

/// The OTLP gRPC methods (opentelemetry-proto `collector/*/v1/*_service.proto`).
pub const TRACES_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
pub const METRICS_EXPORT_PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
pub const LOGS_EXPORT_PATH: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// A `google.rpc.Status`, with RetryInfo when a delay is known.
pub fn rpc_status(code: i32, message: &str, retry_after: Option<Duration>) -> RpcStatus {
    let details = retry_after
        .map(|d| {
            let ri = RetryInfo {
                retry_delay: Some(ProtoDuration { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() as i32 }),
            };
            vec![Any { type_url: RETRY_INFO_TYPE.into(), value: ri.encode_to_vec() }]
        })
        .unwrap_or_default();
    RpcStatus { code, message: message.to_string(), details }
}

/// Reads the server's retry delay out of a gRPC status' details, if any.
pub fn retry_delay(details: &[u8]) -> Option<Duration> {
    let st = RpcStatus::decode(details).ok()?;
    st.details.iter().find(|a| a.type_url == RETRY_INFO_TYPE).and_then(|a| {
        let ri = RetryInfo::decode(&a.value[..]).ok()?;
        let d = ri.retry_delay?;
        Some(Duration::new(d.seconds.max(0) as u64, d.nanos.max(0) as u32))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_info_round_trip() {
        let st = rpc_status(code::UNAVAILABLE, "busy", Some(Duration::from_millis(1500)));
        assert_eq!(retry_delay(&st.encode_to_vec()), Some(Duration::from_millis(1500)));
        assert_eq!(retry_delay(&rpc_status(code::INTERNAL, "x", None).encode_to_vec()), None);
        assert_eq!(retry_delay(b"\xff\xff"), None);
    }
}
