//! OTLP span → X-Ray segment documents: pure functions (the clock, the feature gates and new
//! ids come in through `TranslateOptions` and the caller), following the Go exporter's
//! translator (contrib `exporter/awsxrayexporter/internal/translator`). Split by concern:
//! segment.rs (segment.go), annotations.rs (segment.go makeXRayAttributes), http.rs, cause.rs,
//! aws.rs.

mod annotations;
mod aws;
mod cause;
mod http;
mod segment;

pub(crate) use crate::pipeline::attrs::{int_attr, str_attr, to_json};
pub use annotations::fix_annotation_key;
pub use segment::{fix_segment_name, make_segment, seconds, segments, xray_trace_id};
use serde_json::Value;

/// Translation settings: the exporter's config, the feature gates as they were when the
/// exporter was built, and the current time.
#[derive(Debug, Clone)]
pub struct TranslateOptions {
    pub indexed_attributes: Vec<String>,
    pub index_all_attributes: bool,
    /// `aws_log_groups`: overrides the log groups found on the resource.
    pub log_groups: Vec<String>,
    /// Gate `exporter.awsxray.skiptimestampvalidation` (beta, on by default).
    pub skip_timestamp_validation: bool,
    /// Gate `exporter.xray.allowDot` (beta, on by default).
    pub allow_dot: bool,
    /// Seconds since the epoch, for the trace id epoch check.
    pub now_secs: i64,
}

impl Default for TranslateOptions {
    /// The Go collector's defaults: both beta gates on.
    fn default() -> Self {
        TranslateOptions {
            indexed_attributes: Vec::new(),
            index_all_attributes: false,
            log_groups: Vec::new(),
            skip_timestamp_validation: true,
            allow_dot: true,
            now_secs: 0,
        }
    }
}

/// Why a span produced no document.
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    InvalidTraceId(String),
    InvalidSpanId,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::InvalidTraceId(m) => f.write_str(m),
            SkipReason::InvalidSpanId => f.write_str("span id is not 8 bytes"),
        }
    }
}

/// Numbers and strings as Go's encoding/json prints them (segment.go MakeDocumentFromSegment
/// encodes with a json.Encoder): floats shortest-round-trip without `.0` (`1700000000`, `5`),
/// exponent form below 1e-6 and from 1e21 (`1e-7`, `1e+21`); `<`, `>`, `&`, U+2028 and U+2029
/// escaped as `\u003c`…  Object keys stay sorted (serde_json's order), where Go writes struct
/// fields in declaration order: the same JSON object either way.
struct GoJson;

impl serde_json::ser::Formatter for GoJson {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f64) -> std::io::Result<()> {
        let abs = v.abs();
        if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
            let s = format!("{v:e}");
            match s.split_once('e') {
                Some((m, e)) if !e.starts_with('-') => write!(w, "{m}e+{e}"),
                _ => w.write_all(s.as_bytes()),
            }
        } else {
            write!(w, "{v}")
        }
    }

    fn write_f32<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f32) -> std::io::Result<()> {
        self.write_f64(w, v as f64)
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(&mut self, w: &mut W, s: &str) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in s.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&s.as_bytes()[start..i])?;
            w.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(&s.as_bytes()[start..])
    }
}

/// A document as the Go exporter's JSON encoder writes it (without its trailing newline).
pub fn to_document(doc: &Value) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoJson);
    // Writing a Value to a Vec cannot fail (NaN and infinities are already null in a Value).
    if serde::Serialize::serialize(doc, &mut ser).is_err() {
        return doc.to_string();
    }
    String::from_utf8(out).unwrap_or_else(|_| doc.to_string())
}

/// The 64 KB document limit of PutTraceSegments: metadata goes first, then the document.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Serializes a document within the limit; `None` when even without metadata it is too large.
pub fn serialize_within_limit(doc: &mut Value) -> Option<(String, bool)> {
    let s = to_document(doc);
    if s.len() <= MAX_DOCUMENT_BYTES {
        return Some((s, false));
    }
    if let Some(o) = doc.as_object_mut() {
        o.remove("metadata");
    }
    let s = to_document(doc);
    (s.len() <= MAX_DOCUMENT_BYTES).then_some((s, true))
}

#[cfg(test)]
mod tests;
