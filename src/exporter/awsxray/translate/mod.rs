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

/// The 64 KB document limit of PutTraceSegments: metadata goes first, then the document.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Serializes a document within the limit; `None` when even without metadata it is too large.
pub fn serialize_within_limit(doc: &mut Value) -> Option<(String, bool)> {
    let s = doc.to_string();
    if s.len() <= MAX_DOCUMENT_BYTES {
        return Some((s, false));
    }
    if let Some(o) = doc.as_object_mut() {
        o.remove("metadata");
    }
    let s = doc.to_string();
    (s.len() <= MAX_DOCUMENT_BYTES).then_some((s, true))
}

#[cfg(test)]
mod tests;
