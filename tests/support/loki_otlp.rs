//! A stand-in for Loki 3's native OTLP endpoint (`POST /otlp/v1/logs`, what `otlphttp` with
//! `endpoint: http://loki:3100/otlp` posts to) that stores what Loki 3.1 stores, so tests can
//! evaluate Grafana's derived fields and the dashboards' LogQL against it.
//!
//! The mapping follows Loki's `pkg/loghttp/push/otlp.go` and `otlp_config.go` (v3.1 defaults) and
//! the distributor's level detection (`discover_log_levels`, on by default since 3.1):
//! - stream labels: the resource attributes in Loki's default index list (`service.name`,
//!   `service.namespace`, `service.instance.id`, `deployment.environment`, `cloud.region`, …),
//!   names sanitized (`service.name` → `service_name`); `service_name` is discovered from other
//!   labels or set to `unknown_service` when missing;
//! - the line: the body as a string (maps and arrays as JSON);
//! - structured metadata: the log attributes, `observed_timestamp` (when both timestamps are set),
//!   `severity_number`, `severity_text`, `dropped_attributes_count`, `flags`, `trace_id` and
//!   `span_id` (lower-case hex), then the other resource attributes, the scope attributes,
//!   `scope_name` and `scope_version`; and `detected_level` from a `level` label, else the
//!   severity number (`error` for 17–20), else the line;
//! - Loki's answers: 204 on success, 400 with a text reason for a body it cannot read (a content
//!   type other than protobuf or JSON, an encoding other than gzip or none), 404 elsewhere.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value as Av, AnyValue, KeyValue};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::sinks::Answer;

/// Resource attributes Loki 3 turns into index labels by default (`blessedAttributes`).
pub const DEFAULT_INDEX_LABELS: &[&str] = &[
    "service.name",
    "service.namespace",
    "service.instance.id",
    "deployment.environment",
    "cloud.region",
    "cloud.availability_zone",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.container.name",
    "container.name",
    "k8s.replicaset.name",
    "k8s.deployment.name",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.cronjob.name",
    "k8s.job.name",
];

/// Labels Loki takes `service_name` from when the resource has no `service.name` (`discover_service_name`).
const DISCOVER_SERVICE_NAME: &[&str] = &[
    "service",
    "app",
    "application",
    "name",
    "app_kubernetes_io_name",
    "container",
    "container_name",
    "component",
    "workload",
    "job",
];

/// One stored entry, as a Loki query returns it.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub labels: BTreeMap<String, String>,
    pub ts_ns: u64,
    pub line: String,
    pub structured_metadata: Vec<(String, String)>,
}

impl StoredEntry {
    pub fn metadata(&self, k: &str) -> Option<&str> {
        self.structured_metadata.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    /// Stream labels and structured metadata together: what Grafana's Loki data source shows as
    /// the entry's labels (and what LogQL label filters and `by (…)` see).
    pub fn all_labels(&self) -> BTreeMap<String, String> {
        let mut m = self.labels.clone();
        for (k, v) in &self.structured_metadata {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        m
    }
}

#[derive(Clone, Default)]
pub struct LokiOtlp {
    pub stored: Arc<Mutex<Vec<StoredEntry>>>,
    /// Answers used first, one per request (nothing is stored for them).
    pub script: Arc<Mutex<VecDeque<Answer>>>,
    pub rejected: Arc<Mutex<Vec<String>>>,
    pub port: u16,
}

impl LokiOtlp {
    pub fn start() -> LokiOtlp {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let s = LokiOtlp { port: l.local_addr().unwrap().port(), ..Default::default() };
        let srv = s.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(l).unwrap();
                loop {
                    let Ok((stream, _)) = l.accept().await else { continue };
                    let srv = srv.clone();
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let srv = srv.clone();
                            async move { Ok::<_, std::convert::Infallible>(srv.handle(req).await) }
                        });
                        let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                            .await;
                    });
                }
            });
        });
        s
    }

    /// The `otlphttp` endpoint, as compose's `http://loki:3100/otlp`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/otlp", self.port)
    }

    pub fn entries(&self) -> Vec<StoredEntry> {
        self.stored.lock().unwrap().clone()
    }

    fn answer(status: u16, body: String) -> hyper::Response<Full<Bytes>> {
        let mut r = hyper::Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
        r
    }

    async fn handle(&self, req: hyper::Request<hyper::body::Incoming>) -> hyper::Response<Full<Bytes>> {
        use prost::Message;
        if req.uri().path() != "/otlp/v1/logs" || req.method() != hyper::Method::POST {
            return Self::answer(404, "404 page not found\n".into());
        }
        let header = |k: &str| req.headers().get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let (ctype, enc) = (header("content-type"), header("content-encoding"));
        let raw = req.into_body().collect().await.unwrap().to_bytes();
        if let Some(a) = self.script.lock().unwrap().pop_front() {
            return Self::answer(a.status, String::from_utf8_lossy(&a.body).into_owned());
        }
        let reject = |why: String| {
            self.rejected.lock().unwrap().push(why.clone());
            Self::answer(400, why)
        };
        // Loki reads gzip and identity only; any other encoding reaches the decoder as is and fails.
        let body = match enc.as_str() {
            "gzip" => match oxidot::receiver::otlp::decode::decompress("gzip", raw, 1 << 30) {
                Ok(b) => b.to_vec(),
                Err(e) => return reject(format!("gzip: {e}")),
            },
            _ => raw.to_vec(),
        };
        let req = match ctype.as_str() {
            "application/x-protobuf" => match ExportLogsServiceRequest::decode(&body[..]) {
                Ok(r) => r,
                Err(e) => return reject(format!("proto: {e}")),
            },
            "application/json" => match serde_json::from_slice::<ExportLogsServiceRequest>(&body) {
                Ok(r) => r,
                Err(e) => return reject(format!("json: {e}")),
            },
            other => return reject(format!("content type: {other} is not supported")),
        };
        let entries = to_entries(&req);
        self.stored.lock().unwrap().extend(entries);
        Self::answer(204, String::new())
    }
}

/// Loki's label-name sanitizing (Prometheus' `NormalizeLabel`): characters other than letters,
/// digits and `_` become `_`; a leading digit gets `key_`, a single leading `_` gets `key`.
pub fn normalize_label(k: &str) -> String {
    if k.is_empty() {
        return String::new();
    }
    let s: String = k.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("key_{s}")
    } else if s.starts_with('_') && !s.starts_with("__") {
        format!("key{s}")
    } else {
        s
    }
}

fn value_json(v: &AnyValue) -> serde_json::Value {
    match &v.value {
        Some(Av::StringValue(s)) => s.clone().into(),
        // A profiles-only dictionary reference; never in a logs request.
        Some(Av::StringValueStrindex(i)) => (*i).into(),
        Some(Av::BoolValue(b)) => (*b).into(),
        Some(Av::IntValue(i)) => (*i).into(),
        Some(Av::DoubleValue(d)) => (*d).into(),
        Some(Av::BytesValue(b)) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(b).into()
        }
        Some(Av::ArrayValue(a)) => a.values.iter().map(value_json).collect::<Vec<_>>().into(),
        Some(Av::KvlistValue(kv)) => {
            kv.values.iter().map(|kv| (kv.key.clone(), kv.value.as_ref().map(value_json).unwrap_or_default())).collect()
        }
        None => serde_json::Value::Null,
    }
}

/// pdata's `Value.AsString`.
fn as_string(v: &AnyValue) -> String {
    match &v.value {
        Some(Av::StringValue(s)) => s.clone(),
        None => String::new(),
        _ => match value_json(v) {
            serde_json::Value::String(s) => s,
            j => j.to_string(),
        },
    }
}

/// `attributeToLabels`: maps flatten into `prefix_key` names.
fn attribute_labels(k: &str, v: &AnyValue, prefix: &str, out: &mut Vec<(String, String)>) {
    let name = normalize_label(&if prefix.is_empty() { k.to_string() } else { format!("{prefix}_{k}") });
    if let Some(Av::KvlistValue(kv)) = &v.value {
        for e in &kv.values {
            attribute_labels(&e.key, e.value.as_ref().unwrap_or(&AnyValue::default()), &name, out);
        }
    } else {
        out.push((name, as_string(v)));
    }
}

fn attrs(kvs: &[KeyValue]) -> impl Iterator<Item = (&str, AnyValue)> {
    kvs.iter().map(|kv| (kv.key.as_str(), kv.value.clone().unwrap_or_default()))
}

/// The distributor's level detection for an entry without a `level` stream label.
fn detected_level(labels: &BTreeMap<String, String>, sm: &[(String, String)], line: &str) -> String {
    for k in ["level", "LEVEL", "Level", "Severity", "severity", "SEVERITY", "lvl", "LVL", "Lvl"] {
        if let Some(v) = labels.get(k) {
            return v.clone();
        }
    }
    if let Some((_, n)) = sm.iter().find(|(k, _)| k == "severity_number") {
        return match n.parse::<i32>().unwrap_or(9) {
            0 => "unknown",
            1..=4 => "trace",
            5..=8 => "debug",
            9..=12 => "info",
            13..=16 => "warn",
            17..=20 => "error",
            21..=24 => "fatal",
            _ => "unknown",
        }
        .into();
    }
    let has = |ws: &[&str]| ws.iter().any(|w| line.contains(w));
    if has(&["info", "INFO"]) {
        "info"
    } else if has(&["err:", "ERR:", "[err]", "[ERR]", "[error]", "[ERROR]"]) {
        "error"
    } else if has(&["warn", "WARN"]) {
        "warn"
    } else if has(&["debug", "DEBUG"]) {
        "debug"
    } else {
        "unknown"
    }
    .into()
}

/// What Loki 3 stores for one OTLP logs request.
pub fn to_entries(req: &ExportLogsServiceRequest) -> Vec<StoredEntry> {
    let mut out = Vec::new();
    for rl in &req.resource_logs {
        let mut labels = BTreeMap::new();
        let mut resource_sm = Vec::new();
        for (k, v) in attrs(rl.resource.as_ref().map(|r| &r.attributes[..]).unwrap_or(&[])) {
            let mut ls = Vec::new();
            attribute_labels(k, &v, "", &mut ls);
            if DEFAULT_INDEX_LABELS.contains(&k) {
                labels.extend(ls);
            } else {
                resource_sm.extend(ls);
            }
        }
        if !labels.contains_key("service_name") {
            let found = DISCOVER_SERVICE_NAME.iter().find_map(|n| labels.get(*n).cloned());
            labels.insert("service_name".into(), found.unwrap_or_else(|| "unknown_service".into()));
        }
        for sl in &rl.scope_logs {
            let mut scope_sm = Vec::new();
            if let Some(s) = &sl.scope {
                for (k, v) in attrs(&s.attributes) {
                    attribute_labels(k, &v, "", &mut scope_sm);
                }
                if !s.name.is_empty() {
                    scope_sm.push(("scope_name".into(), s.name.clone()));
                }
                if !s.version.is_empty() {
                    scope_sm.push(("scope_version".into(), s.version.clone()));
                }
                if s.dropped_attributes_count != 0 {
                    scope_sm.push(("scope_dropped_attributes_count".into(), s.dropped_attributes_count.to_string()));
                }
            }
            for r in &sl.log_records {
                let mut sm = Vec::new();
                for (k, v) in attrs(&r.attributes) {
                    attribute_labels(k, &v, "", &mut sm);
                }
                if r.time_unix_nano != 0 && r.observed_time_unix_nano != 0 {
                    sm.push(("observed_timestamp".into(), r.observed_time_unix_nano.to_string()));
                }
                if r.severity_number != 0 {
                    sm.push(("severity_number".into(), r.severity_number.to_string()));
                }
                if !r.severity_text.is_empty() {
                    sm.push(("severity_text".into(), r.severity_text.clone()));
                }
                if r.dropped_attributes_count != 0 {
                    sm.push(("dropped_attributes_count".into(), r.dropped_attributes_count.to_string()));
                }
                if r.flags != 0 {
                    sm.push(("flags".into(), r.flags.to_string()));
                }
                if !r.trace_id.is_empty() && r.trace_id.iter().any(|b| *b != 0) {
                    sm.push(("trace_id".into(), hex::encode(&r.trace_id)));
                }
                if !r.span_id.is_empty() && r.span_id.iter().any(|b| *b != 0) {
                    sm.push(("span_id".into(), hex::encode(&r.span_id)));
                }
                sm.extend(resource_sm.iter().cloned());
                sm.extend(scope_sm.iter().cloned());
                let line = r.body.as_ref().map(as_string).unwrap_or_default();
                let level = detected_level(&labels, &sm, &line);
                sm.push(("detected_level".into(), level));
                let ts_ns = if r.time_unix_nano != 0 { r.time_unix_nano } else { r.observed_time_unix_nano };
                out.push(StoredEntry { labels: labels.clone(), ts_ns, line, structured_metadata: sm });
            }
        }
    }
    out
}

/// Reads a LogQL string literal (`"…"` with Go escapes, or a `` `raw` `` one) at the start of
/// `s`; returns it and the rest.
fn string_literal(s: &str) -> (String, &str) {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('`') {
        let end = rest.find('`').unwrap_or_else(|| panic!("unterminated raw string in {s:?}"));
        return (rest[..end].to_string(), &rest[end + 1..]);
    }
    let rest = s.strip_prefix('"').unwrap_or_else(|| panic!("expected a string at {s:?}"));
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, &rest[i + 1..]),
            '\\' => out.push(chars.next().map(|(_, c)| c).unwrap_or('\\')),
            c => out.push(c),
        }
    }
    panic!("unterminated string in {s:?}")
}

/// `name op "value"` with op one of `=~ !~ != =`.
fn matcher(s: &str) -> ((String, String, String), &str) {
    let s = s.trim_start();
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    let (name, rest) = s.split_at(end);
    let rest = rest.trim_start();
    let op = ["=~", "!~", "!=", "="].into_iter().find(|op| rest.starts_with(op)).unwrap_or_else(|| {
        panic!("unsupported LogQL matcher at {s:?} (this evaluator knows = != =~ !~)");
    });
    let (value, rest) = string_literal(&rest[op.len()..]);
    ((name.to_string(), op.to_string(), value), rest)
}

fn matches(op: &str, have: Option<&str>, want: &str) -> bool {
    let have = have.unwrap_or("");
    let re = || regex::Regex::new(&format!("^(?:{want})$")).unwrap();
    match op {
        "=" => have == want,
        "!=" => have != want,
        "=~" => re().is_match(have),
        "!~" => !re().is_match(have),
        _ => unreachable!(),
    }
}

/// Evaluates a LogQL log query over stored entries: a stream selector (`{k="v", k=~"re"}`, on the
/// stream labels), then line filters (`|= "s"`, `!= "s"`, `|~ "re"`, `!~ "re"`) and label
/// filters (`| k="v"`, `| k=~"re"`, `| k!="v"`, on labels and structured metadata). Anything else
/// panics, so a dashboard query using more than this subset fails its test loudly.
pub fn select(entries: &[StoredEntry], logql: &str) -> Vec<StoredEntry> {
    let s = logql.trim();
    let s = s.strip_prefix('{').unwrap_or_else(|| panic!("a log query starts with a stream selector: {logql:?}"));
    let mut rest = s;
    let mut selector = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('}') {
            rest = r;
            break;
        }
        let (m, r) = matcher(rest);
        selector.push(m);
        rest = r.trim_start().strip_prefix(',').unwrap_or(r);
    }
    let mut stages: Vec<Box<dyn Fn(&StoredEntry) -> bool>> = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        if let Some(op) = ["|=", "!=", "|~", "!~"].into_iter().find(|op| rest.starts_with(op)) {
            let (text, r) = string_literal(&rest[2..]);
            rest = r;
            let re = regex::Regex::new(&text).ok();
            stages.push(Box::new(move |e| match op {
                "|=" => e.line.contains(&text),
                "!=" => !e.line.contains(&text),
                "|~" => re.as_ref().is_some_and(|re| re.is_match(&e.line)),
                _ => !re.as_ref().is_some_and(|re| re.is_match(&e.line)),
            }));
        } else if let Some(r) = rest.strip_prefix('|') {
            let ((name, op, value), r) = matcher(r);
            rest = r;
            stages.push(Box::new(move |e| matches(&op, e.all_labels().get(&name).map(String::as_str), &value)));
        } else {
            panic!("unsupported LogQL stage at {rest:?} in {logql:?}");
        }
    }
    entries
        .iter()
        .filter(|e| selector.iter().all(|(n, op, v)| matches(op, e.labels.get(n).map(String::as_str), v)))
        .filter(|e| stages.iter().all(|f| f(e)))
        .cloned()
        .collect()
}

/// Evaluates `sum by (l, …) (count_over_time(<log query> [range]))` (or `rate`) over everything
/// stored: the count per group. Other metric shapes panic.
pub fn metric_groups(entries: &[StoredEntry], expr: &str) -> BTreeMap<Vec<(String, String)>, usize> {
    let re = regex::Regex::new(r"^sum by \(([^)]*)\) \((?:count_over_time|rate)\((.*)\[[^\]]+\]\)\)$").unwrap();
    let c = re.captures(expr.trim()).unwrap_or_else(|| panic!("unsupported LogQL metric query {expr:?}"));
    let by: Vec<&str> = c[1].split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let mut out = BTreeMap::new();
    for e in select(entries, &c[2]) {
        let all = e.all_labels();
        let key = by.iter().map(|l| (l.to_string(), all.get(*l).cloned().unwrap_or_default())).collect();
        *out.entry(key).or_insert(0) += 1;
    }
    out
}
