//! The log line: pkg/translator/loki encode.go (`Encode`, `EncodeLogfmt`) and convert.go
//! (`convertLogToLogRawEntry`), rewritten for oxidot.

use super::gofmt::{as_string, inner, json_map, json_str, json_value};
use super::logfmt::{marshal, parse_first_line, Key, Val};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The instrumentation scope's name and version.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    pub name: &'a str,
    pub version: &'a str,
}

/// pdata `TraceID`/`SpanID` `IsEmpty`: absent or all zero bytes.
fn id_hex(id: &[u8]) -> Option<String> {
    (id.iter().any(|&b| b != 0)).then(|| hex::encode(id))
}

/// encode.go `Encode`: `json.Marshal` of its lokiEntry struct. Fields in declaration order,
/// each left out when empty (omitempty): body (the body's JSON), traceid, spanid, severity
/// (the severity text), flags, attributes, resources (maps, keys sorted),
/// instrumentation_scope (only with a scope name; version omitempty).
pub fn encode_json(lr: &LogRecord, attrs: &[KeyValue], res: &[KeyValue], scope: Scope) -> Result<String, String> {
    let mut out = String::from("{");
    let sep = |out: &mut String, k: &str| {
        if out.len() > 1 {
            out.push(',');
        }
        json_str(out, k);
        out.push(':');
    };
    // encode.go serializeBodyJSON: no body (empty value) is no field.
    if inner(&lr.body).is_some() {
        sep(&mut out, "body");
        json_value(&mut out, &lr.body)?;
    }
    if let Some(t) = id_hex(&lr.trace_id) {
        sep(&mut out, "traceid");
        json_str(&mut out, &t);
    }
    if let Some(s) = id_hex(&lr.span_id) {
        sep(&mut out, "spanid");
        json_str(&mut out, &s);
    }
    if !lr.severity_text.is_empty() {
        sep(&mut out, "severity");
        json_str(&mut out, &lr.severity_text);
    }
    if lr.flags != 0 {
        sep(&mut out, "flags");
        let _ = write!(out, "{}", lr.flags);
    }
    for (name, kvs) in [("attributes", attrs), ("resources", res)] {
        if !kvs.is_empty() {
            let m: BTreeMap<&str, &Option<AnyValue>> = kvs.iter().map(|k| (k.key.as_str(), &k.value)).collect();
            sep(&mut out, name);
            json_map(&mut out, &m)?;
        }
    }
    if !scope.name.is_empty() {
        sep(&mut out, "instrumentation_scope");
        out.push_str("{\"name\":");
        json_str(&mut out, scope.name);
        if !scope.version.is_empty() {
            out.push_str(",\"version\":");
            json_str(&mut out, scope.version);
        }
        out.push('}');
    }
    out.push('}');
    Ok(out)
}

/// encode.go `valueToKeyvals`: maps and slices flattened with `_` (`key_sub`, `key_0`),
/// bytes as their raw bytes, the empty value left out.
fn value_keyvals(key: &str, v: &Option<AnyValue>, out: &mut Vec<(Key, Val)>) {
    let prefix = |key: &str| if key.is_empty() { String::new() } else { format!("{key}_") };
    match inner(v) {
        None => {}
        Some(any_value::Value::StringValue(s)) => out.push((Key::s(key), Val::Str(s.clone()))),
        Some(any_value::Value::BoolValue(b)) => out.push((Key::s(key), Val::Bool(*b))),
        Some(any_value::Value::IntValue(i)) => out.push((Key::s(key), Val::Int(*i))),
        Some(any_value::Value::DoubleValue(d)) => out.push((Key::s(key), Val::Float(*d))),
        Some(any_value::Value::KvlistValue(kv)) => {
            let p = prefix(key);
            for e in &kv.values {
                value_keyvals(&format!("{p}{}", e.key), &e.value, out);
            }
        }
        Some(any_value::Value::ArrayValue(a)) => {
            let p = prefix(key);
            for (i, e) in a.values.iter().enumerate() {
                value_keyvals(&format!("{p}{i}"), &Some(e.clone()), out);
            }
        }
        Some(any_value::Value::BytesValue(b)) => out.push((Key::s(key), Val::Bytes(b.clone()))),
        Some(any_value::Value::StringValueStrindex(i)) => out.push((Key::s(key), Val::Int(*i as i64))),
    }
}

/// encode.go `bodyToKeyvals`: a string body is parsed as logfmt (its first line; plain text
/// becomes keys without values), or `msg=<body>` when that fails; a map body is flattened
/// without prefix, a slice body under `body_`; other scalars are `msg`.
fn body_keyvals(body: &Option<AnyValue>) -> Vec<(Key, Val)> {
    let mut out = Vec::new();
    match inner(body) {
        None => {}
        Some(any_value::Value::StringValue(s)) => match parse_first_line(s) {
            Some(pairs) => {
                for (k, v) in pairs {
                    let v = v.map(Val::Bytes).unwrap_or(Val::NilBytes);
                    out.push((Key { text: k, from_body: true }, v));
                }
            }
            None => out.push((Key::s("msg"), Val::Str(s.clone()))),
        },
        Some(any_value::Value::KvlistValue(_)) => value_keyvals("", body, &mut out),
        Some(any_value::Value::ArrayValue(_)) => value_keyvals("body", body, &mut out),
        Some(any_value::Value::BoolValue(b)) => out.push((Key::s("msg"), Val::Bool(*b))),
        Some(any_value::Value::IntValue(i)) => out.push((Key::s("msg"), Val::Int(*i))),
        Some(any_value::Value::DoubleValue(d)) => out.push((Key::s("msg"), Val::Float(*d))),
        Some(any_value::Value::BytesValue(b)) => out.push((Key::s("msg"), Val::Bytes(b.clone()))),
        Some(any_value::Value::StringValueStrindex(i)) => out.push((Key::s("msg"), Val::Int(*i as i64))),
    }
    out
}

/// encode.go `keyvalsReplaceOrAppend`: replaces the value of an existing string key (keys
/// decoded from a string body never match: Go compares `[]byte` with `string`), else appends.
fn replace_or_append(kv: &mut Vec<(Key, Val)>, key: &str, v: Val) {
    match kv.iter_mut().find(|(k, _)| !k.from_body && k.text == key.as_bytes()) {
        Some(e) => e.1 = v,
        None => kv.push((Key::s(key), v)),
    }
}

/// encode.go `EncodeLogfmt`: body pairs, then traceID, spanID, severity, flags (replacing
/// same-named pairs from a map body), `attribute_<k>`, `resource_<k>`,
/// `instrumentation_scope_name`/`_version`.
pub fn encode_logfmt(lr: &LogRecord, attrs: &[KeyValue], res: &[KeyValue], scope: Scope) -> String {
    let mut kv = body_keyvals(&lr.body);
    if let Some(t) = id_hex(&lr.trace_id) {
        replace_or_append(&mut kv, "traceID", Val::Str(t));
    }
    if let Some(s) = id_hex(&lr.span_id) {
        replace_or_append(&mut kv, "spanID", Val::Str(s));
    }
    if !lr.severity_text.is_empty() {
        replace_or_append(&mut kv, "severity", Val::Str(lr.severity_text.clone()));
    }
    if lr.flags != 0 {
        replace_or_append(&mut kv, "flags", Val::Uint(lr.flags));
    }
    for a in attrs {
        value_keyvals(&format!("attribute_{}", a.key), &a.value, &mut kv);
    }
    for r in res {
        value_keyvals(&format!("resource_{}", r.key), &r.value, &mut kv);
    }
    if !scope.name.is_empty() {
        kv.push((Key::s("instrumentation_scope_name"), Val::Str(scope.name.to_string())));
        if !scope.version.is_empty() {
            kv.push((Key::s("instrumentation_scope_version"), Val::Str(scope.version.to_string())));
        }
    }
    marshal(&kv)
}

/// convert.go `convertLogToLogRawEntry`: the body's `AsString`.
pub fn encode_raw(lr: &LogRecord) -> String {
    as_string(&lr.body)
}
