//! The one table mapping pipeline errors to OTLP/HTTP and gRPC status, and the `google.rpc`
//! messages carried in error bodies.

use crate::pipeline::consumer::ConsumeError;
use bytes::Bytes;
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

/// How one pipeline error goes on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct WireError {
    pub http_status: u16,
    pub grpc_code: i32,
    pub message: String,
    pub retry_after: Option<Duration>,
}

/// The table: overloaded → 503/UNAVAILABLE with a retry delay (the SDKs back off); permanent
/// (the data can never be accepted) → 400/INVALID_ARGUMENT; shutting down → 503/UNAVAILABLE.
pub fn from_consume_error(e: &ConsumeError) -> WireError {
    match e {
        ConsumeError::Overloaded { reason, retry_after } => WireError {
            http_status: 503,
            grpc_code: code::UNAVAILABLE,
            message: reason.clone(),
            retry_after: Some(*retry_after),
        },
        ConsumeError::Permanent(m) => {
            WireError { http_status: 400, grpc_code: code::INVALID_ARGUMENT, message: m.clone(), retry_after: None }
        }
        ConsumeError::Shutdown => WireError {
            http_status: 503,
            grpc_code: code::UNAVAILABLE,
            message: e.to_string(),
            retry_after: Some(Duration::from_secs(1)),
        },
    }
}

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

/// The tonic status for a pipeline error (details carry RetryInfo for retryable ones).
pub fn grpc_status(w: &WireError) -> tonic::Status {
    let st = rpc_status(w.grpc_code, &w.message, w.retry_after);
    tonic::Status::with_details(tonic::Code::from_i32(w.grpc_code), w.message.clone(), Bytes::from(st.encode_to_vec()))
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
    fn table_and_retry_info_round_trip() {
        let w = from_consume_error(&ConsumeError::overloaded("sending queue is full"));
        assert_eq!((w.http_status, w.grpc_code), (503, code::UNAVAILABLE));
        let st = grpc_status(&w);
        assert_eq!(st.code(), tonic::Code::Unavailable);
        assert_eq!(retry_delay(st.details()), Some(Duration::from_secs(1)));
        let p = from_consume_error(&ConsumeError::Permanent("bad".into()));
        assert_eq!((p.http_status, p.grpc_code), (400, code::INVALID_ARGUMENT));
    }
}
