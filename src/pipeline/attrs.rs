//! The one set of attribute helpers translators and processors share: lookups by key, and the
//! text and JSON forms of OTLP values.

use base64::Engine as _;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use serde_json::{json, Value};

/// The attribute with key `k`.
pub fn find<'a>(attrs: &'a [KeyValue], k: &str) -> Option<&'a KeyValue> {
    attrs.iter().find(|a| a.key == k)
}

/// The string value of attribute `k` (other types: `None`).
pub fn str_attr<'a>(attrs: &'a [KeyValue], k: &str) -> Option<&'a str> {
    find(attrs, k).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.as_str()),
        _ => None,
    })
}

/// The integer value of attribute `k` (doubles truncated, numeric strings parsed).
pub fn int_attr(attrs: &[KeyValue], k: &str) -> Option<i64> {
    find(attrs, k).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        any_value::Value::IntValue(i) => Some(*i),
        any_value::Value::DoubleValue(d) => Some(*d as i64),
        any_value::Value::StringValue(s) => s.parse().ok(),
        _ => None,
    })
}

/// The text form of an attribute value, as the collector's `AsString`.
pub fn value_text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => fmt_f64(*d),
        Some(any_value::Value::BytesValue(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Some(any_value::Value::ArrayValue(a)) => {
            serde_json::to_string(&a.values.iter().map(|x| json(&Some(x.clone()))).collect::<Vec<_>>())
                .unwrap_or_default()
        }
        Some(any_value::Value::KvlistValue(kv)) => {
            let m: serde_json::Map<String, serde_json::Value> =
                kv.values.iter().map(|k| (k.key.clone(), json(&k.value))).collect();
            serde_json::Value::Object(m).to_string()
        }
        Some(any_value::Value::StringValueStrindex(i)) => i.to_string(),
        None => String::new(),
    }
}

fn json(v: &Option<AnyValue>) -> Value {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => serde_json::Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => serde_json::Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => serde_json::Value::from(*i),
        Some(any_value::Value::DoubleValue(d)) => serde_json::Value::from(*d),
        _ => serde_json::Value::String(value_text(v)),
    }
}

/// Floats as Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest, no exponent.
pub fn fmt_f64(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    format!("{v}")
}

/// An attribute value as JSON (what metadata holds).
pub fn to_json(v: &Option<AnyValue>) -> Value {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => json!(s),
        Some(any_value::Value::BoolValue(b)) => json!(b),
        Some(any_value::Value::IntValue(i)) => json!(i),
        Some(any_value::Value::DoubleValue(d)) => json!(d),
        Some(any_value::Value::BytesValue(b)) => json!(hex::encode(b)),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(|x| to_json(&Some(x.clone()))).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => {
            Value::Object(kv.values.iter().map(|k| (k.key.clone(), to_json(&k.value))).collect())
        }
        Some(any_value::Value::StringValueStrindex(i)) => json!(i),
        None => Value::Null,
    }
}
