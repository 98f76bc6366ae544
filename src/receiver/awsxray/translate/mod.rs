//! X-Ray segment document → OTLP spans: a pure function following the Go receiver's translator
//! (contrib `receiver/awsxrayreceiver/internal/translator`): translator.go (ids, kinds, the
//! subsegment tree), name.go, http.go, cause.go, aws.go, sdk.go, sql.go, annotations.go,
//! metadata.go. One document (a segment with its embedded subsegments, or one independent
//! subsegment) becomes one `ResourceSpans` with one scope and a span per (sub)segment.

mod attrs;
mod parts;

use super::segment::Segment;
use crate::aws::xray;
use attrs::Attrs;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

/// Why a document produced no spans, and how many spans that refuses (translator.go `ToTraces`:
/// 1 when the JSON cannot be decoded, else the segment and all its subsegments).
#[derive(Debug, Clone, PartialEq)]
pub struct TranslateError {
    pub spans: usize,
    pub message: String,
}

impl std::fmt::Display for TranslateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// translator.go `ToTraces`: the spans of one segment document and their count. Bytes that are
/// not UTF-8 become U+FFFD first, as Go's JSON decoder reads them.
pub fn to_resource_spans(raw: &[u8]) -> Result<(ResourceSpans, usize), TranslateError> {
    let text = String::from_utf8_lossy(raw);
    let seg: Segment = serde_json::from_str(&text).map_err(|e| TranslateError { spans: 1, message: e.to_string() })?;
    let count = seg.count();
    let fail = |message: String| TranslateError { spans: count, message };
    seg.validate().map_err(fail)?;
    let mut spans = Vec::with_capacity(count);
    // An independent subsegment (sent on its own, with a parent id and `type: subsegment`) keeps
    // the kind its namespace gives; a segment is the server side of a request.
    let is_subsegment =
        seg.parent_id.is_some() && seg.type_.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("subsegment"));
    let trace_id = seg.trace_id.as_deref().unwrap_or_default();
    seg_to_spans(&seg, trace_id, None, is_subsegment, &mut spans).map_err(fail)?;
    let resource = Resource { attributes: resource_attributes(&seg).into_vec(), ..Default::default() };
    let rs = ResourceSpans {
        resource: Some(resource),
        scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
        ..Default::default()
    };
    Ok((rs, count))
}

/// translator.go `segToSpans`: this (sub)segment's span, then its subsegments' (depth first),
/// children pointing at it. Returns the index of this segment's span.
fn seg_to_spans(
    seg: &Segment,
    trace_id: &str,
    parent_id: Option<&str>,
    is_subsegment: bool,
    spans: &mut Vec<Span>,
) -> Result<usize, String> {
    let index = spans.len();
    spans.push(make_span(seg, trace_id, parent_id, is_subsegment)?);
    for child in seg.subsegments.iter().flatten() {
        let c = seg_to_spans(child, trace_id, seg.id.as_deref(), true, spans)?;
        // A cause on the parent set its status to Error; a child's more specific code wins (the
        // codes are only Unset and Error today, so this keeps Error).
        let child_code = spans.get(c).map_or(0, status_code);
        if seg.cause.is_some() && child_code != StatusCode::Unset as i32 {
            if let Some(s) = spans.get_mut(index).and_then(|s| s.status.as_mut()) {
                if s.code == StatusCode::Error as i32 {
                    s.code = child_code;
                }
            }
        }
    }
    Ok(index)
}

fn status_code(s: &Span) -> i32 {
    s.status.as_ref().map_or(StatusCode::Unset as i32, |s| s.code)
}

/// translator.go `populateSpan`.
fn make_span(seg: &Segment, trace_id: &str, parent_id: Option<&str>, is_subsegment: bool) -> Result<Span, String> {
    let mut span = Span::default();
    let mut attrs = Attrs::with_capacity(15);
    parts::name_and_namespace(seg, &mut span, &mut attrs)?;
    span.trace_id = decode_trace_id(seg.trace_id.as_deref().unwrap_or(trace_id))?.to_vec();
    let parent = match parent_id.or(seg.parent_id.as_deref()) {
        Some(p) => decode_span_id(Some(p))?,
        None => [0; 8],
    };
    span.span_id = decode_span_id(seg.id.as_deref())?.to_vec();
    if !is_subsegment {
        span.kind = SpanKind::Server as i32;
    }
    if parent != [0; 8] {
        span.parent_span_id = parent.to_vec();
    }
    // Go dereferences `start_time` of embedded subsegments unchecked (a crash); refused here.
    let start = seg.start_time.ok_or("a subsegment has no \"start_time\"")?;
    span.start_time_unix_nano = seconds_to_nanos(start);
    if let Some(end) = seg.end_time {
        span.end_time_unix_nano = seconds_to_nanos(end);
    }
    attrs.put_opt_bool(xray::IN_PROGRESS, seg.in_progress);
    attrs.put_opt_str("enduser.id", seg.user.as_deref());
    parts::http(seg, &mut span, &mut attrs);
    parts::cause(seg, &mut span)?;
    parts::aws_to_span(seg.aws.as_ref(), &mut attrs);
    parts::sql(seg.sql.as_ref(), &mut attrs)?;
    attrs.put_opt_bool(xray::TRACED, seg.traced);
    parts::annotations(seg.annotations.as_ref(), &mut attrs);
    parts::metadata(seg.metadata.as_ref(), &mut attrs);
    span.attributes = attrs.into_vec();
    Ok(span)
}

/// translator.go `populateResource` (with aws.go `addAWSToResource` and sdk.go).
fn resource_attributes(seg: &Segment) -> Attrs {
    let mut attrs = Attrs::with_capacity(15);
    attrs.put_opt_str("service.name", seg.name.as_deref());
    parts::aws_to_resource(seg.aws.as_ref(), &mut attrs);
    parts::sdk_to_resource(seg, &mut attrs);
    if let Some(s) = &seg.service {
        attrs.put_opt_str("service.version", s.version.as_deref());
    }
    attrs.put_opt_str(xray::RESOURCE_ARN, seg.resource_arn.as_deref());
    attrs
}

/// time.go `floatSecToNanoEpoch` (Go converts float64 to uint64; out of range saturates here).
fn seconds_to_nanos(secs: f64) -> u64 {
    (secs * 1e9) as u64
}

/// translator.go `decodeXRayTraceID`: `1-5f84c7a1-e7d1852db8c4fd35d88bf49a` → the 16 bytes of
/// `5f84c7a1e7d1852db8c4fd35d88bf49a`. Go checks only the minimum length and crashes on a longer
/// id (the hex decoder overruns its 16 bytes); oxidot refuses it.
pub fn decode_trace_id(id: &str) -> Result<[u8; 16], String> {
    let b = id.as_bytes();
    if b.len() < 35 {
        return Err("traceID length is wrong".into());
    }
    if b.len() > 35 {
        return Err(format!("traceID is longer than 35 bytes: {} bytes", b.len()));
    }
    let mut hex_digits = Vec::with_capacity(32);
    hex_digits.extend_from_slice(&b[2..10]);
    hex_digits.extend_from_slice(&b[11..]);
    let mut out = [0u8; 16];
    hex::decode_to_slice(&hex_digits, &mut out).map_err(|e| format!("encoding/hex: {e}"))?;
    Ok(out)
}

/// translator.go `decodeXRaySpanID`: 16 hex digits.
pub fn decode_span_id(id: Option<&str>) -> Result<[u8; 8], String> {
    let id = id.ok_or("spanid is null")?;
    if id.len() != 16 {
        return Err("spanID length is wrong".into());
    }
    let mut out = [0u8; 8];
    hex::decode_to_slice(id, &mut out).map_err(|e| format!("encoding/hex: {e}"))?;
    Ok(out)
}

/// http.go via tracetranslator `StatusCodeFromHTTP`: 100–398 leave the status unset.
fn status_from_http(code: i64) -> StatusCode {
    if (100..399).contains(&code) {
        StatusCode::Unset
    } else {
        StatusCode::Error
    }
}

fn set_status_code(span: &mut Span, code: StatusCode) {
    span.status.get_or_insert_with(Status::default).code = code as i32;
}

#[cfg(test)]
mod tests;
