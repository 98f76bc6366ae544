//! Bounded decompression and OTLP request decoding: pure functions over bytes.
//!
//! Every decoder reads at most `limit + 1` bytes of output, so a compression bomb is refused
//! after `limit` bytes instead of being expanded.

use crate::component::Signal;
use crate::pipeline::data::raw::RawBatch;
use crate::pipeline::data::Batch;
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::io::Read;

/// Content-Encoding values accepted on OTLP/HTTP.
pub const SUPPORTED_ENCODINGS: &[&str] =
    &["", "identity", "gzip", "zstd", "deflate", "zlib", "snappy", "x-snappy-framed"];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("request body too large: more than {0} bytes")]
    TooLarge(u64),
    #[error("unsupported Content-Encoding: {0}")]
    UnsupportedEncoding(String),
    #[error("{0}")]
    Malformed(String),
}

/// Decompresses `body` according to `encoding`, refusing output larger than `limit`.
pub fn decompress(encoding: &str, body: Bytes, limit: u64) -> Result<Bytes, DecodeError> {
    let enc = encoding.trim().to_ascii_lowercase();
    match enc.as_str() {
        "" | "identity" => Ok(body),
        "gzip" | "x-gzip" => read_limited(flate2::read::MultiGzDecoder::new(&body[..]), limit, "gzip"),
        "zlib" => read_limited(flate2::read::ZlibDecoder::new(&body[..]), limit, "zlib"),
        // HTTP's "deflate" is zlib-wrapped (RFC 9110); some clients send raw deflate.
        "deflate" => match read_limited(flate2::read::ZlibDecoder::new(&body[..]), limit, "deflate") {
            Err(DecodeError::Malformed(_)) => {
                read_limited(flate2::read::DeflateDecoder::new(&body[..]), limit, "deflate")
            }
            other => other,
        },
        "zstd" => {
            let mut d = zstd::stream::read::Decoder::new(&body[..])
                .map_err(|e| DecodeError::Malformed(format!("zstd: {e}")))?;
            // Refuse frames that would need a window larger than 128 MiB of memory.
            d.window_log_max(27).map_err(|e| DecodeError::Malformed(format!("zstd: {e}")))?;
            read_limited(d, limit, "zstd")
        }
        "snappy" => {
            // The collector auto-detects framed snappy behind this name.
            if body.starts_with(b"\xff\x06\x00\x00sNaPpY") {
                read_limited(snap::read::FrameDecoder::new(&body[..]), limit, "snappy")
            } else {
                let n = snap::raw::decompress_len(&body).map_err(|e| DecodeError::Malformed(format!("snappy: {e}")))?;
                if n as u64 > limit {
                    return Err(DecodeError::TooLarge(limit));
                }
                snap::raw::Decoder::new()
                    .decompress_vec(&body)
                    .map(Bytes::from)
                    .map_err(|e| DecodeError::Malformed(format!("snappy: {e}")))
            }
        }
        "x-snappy-framed" => read_limited(snap::read::FrameDecoder::new(&body[..]), limit, "snappy"),
        other => Err(DecodeError::UnsupportedEncoding(other.to_string())),
    }
}

fn read_limited(r: impl Read, limit: u64, what: &str) -> Result<Bytes, DecodeError> {
    let mut out = Vec::new();
    r.take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Malformed(format!("{what}: {e}")))?;
    if out.len() as u64 > limit {
        return Err(DecodeError::TooLarge(limit));
    }
    Ok(Bytes::from(out))
}

/// The wire encoding of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

/// Decodes an OTLP export request of `signal`.
pub fn decode_request(signal: Signal, enc: Encoding, body: &[u8]) -> Result<Batch, DecodeError> {
    let bad = |e: String| DecodeError::Malformed(e);
    if enc == Encoding::Protobuf {
        // Kept encoded when it is well formed (see `pipeline::data::raw`).
        if let Some(raw) = RawBatch::scan(signal, Bytes::copy_from_slice(body)) {
            return Ok(Batch::Raw(raw));
        }
    }
    Ok(match (signal, enc) {
        (Signal::Traces, Encoding::Protobuf) => {
            Batch::Traces(ExportTraceServiceRequest::decode(body).map_err(|e| bad(e.to_string()))?.resource_spans)
        }
        (Signal::Metrics, Encoding::Protobuf) => {
            Batch::Metrics(ExportMetricsServiceRequest::decode(body).map_err(|e| bad(e.to_string()))?.resource_metrics)
        }
        (Signal::Logs, Encoding::Protobuf) => {
            Batch::Logs(ExportLogsServiceRequest::decode(body).map_err(|e| bad(e.to_string()))?.resource_logs)
        }
        (Signal::Traces, Encoding::Json) => Batch::Traces(
            serde_json::from_slice::<ExportTraceServiceRequest>(body)
                .map_err(|e| bad(format!("invalid OTLP/JSON: {e}")))?
                .resource_spans,
        ),
        (Signal::Metrics, Encoding::Json) => Batch::Metrics(
            serde_json::from_slice::<ExportMetricsServiceRequest>(body)
                .map_err(|e| bad(format!("invalid OTLP/JSON: {e}")))?
                .resource_metrics,
        ),
        (Signal::Logs, Encoding::Json) => Batch::Logs(
            serde_json::from_slice::<ExportLogsServiceRequest>(body)
                .map_err(|e| bad(format!("invalid OTLP/JSON: {e}")))?
                .resource_logs,
        ),
    })
}

/// The items (spans, data points, log records) of an encoded export request, counted without
/// decoding it (no allocation): a request refused before decoding is still counted in the
/// receiver's `refused` metric. Stops at the first malformed field.
pub fn count_items(signal: Signal, body: &[u8]) -> u64 {
    // Field numbers of the OTLP protos: Resource* .2 → Scope* .2 → spans / log_records /
    // metrics; a Metric's gauge 5, sum 7, histogram 9, exponential_histogram 10, summary 11,
    // each with data_points 1.
    let scopes = || nested(body, 1).flat_map(|r| nested(r, 2));
    match signal {
        Signal::Traces | Signal::Logs => scopes().map(|s| nested(s, 2).count() as u64).sum(),
        Signal::Metrics => scopes()
            .flat_map(|s| nested(s, 2))
            .flat_map(|m| len_fields(m).filter(|(n, _)| matches!(n, 5 | 7 | 9 | 10 | 11)))
            .map(|(_, d)| nested(d, 1).count() as u64)
            .sum(),
    }
}

/// The values of field `f` (length-delimited) of one protobuf message.
fn nested(b: &[u8], f: u64) -> impl Iterator<Item = &[u8]> {
    len_fields(b).filter(move |(n, _)| *n == f).map(|(_, v)| v)
}

/// The length-delimited fields of one protobuf message: (field number, bytes).
fn len_fields(mut b: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    std::iter::from_fn(move || loop {
        let key = varint(&mut b)?;
        match key & 7 {
            0 => {
                varint(&mut b)?;
            }
            1 => b = b.get(8..)?,
            5 => b = b.get(4..)?,
            2 => {
                let n = usize::try_from(varint(&mut b)?).ok()?;
                let v = b.get(..n)?;
                b = b.get(n..)?;
                return Some((key >> 3, v));
            }
            _ => return None,
        }
    })
}

fn varint(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Removes items that can never be valid downstream (a trace id that is not 16 bytes, a span
/// id that is not 8 bytes) and says how many and why: the receiver reports them in
/// `partial_success` instead of failing the whole request.
pub fn reject_invalid(batch: &mut Batch) -> Option<(u64, String)> {
    let mut rejected = 0u64;
    match batch {
        Batch::Traces(rs) => {
            for r in rs.iter_mut() {
                for s in r.scope_spans.iter_mut() {
                    let before = s.spans.len();
                    s.spans.retain(|sp| {
                        sp.trace_id.len() == 16
                            && sp.span_id.len() == 8
                            && (sp.parent_span_id.is_empty() || sp.parent_span_id.len() == 8)
                    });
                    rejected += (before - s.spans.len()) as u64;
                }
            }
            (rejected > 0).then(|| {
                (
                    rejected,
                    format!("{rejected} spans rejected: trace_id must be 16 bytes and span_id/parent_span_id 8 bytes"),
                )
            })
        }
        Batch::Logs(rs) => {
            for r in rs.iter_mut() {
                for s in r.scope_logs.iter_mut() {
                    let before = s.log_records.len();
                    s.log_records.retain(|l| {
                        (l.trace_id.is_empty() || l.trace_id.len() == 16)
                            && (l.span_id.is_empty() || l.span_id.len() == 8)
                    });
                    rejected += (before - s.log_records.len()) as u64;
                }
            }
            (rejected > 0).then(|| {
                (
                    rejected,
                    format!(
                        "{rejected} log records rejected: trace_id must be empty or 16 bytes, span_id empty or 8 bytes"
                    ),
                )
            })
        }
        // Raw batches are taken only when every id is valid.
        Batch::Metrics(_) | Batch::Raw(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Bytes {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        Bytes::from(e.finish().unwrap())
    }

    #[test]
    fn round_trips_every_encoding() {
        let data = b"hello otlp".repeat(100);
        assert_eq!(decompress("gzip", gzip(&data), 10_000).unwrap(), data);
        let z = zstd::encode_all(&data[..], 3).unwrap();
        assert_eq!(decompress("zstd", Bytes::from(z), 10_000).unwrap(), data);
        let s = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(decompress("snappy", Bytes::from(s), 10_000).unwrap(), data);
        let mut fw = snap::write::FrameEncoder::new(Vec::new());
        fw.write_all(&data).unwrap();
        let framed = fw.into_inner().unwrap();
        assert_eq!(decompress("x-snappy-framed", Bytes::from(framed.clone()), 10_000).unwrap(), data);
        assert_eq!(decompress("snappy", Bytes::from(framed), 10_000).unwrap(), data);
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zl.write_all(&data).unwrap();
        assert_eq!(decompress("deflate", Bytes::from(zl.finish().unwrap()), 10_000).unwrap(), data);
    }

    #[test]
    fn bombs_are_refused_not_expanded() {
        let bomb = gzip(&vec![0u8; 50 * 1024 * 1024]);
        assert!(bomb.len() < 100 * 1024);
        assert_eq!(decompress("gzip", bomb, 1024 * 1024), Err(DecodeError::TooLarge(1024 * 1024)));
        let z = zstd::encode_all(&vec![0u8; 10 * 1024 * 1024][..], 3).unwrap();
        assert_eq!(decompress("zstd", Bytes::from(z), 1024), Err(DecodeError::TooLarge(1024)));
        let s = snap::raw::Encoder::new().compress_vec(&vec![0u8; 1024 * 1024]).unwrap();
        assert_eq!(decompress("snappy", Bytes::from(s), 1024), Err(DecodeError::TooLarge(1024)));
    }

    #[test]
    fn the_largest_limit_does_not_overflow() {
        // `limit + 1` with u64::MAX wrapped to 0 and every compressed body came out empty.
        let data = b"hello otlp".repeat(100);
        assert_eq!(decompress("gzip", gzip(&data), u64::MAX).unwrap(), data);
        let z = zstd::encode_all(&data[..], 3).unwrap();
        assert_eq!(decompress("zstd", Bytes::from(z), u64::MAX).unwrap(), data);
        let s = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(decompress("snappy", Bytes::from(s), u64::MAX).unwrap(), data);
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(matches!(decompress("gzip", Bytes::from_static(b"not gzip"), 100), Err(DecodeError::Malformed(_))));
        assert_eq!(decompress("br", Bytes::new(), 100), Err(DecodeError::UnsupportedEncoding("br".into())));
        assert!(decode_request(Signal::Traces, Encoding::Protobuf, b"\xff\xff\xff").is_err());
        assert!(decode_request(Signal::Logs, Encoding::Json, b"{not json").is_err());
    }

    #[test]
    fn counts_items_without_decoding() {
        use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
        use opentelemetry_proto::tonic::metrics::v1::{
            metric, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
        };
        use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
        let spans = |n| ScopeSpans {
            spans: vec![Span { name: "s".into(), trace_id: vec![1; 16], ..Default::default() }; n],
            ..Default::default()
        };
        let t = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans { scope_spans: vec![spans(3), spans(2)], ..Default::default() }; 2],
        };
        assert_eq!(count_items(Signal::Traces, &t.encode_to_vec()), 10);
        let l = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs { log_records: vec![LogRecord::default(); 4], ..Default::default() }],
                ..Default::default()
            }],
        };
        assert_eq!(count_items(Signal::Logs, &l.encode_to_vec()), 4);
        let dp = || vec![NumberDataPoint::default(); 3];
        let m = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![
                        Metric {
                            name: "g".into(),
                            data: Some(metric::Data::Gauge(Gauge { data_points: dp() })),
                            ..Default::default()
                        },
                        Metric {
                            name: "s".into(),
                            data: Some(metric::Data::Sum(Sum { data_points: dp(), ..Default::default() })),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let body = m.encode_to_vec();
        assert_eq!(count_items(Signal::Metrics, &body), 6);
        assert_eq!(
            count_items(Signal::Metrics, &body),
            decode_request(Signal::Metrics, Encoding::Protobuf, &body).unwrap().items() as u64
        );
        assert_eq!(count_items(Signal::Traces, b"\xff\xff\xff"), 0);
    }

    #[test]
    fn decodes_otlp_json_with_hex_ids_and_string_ints() {
        let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
          "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
          "name":"GET /items","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
          "attributes":[{"key":"http.status_code","value":{"intValue":"200"}}]}]}]}]}"#;
        let b = decode_request(Signal::Traces, Encoding::Json, body).unwrap();
        let Batch::Traces(rs) = b else { panic!() };
        let sp = &rs[0].scope_spans[0].spans[0];
        assert_eq!(hex::encode(&sp.trace_id), "5b8efff798038103d269b633813fc60c");
        assert_eq!(sp.kind, 2);
        assert_eq!(sp.start_time_unix_nano, 1544712660000000000);
    }
}
