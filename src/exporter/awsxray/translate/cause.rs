//! `error`/`fault`/`throttle` from the span status and HTTP status, and `cause.exceptions` from
//! `exception` events (Python tracebacks are parsed into stack frames).

use super::{http::status_code, str_attr};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub struct Cause {
    pub error: bool,
    pub fault: bool,
    pub throttle: bool,
    pub cause: Option<Value>,
}

/// A stable exception id (16 hex) derived from the span and position, so output is reproducible.
fn exception_id(span: &Span, i: usize) -> String {
    let mut h = Sha256::new();
    h.update(&span.span_id);
    h.update((i as u64).to_be_bytes());
    hex::encode(&h.finalize()[..8])
}

/// Parses a Python traceback into frames, most recent call first.
fn python_stack(trace: &str) -> Vec<Value> {
    let mut frames = Vec::new();
    let lines: Vec<&str> = trace.lines().collect();
    for l in lines.iter() {
        let t = l.trim_start();
        let Some(rest) = t.strip_prefix("File \"") else { continue };
        let Some((path, rest)) = rest.split_once("\", line ") else { continue };
        let (line, label) = match rest.split_once(", in ") {
            Some((n, label)) => (n, label),
            None => (rest, ""),
        };
        let mut f = Map::new();
        f.insert("path".into(), json!(path));
        if let Ok(n) = line.trim().parse::<i64>() {
            f.insert("line".into(), json!(n));
        }
        if !label.is_empty() {
            f.insert("label".into(), json!(label.trim()));
        }
        frames.push(Value::Object(f));
    }
    frames.reverse();
    frames
}

fn event_str<'a>(a: &'a [KeyValue], k: &str) -> Option<&'a str> {
    str_attr(a, k)
}

pub fn cause(span: &Span, res: &[KeyValue]) -> Cause {
    let status = span.status.as_ref().map(|s| s.code).unwrap_or(0);
    let is_error_status = status == StatusCode::Error as i32;
    let language = str_attr(res, "telemetry.sdk.language").unwrap_or("");
    let remote = span.attributes.iter().any(|a| {
        a.key == "aws.xray.exception.remote"
            && matches!(
                a.value.as_ref().and_then(|v| v.value.as_ref()),
                Some(opentelemetry_proto::tonic::common::v1::any_value::Value::BoolValue(true))
            )
    });
    let mut exceptions = Vec::new();
    for (i, ev) in span.events.iter().filter(|e| e.name == "exception").enumerate() {
        let mut e = Map::new();
        e.insert("id".into(), json!(exception_id(span, i)));
        if let Some(t) = event_str(&ev.attributes, "exception.type") {
            e.insert("type".into(), json!(t));
        }
        if let Some(m) = event_str(&ev.attributes, "exception.message") {
            e.insert("message".into(), json!(m));
        }
        if remote {
            e.insert("remote".into(), json!(true));
        }
        if let Some(st) = event_str(&ev.attributes, "exception.stacktrace") {
            let frames = if language == "python" { python_stack(st) } else { Vec::new() };
            if !frames.is_empty() {
                e.insert("stack".into(), Value::Array(frames));
            }
        }
        exceptions.push(Value::Object(e));
    }
    let cause = if !exceptions.is_empty() {
        Some(json!({"exceptions": exceptions}))
    } else if is_error_status {
        // No exception events: the status message is the cause, as the Go exporter does.
        let msg = span.status.as_ref().map(|s| s.message.as_str()).filter(|m| !m.is_empty());
        msg.map(|m| json!({"exceptions": [{"id": exception_id(span, 0), "message": m}]}))
    } else {
        None
    };
    let (mut error, mut fault, mut throttle) = (false, false, false);
    match status_code(span) {
        Some(code @ 400..=499) => {
            error = true;
            throttle = code == 429;
        }
        Some(500..=599) => fault = true,
        Some(_) => fault = is_error_status,
        None => fault = is_error_status,
    }
    Cause { error, fault, throttle, cause }
}
