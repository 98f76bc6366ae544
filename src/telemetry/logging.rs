//! oxidot's own logs (`service.telemetry.logs`), written to stderr in the shapes the collector's
//! zap logger prints, so log queries written for the collector keep working.
//!
//! The collector (service/telemetry/otelconftelemetry/logger.go `createLogger`) builds zap from
//! `zap.NewProductionEncoderConfig()` with the time encoder switched to ISO8601, for both
//! encodings. From go.uber.org/zap (config.go, zapcore/json_encoder.go, console_encoder.go):
//! - json: `{"level":"info","ts":"2026-12-01T01:25:08.123Z","caller":"otlp/mod.rs:296","msg":"…",…fields}`
//!   with the keys in that order; level lower-case; caller trimmed to the last directory and file.
//! - console: `<ts>\t<level>\t<caller>\t<msg>\t{"key": value, …}` (fields as JSON with spaces,
//!   the braces left out when there are none).
//!
//! Fields come in zap's order: `initial_fields` (sorted by key, zap `Config.buildOptions`), then
//! `resource` (the collector's own resource attributes, sorted, unless `disable_zap_resource`;
//! logger.go), then the component attributes the collector attaches to every component's logger
//! (service/internal/attribute/attribute.go: `otelcol.component.id`, `otelcol.component.kind`,
//! `otelcol.pipeline.id`, `otelcol.signal`, sorted by key), then the call's own fields.
//!
//! Call sites name their component as `receiver = %id` (or `exporter`, `processor`, `extension`,
//! `connector`), optionally with `data_type`/`signal` and `pipeline`: those become the
//! `otelcol.*` attributes here. Writing `otelcol.component.id = …` directly works too.

use crate::config::service::TelemetryConfig;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

// internal/telemetry/attribute.go
pub const COMPONENT_ID: &str = "otelcol.component.id";
pub const COMPONENT_KIND: &str = "otelcol.component.kind";
pub const PIPELINE_ID: &str = "otelcol.pipeline.id";
pub const SIGNAL: &str = "otelcol.signal";

/// Call-site field names that name the component, and the kind each stands for.
const KIND_FIELDS: [&str; 5] = ["receiver", "processor", "exporter", "extension", "connector"];

/// Installs the global subscriber. Safe to call once; later calls are ignored.
pub fn init(cfg: &TelemetryConfig) {
    let logs = &cfg.logs;
    let level = match logs.level.to_ascii_lowercase().as_str() {
        "debug" => "debug",
        "warn" => "warn",
        "error" | "dpanic" | "panic" | "fatal" => "error",
        _ => "info",
    };
    // Keep dependencies quiet unless asked for debug.
    let filter = if level == "debug" {
        "debug,h2=info,hyper=info,tower=info,rustls=info".to_string()
    } else {
        level.to_string()
    };
    let env_filter = tracing_subscriber::EnvFilter::new(filter);
    let encoder = Encoder::from_config(cfg);
    let layer = ZapLayer { encoder: Arc::new(encoder), write: Arc::new(write_stderr) };
    let _ = tracing_subscriber::registry().with(layer.with_filter(env_filter)).try_init();
}

fn write_stderr(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

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
        ("service.instance.id".to_string(), super::instance_id().to_string()),
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
fn trim_path(file: &str) -> &str {
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
fn push_float(out: &mut String, f: f64) {
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
fn push_json_str(out: &mut String, s: &str) {
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

/// zapcore ISO8601TimeEncoder (`2006-01-02T15:04:05.000Z0700`) in local time, as Go's
/// time.Now() is: `Z` when the zone is UTC (containers), else `+hhmm`.
pub fn iso8601_now() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as i64;
    iso8601(secs, now.subsec_millis(), local_offset(secs))
}

fn local_offset(secs: i64) -> i64 {
    let t = secs as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which outlives the call.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            0
        } else {
            tm.tm_gmtoff as i64
        }
    }
}

/// Formats epoch seconds + millis at a UTC offset (seconds east).
pub fn iso8601(secs: i64, millis: u32, offset: i64) -> String {
    let local = secs + offset;
    let days = local.div_euclid(86_400);
    let sod = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}", sod / 3600, (sod % 3600) / 60, sod % 60);
    if offset == 0 {
        s.push('Z');
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let a = offset.abs();
        let _ = write!(s, "{sign}{:02}{:02}", a / 3600, (a % 3600) / 60);
    }
    s
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's method).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The tracing layer that encodes each event as one zap-shaped line.
pub struct ZapLayer {
    pub encoder: Arc<Encoder>,
    pub write: Arc<dyn Fn(&str) + Send + Sync>,
}

impl<S: Subscriber> Layer<S> for ZapLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut v = Collect::default();
        event.record(&mut v);
        let meta = event.metadata();
        let caller = match (&v.log_file, v.log_line) {
            (Some(f), Some(l)) => Some((f.as_str(), l)),
            _ => meta.file().zip(meta.line()),
        };
        let line = self.encoder.encode(*meta.level(), &iso8601_now(), caller, &v.message, v.fields);
        (self.write)(&line);
    }
}

/// Collects an event's message and fields, keeping their types.
#[derive(Default)]
struct Collect {
    message: String,
    fields: Vec<(String, Val)>,
    /// Where a `log` crate record came from (tracing-log passes it as fields).
    log_file: Option<String>,
    log_line: Option<u32>,
}

impl Collect {
    fn put(&mut self, field: &Field, v: Val) {
        let name = field.name();
        if name.starts_with("log.") {
            match (name, v) {
                ("log.file", Val::Str(s)) => self.log_file = Some(s),
                ("log.line", Val::U64(l)) => self.log_line = u32::try_from(l).ok(),
                ("log.line", Val::I64(l)) => self.log_line = u32::try_from(l).ok(),
                _ => {}
            }
            return;
        }
        // `json.<key> = %text`: a value given as JSON text, encoded as zap.Any encodes a map or
        // slice (compact JSON, not a quoted string), under `<key>`.
        if let (Some(key), Val::Str(text)) = (name.strip_prefix(JSON_FIELD_PREFIX), &v) {
            if let Ok(j) = serde_json::from_str::<serde_json::Value>(text) {
                self.fields.push((key.to_string(), Val::Json(j)));
                return;
            }
        }
        self.fields.push((name.to_string(), v));
    }
}

/// Prefix of a field name whose value is JSON text to print as a JSON value (see `Collect::put`).
pub const JSON_FIELD_PREFIX: &str = "json.";

impl Visit for Collect {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.put(field, Val::Str(format!("{value:?}")));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.put(field, Val::Str(value.to_string()));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Val::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Val::U64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Val::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Val::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Val::Str(value.to_string()));
    }
}

/// Lets one message through per `interval_secs` for each call site (drops are still counted).
#[derive(Debug, Default)]
pub struct RateLimit {
    last: AtomicU64,
}

impl RateLimit {
    pub const fn new() -> Self {
        RateLimit { last: AtomicU64::new(0) }
    }

    pub fn allow(&self, interval_secs: u64) -> bool {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let last = self.last.load(Ordering::Relaxed);
        if last != 0 && now < last + interval_secs {
            return false;
        }
        self.last.compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn telemetry(yaml: &str) -> TelemetryConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    /// Runs `f` under a subscriber with this encoder and returns what it wrote.
    fn capture(cfg: &TelemetryConfig, f: impl FnOnce()) -> String {
        let buf = Arc::new(Mutex::new(String::new()));
        let b = Arc::clone(&buf);
        let layer = ZapLayer {
            encoder: Arc::new(Encoder::from_config(cfg)),
            write: Arc::new(move |l: &str| b.lock().unwrap().push_str(l)),
        };
        let sub = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(sub, f);
        let s = buf.lock().unwrap().clone();
        s
    }

    #[test]
    fn json_line_has_the_collectors_keys_in_order() {
        let cfg = telemetry("logs: {encoding: json}\nresource: {deployment.environment: prod}");
        let out = capture(&cfg, || {
            let id = "otlp/in";
            tracing::warn!(receiver = %id, data_type = "traces", error = "bad \"x\"\n", n = 3u64, ok = true, "Refused a request");
        });
        let line = out.lines().next().unwrap();
        let re = regex::Regex::new(
            r#"^\{"level":"warn","ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d{4})","caller":"telemetry/logging\.rs:\d+","msg":"Refused a request","resource":\{"deployment\.environment":"prod","service\.instance\.id":"[0-9a-f-]{36}","service\.name":"oxidot","service\.version":"[^"]+"\},"otelcol\.component\.id":"otlp/in","otelcol\.component\.kind":"receiver","otelcol\.signal":"traces","error":"bad \\"x\\"\\n","n":3,"ok":true\}$"#,
        )
        .unwrap();
        assert!(re.is_match(line), "{line}");
        // It is JSON, and the keys queries use are there.
        let j: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(j["otelcol.component.kind"], "receiver");
        assert_eq!(out.lines().count(), 1);
    }

    /// resourcedetection's "detected resource information" (Go: zap.Any("resource", map)): the
    /// value is a JSON object in both encodings, not a quoted string; the zap core's own
    /// `resource` dict stays too (zap does not merge duplicate keys).
    #[test]
    fn json_prefixed_fields_are_json_values() {
        let cfg = telemetry("logs: {encoding: json, disable_caller: true}");
        let out = capture(&cfg, || {
            let found = r#"{"host.name":"h","n":[1,"x"]}"#;
            tracing::info!(processor = "resourcedetection", json.resource = %found, "detected resource information");
            tracing::info!(json.bad = %"not json", "kept as text");
        });
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].ends_with(r#""otelcol.component.id":"resourcedetection","otelcol.component.kind":"processor","resource":{"host.name":"h","n":[1,"x"]}}"#),
            "{}",
            lines[0]
        );
        assert_eq!(lines[0].matches(r#""resource":{"#).count(), 2, "{}", lines[0]);
        assert!(lines[1].ends_with(r#""json.bad":"not json"}"#), "{}", lines[1]);
        let console = capture(&telemetry("logs: {disable_zap_resource: true}"), || {
            tracing::info!(json.resource = %r#"{"a":1}"#, "m");
        });
        assert!(console.ends_with("\t{\"resource\": {\"a\":1}}\n"), "{console:?}");
    }

    #[test]
    fn console_line_as_zaps_console_encoder() {
        let cfg = telemetry("logs: {disable_zap_resource: true}");
        let out = capture(&cfg, || {
            tracing::info!(exporter = "debug", pipeline = "traces/a", "Traces");
            tracing::error!("no fields");
        });
        let lines: Vec<&str> = out.lines().collect();
        let parts: Vec<&str> = lines[0].split('\t').collect();
        assert_eq!(parts.len(), 5, "{}", lines[0]);
        assert!(parts[0].len() >= 24, "{}", parts[0]);
        assert_eq!(parts[1], "info");
        assert!(parts[2].starts_with("telemetry/logging.rs:"), "{}", parts[2]);
        assert_eq!(parts[3], "Traces");
        assert_eq!(
            parts[4],
            r#"{"otelcol.component.id": "debug", "otelcol.component.kind": "exporter", "otelcol.pipeline.id": "traces/a"}"#
        );
        // No fields: no trailing tab or braces.
        let parts: Vec<&str> = lines[1].split('\t').collect();
        assert_eq!(&parts[1..], &["error", parts[2], "no fields"]);
    }

    #[test]
    fn initial_fields_and_disable_caller() {
        let cfg = telemetry(
            "logs: {encoding: json, disable_caller: true, disable_zap_resource: true, initial_fields: {team: obs, shard: 2, tags: {b: 1, a: x}}}",
        );
        let out = capture(&cfg, || tracing::info!("hello"));
        let line = out.trim_end();
        let re = regex::Regex::new(
            r#"^\{"level":"info","ts":"[^"]+","msg":"hello","shard":2,"tags":\{"a":"x","b":1\},"team":"obs"\}$"#,
        )
        .unwrap();
        assert!(re.is_match(line), "{line}");
    }

    #[test]
    fn console_resource_is_spaced() {
        let cfg = telemetry("resource: {service.name: null, service.version: null, service.instance.id: i}");
        let out = capture(&cfg, || tracing::info!(endpoint = "127.0.0.1:4317", "Starting"));
        assert!(
            out.trim_end().ends_with(
                "\tStarting\t{\"resource\": {\"service.instance.id\": \"i\"}, \"endpoint\": \"127.0.0.1:4317\"}"
            ),
            "{out}"
        );
    }

    #[test]
    fn log_crate_records_use_their_own_file_and_line() {
        // tracing-log passes a `log` record's origin as `log.*` fields.
        let cfg = telemetry("logs: {encoding: json, disable_zap_resource: true}");
        let out = capture(&cfg, || {
            tracing::warn!(log.target = "rustls", log.file = "/r/rustls/src/conn.rs", log.line = 42u32, "peer closed");
        });
        assert!(out.contains(r#""caller":"src/conn.rs:42","msg":"peer closed"}"#), "{out}");
    }

    #[test]
    fn iso8601_as_zap() {
        // 2026-12-01T01:25:08.123 UTC
        assert_eq!(iso8601(1_796_088_308, 123, 0), "2026-12-01T01:25:08.123Z");
        assert_eq!(iso8601(1_796_088_308, 5, 7200), "2026-12-01T03:25:08.005+0200");
        assert_eq!(iso8601(1_796_088_308, 5, -16200), "2026-11-30T20:55:08.005-0430");
        assert_eq!(iso8601(951_782_400, 0, 0), "2000-02-29T00:00:00.000Z");
        assert_eq!(trim_path("src/receiver/otlp/mod.rs"), "otlp/mod.rs");
        assert_eq!(trim_path("main.rs"), "main.rs");
        assert_eq!(trim_path("src/main.rs"), "src/main.rs");
    }

    #[test]
    fn floats_and_control_characters_as_zap() {
        let mut s = String::new();
        push_float(&mut s, 1.5);
        push_float(&mut s, f64::NAN);
        push_json_str(&mut s, "a\u{1}<b>");
        assert_eq!(s, "1.5\"NaN\"\"a\\u0001<b>\"");
    }
}
