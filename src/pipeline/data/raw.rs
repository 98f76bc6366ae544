//! Telemetry still in its OTLP wire encoding.
//!
//! A protobuf request that passes the validating scan enters the pipeline undecoded: when no
//! processor edits it and the exporter speaks OTLP protobuf, it leaves as it came, never built as
//! Rust structs. That removes the decode, the re-encode and most allocations from the OTLP→OTLP
//! path, and holds each item in its wire size (about a quarter of its decoded size). Whatever
//! needs the structure (processors, the X-Ray, remote write and Loki translators, JSON) decodes it
//! first with `Batch::decode_in_place` or `Batch::decoded`.
//!
//! Concatenated encoded `Export*ServiceRequest`s are themselves one valid request (protobuf
//! appends repeated fields), so batching is appending byte strings.

pub mod scan;

use super::Batch;
use crate::component::Signal;
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// Encoded export requests of one signal, validated by `scan::scan`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawBatch {
    signal: Signal,
    parts: Vec<Bytes>,
    items: usize,
    len: usize,
}

impl RawBatch {
    /// Takes `bytes` undecoded when they are a well-formed request whose items need no
    /// per-item check by the receiver; `None` when they must be decoded (malformed, invalid ids,
    /// or a shape whose item count only decoding tells).
    pub fn scan(signal: Signal, bytes: Bytes) -> Option<RawBatch> {
        let s = scan::scan(signal, &bytes)?;
        (s.ids_valid && s.regular).then(|| RawBatch { signal, len: bytes.len(), parts: vec![bytes], items: s.items })
    }

    pub fn signal(&self) -> Signal {
        self.signal
    }

    pub fn items(&self) -> usize {
        self.items
    }

    /// Encoded size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The encoded pieces; written one after the other they are one request.
    pub fn parts(&self) -> &[Bytes] {
        &self.parts
    }

    /// Appends `other` (same signal: the caller checks).
    pub fn append(&mut self, other: RawBatch) {
        self.items += other.items;
        self.len += other.len;
        self.parts.extend(other.parts);
    }

    /// The request as one contiguous buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len);
        for p in &self.parts {
            v.extend_from_slice(p);
        }
        v
    }

    /// Builds the structs. Every part passed the scan, which accepts only what prost decodes, so
    /// a failure here is a bug: it is logged with the items it loses rather than hidden.
    pub fn decode(&self) -> Batch {
        let mut out = Batch::empty(self.signal);
        for p in &self.parts {
            let decoded = match self.signal {
                Signal::Traces => ExportTraceServiceRequest::decode(&p[..]).map(|r| Batch::Traces(r.resource_spans)),
                Signal::Metrics => {
                    ExportMetricsServiceRequest::decode(&p[..]).map(|r| Batch::Metrics(r.resource_metrics))
                }
                Signal::Logs => ExportLogsServiceRequest::decode(&p[..]).map(|r| Batch::Logs(r.resource_logs)),
            };
            match decoded {
                Ok(b) => {
                    let _ = out.append(b);
                }
                Err(e) => {
                    let lost = scan::scan(self.signal, p).map_or(0, |s| s.items);
                    tracing::error!(error = %e, lost_items = lost, data_type = %self.signal, "BUG: a scanned OTLP request failed to decode; its items are lost");
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
