//! A validating walk over an encoded OTLP export request that builds nothing.
//!
//! It accepts exactly what prost's decoding of the opentelemetry-proto types accepts (wire types
//! per field, UTF-8 strings, packed or unpacked repeated scalars, groups in unknown fields,
//! prost's recursion limit of 100), so a request it passes can be forwarded still encoded and
//! decoded later without failing. `tests/fuzz.rs` checks that equivalence on mutated requests.
//! Field numbers are those of opentelemetry-proto v1.x (`opentelemetry-proto` 0.33).

use crate::component::Signal;

/// prost's `RECURSION_LIMIT`.
const RECURSION_LIMIT: u32 = 100;

/// What a well-formed request holds, as far as the pipeline needs to know before decoding.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Scanned {
    /// Spans, metric data points or log records.
    pub items: usize,
    /// Every span and log record has ids of valid lengths (else the receiver must decode to
    /// reject the bad ones and answer with a partial success).
    pub ids_valid: bool,
    /// No metric holds two data fields (prost merges or replaces them: the count above may then
    /// differ from the decoded one).
    pub regular: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum M {
    TraceReq,
    ResourceSpans,
    ScopeSpans,
    Span,
    Event,
    Link,
    Status,
    LogReq,
    ResourceLogs,
    ScopeLogs,
    LogRecord,
    MetricReq,
    ResourceMetrics,
    ScopeMetrics,
    Metric,
    Gauge,
    Sum,
    Histogram,
    ExpHistogram,
    Summary,
    NumberPoint,
    HistogramPoint,
    ExpHistogramPoint,
    Buckets,
    SummaryPoint,
    Quantile,
    Exemplar,
    Resource,
    Scope,
    EntityRef,
    KeyValue,
    AnyValue,
    ArrayValue,
    KvList,
}

/// How a known field is encoded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum F {
    Varint,
    Fixed64,
    Fixed32,
    Str,
    Bytes,
    Msg(M),
    /// `repeated fixed64`/`double`: packed (length-delimited) or one value per field.
    RepFixed64,
    /// `repeated uint64`: packed or one varint per field.
    RepVarint,
}

fn field(m: M, n: u32) -> Option<F> {
    use F::*;
    Some(match (m, n) {
        (M::TraceReq, 1) => Msg(M::ResourceSpans),
        (M::ResourceSpans, 1) | (M::ResourceLogs, 1) | (M::ResourceMetrics, 1) => Msg(M::Resource),
        (M::ResourceSpans, 2) => Msg(M::ScopeSpans),
        (M::ResourceSpans | M::ResourceLogs | M::ResourceMetrics, 3) => Str,
        (M::ScopeSpans | M::ScopeLogs | M::ScopeMetrics, 1) => Msg(M::Scope),
        (M::ScopeSpans, 2) => Msg(M::Span),
        (M::ScopeSpans | M::ScopeLogs | M::ScopeMetrics, 3) => Str,
        (M::Span, 1 | 2 | 4) => Bytes,
        (M::Span, 3 | 5) => Str,
        (M::Span, 16) => Fixed32,
        (M::Span, 6 | 10 | 12 | 14) => Varint,
        (M::Span, 7 | 8) => Fixed64,
        (M::Span, 9) => Msg(M::KeyValue),
        (M::Span, 11) => Msg(M::Event),
        (M::Span, 13) => Msg(M::Link),
        (M::Span, 15) => Msg(M::Status),
        (M::Event, 1) => Fixed64,
        (M::Event, 2) => Str,
        (M::Event, 3) => Msg(M::KeyValue),
        (M::Event, 4) => Varint,
        (M::Link, 1 | 2) => Bytes,
        (M::Link, 3) => Str,
        (M::Link, 4) => Msg(M::KeyValue),
        (M::Link, 5) => Varint,
        (M::Link, 6) => Fixed32,
        (M::Status, 2) => Str,
        (M::Status, 3) => Varint,
        (M::LogReq, 1) => Msg(M::ResourceLogs),
        (M::ResourceLogs, 2) => Msg(M::ScopeLogs),
        (M::ScopeLogs, 2) => Msg(M::LogRecord),
        (M::LogRecord, 1 | 11) => Fixed64,
        (M::LogRecord, 2 | 7) => Varint,
        (M::LogRecord, 3 | 12) => Str,
        (M::LogRecord, 5) => Msg(M::AnyValue),
        (M::LogRecord, 6) => Msg(M::KeyValue),
        (M::LogRecord, 8) => Fixed32,
        (M::LogRecord, 9 | 10) => Bytes,
        (M::MetricReq, 1) => Msg(M::ResourceMetrics),
        (M::ResourceMetrics, 2) => Msg(M::ScopeMetrics),
        (M::ScopeMetrics, 2) => Msg(M::Metric),
        (M::Metric, 1..=3) => Str,
        (M::Metric, 5) => Msg(M::Gauge),
        (M::Metric, 7) => Msg(M::Sum),
        (M::Metric, 9) => Msg(M::Histogram),
        (M::Metric, 10) => Msg(M::ExpHistogram),
        (M::Metric, 11) => Msg(M::Summary),
        (M::Metric, 12) => Msg(M::KeyValue),
        (M::Gauge | M::Sum, 1) => Msg(M::NumberPoint),
        (M::Sum, 2 | 3) | (M::Histogram | M::ExpHistogram, 2) => Varint,
        (M::Histogram, 1) => Msg(M::HistogramPoint),
        (M::ExpHistogram, 1) => Msg(M::ExpHistogramPoint),
        (M::Summary, 1) => Msg(M::SummaryPoint),
        (M::NumberPoint, 7) => Msg(M::KeyValue),
        (M::NumberPoint, 2 | 3 | 4 | 6) => Fixed64,
        (M::NumberPoint, 5) => Msg(M::Exemplar),
        (M::NumberPoint, 8) => Varint,
        (M::HistogramPoint, 9) => Msg(M::KeyValue),
        (M::HistogramPoint, 2..=5 | 11 | 12) => Fixed64,
        (M::HistogramPoint, 6 | 7) => RepFixed64,
        (M::HistogramPoint, 8) => Msg(M::Exemplar),
        (M::HistogramPoint, 10) => Varint,
        (M::ExpHistogramPoint, 1) => Msg(M::KeyValue),
        (M::ExpHistogramPoint, 2..=5 | 7 | 12..=14) => Fixed64,
        (M::ExpHistogramPoint, 6 | 10) => Varint,
        (M::ExpHistogramPoint, 8 | 9) => Msg(M::Buckets),
        (M::ExpHistogramPoint, 11) => Msg(M::Exemplar),
        (M::Buckets, 1) => Varint,
        (M::Buckets, 2) => RepVarint,
        (M::SummaryPoint, 7) => Msg(M::KeyValue),
        (M::SummaryPoint, 2..=5) => Fixed64,
        (M::SummaryPoint, 6) => Msg(M::Quantile),
        (M::SummaryPoint, 8) => Varint,
        (M::Quantile, 1 | 2) => Fixed64,
        (M::Exemplar, 7) => Msg(M::KeyValue),
        (M::Exemplar, 2 | 3 | 6) => Fixed64,
        (M::Exemplar, 4 | 5) => Bytes,
        (M::Resource, 1) => Msg(M::KeyValue),
        (M::Resource, 2) => Varint,
        (M::Resource, 3) => Msg(M::EntityRef),
        (M::Scope, 1 | 2) => Str,
        (M::Scope, 3) => Msg(M::KeyValue),
        (M::Scope, 4) => Varint,
        (M::EntityRef, 1..=4) => Str,
        (M::KeyValue, 1) => Str,
        (M::KeyValue, 2) => Msg(M::AnyValue),
        (M::KeyValue, 3) => Varint,
        (M::AnyValue, 1) => Str,
        (M::AnyValue, 2 | 3 | 8) => Varint,
        (M::AnyValue, 4) => Fixed64,
        (M::AnyValue, 5) => Msg(M::ArrayValue),
        (M::AnyValue, 6) => Msg(M::KvList),
        (M::AnyValue, 7) => Bytes,
        (M::ArrayValue, 1) => Msg(M::AnyValue),
        (M::KvList, 1) => Msg(M::KeyValue),
        _ => return None,
    })
}

/// Wire types.
const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const SGROUP: u8 = 3;
const EGROUP: u8 = 4;
const I32: u8 = 5;

struct Walk {
    out: Scanned,
}

/// One varint as prost reads it: at most ten bytes, the tenth at most 1.
fn varint(buf: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for k in 0..10 {
        let b = *buf.get(*i)?;
        *i += 1;
        if k == 9 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f) << (7 * k);
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// A field key: (field number, wire type), rejected as prost's `decode_key` does.
fn key(buf: &[u8], i: &mut usize) -> Option<(u32, u8)> {
    let k = varint(buf, i)?;
    if k > u64::from(u32::MAX) {
        return None;
    }
    let wt = (k & 7) as u8;
    if wt > 5 {
        return None;
    }
    let tag = (k as u32) >> 3;
    (tag >= 1).then_some((tag, wt))
}

fn len_payload<'a>(buf: &'a [u8], i: &mut usize) -> Option<&'a [u8]> {
    let n = usize::try_from(varint(buf, i)?).ok()?;
    let end = i.checked_add(n)?;
    let p = buf.get(*i..end)?;
    *i = end;
    Some(p)
}

/// Skips an unknown field as prost's `skip_field` (which checks the recursion limit first).
fn skip(buf: &[u8], i: &mut usize, tag: u32, wt: u8, depth: u32) -> Option<()> {
    if depth == 0 {
        return None;
    }
    match wt {
        VARINT => varint(buf, i).map(|_| ()),
        I64 | I32 => {
            let n = if wt == I64 { 8 } else { 4 };
            let end = i.checked_add(n)?;
            (end <= buf.len()).then(|| *i = end)
        }
        LEN => len_payload(buf, i).map(|_| ()),
        SGROUP => loop {
            let (t, w) = key(buf, i)?;
            if w == EGROUP {
                return (t == tag).then_some(());
            }
            skip(buf, i, t, w, depth - 1)?;
        },
        _ => None,
    }
}

impl Walk {
    /// Validates the fields of one message of kind `m`; `depth` is prost's remaining recursion
    /// budget for this message's fields.
    fn message(&mut self, m: M, buf: &[u8], depth: u32) -> Option<()> {
        let mut i = 0;
        // Last-seen id lengths (a repeated singular field replaces the earlier one in prost).
        let (mut trace_id, mut span_id, mut parent) = (0usize, 0usize, 0usize);
        let mut data_fields = 0u32;
        while i < buf.len() {
            let (tag, wt) = key(buf, &mut i)?;
            let Some(f) = field(m, tag) else {
                skip(buf, &mut i, tag, wt, depth)?;
                continue;
            };
            match (f, wt) {
                (F::Varint, VARINT) | (F::RepVarint, VARINT) => {
                    varint(buf, &mut i)?;
                }
                (F::Fixed64, I64) | (F::RepFixed64, I64) => {
                    i = i.checked_add(8).filter(|&e| e <= buf.len())?;
                }
                (F::Fixed32, I32) => {
                    i = i.checked_add(4).filter(|&e| e <= buf.len())?;
                }
                (F::Str, LEN) => {
                    std::str::from_utf8(len_payload(buf, &mut i)?).ok()?;
                }
                (F::Bytes, LEN) => {
                    let n = len_payload(buf, &mut i)?.len();
                    match (m, tag) {
                        (M::Span, 1) | (M::LogRecord, 9) => trace_id = n,
                        (M::Span, 2) | (M::LogRecord, 10) => span_id = n,
                        (M::Span, 4) => parent = n,
                        _ => {}
                    }
                }
                (F::RepFixed64, LEN) => {
                    if len_payload(buf, &mut i)?.len() % 8 != 0 {
                        return None;
                    }
                }
                (F::RepVarint, LEN) => {
                    let p = len_payload(buf, &mut i)?;
                    let mut j = 0;
                    while j < p.len() {
                        varint(p, &mut j)?;
                    }
                }
                (F::Msg(sub), LEN) => {
                    if depth == 0 {
                        return None;
                    }
                    let p = len_payload(buf, &mut i)?;
                    if m == M::Metric {
                        data_fields += 1;
                    }
                    self.count(m, sub);
                    self.message(sub, p, depth - 1)?;
                }
                _ => return None,
            }
        }
        match m {
            M::Span if trace_id != 16 || span_id != 8 || (parent != 0 && parent != 8) => self.out.ids_valid = false,
            M::LogRecord if (trace_id != 0 && trace_id != 16) || (span_id != 0 && span_id != 8) => {
                self.out.ids_valid = false
            }
            M::Metric if data_fields > 1 => self.out.regular = false,
            _ => {}
        }
        Some(())
    }

    /// Counts the items a nested message of kind `sub` inside `parent` stands for.
    fn count(&mut self, parent: M, sub: M) {
        match (parent, sub) {
            (M::ScopeSpans, M::Span)
            | (M::ScopeLogs, M::LogRecord)
            | (M::Gauge | M::Sum, M::NumberPoint)
            | (M::Histogram, M::HistogramPoint)
            | (M::ExpHistogram, M::ExpHistogramPoint)
            | (M::Summary, M::SummaryPoint) => self.out.items += 1,
            _ => {}
        }
    }
}

/// Walks an encoded `Export{Trace,Metrics,Logs}ServiceRequest`; `None` when prost would refuse it.
pub fn scan(signal: Signal, buf: &[u8]) -> Option<Scanned> {
    let top = match signal {
        Signal::Traces => M::TraceReq,
        Signal::Metrics => M::MetricReq,
        Signal::Logs => M::LogReq,
    };
    let mut w = Walk { out: Scanned { items: 0, ids_valid: true, regular: true } };
    w.message(top, buf, RECURSION_LIMIT)?;
    Some(w.out)
}
