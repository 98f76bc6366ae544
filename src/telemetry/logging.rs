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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

mod encode;
mod timestamp;

#[cfg(test)]
use encode::{push_float, push_json_str, trim_path};
pub use encode::{Encoder, Val};
pub use timestamp::{iso8601, iso8601_now};

// internal/telemetry/attribute.go
pub const COMPONENT_ID: &str = "otelcol.component.id";
pub const COMPONENT_KIND: &str = "otelcol.component.kind";
pub const PIPELINE_ID: &str = "otelcol.pipeline.id";
pub const SIGNAL: &str = "otelcol.signal";

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
        // Last line of defence: a URL password that reached a message or a field (an error from a
        // library, say) prints as Go's `Redacted()` prints it.
        let message = crate::secret::redact_text(&v.message);
        let fields = v
            .fields
            .into_iter()
            .map(|(k, val)| match val {
                Val::Str(s) => {
                    let r = crate::secret::redact_text(&s).into_owned();
                    (k, Val::Str(r))
                }
                other => (k, other),
            })
            .collect();
        let line = self.encoder.encode(*meta.level(), &iso8601_now(), caller, &message, fields);
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
    fn url_passwords_never_reach_a_line() {
        let cfg = telemetry("logs: {encoding: json}");
        let out = capture(&cfg, || {
            let e = std::io::Error::other("Post \"https://u:s3cret@h/v1/logs\": refused");
            tracing::error!(endpoint = "http://u:s3cret@h:1", error = %e, "send to http://u:s3cret@h failed");
        });
        assert!(!out.contains("s3cret"), "{out}");
        assert_eq!(out.matches("u:xxxxx@h").count(), 3, "{out}");
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
