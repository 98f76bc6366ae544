//! Annotations, metadata and `user` from the attributes the other blocks left over
//! (segment.go `makeXRayAttributes`, `annotationValue`, `fixAnnotationKey`).

use super::TranslateOptions;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};

/// segment.go: the span attribute listing further keys to index (a list of strings).
pub use crate::aws::xray::ANNOTATIONS as ANNOTATIONS_ATTRIBUTE;
/// segment.go: `aws.xray.metadata.<namespace>` holds a JSON object for that namespace.
pub use crate::aws::xray::METADATA_PREFIX;
const DEFAULT_NAMESPACE: &str = "default";
const RESOURCE_PREFIX: &str = "otel.resource.";

/// segment.go fixAnnotationKey: ASCII letters and digits stay, `.` stays when the
/// `exporter.xray.allowDot` gate is on, every other character becomes `_`.
pub fn fix_annotation_key(key: &str, allow_dot: bool) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() || (allow_dot && c == '.') { c } else { '_' }).collect()
}

/// segment.go annotationValue: only strings, integers, doubles and booleans can be annotations.
pub fn annotation_value(v: &Option<AnyValue>) -> Option<Value> {
    match v.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(json!(s)),
        any_value::Value::BoolValue(b) => Some(json!(b)),
        any_value::Value::IntValue(i) => Some(json!(i)),
        any_value::Value::DoubleValue(d) => Some(json!(d)),
        _ => None,
    }
}

/// pcommon `Value.AsRaw` as encoding/json prints it: `None` for an empty value (Go skips
/// those), bytes in base64, maps and lists recursively.
pub fn raw_value(v: &Option<AnyValue>) -> Option<Value> {
    use base64::Engine as _;
    Some(match v.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => json!(s),
        any_value::Value::BoolValue(b) => json!(b),
        any_value::Value::IntValue(i) => json!(i),
        any_value::Value::DoubleValue(d) => json!(d),
        any_value::Value::BytesValue(b) => json!(base64::engine::general_purpose::STANDARD.encode(b)),
        any_value::Value::ArrayValue(a) => {
            Value::Array(a.values.iter().map(|x| raw_value(&Some(x.clone())).unwrap_or(Value::Null)).collect())
        }
        any_value::Value::KvlistValue(kv) => Value::Object(
            kv.values.iter().map(|k| (k.key.clone(), raw_value(&k.value).unwrap_or(Value::Null))).collect(),
        ),
        any_value::Value::StringValueStrindex(i) => json!(i),
    })
}

/// segment.go makeXRayAttributes decodes `aws.xray.metadata.*` with encoding/json into `any`:
/// every number becomes a float64 (so integers beyond 2^53 lose digits, as they do in Go).
fn go_json_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) => n.as_f64().map(Value::from).unwrap_or(Value::Number(n)),
        Value::Array(a) => Value::Array(a.into_iter().map(go_json_numbers).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, go_json_numbers(v))).collect()),
        other => other,
    }
}

/// What makeXRayAttributes produces.
#[derive(Debug, Default)]
pub struct XrayAttributes {
    pub user: Option<String>,
    pub annotations: Map<String, Value>,
    /// namespace → object (`default` holds the plain attributes).
    pub metadata: BTreeMap<String, Value>,
    /// A NaN or infinite double is among the values written: Go's JSON encoder refuses the
    /// document ("json: unsupported value"), so the span is not exported.
    pub non_finite: bool,
}

/// Whether a value holds a NaN or infinite double (at any depth), which encoding/json cannot
/// write (serde_json would write `null`).
pub fn non_finite(v: &Option<AnyValue>) -> bool {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::DoubleValue(d)) => !d.is_finite(),
        Some(any_value::Value::ArrayValue(a)) => a.values.iter().any(|x| non_finite(&Some(x.clone()))),
        Some(any_value::Value::KvlistValue(kv)) => kv.values.iter().any(|k| non_finite(&k.value)),
        _ => false,
    }
}

/// segment.go makeXRayAttributes: `attrs` are the span attributes the http, cause, aws and sql
/// blocks did not consume (plus the indexed ones put back); the resource's attributes are
/// written (as `otel.resource.<key>`) only when `store_resource` (segments, not subsegments).
pub fn make(attrs: &[&KeyValue], res: &[KeyValue], store_resource: bool, opts: &TranslateOptions) -> XrayAttributes {
    let mut out = XrayAttributes::default();
    // enduser.id becomes `user` and leaves the attributes.
    let mut rest: Vec<&KeyValue> = Vec::with_capacity(attrs.len());
    for a in attrs {
        if a.key == "enduser.id" {
            out.user = match a.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) if !s.is_empty() => Some(s.clone()),
                _ => None,
            };
        } else {
            rest.push(a);
        }
    }
    if rest.is_empty() && (!store_resource || res.is_empty()) {
        return out;
    }
    let mut indexed: HashSet<&str> = HashSet::new();
    if !opts.index_all_attributes {
        indexed.extend(opts.indexed_attributes.iter().map(String::as_str));
    }
    // aws.xray.annotations (a list) adds keys to index and is not written itself.
    if let Some(pos) = rest.iter().position(|a| a.key == ANNOTATIONS_ATTRIBUTE) {
        if let Some(any_value::Value::ArrayValue(list)) = rest[pos].value.as_ref().and_then(|v| v.value.as_ref()) {
            for v in &list.values {
                if let Some(any_value::Value::StringValue(s)) = &v.value {
                    indexed.insert(s.as_str());
                }
            }
            rest.remove(pos);
        }
    }
    let mut default_md = Map::new();
    if store_resource {
        for a in res {
            let key = format!("{RESOURCE_PREFIX}{}", a.key);
            match annotation_value(&a.value) {
                Some(v) if opts.index_all_attributes || indexed.contains(key.as_str()) => {
                    out.non_finite |= non_finite(&a.value);
                    out.annotations.insert(fix_annotation_key(&key, opts.allow_dot), v);
                }
                _ => {
                    if let Some(v) = raw_value(&a.value) {
                        out.non_finite |= non_finite(&a.value);
                        default_md.insert(key, v);
                    }
                }
            }
        }
    }
    for a in rest {
        if opts.index_all_attributes || indexed.contains(a.key.as_str()) {
            // Indexed but not a scalar (list, map, bytes, empty): written nowhere, as in Go.
            if let Some(v) = annotation_value(&a.value) {
                out.non_finite |= non_finite(&a.value);
                out.annotations.insert(fix_annotation_key(&a.key, opts.allow_dot), v);
            }
            continue;
        }
        let text = match a.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        };
        match (a.key.strip_prefix(METADATA_PREFIX), text) {
            (Some(ns), Some(s)) => match serde_json::from_str::<Value>(s).map(go_json_numbers) {
                Ok(Value::Object(m)) if ns.eq_ignore_ascii_case(DEFAULT_NAMESPACE) => default_md.extend(m),
                Ok(Value::Null) if ns.eq_ignore_ascii_case(DEFAULT_NAMESPACE) => {}
                Ok(v @ (Value::Object(_) | Value::Null)) => {
                    out.metadata.insert(ns.to_string(), v);
                }
                // Not a JSON object: the attribute stays as it is.
                _ => {
                    default_md.insert(a.key.clone(), json!(s));
                }
            },
            _ => {
                if let Some(v) = raw_value(&a.value) {
                    out.non_finite |= non_finite(&a.value);
                    default_md.insert(a.key.clone(), v);
                }
            }
        }
    }
    if !default_md.is_empty() {
        out.metadata.insert(DEFAULT_NAMESPACE.into(), Value::Object(default_md));
    }
    out
}
