//! OTLP log records → Loki push streams: a pure function, following the Go `loki` exporter's
//! translator (contrib `pkg/translator/loki`): label hints, default labels, JSON/logfmt/raw lines.

use crate::exporter::prometheusremotewrite::naming::label_name;
use crate::pipeline::attrs::{find, to_json, value_text};
use crate::proto::logproto::{EntryAdapter, PushRequest, StreamAdapter};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const HINT_RESOURCE_LABELS: &str = "loki.resource.labels";
pub const HINT_ATTRIBUTE_LABELS: &str = "loki.attribute.labels";
pub const HINT_FORMAT: &str = "loki.format";
pub const HINT_TENANT: &str = "loki.tenant";

/// Which default labels to add (`default_labels_enabled`).
#[derive(Debug, Clone, PartialEq)]
pub struct DefaultLabels {
    pub exporter: bool,
    pub job: bool,
    pub instance: bool,
    pub level: bool,
}

impl Default for DefaultLabels {
    fn default() -> Self {
        DefaultLabels { exporter: true, job: true, instance: true, level: true }
    }
}

/// Push requests by tenant (`None`: no tenant header from hints), plus dropped records.
#[derive(Debug, Default, PartialEq)]
pub struct Translated {
    pub requests: Vec<(Option<String>, PushRequest)>,
    pub dropped: Vec<(usize, String)>,
}

fn hint_list(a: &[KeyValue], k: &str) -> Vec<String> {
    find(a, k)
        .map(|kv| value_text(&kv.value))
        .map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
        .unwrap_or_default()
}

fn severity_name(n: i32) -> &'static str {
    match n {
        1..=4 => "trace",
        5..=8 => "debug",
        9..=12 => "info",
        13..=16 => "warn",
        17..=20 => "error",
        21..=24 => "fatal",
        _ => "",
    }
}

/// `{a="1", b="2"}`: the label set as Loki parses it.
pub fn label_string(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

fn is_hint(k: &str) -> bool {
    matches!(k, HINT_RESOURCE_LABELS | HINT_ATTRIBUTE_LABELS | HINT_FORMAT | HINT_TENANT)
}

fn body_json(lr: &LogRecord) -> Value {
    to_json(&lr.body)
}

fn logfmt_value(v: &str) -> String {
    if !v.is_empty() && !v.contains([' ', '"', '=', '\n', '\\']) {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
    }
}

fn line(format: &str, lr: &LogRecord, attrs: &[&KeyValue], res: &[&KeyValue], scope: Option<(&str, &str)>) -> String {
    match format {
        "raw" => match lr.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => s.clone(),
            _ => body_json(lr).to_string(),
        },
        "logfmt" => {
            let mut parts = Vec::new();
            if lr.body.is_some() {
                parts.push(format!("body={}", logfmt_value(&value_text(&lr.body))));
            }
            if !lr.trace_id.is_empty() {
                parts.push(format!("traceID={}", hex::encode(&lr.trace_id)));
            }
            if !lr.span_id.is_empty() {
                parts.push(format!("spanID={}", hex::encode(&lr.span_id)));
            }
            if !lr.severity_text.is_empty() {
                parts.push(format!("severity={}", logfmt_value(&lr.severity_text)));
            }
            for a in attrs {
                parts.push(format!("attribute_{}={}", a.key, logfmt_value(&value_text(&a.value))));
            }
            for r in res {
                parts.push(format!("resource_{}={}", r.key, logfmt_value(&value_text(&r.value))));
            }
            if let Some((n, v)) = scope {
                parts.push(format!("instrumentation_scope_name={}", logfmt_value(n)));
                if !v.is_empty() {
                    parts.push(format!("instrumentation_scope_version={}", logfmt_value(v)));
                }
            }
            parts.join(" ")
        }
        _ => {
            // Field order as the Go exporter's JSON: body, traceid, spanid, severity, flags,
            // attributes, resources, instrumentation_scope. `traceid` is what Grafana's derived
            // field regex (`"traceid":"(\w+)"`) picks up for the trace link.
            let mut fields: Vec<(&str, Value)> = Vec::new();
            if lr.body.is_some() {
                fields.push(("body", body_json(lr)));
            }
            if !lr.trace_id.is_empty() {
                fields.push(("traceid", json!(hex::encode(&lr.trace_id))));
            }
            if !lr.span_id.is_empty() {
                fields.push(("spanid", json!(hex::encode(&lr.span_id))));
            }
            if !lr.severity_text.is_empty() {
                fields.push(("severity", json!(lr.severity_text)));
            }
            if lr.flags != 0 {
                fields.push(("flags", json!(lr.flags)));
            }
            if !attrs.is_empty() {
                let m: BTreeMap<&str, Value> = attrs.iter().map(|a| (a.key.as_str(), to_json(&a.value))).collect();
                fields.push(("attributes", json!(m)));
            }
            if !res.is_empty() {
                let m: BTreeMap<&str, Value> = res.iter().map(|a| (a.key.as_str(), to_json(&a.value))).collect();
                fields.push(("resources", json!(m)));
            }
            if let Some((n, v)) = scope {
                let mut s = Map::new();
                s.insert("name".into(), json!(n));
                if !v.is_empty() {
                    s.insert("version".into(), json!(v));
                }
                fields.push(("instrumentation_scope", Value::Object(s)));
            }
            let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{}", json!(k), v)).collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

/// Translates every record; records that cannot have a label set are reported in `dropped`.
pub fn translate(
    resources: &[opentelemetry_proto::tonic::logs::v1::ResourceLogs],
    defaults: &DefaultLabels,
) -> Translated {
    let mut by_tenant: BTreeMap<Option<String>, BTreeMap<String, Vec<EntryAdapter>>> = BTreeMap::new();
    let mut out = Translated::default();
    for rl in resources {
        let res: &[KeyValue] = rl.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]);
        let res_labels = hint_list(res, HINT_RESOURCE_LABELS);
        let res_format = find(res, HINT_FORMAT).map(|kv| value_text(&kv.value));
        let tenant = find(res, HINT_TENANT)
            .map(|kv| value_text(&kv.value))
            .and_then(|attr| find(res, &attr).map(|kv| value_text(&kv.value)));
        for sl in &rl.scope_logs {
            let scope = sl.scope.as_ref().filter(|s| !s.name.is_empty()).map(|s| (s.name.as_str(), s.version.as_str()));
            for lr in &sl.log_records {
                let attr_labels = hint_list(&lr.attributes, HINT_ATTRIBUTE_LABELS);
                let format = find(&lr.attributes, HINT_FORMAT)
                    .map(|kv| value_text(&kv.value))
                    .or_else(|| res_format.clone())
                    .unwrap_or_else(|| "json".into());
                let mut labels: BTreeMap<String, String> = BTreeMap::new();
                for k in &res_labels {
                    if let Some(kv) = find(res, k) {
                        labels.insert(label_name(k), value_text(&kv.value));
                    }
                }
                for k in &attr_labels {
                    if let Some(kv) = find(&lr.attributes, k) {
                        labels.insert(label_name(k), value_text(&kv.value));
                    }
                }
                if defaults.exporter {
                    labels.entry("exporter".into()).or_insert_with(|| "OTLP".into());
                }
                if defaults.job {
                    if let Some(sn) = find(res, "service.name") {
                        let job = match find(res, "service.namespace") {
                            Some(ns) => format!("{}/{}", value_text(&ns.value), value_text(&sn.value)),
                            None => value_text(&sn.value),
                        };
                        labels.entry("job".into()).or_insert(job);
                    }
                }
                if defaults.instance {
                    if let Some(i) = find(res, "service.instance.id") {
                        labels.entry("instance".into()).or_insert_with(|| value_text(&i.value));
                    }
                }
                if defaults.level {
                    let lvl = if lr.severity_text.is_empty() {
                        severity_name(lr.severity_number).to_string()
                    } else {
                        lr.severity_text.to_ascii_lowercase()
                    };
                    if !lvl.is_empty() {
                        labels.entry("level".into()).or_insert(lvl);
                    }
                }
                if labels.is_empty() {
                    out.dropped.push((
                        1,
                        "a log record has no labels: enable default labels or add loki.*.labels hints".into(),
                    ));
                    continue;
                }
                let attrs: Vec<&KeyValue> =
                    lr.attributes.iter().filter(|a| !is_hint(&a.key) && !attr_labels.contains(&a.key)).collect();
                let resattrs: Vec<&KeyValue> =
                    res.iter().filter(|a| !is_hint(&a.key) && !res_labels.contains(&a.key)).collect();
                let ts = if lr.time_unix_nano != 0 { lr.time_unix_nano } else { lr.observed_time_unix_nano };
                let entry = EntryAdapter {
                    timestamp: Some(prost_types::Timestamp {
                        seconds: (ts / 1_000_000_000) as i64,
                        nanos: (ts % 1_000_000_000) as i32,
                    }),
                    line: line(&format, lr, &attrs, &resattrs, scope),
                    structured_metadata: Vec::new(),
                };
                by_tenant.entry(tenant.clone()).or_default().entry(label_string(&labels)).or_default().push(entry);
            }
        }
    }
    for (tenant, streams) in by_tenant {
        let streams = streams
            .into_iter()
            .map(|(labels, mut entries)| {
                entries.sort_by_key(|e| e.timestamp.as_ref().map(|t| (t.seconds, t.nanos)));
                StreamAdapter { labels, entries, hash: 0 }
            })
            .collect();
        out.requests.push((tenant, PushRequest { streams }));
    }
    out
}

#[cfg(test)]
mod tests;
