//! OTLP span → X-Ray segment document: a pure function (the clock and ids come in through
//! `TranslateOptions`), following the Go exporter's translator (contrib
//! `exporter/awsxrayexporter/internal/translator`). Split by concern: http.rs, cause.rs, aws.rs.

mod aws;

mod cause;
mod http;
mod sql;

pub(crate) use crate::pipeline::attrs::{str_attr, to_json};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, Span};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Translation settings from the exporter config plus the current time.
#[derive(Debug, Clone, Default)]
pub struct TranslateOptions {
    pub indexed_attributes: Vec<String>,
    pub index_all_attributes: bool,
    /// `aws_log_groups`: overrides the log groups found on the resource.
    pub log_groups: Vec<String>,
    pub skip_timestamp_validation: bool,
    /// Seconds since the epoch, for the trace id epoch check.
    pub now_secs: i64,
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

const MAX_AGE_SECS: i64 = 60 * 60 * 24 * 28; // X-Ray keeps 30 days; stay inside
const MAX_SKEW_SECS: i64 = 60 * 5;
const MAX_NAME_LEN: usize = 200;

/// `1-<8 hex epoch>-<24 hex>` from an OTLP trace id, checking that the first four bytes are a
/// plausible epoch (X-Ray rejects others) unless told not to.
pub fn xray_trace_id(id: &[u8], opts: &TranslateOptions) -> Result<String, SkipReason> {
    if id.len() != 16 {
        return Err(SkipReason::InvalidTraceId(format!("trace id must be 16 bytes, got {}", id.len())));
    }
    let epoch = u32::from_be_bytes([id[0], id[1], id[2], id[3]]) as i64;
    if !opts.skip_timestamp_validation
        && (epoch < opts.now_secs - MAX_AGE_SECS || epoch > opts.now_secs + MAX_SKEW_SECS)
    {
        return Err(SkipReason::InvalidTraceId(format!(
            "invalid xray traceid: {}: its first 4 bytes are not a recent epoch (use an X-Ray id generator in the SDK, or skip_timestamp_validation)",
            hex::encode(id)
        )));
    }
    Ok(format!("1-{}-{}", hex::encode(&id[..4]), hex::encode(&id[4..])))
}

/// Seconds with microsecond precision.
fn seconds(ns: u64) -> f64 {
    (ns / 1_000) as f64 / 1_000_000.0
}

/// Removes characters X-Ray does not allow in names and caps the length.
pub fn fix_segment_name(name: &str) -> String {
    let kept: String = name
        .chars()
        .filter(|c| {
            c.is_alphanumeric()
                || matches!(c, ' ' | '_' | '.' | ':' | '/' | '%' | '&' | '#' | '=' | '+' | ',' | '\\' | '-' | '@')
        })
        .collect();
    if kept.is_empty() {
        return "span".into();
    }
    kept.chars().take(MAX_NAME_LEN).collect()
}

/// Annotation keys allow letters, digits and `_` only.
pub fn fix_annotation_key(k: &str) -> String {
    k.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

fn annotation_value(v: &Option<AnyValue>) -> Option<Value> {
    match v.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(json!(s)),
        any_value::Value::BoolValue(b) => Some(json!(b)),
        any_value::Value::IntValue(i) => Some(json!(i)),
        any_value::Value::DoubleValue(d) => Some(json!(d)),
        _ => None,
    }
}

fn is_aws_sdk_span(attrs: &[KeyValue]) -> bool {
    str_attr(attrs, "rpc.system") == Some("aws-api")
}

/// The segment name and namespace, by the Go exporter's precedence.
fn name_and_namespace(span: &Span, res: &[KeyValue]) -> (String, Option<&'static str>) {
    let a = &span.attributes;
    let kind = span.kind;
    let server = kind == SpanKind::Server as i32 || kind == SpanKind::Consumer as i32;
    let client = kind == SpanKind::Client as i32 || kind == SpanKind::Producer as i32;
    let mut name: Option<String> = None;
    let mut namespace = None;
    if server {
        name = str_attr(a, "aws.local.service").map(str::to_string);
    }
    if client {
        if let Some(r) = str_attr(a, "aws.remote.service") {
            let r = if is_aws_sdk_span(a) { r.strip_prefix("AWS.SDK.").unwrap_or(r) } else { r };
            name = Some(r.to_string());
        }
    }
    if name.is_none() {
        name = str_attr(a, "peer.service").map(str::to_string);
    }
    if is_aws_sdk_span(a) {
        namespace = Some("aws");
    }
    if name.is_none() {
        if let Some(s) =
            str_attr(a, "aws.service").or_else(|| is_aws_sdk_span(a).then(|| str_attr(a, "rpc.service")).flatten())
        {
            name = Some(s.to_string());
            namespace.get_or_insert("aws");
        }
    }
    if name.is_none() {
        if let Some(db) = str_attr(a, "db.name").or_else(|| str_attr(a, "db.namespace")) {
            let mut n = db.to_string();
            if let Some(host) = str_attr(a, "db.connection_string")
                .and_then(|u| u.trim_start_matches("jdbc:").parse::<::http::Uri>().ok())
                .and_then(|u| u.host().map(str::to_string))
            {
                n = format!("{n}@{host}");
            }
            name = Some(n);
        }
    }
    if name.is_none() && kind == SpanKind::Server as i32 {
        name = str_attr(res, "service.name").map(str::to_string);
    }
    for k in ["rpc.service", "http.host", "server.address", "net.peer.name"] {
        if name.is_none() {
            name = str_attr(a, k).map(str::to_string);
        }
    }
    let name = fix_segment_name(&name.unwrap_or_else(|| span.name.clone()));
    if namespace.is_none() && kind == SpanKind::Client as i32 {
        namespace = Some("remote");
    }
    (name, namespace)
}

/// Attributes the translator consumes into dedicated blocks (not annotations or metadata).
fn consumed(span: &Span, k: &str) -> bool {
    http::CONSUMED.contains(&k)
        || matches!(k, "aws.local.service" | "aws.remote.service" | "peer.service" | "enduser.id")
        || cause::consumes(span, k)
        || sql::consumes(span, k)
        || aws::CONSUMED.contains(&k)
}

/// Translates one span; `Err` when X-Ray cannot take it (the exporter counts and logs it).
pub fn segment(span: &Span, resource: &Option<Resource>, opts: &TranslateOptions) -> Result<Value, SkipReason> {
    let res: &[KeyValue] = resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]);
    let trace_id = xray_trace_id(&span.trace_id, opts)?;
    if span.span_id.len() != 8 {
        return Err(SkipReason::InvalidSpanId);
    }
    let (name, namespace) = name_and_namespace(span, res);
    let mut doc = Map::new();
    doc.insert("name".into(), json!(name));
    doc.insert("id".into(), json!(hex::encode(&span.span_id)));
    doc.insert("trace_id".into(), json!(trace_id));
    doc.insert("start_time".into(), json!(seconds(span.start_time_unix_nano)));
    doc.insert("end_time".into(), json!(seconds(span.end_time_unix_nano)));
    if span.parent_span_id.len() == 8 {
        doc.insert("parent_id".into(), json!(hex::encode(&span.parent_span_id)));
        if span.kind != SpanKind::Server as i32 && span.kind != SpanKind::Consumer as i32 {
            doc.insert("type".into(), json!("subsegment"));
        }
    }
    if let Some(ns) = namespace {
        doc.insert("namespace".into(), json!(ns));
    }
    if let Some(h) = http::block(span) {
        doc.insert("http".into(), h);
    }
    let c = cause::cause(span, res);
    if c.error {
        doc.insert("error".into(), json!(true));
    }
    if c.fault {
        doc.insert("fault".into(), json!(true));
    }
    if c.throttle {
        doc.insert("throttle".into(), json!(true));
    }
    if let Some(cause) = c.cause {
        doc.insert("cause".into(), cause);
    }
    if let Some(origin) = aws::origin(res) {
        doc.insert("origin".into(), json!(origin));
    }
    let aws_block = aws::block(span, res, &opts.log_groups);
    if !aws_block.is_empty() {
        doc.insert("aws".into(), Value::Object(aws_block));
    }
    if let Some(v) = str_attr(res, "service.version").or_else(|| str_attr(res, "container.image.tag")) {
        doc.insert("service".into(), json!({"version": v}));
    }
    if let Some(u) = str_attr(&span.attributes, "enduser.id") {
        doc.insert("user".into(), json!(u));
    }
    if let Some(sql) = sql::sql(span) {
        doc.insert("sql".into(), sql);
    }
    if !span.links.is_empty() {
        let links: Vec<Value> = span
            .links
            .iter()
            .filter_map(|l| {
                let tid =
                    xray_trace_id(&l.trace_id, &TranslateOptions { skip_timestamp_validation: true, ..opts.clone() })
                        .ok()?;
                let mut o = json!({"trace_id": tid, "id": hex::encode(&l.span_id)});
                if !l.attributes.is_empty() {
                    o["attributes"] =
                        Value::Object(l.attributes.iter().map(|a| (a.key.clone(), to_json(&a.value))).collect());
                }
                Some(o)
            })
            .collect();
        doc.insert("links".into(), Value::Array(links));
    }
    // Remaining attributes: annotations when indexed, else metadata (the resource's too).
    let mut annotations: BTreeMap<String, Value> = BTreeMap::new();
    let mut metadata: BTreeMap<String, Value> = BTreeMap::new();
    for a in span.attributes.iter().filter(|a| !consumed(span, &a.key)) {
        let indexed = opts.index_all_attributes || opts.indexed_attributes.contains(&a.key);
        match annotation_value(&a.value).filter(|_| indexed) {
            Some(v) => {
                annotations.insert(fix_annotation_key(&a.key), v);
            }
            None => {
                metadata.insert(a.key.clone(), to_json(&a.value));
            }
        }
    }
    for a in res {
        metadata.insert(format!("otel.resource.{}", a.key), to_json(&a.value));
    }
    if !annotations.is_empty() {
        doc.insert("annotations".into(), json!(annotations));
    }
    if !metadata.is_empty() {
        doc.insert("metadata".into(), json!({"default": metadata}));
    }
    Ok(Value::Object(doc))
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
mod parts_tests;
#[cfg(test)]
mod tests;
