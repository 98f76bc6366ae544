//! The zap encoders: one event → one line in zap's json or console shape, fields typed and
//! ordered as the collector's loggers write them (see the parent module's comment).

use super::{COMPONENT_ID, COMPONENT_KIND, PIPELINE_ID, SIGNAL};
use crate::config::service::TelemetryConfig;
use std::fmt::Write as _;
use tracing::Level;

/// Call-site field names that name the component, and the kind each stands for.
const KIND_FIELDS: [&str; 5] = ["receiver", "processor", "exporter", "extension", "connector"];

/// A field value, typed as zap would encode it.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    /// A nested object of strings (zap.Dict): spaced like the rest in console encoding.
    Dict(Vec<(String, String)>),
    /// Any other value (zap.Any → reflection, encoding/json): always compact.
    Json(serde_json::Value),
}

/// How lines are encoded; built once from `service.telemetry`.
#[derive(Debug, Clone)]
pub struct Encoder {
    pub json: bool,
    pub caller: bool,
    /// `initial_fields` then `resource`, on every line.
    pub context: Vec<(String, Val)>,
}

impl Encoder {
    pub fn from_config(cfg: &TelemetryConfig) -> Encoder {
        let logs = &cfg.logs;
        let mut context: Vec<(String, Val)> =
            logs.initial_fields.iter().map(|(k, v)| (k.clone(), yaml_val(v))).collect();
        if !logs.disable_zap_resource {
            context.push(("resource".to_string(), Val::Dict(resource_attributes(cfg))));
        }
        Encoder { json: logs.encoding == "json", caller: !logs.disable_caller, context }
    }

    /// One line, newline included.
    pub fn encode(
        &self,
        level: Level,
        ts: &str,
        caller: Option<(&str, u32)>,
        msg: &str,
        fields: Vec<(String, Val)>,
    ) -> String {
        let fields = component_first(fields);
        let caller = caller.filter(|_| self.caller).map(|(f, l)| format!("{}:{l}", trim_path(f)));
        let mut out = String::with_capacity(256);
        if self.json {
            out.push_str("{\"level\":\"");
            out.push_str(level_name(level));
            out.push_str("\",\"ts\":\"");
            out.push_str(ts);
            out.push('"');
            if let Some(c) = &caller {
                out.push_str(",\"caller\":");
                push_json_str(&mut out, c);
            }
            out.push_str(",\"msg\":");
            push_json_str(&mut out, msg);
            for (k, v) in self.context.iter().chain(fields.iter()) {
                out.push(',');
                push_json_str(&mut out, k);
                out.push(':');
                push_val(&mut out, v, false);
            }
            out.push_str("}\n");
        } else {
            out.push_str(ts);
            out.push('\t');
            out.push_str(level_name(level));
            if let Some(c) = &caller {
                out.push('\t');
                out.push_str(c);
            }
            out.push('\t');
            out.push_str(msg);
            let mut first = true;
            for (k, v) in self.context.iter().chain(fields.iter()) {
                out.push_str(if first { "\t{" } else { ", " });
                first = false;
                push_json_str(&mut out, k);
                out.push_str(": ");
                push_val(&mut out, v, true);
            }
            if !first {
                out.push('}');
            }
            out.push('\n');
        }
        out
    }
}

/// The collector's resource attributes (otelconftelemetry/resource.go): `service.instance.id`,
/// `service.name`, `service.version`, then `service.telemetry.resource` (null drops a default),
/// sorted by key as the SDK resource iterates them.
fn resource_attributes(cfg: &TelemetryConfig) -> Vec<(String, String)> {
    let mut attrs: Vec<(String, String)> = vec![
        ("service.instance.id".to_string(), crate::telemetry::instance_id().to_string()),
        ("service.name".to_string(), "oxidot".to_string()),
        ("service.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
    ];
    for (k, v) in &cfg.resource {
        attrs.retain(|(ak, _)| ak != k);
        if let Some(v) = v {
            attrs.push((k.clone(), v.clone()));
        }
    }
    attrs.sort();
    attrs
}

fn yaml_val(v: &serde_yaml_ng::Value) -> Val {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::String(s) => Val::Str(s.clone()),
        Y::Bool(b) => Val::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Val::I64(i)
            } else if let Some(u) = n.as_u64() {
                Val::U64(u)
            } else {
                Val::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        other => Val::Json(serde_json::to_value(other).unwrap_or(serde_json::Value::Null)),
    }
}

/// zapcore LowercaseLevelEncoder; tracing's TRACE has no zap level and prints as debug.
fn level_name(l: Level) -> &'static str {
    match l {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        _ => "debug",
    }
}

/// zapcore EntryCaller.TrimmedPath: the last directory and the file name.
pub(super) fn trim_path(file: &str) -> &str {
    let Some(last) = file.rfind('/') else { return file };
    match file[..last].rfind('/') {
        Some(prev) => &file[prev + 1..],
        None => file,
    }
}

/// Moves the component attributes in front of the call's fields, named and ordered as the
/// collector's component loggers carry them.
fn component_first(fields: Vec<(String, Val)>) -> Vec<(String, Val)> {
    let has_component =
        fields.iter().any(|(k, _)| KIND_FIELDS.contains(&k.as_str()) || k == COMPONENT_ID || k == COMPONENT_KIND);
    if !has_component {
        return fields;
    }
    let mut comp: Vec<(String, Val)> = Vec::new();
    let mut rest = Vec::with_capacity(fields.len());
    let has = |comp: &[(String, Val)], key: &str| comp.iter().any(|(k, _)| k == key);
    for (k, v) in fields {
        let target: Option<&str> = match k.as_str() {
            COMPONENT_ID | COMPONENT_KIND | PIPELINE_ID | SIGNAL => Some(""),
            kind if KIND_FIELDS.contains(&kind) && !has(&comp, COMPONENT_ID) => {
                comp.push((COMPONENT_KIND.to_string(), Val::Str(kind.to_string())));
                Some(COMPONENT_ID)
            }
            "data_type" | "signal" if !has(&comp, SIGNAL) => Some(SIGNAL),
            "pipeline" if !has(&comp, PIPELINE_ID) => Some(PIPELINE_ID),
            _ => None,
        };
        match target {
            Some("") => {
                comp.retain(|(ck, _)| *ck != k);
                comp.push((k, v));
            }
            Some(t) => comp.push((t.to_string(), v)),
            None => rest.push((k, v)),
        }
    }
    comp.sort_by(|a, b| a.0.cmp(&b.0));
    comp.extend(rest);
    comp
}

fn push_val(out: &mut String, v: &Val, spaced: bool) {
    match v {
        Val::Str(s) => push_json_str(out, s),
        Val::I64(i) => {
            let _ = write!(out, "{i}");
        }
        Val::U64(u) => {
            let _ = write!(out, "{u}");
        }
        Val::F64(f) => push_float(out, *f),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Dict(kv) => {
            out.push('{');
            for (i, (k, v)) in kv.iter().enumerate() {
                if i > 0 {
                    out.push_str(if spaced { ", " } else { "," });
                }
                push_json_str(out, k);
                out.push_str(if spaced { ": " } else { ":" });
                push_json_str(out, v);
            }
            out.push('}');
        }
        Val::Json(j) => out.push_str(&serde_json::to_string(j).unwrap_or_else(|_| "null".into())),
    }
}

/// zap's AppendFloat: shortest decimal without exponent; NaN and infinities as strings.
pub(super) fn push_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("\"NaN\"");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "\"+Inf\"" } else { "\"-Inf\"" });
    } else {
        let _ = write!(out, "{f}");
    }
}

/// A JSON string as zap's safeAddString writes it: `\` and `"` escaped, `\n` `\r` `\t` by
/// letter, other control characters as `\u00XX`; everything else (including `<>&`) as is.
pub(super) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
