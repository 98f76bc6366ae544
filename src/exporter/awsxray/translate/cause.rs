//! `error`/`fault`/`throttle` and `cause.exceptions`, as the Go exporter's cause.go: exception
//! events (stack traces parsed per `telemetry.sdk.language`, chained causes become several
//! exceptions linked by `cause`), AWS SDK per-attempt HTTP failures, else the status message.

use super::http::{go_int, go_str, value_of};
use crate::pipeline::attrs::value_text;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span};
use regex::Regex;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

pub struct Cause {
    pub error: bool,
    pub fault: bool,
    pub throttle: bool,
    pub cause: Option<Value>,
}

const EXCEPTION_EVENT: &str = "exception";
const AWS_HTTP_EVENT: &str = "HTTP request failure";
const AWS_HTTP_ERROR_TYPE: &str = "aws.http.error.event";
const AWS_HTTP_ERROR_MSG: &str = "aws.http.error_message";

/// Exception ids: Go draws 8 random bytes; oxidot derives the 8 bytes from the span id and the
/// exception's position, so the same span always gives the same document (same 16-hex format).
struct Ids<'a> {
    span: &'a Span,
    next: u64,
}

impl Ids<'_> {
    fn next(&mut self) -> String {
        let mut h = Sha256::new();
        h.update(&self.span.span_id);
        h.update(self.next.to_be_bytes());
        self.next += 1;
        hex::encode(&h.finalize()[..8])
    }
}

/// One X-Ray exception while it is built (fields Go always sets are plain, optional ones Option).
struct Exception {
    id: String,
    kind: String,
    message: String,
    remote: Option<bool>,
    cause: Option<String>,
    stack: Vec<Frame>,
}

struct Frame {
    path: String,
    line: i64,
    label: String,
}

impl Exception {
    fn new(id: String, kind: &str, message: &str, remote: Option<bool>) -> Exception {
        Exception { id, kind: kind.into(), message: message.into(), remote, cause: None, stack: Vec::new() }
    }

    fn to_json(&self) -> Value {
        let mut e = Map::new();
        e.insert("id".into(), json!(self.id));
        e.insert("message".into(), json!(self.message));
        e.insert("type".into(), json!(self.kind));
        if let Some(r) = self.remote {
            e.insert("remote".into(), json!(r));
        }
        if let Some(c) = &self.cause {
            e.insert("cause".into(), json!(c));
        }
        if !self.stack.is_empty() {
            let frames: Vec<Value> =
                self.stack.iter().map(|f| json!({"path": f.path, "line": f.line, "label": f.label})).collect();
            e.insert("stack".into(), Value::Array(frames));
        }
        Value::Object(e)
    }
}

fn is_aws_sdk_span(span: &Span) -> bool {
    go_str(value_of(&span.attributes, "rpc.system")) == "aws-api"
}

fn is_error_status(span: &Span) -> bool {
    span.status.as_ref().is_some_and(|s| s.code == StatusCode::Error as i32)
}

fn has_exceptions(span: &Span) -> bool {
    let sdk = is_aws_sdk_span(span);
    // cause.go makeCause: the first exception event (or, on AWS SDK spans, HTTP failure event) decides.
    span.events.iter().any(|e| e.name == EXCEPTION_EVENT || (sdk && e.name == AWS_HTTP_EVENT))
}

/// Whether makeCause takes attribute `key` out of what becomes metadata: `http.status_text`,
/// when the status is an error and no exception events stand in for the cause.
pub fn consumes(span: &Span, key: &str) -> bool {
    key == "http.status_text" && !has_exceptions(span) && is_error_status(span)
}

// cause.go makeCause
pub fn cause(span: &Span, res: &[KeyValue]) -> Cause {
    let mut ids = Ids { span, next: 0 };
    let error_status = is_error_status(span);
    let cause = if has_exceptions(span) {
        let language = go_str(value_of(res, "telemetry.sdk.language"));
        let remote = span.kind == SpanKind::Client as i32 || span.kind == SpanKind::Producer as i32;
        let sdk = is_aws_sdk_span(span);
        let mut exceptions = Vec::new();
        for ev in &span.events {
            if ev.name == EXCEPTION_EVENT {
                let a = &ev.attributes;
                exceptions.extend(parse_exception(
                    go_str(value_of(a, "exception.type")),
                    go_str(value_of(a, "exception.message")),
                    go_str(value_of(a, "exception.stacktrace")),
                    remote,
                    language,
                    &mut ids,
                ));
            } else if sdk && ev.name == AWS_HTTP_EVENT {
                let code = ev.attributes.iter().find(|a| a.key == "http.response.status_code");
                let msg = value_of(&ev.attributes, AWS_HTTP_ERROR_MSG);
                if let (Some(code), Some(_)) = (code, msg) {
                    let micros = ev.time_unix_nano / 1_000;
                    let message =
                        format!("{}@{:.6}@{}", value_text(&code.value), micros as f64 / 1_000_000.0, go_str(msg));
                    exceptions.push(Exception::new(ids.next(), AWS_HTTP_ERROR_TYPE, &message, Some(true)));
                }
            }
        }
        let list: Vec<Value> = exceptions.iter().map(Exception::to_json).collect();
        let mut c = Map::new();
        if !list.is_empty() {
            c.insert("exceptions".into(), Value::Array(list));
        }
        Some(Value::Object(c))
    } else if !error_status {
        None
    } else {
        // No exception events: the status message, else `http.status_text` (OpenCensus style).
        let mut message = span.status.as_ref().map(|s| s.message.clone()).unwrap_or_default();
        if message.is_empty() {
            message = go_str(value_of(&span.attributes, "http.status_text")).to_string();
        }
        (!message.is_empty()).then(|| {
            let e = Exception::new(ids.next(), "", &message, None);
            json!({"exceptions": [e.to_json()]})
        })
    };
    // The HTTP status decides over the span status when it is a 4xx or 5xx.
    let code = value_of(&span.attributes, "http.status_code")
        .or_else(|| value_of(&span.attributes, "http.response.status_code"))
        .map(go_int);
    let (mut error, mut fault, mut throttle) = (false, false, false);
    match code {
        Some(c @ 400..=499) => {
            error = true;
            throttle = c == 429;
        }
        Some(500..=599) => fault = true,
        _ => fault = error_status,
    }
    Cause { error, fault, throttle, cause }
}

// cause.go parseException
fn parse_exception(
    kind: &str,
    message: &str,
    stacktrace: &str,
    remote: bool,
    language: &str,
    ids: &mut Ids,
) -> Vec<Exception> {
    let mut exceptions = vec![Exception::new(ids.next(), kind, message, Some(remote))];
    if stacktrace.is_empty() {
        return exceptions;
    }
    match language {
        // PHP's SDK formats stack traces as Java does.
        "java" | "php" => fill_java(stacktrace, &mut exceptions, ids),
        "python" => fill_python(stacktrace, &mut exceptions, ids),
        "javascript" | "nodejs" | "webjs" => fill_javascript(stacktrace, &mut exceptions),
        "dotnet" => fill_dotnet(stacktrace, &mut exceptions),
        "go" => fill_go(stacktrace, &mut exceptions),
        _ => {}
    }
    exceptions
}

/// Lines as Go's textproto.Reader.ReadLine gives them: `\n` separated, a trailing `\r` dropped,
/// no empty line after a final newline.
fn read_lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    if s.ends_with('\n') || s.is_empty() {
        v.pop();
    }
    v
}

/// strconv.Atoi: the number, or 0 when the text is not one.
fn atoi(s: &str) -> i64 {
    s.parse().unwrap_or(0)
}

/// Adds a chained exception after the last one and points the current one at it.
fn chain(exceptions: &mut Vec<Exception>, current: usize, kind: &str, message: &str, ids: &mut Ids) -> usize {
    let remote = exceptions[0].remote;
    let e = Exception::new(ids.next(), kind, message, remote);
    let id = e.id.clone();
    exceptions.push(e);
    let n = exceptions.len();
    exceptions[n - 2].cause = Some(id.clone());
    exceptions[current].cause = Some(id);
    n - 1
}

fn java_frame_line(line: &str) -> bool {
    line.starts_with("\tat ") && line.contains('(') && line.ends_with(')')
}

// cause.go fillJavaStacktrace
fn fill_java(stacktrace: &str, exceptions: &mut Vec<Exception>, ids: &mut Ids) {
    let lines = read_lines(stacktrace);
    // The first line repeats the top-level type and message.
    if lines.len() < 2 {
        return;
    }
    let mut current = 0;
    let mut i = 1;
    let mut line = lines[i];
    loop {
        if line.starts_with("\tat ") {
            if let (Some(paren), true) = (line.find('('), line.ends_with(')')) {
                let mut label = line.get(4..paren).unwrap_or("");
                if let Some(slash) = label.find('/') {
                    // Class loader or Java module prefix.
                    label = &label[slash + 1..];
                }
                let mut path = &line[paren + 1..line.len() - 1];
                let mut n = 0;
                if let Some(colon) = path.find(':') {
                    n = atoi(&path[colon + 1..]);
                    path = &path[..colon];
                }
                exceptions[current].stack.push(Frame { path: path.into(), line: n, label: label.into() });
            }
        } else if let Some(rest) = line.strip_prefix("Caused by: ") {
            let (kind, mut message) = match rest.find(':') {
                Some(colon) => (&rest[..colon], rest.get(colon + 2..).unwrap_or("").to_string()),
                None => (rest, String::new()),
            };
            // The message may span lines, up to the next stack frame.
            line = "";
            loop {
                i += 1;
                let Some(l) = lines.get(i) else { break };
                line = l;
                if java_frame_line(line) {
                    break;
                }
                message.push_str(line);
            }
            current = chain(exceptions, current, kind, &message, ids);
            if i >= lines.len() {
                line = "";
            }
            continue;
        }
        // "..." (common frames) and "Suppressed:" blocks are skipped.
        i += 1;
        match lines.get(i) {
            Some(l) => line = l,
            None => break,
        }
    }
}

// cause.go fillPythonStacktrace
fn fill_python(stacktrace: &str, exceptions: &mut Vec<Exception>, ids: &mut Ids) {
    // Read bottom-up; the last line is the top-level exception and message.
    let lines: Vec<&str> = stacktrace.split('\n').collect();
    if lines.len() < 2 {
        return;
    }
    let mut idx = lines.len() as isize - 2;
    let mut current = 0;
    let mut line = lines[idx as usize];
    loop {
        if line.starts_with("  File ") {
            let parts: Vec<&str> = line.split(',').collect();
            if parts.len() == 3 {
                let file_part = parts[0];
                let file = file_part.get(8..file_part.len().saturating_sub(1).max(8)).unwrap_or("");
                let n = parts[1].strip_prefix(" line ").map(atoi).unwrap_or(0);
                let label = parts[2].strip_prefix(" in ").unwrap_or("");
                exceptions[current].stack.push(Frame { path: file.into(), line: n, label: label.into() });
            }
        } else if line.starts_with("During handling of the above exception, another exception occurred:") {
            let mut next_file = idx - 1;
            loop {
                if next_file < 0 {
                    // Malformed: no "  File" line above.
                    return;
                }
                if lines[next_file as usize].starts_with("  File ") {
                    break;
                }
                next_file -= 1;
            }
            // The message starts two lines below that File line and ends two lines above this one.
            let (from, to) = ((next_file + 2) as usize, (idx - 1).max(0) as usize);
            let message = if from <= to { lines[from..to].join("\n") } else { String::new() };
            idx = next_file;
            let Some(colon) = message.find(':') else { return };
            let kind = &message[..colon];
            let msg = message.get(colon + 2..).unwrap_or("");
            current = chain(exceptions, current, kind, msg, ids);
            line = lines[idx as usize];
            continue;
        }
        idx -= 1;
        if idx < 0 {
            break;
        }
        line = lines[idx as usize];
    }
}

/// Position of `c` in `s` after position `pos` (cause.go indexOf).
fn index_after(s: &str, c: char, pos: Option<usize>) -> Option<usize> {
    let pos = pos?;
    s[pos + 1..].find(c).map(|i| i + pos + 1)
}

// cause.go fillJavaScriptStacktrace
fn fill_javascript(stacktrace: &str, exceptions: &mut [Exception]) {
    let lines = read_lines(stacktrace);
    for line in lines.iter().skip(1) {
        if !line.starts_with("    at ") {
            continue;
        }
        let paren = line.find('(');
        let (mut label, mut path) = ("", "");
        match paren {
            Some(p) if line.ends_with(')') => {
                label = line.get(7..p).unwrap_or("");
                path = &line[p + 1..line.len() - 1];
            }
            None => path = &line[7..],
            _ => {}
        }
        let mut n = 0;
        let first = path.find(':');
        let second = index_after(path, ':', first);
        if let (Some(a), Some(b)) = (first, second) {
            n = atoi(&path[a + 1..b]);
            path = &path[..a];
        } else if first.is_none() && path.contains("native") {
            path = "native";
        }
        if !path.is_empty() || !label.is_empty() || n != 0 {
            exceptions[0].stack.push(Frame { path: path.into(), line: n, label: label.into() });
        }
    }
}

// cause.go fillDotnetStacktrace
fn fill_dotnet(stacktrace: &str, exceptions: &mut [Exception]) {
    let lines = read_lines(stacktrace);
    for raw in lines.iter().skip(1) {
        let line = raw.trim();
        if !line.starts_with("at ") {
            continue;
        }
        if line.contains(" in ") {
            let parts: Vec<&str> = line.split(" in ").collect();
            let label = parts[0].get(3..).unwrap_or("");
            let mut path = parts[1];
            let mut n = 0;
            if let Some(colon) = path.rfind(':') {
                let mut num = &path[colon + 1..];
                if num.starts_with("line") {
                    num = num.get(5..).unwrap_or("");
                }
                n = atoi(num);
                path = &path[..colon];
            }
            exceptions[0].stack.push(Frame { path: path.into(), line: n, label: label.into() });
        } else if let Some(close) = line.rfind(')') {
            let label = line.get(3..close + 1).unwrap_or("");
            exceptions[0].stack.push(Frame { path: String::new(), line: 0, label: label.into() });
        }
    }
}

// cause.go fillGoStacktrace
fn fill_go(stacktrace: &str, exceptions: &mut [Exception]) {
    static PATH_LINE: OnceLock<Option<Regex>> = OnceLock::new();
    static GOROUTINE: OnceLock<Option<Regex>> = OnceLock::new();
    let (Some(path_line), Some(goroutine)) = (
        PATH_LINE.get_or_init(|| Regex::new(r"([^:\s]+):(\d+)").ok()),
        GOROUTINE.get_or_init(|| Regex::new(r"^goroutine.*\brunning\b.*:$").ok()),
    ) else {
        return;
    };
    let lines = read_lines(stacktrace);
    if lines.len() < 2 {
        return;
    }
    let mut i = 1;
    let read = |i: usize| lines.get(i).copied().unwrap_or("");
    let mut line = read(i);
    // Path and line carry over to the next frame when a frame has none (as in Go).
    let (mut path, mut n) = (String::new(), 0);
    loop {
        if goroutine.is_match(line) {
            i += 1;
            line = read(i);
        }
        let label = line;
        i += 1;
        line = read(i);
        if let Some(m) = path_line.captures(line) {
            path = m[1].to_string();
            n = atoi(&m[2]);
        }
        exceptions[0].stack.push(Frame { path: path.clone(), line: n, label: label.into() });
        i += 1;
        if i >= lines.len() {
            break;
        }
        line = lines[i];
    }
}
