//! OTLP/gRPC: the three `Export` methods on one h2c listener.
//!
//! The service is written against tonic's server primitives with a codec that hands the message
//! bytes to the handler, which reserves the decode budget and then decodes them; a malformed
//! message is answered `INVALID_ARGUMENT` and logged (rate-limited). Like the collector's receiver (grpc-go fails it
//! before otlpreceiver's handler starts an obsreport operation), it is in no receiver metric. A
//! decode error consumes the whole frame, so nothing of it is read as a next frame's header.

use super::decode;
use super::signal::{self, OtlpSignal};
use super::{Entries, Entry};
use crate::component::{ComponentId, Signal};
use crate::telemetry::logging::RateLimit;
use crate::wire::grpc_status::{LOGS_EXPORT_PATH, METRICS_EXPORT_PATH, TRACES_EXPORT_PATH};
use crate::wire::status;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EnabledCompressionEncodings, EncodeBuf, Encoder};
use tonic::Status;

/// Shared state of one gRPC listener.
pub struct GrpcState {
    pub id: ComponentId,
    pub entries: Entries,
    pub max_recv: usize,
    /// Bytes being decoded at once (shared with the receiver's HTTP listener).
    pub budget: Arc<crate::memory::budget::DecodeBudget>,
    pub log_bad: RateLimit,
}

#[derive(Clone)]
pub struct GrpcService(pub Arc<GrpcState>);

type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl hyper::service::Service<http::Request<Incoming>> for GrpcService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFut<Result<Self::Response, Infallible>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        let st = Arc::clone(&self.0);
        Box::pin(async move {
            let signal = match req.uri().path() {
                TRACES_EXPORT_PATH => Signal::Traces,
                METRICS_EXPORT_PATH => Signal::Metrics,
                LOGS_EXPORT_PATH => Signal::Logs,
                _ => return Ok(unimplemented()),
            };
            let Some(entry) = st.entries.get(signal).cloned() else {
                return Ok(unimplemented());
            };
            let mut resp = match signal {
                Signal::Traces => unary::<signal::Traces>(&st, entry.clone(), req).await,
                Signal::Metrics => unary::<signal::Metrics>(&st, entry.clone(), req).await,
                Signal::Logs => unary::<signal::Logs>(&st, entry.clone(), req).await,
            };
            st.classify(signal, &mut resp);
            Ok(resp)
        })
    }
}

/// What a non-OK answer produced inside tonic (before the handler) was about.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// tonic's size check: "decoded message length too large" (OUT_OF_RANGE).
    TooLarge,
    /// The stream ended cleanly inside a message (the frame's length prefix is longer than
    /// what was sent): the client's fault, like malformed protobuf.
    Truncated,
    /// The stream or the connection went away before the message arrived: RST_STREAM, GOAWAY
    /// (ENHANCE_YOUR_CALM, which tonic maps to RESOURCE_EXHAUSTED), a closed socket.
    Gone,
    /// Anything else (the handler's own answers, protocol errors tonic reports).
    Other,
}

fn failure(code: tonic::Code, message: &str) -> Failure {
    use tonic::Code;
    if code == Code::OutOfRange && message.contains("decoded message length too large") {
        Failure::TooLarge
    } else if code == Code::Internal && message.starts_with("Unexpected EOF decoding stream") {
        Failure::Truncated
    } else if code == Code::Cancelled
        || message.starts_with("h2 protocol error")
        || message.starts_with("error reading a body from connection")
    {
        Failure::Gone
    } else {
        Failure::Other
    }
}

impl GrpcState {
    /// Rewrites and logs the answers tonic produced before the handler ran. None of them is
    /// counted: as in the collector, a request that never reaches the receiver's handler is in
    /// no receiver metric (grpc-go fails it in `recvMsg`, before otlpreceiver's `Export`).
    fn classify(&self, signal: Signal, resp: &mut http::Response<tonic::body::Body>) {
        let Some(status) = Status::from_header_map(resp.headers()) else { return };
        match failure(status.code(), status.message()) {
            Failure::TooLarge => {
                // tonic answers an over-limit message with OUT_OF_RANGE, which the OTLP spec
                // makes retryable: clients would resend it forever. Say RESOURCE_EXHAUSTED.
                resp.headers_mut().insert("grpc-status", http::HeaderValue::from_static("8"));
                self.log_bad(signal, "message larger than max_recv_msg_size_mib");
            }
            Failure::Truncated => {
                let why = "failed to decode the request: the stream ended inside a message";
                *resp = Status::invalid_argument(why).into_http();
                self.log_bad(signal, why);
            }
            Failure::Gone => {
                // Nothing was received, nobody reads the answer: not a bad request.
                tracing::debug!(receiver = %self.id, transport = "grpc", data_type = %signal, error = %status.message(), "Stream ended before its request was received");
            }
            Failure::Other => {}
        }
    }

    fn log_bad(&self, signal: Signal, why: &str) {
        if self.log_bad.allow(10) {
            tracing::warn!(receiver = %self.id, transport = "grpc", data_type = %signal, error = why, "Refused a malformed request");
        }
    }
}

fn unimplemented() -> http::Response<tonic::body::Body> {
    Status::unimplemented("unknown service or method, or no pipeline for this signal").into_http()
}

async fn unary<S: OtlpSignal>(
    st: &Arc<GrpcState>,
    entry: Entry,
    req: http::Request<Incoming>,
) -> http::Response<tonic::body::Body> {
    let mut accept = EnabledCompressionEncodings::default();
    accept.enable(CompressionEncoding::Gzip);
    accept.enable(CompressionEncoding::Zstd);
    let codec = OtlpCodec::<S>(PhantomData);
    let mut grpc = tonic::server::Grpc::new(codec)
        .apply_compression_config(accept, EnabledCompressionEncodings::default())
        .apply_max_message_size_config(Some(st.max_recv), None);
    grpc.unary(ExportSvc::<S> { st: Arc::clone(st), entry, _s: PhantomData }, req).await
}

struct ExportSvc<S: OtlpSignal> {
    st: Arc<GrpcState>,
    entry: Entry,
    _s: PhantomData<S>,
}

impl<S: OtlpSignal> tonic::server::UnaryService<bytes::Bytes> for ExportSvc<S> {
    type Response = S::Resp;
    type Future = BoxFut<Result<tonic::Response<S::Resp>, Status>>;

    fn call(&mut self, request: tonic::Request<bytes::Bytes>) -> Self::Future {
        let entry = self.entry.clone();
        let st = Arc::clone(&self.st);
        Box::pin(async move {
            let msg = request.into_inner();
            // The estimated decoded size is reserved before decoding and held until the
            // pipeline has the data.
            let mut reservation = st.budget.reserve();
            let need = (msg.len() as u64).saturating_mul(1 + crate::memory::budget::PROTOBUF_EXPANSION);
            if let Err(e) = st.budget.grow_to(&mut reservation, need, true).await {
                entry.refused_before_decode(&st.budget, &st.id, "grpc", decode::count_items(S::SIGNAL, &msg), &e);
                return Err(status::grpc_status(&status::from_consume_error(&e)));
            }
            // Kept encoded when it is well formed (see `pipeline::data::raw`); decoded otherwise, which
            // also gives the error message or rejects the items with bad ids.
            let mut batch = match crate::pipeline::data::raw::RawBatch::scan(S::SIGNAL, msg.clone()) {
                Some(raw) => crate::pipeline::data::Batch::Raw(raw),
                None => match <S::Req as prost::Message>::decode(&msg[..]) {
                    Ok(r) => S::into_batch(r),
                    Err(e) => {
                        st.log_bad(S::SIGNAL, &e.to_string());
                        return Err(Status::invalid_argument(format!("failed to decode the request: {e}")));
                    }
                },
            };
            drop(msg);
            let rejected = decode::reject_invalid(&mut batch);
            if let Some((n, _)) = &rejected {
                entry.telemetry.refused.add(*n);
            }
            let delivered = entry.deliver(batch).await;
            drop(reservation);
            match delivered {
                Ok(()) => Ok(tonic::Response::new(S::response(rejected))),
                Err(e) => Err(status::grpc_status(&status::from_consume_error(&e))),
            }
        })
    }
}

/// Encodes responses with prost; hands request messages undecoded to the handler, which
/// decodes them within the decode budget (and answers bad input itself).
struct OtlpCodec<S>(PhantomData<S>);

impl<S: OtlpSignal> Codec for OtlpCodec<S> {
    type Encode = S::Resp;
    type Decode = bytes::Bytes;
    type Encoder = ProstEncoder<S::Resp>;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder(PhantomData)
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

struct ProstEncoder<T>(PhantomData<T>);

impl<T: prost::Message> Encoder for ProstEncoder<T> {
    type Item = T;
    type Error = Status;
    fn encode(&mut self, item: T, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(buf).map_err(|e| Status::internal(e.to_string()))
    }
}

struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = bytes::Bytes;
    type Error = Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        // The whole frame: nothing of it is left to be read as the next frame's header.
        let n = bytes::Buf::remaining(buf);
        Ok(Some(bytes::Buf::copy_to_bytes(buf, n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn failures_are_told_apart_by_code_and_message() {
        let too_large = "Error, decoded message length too large: found 2097200 bytes, the limit is: 1048576 bytes";
        assert_eq!(failure(Code::OutOfRange, too_large), Failure::TooLarge);
        assert_eq!(failure(Code::Internal, "Unexpected EOF decoding stream."), Failure::Truncated);
        // A GOAWAY ENHANCE_YOUR_CALM is RESOURCE_EXHAUSTED too, but not a large message.
        assert_eq!(
            failure(Code::ResourceExhausted, "h2 protocol error: stream error received: ENHANCE_YOUR_CALM"),
            Failure::Gone
        );
        assert_eq!(failure(Code::Cancelled, "h2 protocol error: stream no longer needed"), Failure::Gone);
        assert_eq!(failure(Code::ResourceExhausted, "sending queue is full"), Failure::Other);
        assert_eq!(failure(Code::InvalidArgument, "failed to decode the request: x"), Failure::Other);
    }
}
