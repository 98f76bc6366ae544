//! The one table mapping pipeline errors to OTLP/HTTP and gRPC status (Go:
//! otlpreceiver/internal/errors/errors.go), used by the OTLP receiver.

use super::grpc_status::{code, rpc_status};
use crate::pipeline::consumer::ConsumeError;
use bytes::Bytes;
use prost::Message;
use std::time::Duration;

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

/// The tonic status for a pipeline error (details carry RetryInfo for retryable ones).
pub fn grpc_status(w: &WireError) -> tonic::Status {
    let st = rpc_status(w.grpc_code, &w.message, w.retry_after);
    tonic::Status::with_details(tonic::Code::from_i32(w.grpc_code), w.message.clone(), Bytes::from(st.encode_to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::grpc_status::retry_delay;

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
