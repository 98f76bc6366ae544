//! Attribute actions shared by the `attributes` and `resource` processors, with the Go
//! collector's `actions` keys and semantics: insert, update, upsert, delete, hash, extract, convert.

use crate::config::ConfigError;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue, KeyValueList};
use regex::Regex;
use serde::Deserialize;
use serde_yaml_ng::Value;
use sha2::{Digest, Sha256};

/// One entry of `actions:`.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ActionConfig {
    pub key: Option<String>,
    pub pattern: Option<String>,
    pub action: String,
    pub value: Option<Value>,
    pub from_attribute: Option<String>,
    pub from_context: Option<String>,
    pub converted_type: Option<String>,
}

#[derive(Debug, Clone)]
enum Source {
    Value(AnyValue),
    FromAttribute(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Converted {
    Int,
    Double,
    String,
}

#[derive(Debug, Clone)]
enum Op {
    Insert(Source),
    Update(Source),
    Upsert(Source),
    Delete,
    Hash,
    Extract(Regex),
    Convert(Converted),
}

/// A validated, compiled action.
#[derive(Debug, Clone)]
pub struct Action {
    key: Option<String>,
    key_pattern: Option<Regex>,
    op: Op,
}

/// YAML value → OTLP value, keeping the YAML type.
pub fn any_from_yaml(v: &Value) -> AnyValue {
    let value = match v {
        Value::Bool(b) => Some(any_value::Value::BoolValue(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(any_value::Value::IntValue(i)),
            None => Some(any_value::Value::DoubleValue(n.as_f64().unwrap_or(0.0))),
        },
        Value::String(s) => Some(any_value::Value::StringValue(s.clone())),
        Value::Sequence(seq) => {
            Some(any_value::Value::ArrayValue(ArrayValue { values: seq.iter().map(any_from_yaml).collect() }))
        }
        Value::Mapping(m) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: m
                .iter()
                .map(|(k, v)| KeyValue {
                    key: crate::config::expand::key_text(k),
                    value: Some(any_from_yaml(v)),
                    ..Default::default()
                })
                .collect(),
        })),
        Value::Tagged(t) => return any_from_yaml(&t.value),
        Value::Null => None,
    };
    AnyValue { value }
}

/// The text form of a value (what `hash`, `extract` and conversions read).
pub fn any_to_string(v: &AnyValue) -> String {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BytesValue(b)) => hex::encode(b),
        Some(any_value::Value::ArrayValue(a)) => {
            format!("[{}]", a.values.iter().map(any_to_string).collect::<Vec<_>>().join(","))
        }
        Some(any_value::Value::KvlistValue(kv)) => format!(
            "{{{}}}",
            kv.values
                .iter()
                .map(|k| format!("{}:{}", k.key, k.value.as_ref().map(any_to_string).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Some(any_value::Value::StringValueStrindex(i)) => i.to_string(),
        None => String::new(),
    }
}

pub fn string_value(s: impl Into<String>) -> AnyValue {
    AnyValue { value: Some(any_value::Value::StringValue(s.into())) }
}

/// Validates and compiles `actions` (errors name `base::actions::<i>::<key>`).
pub fn compile(actions: &[ActionConfig], base: &str) -> Result<Vec<Action>, Vec<ConfigError>> {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (i, a) in actions.iter().enumerate() {
        let p = |k: &str| format!("{base}::{i}::{k}");
        let key = a.key.clone().filter(|k| !k.is_empty());
        let key_pattern = match &a.pattern {
            Some(pat) if a.action != "extract" => match Regex::new(pat) {
                Ok(r) => Some(r),
                Err(e) => {
                    errs.push(ConfigError::new(p("pattern"), format!("invalid regexp: {e}")));
                    continue;
                }
            },
            _ => None,
        };
        if key.is_none() && key_pattern.is_none() {
            errs.push(ConfigError::new(p("key"), "missing required field \"key\" (or \"pattern\")"));
            continue;
        }
        let source = || -> Result<Source, ConfigError> {
            if a.from_context.is_some() {
                return Err(ConfigError::new(p("from_context"), "from_context is not supported by oxidot yet"));
            }
            match (&a.value, &a.from_attribute) {
                (Some(v), None) => Ok(Source::Value(any_from_yaml(v))),
                (None, Some(f)) => Ok(Source::FromAttribute(f.clone())),
                _ => Err(ConfigError::new(
                    p("value"),
                    format!("action {:?} needs exactly one of \"value\", \"from_attribute\"", a.action),
                )),
            }
        };
        let single_key = |errs: &mut Vec<ConfigError>| {
            if key.is_none() {
                errs.push(ConfigError::new(
                    p("key"),
                    format!("action {:?} needs \"key\" (a pattern is not enough)", a.action),
                ));
                false
            } else {
                true
            }
        };
        let op = match a.action.to_ascii_lowercase().as_str() {
            "insert" | "update" | "upsert" => {
                if !single_key(&mut errs) {
                    continue;
                }
                match source() {
                    Ok(s) => match a.action.to_ascii_lowercase().as_str() {
                        "insert" => Op::Insert(s),
                        "update" => Op::Update(s),
                        _ => Op::Upsert(s),
                    },
                    Err(e) => {
                        errs.push(e);
                        continue;
                    }
                }
            }
            "delete" => Op::Delete,
            "hash" => Op::Hash,
            "extract" => {
                if !single_key(&mut errs) {
                    continue;
                }
                let Some(pat) = &a.pattern else {
                    errs.push(ConfigError::new(
                        p("pattern"),
                        "action \"extract\" needs \"pattern\" with named subexpressions",
                    ));
                    continue;
                };
                match Regex::new(pat) {
                    Ok(r) if r.capture_names().flatten().next().is_some() => Op::Extract(r),
                    Ok(_) => {
                        errs.push(ConfigError::new(
                            p("pattern"),
                            "the pattern of an extract action needs named subexpressions like (?P<name>...)",
                        ));
                        continue;
                    }
                    Err(e) => {
                        errs.push(ConfigError::new(p("pattern"), format!("invalid regexp: {e}")));
                        continue;
                    }
                }
            }
            "convert" => {
                if !single_key(&mut errs) {
                    continue;
                }
                match a.converted_type.as_deref() {
                    Some("int") => Op::Convert(Converted::Int),
                    Some("double") => Op::Convert(Converted::Double),
                    Some("string") => Op::Convert(Converted::String),
                    other => {
                        errs.push(ConfigError::new(
                            p("converted_type"),
                            format!("converted_type must be int, double or string (got {other:?})"),
                        ));
                        continue;
                    }
                }
            }
            other => {
                errs.push(ConfigError::new(
                    p("action"),
                    format!(
                        "unsupported action {other:?} (valid: insert, update, upsert, delete, hash, extract, convert)"
                    ),
                ));
                continue;
            }
        };
        out.push(Action { key, key_pattern, op });
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs)
    }
}

fn find(attrs: &[KeyValue], key: &str) -> Option<usize> {
    attrs.iter().position(|kv| kv.key == key)
}

fn put(attrs: &mut Vec<KeyValue>, key: &str, v: AnyValue) {
    match find(attrs, key) {
        Some(i) => attrs[i].value = Some(v),
        None => attrs.push(KeyValue { key: key.to_string(), value: Some(v), ..Default::default() }),
    }
}

fn resolve(attrs: &[KeyValue], s: &Source) -> Option<AnyValue> {
    match s {
        Source::Value(v) => Some(v.clone()),
        Source::FromAttribute(k) => find(attrs, k).and_then(|i| attrs[i].value.clone()),
    }
}

fn hash(v: &AnyValue) -> AnyValue {
    string_value(hex::encode(Sha256::digest(any_to_string(v).as_bytes())))
}

fn convert(v: &AnyValue, to: Converted) -> Option<AnyValue> {
    use any_value::Value as V;
    let out = match (to, &v.value) {
        (Converted::String, _) => V::StringValue(any_to_string(v)),
        (Converted::Int, Some(V::IntValue(i))) => V::IntValue(*i),
        (Converted::Int, Some(V::DoubleValue(d))) => V::IntValue(*d as i64),
        (Converted::Int, Some(V::BoolValue(b))) => V::IntValue(*b as i64),
        (Converted::Int, Some(V::StringValue(s))) => V::IntValue(s.trim().parse().ok()?),
        (Converted::Double, Some(V::DoubleValue(d))) => V::DoubleValue(*d),
        (Converted::Double, Some(V::IntValue(i))) => V::DoubleValue(*i as f64),
        (Converted::Double, Some(V::BoolValue(b))) => V::DoubleValue(*b as i64 as f64),
        (Converted::Double, Some(V::StringValue(s))) => V::DoubleValue(s.trim().parse().ok()?),
        _ => return None,
    };
    Some(AnyValue { value: Some(out) })
}

/// Applies every action, in order, to one attribute list.
pub fn apply(actions: &[Action], attrs: &mut Vec<KeyValue>) {
    for a in actions {
        let matches = |k: &str| a.key.as_deref() == Some(k) || a.key_pattern.as_ref().is_some_and(|r| r.is_match(k));
        match &a.op {
            Op::Insert(s) => {
                let Some(key) = &a.key else { continue };
                if find(attrs, key).is_none() {
                    if let Some(v) = resolve(attrs, s) {
                        put(attrs, key, v);
                    }
                }
            }
            Op::Update(s) => {
                let Some(key) = &a.key else { continue };
                if find(attrs, key).is_some() {
                    if let Some(v) = resolve(attrs, s) {
                        put(attrs, key, v);
                    }
                }
            }
            Op::Upsert(s) => {
                let Some(key) = &a.key else { continue };
                if let Some(v) = resolve(attrs, s) {
                    put(attrs, key, v);
                }
            }
            Op::Delete => attrs.retain(|kv| !matches(&kv.key)),
            Op::Hash => {
                for kv in attrs.iter_mut().filter(|kv| matches(&kv.key)) {
                    if let Some(v) = &kv.value {
                        kv.value = Some(hash(v));
                    }
                }
            }
            Op::Extract(re) => {
                let Some(key) = &a.key else { continue };
                let Some(text) = find(attrs, key).and_then(|i| attrs[i].value.as_ref()).map(any_to_string) else {
                    continue;
                };
                if let Some(caps) = re.captures(&text) {
                    for name in re.capture_names().flatten() {
                        if let Some(m) = caps.name(name) {
                            put(attrs, name, string_value(m.as_str()));
                        }
                    }
                }
            }
            Op::Convert(to) => {
                let Some(key) = &a.key else { continue };
                if let Some(i) = find(attrs, key) {
                    if let Some(nv) = attrs[i].value.as_ref().and_then(|v| convert(v, *to)) {
                        attrs[i].value = Some(nv);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
