//! OTLP log records → Loki push requests by tenant: a pure function (the caller passes `now`),
//! following the Go translator (contrib `pkg/translator/loki`: logs_to_loki.go, convert.go,
//! utils.go) as it was at v0.130, rewritten for oxidot. Label hints, default labels, the level
//! label, tenants, JSON/logfmt/raw lines.

use super::encode::{encode_json, encode_logfmt, encode_raw, Scope};
use super::gofmt::{as_string, inner, quote, str_value};
use crate::proto::logproto::{EntryAdapter, PushRequest, StreamAdapter};
use crate::translate::prom_names::normalize_label;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs};
use std::collections::BTreeMap;

pub const HINT_ATTRIBUTES: &str = "loki.attribute.labels";
pub const HINT_RESOURCES: &str = "loki.resource.labels";
pub const HINT_TENANT: &str = "loki.tenant";
pub const HINT_FORMAT: &str = "loki.format";
const LEVEL: &str = "level";

/// Which default labels to add: `default_labels_enabled`, where a key left out means enabled
/// (convert.go `getDefaultLabels`, logs_to_loki.go `LogToLokiEntry`).
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

impl DefaultLabels {
    /// From the `default_labels_enabled` map (keys other than the four are ignored, as in Go).
    pub fn from_map(m: &BTreeMap<String, bool>) -> Self {
        let on = |k: &str| m.get(k).copied().unwrap_or(true);
        DefaultLabels { exporter: on("exporter"), job: on("job"), instance: on("instance"), level: on(LEVEL) }
    }
}

/// Push requests by tenant ("" is no tenant: no `X-Scope-OrgID` from hints), sorted by tenant,
/// streams sorted by label set, entries in record order; plus the records left out (tenant,
/// why). As logs_to_loki.go `LogsToLokiRequests`, a tenant whose records all failed to convert
/// still has its (empty) request: the exporter reports it as a permanent failure.
#[derive(Debug, Default, PartialEq)]
pub struct Translated {
    pub requests: Vec<(String, PushRequest)>,
    pub dropped: Vec<(String, String)>,
}

impl Translated {
    /// A tenant's report (exporter.go `sendPushRequest` logs it): records dropped, submitted.
    pub fn report(&self, tenant: &str) -> (usize, usize) {
        let dropped = self.dropped.iter().filter(|(t, _)| t == tenant).count();
        let submitted = self
            .requests
            .iter()
            .filter(|(t, _)| t == tenant)
            .flat_map(|(_, r)| &r.streams)
            .map(|s| s.entries.len())
            .sum();
        (dropped, submitted)
    }
}

/// The first attribute named `k` (pdata `Map.Get`).
fn get<'a>(attrs: &'a [KeyValue], k: &str) -> Option<&'a Option<AnyValue>> {
    attrs.iter().find(|a| a.key == k).map(|a| &a.value)
}

/// logs_to_loki.go `GetTenantFromTenantHint`: the `loki.tenant` hint from the resource, else
/// from the record; the attribute it names looked up in the resource, then in the record. Only
/// string values count (pdata `Str()`); "" is no tenant.
pub fn tenant_from_hint(log: &[KeyValue], res: &[KeyValue]) -> String {
    let Some(hint) = get(res, HINT_TENANT).or_else(|| get(log, HINT_TENANT)) else {
        return String::new();
    };
    let name = str_value(hint);
    get(res, name).or_else(|| get(log, name)).map(|v| str_value(v).to_string()).unwrap_or_default()
}

/// logs_to_loki.go `getFormatFromFormatHint`: `loki.format` on the resource wins over the
/// record's; json without either.
fn format_from_hint(log: &[KeyValue], res: &[KeyValue]) -> String {
    get(res, HINT_FORMAT).or_else(|| get(log, HINT_FORMAT)).map(as_string).unwrap_or_else(|| "json".into())
}

/// logs_to_loki.go `severityNumberToLevel`: plog's severity number names, upper case
/// (`INFO`, `INFO2` ...). Out of range, `SeverityNumber.String()` is "", which the map does not
/// hold: the level is "".
fn severity_level(n: i32) -> &'static str {
    const LEVELS: [&str; 24] = [
        "TRACE", "TRACE2", "TRACE3", "TRACE4", "DEBUG", "DEBUG2", "DEBUG3", "DEBUG4", "INFO", "INFO2", "INFO3",
        "INFO4", "WARN", "WARN2", "WARN3", "WARN4", "ERROR", "ERROR2", "ERROR3", "ERROR4", "FATAL", "FATAL2", "FATAL3",
        "FATAL4",
    ];
    usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).and_then(|i| LEVELS.get(i)).copied().unwrap_or("")
}

fn str_kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.to_string(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.to_string())) }),
        ..Default::default()
    }
}

fn put_str(attrs: &mut Vec<KeyValue>, k: &str, v: &str) {
    match attrs.iter_mut().find(|a| a.key == k) {
        Some(a) => *a = str_kv(k, v),
        None => attrs.push(str_kv(k, v)),
    }
}

/// logs_to_loki.go `addLogLevelAttributeAndHint` and `addHint`: with a severity number, `level`
/// joins the `loki.attribute.labels` hint (appended to a string or slice hint; a hint of another
/// type is left alone) and, unless the record already has a `level` attribute, the attribute is
/// set from the severity number.
fn add_level(attrs: &mut Vec<KeyValue>, severity: i32) {
    if severity == 0 {
        return;
    }
    match attrs.iter_mut().find(|a| a.key == HINT_ATTRIBUTES) {
        Some(a) => match a.value.as_mut().and_then(|v| v.value.as_mut()) {
            Some(any_value::Value::ArrayValue(arr)) => {
                arr.values.push(AnyValue { value: Some(any_value::Value::StringValue(LEVEL.into())) })
            }
            Some(any_value::Value::StringValue(s)) => *s = format!("{s},{LEVEL}"),
            _ => {}
        },
        None => attrs.push(str_kv(HINT_ATTRIBUTES, LEVEL)),
    }
    if get(attrs, LEVEL).is_none() {
        put_str(attrs, LEVEL, severity_level(severity));
    }
}

/// convert.go `parseAttributeNames`: a comma-separated string, the elements of a slice (as
/// Go's `%v` prints them), or any other value's text.
fn attribute_names(v: &Option<AnyValue>) -> Vec<String> {
    match inner(v) {
        Some(any_value::Value::StringValue(s)) => s.split(',').map(str::to_string).collect(),
        Some(any_value::Value::ArrayValue(a)) => a.values.iter().map(|x| go_v(&Some(x.clone()))).collect(),
        _ => vec![as_string(v)],
    }
}

/// Go's `fmt.Sprintf("%v", x)` of an `AsRaw()` value, for hint slices: scalars as text,
/// nested slices and maps in Go's `[a b]` / `map[k:v]` forms.
fn go_v(v: &Option<AnyValue>) -> String {
    match inner(v) {
        None => "<nil>".into(),
        Some(any_value::Value::DoubleValue(d)) => super::gofmt::float_v(*d),
        Some(any_value::Value::BytesValue(b)) => {
            format!("[{}]", b.iter().map(u8::to_string).collect::<Vec<_>>().join(" "))
        }
        Some(any_value::Value::ArrayValue(a)) => {
            format!("[{}]", a.values.iter().map(|x| go_v(&Some(x.clone()))).collect::<Vec<_>>().join(" "))
        }
        Some(any_value::Value::KvlistValue(kv)) => {
            let m: BTreeMap<&str, String> = kv.values.iter().map(|e| (e.key.as_str(), go_v(&e.value))).collect();
            format!("map[{}]", m.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(" "))
        }
        _ => as_string(v),
    }
}

/// convert.go `getAttribute`: the attribute named `name`, else a nested one: the longest
/// dotted prefix that names a map attribute, then the rest looked up inside it.
fn get_attribute<'a>(name: &str, attrs: &'a [KeyValue]) -> Option<&'a Option<AnyValue>> {
    if let Some(v) = get(attrs, name) {
        return Some(v);
    }
    let segs: Vec<&str> = name.split('.').collect();
    let n = segs.len();
    for i in 0..n.saturating_sub(1) {
        let left = segs[..n - i - 1].join(".");
        let right = segs[n - i - 1..].join(".");
        if let Some(Some(any_value::Value::KvlistValue(m))) = get_attribute(&left, attrs).map(inner) {
            return get_attribute(&right, &m.values);
        }
    }
    None
}

/// convert.go `convertAttributesToLabels`: the named attributes (names trimmed) that exist,
/// under their attribute names, with their `AsString` text.
fn attributes_to_labels(attrs: &[KeyValue], hint: &Option<AnyValue>, out: &mut BTreeMap<String, String>) {
    for name in attribute_names(hint) {
        let name = name.trim();
        if let Some(v) = get_attribute(name, attrs) {
            out.insert(name.to_string(), as_string(v));
        }
    }
}

/// convert.go `getDefaultLabels`, utils.go `extractJob`/`extractInstance`: `exporter="OTLP"`,
/// `job` = `service.namespace/service.name` (or the name alone), `instance` =
/// `service.instance.id`, each unless switched off.
fn default_labels(res: &[KeyValue], d: &DefaultLabels) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if d.exporter {
        out.insert("exporter".to_string(), "OTLP".to_string());
    }
    if d.job {
        if let Some(name) = get(res, "service.name") {
            let job = match get(res, "service.namespace") {
                Some(ns) => format!("{}/{}", as_string(ns), as_string(name)),
                None => as_string(name),
            };
            out.insert("job".to_string(), job);
        }
    }
    if d.instance {
        if let Some(i) = get(res, "service.instance.id") {
            out.insert("instance".to_string(), as_string(i));
        }
    }
    out
}

/// convert.go `convertAttributesAndMerge`: default labels, then the resource's
/// `loki.resource.labels` hint, the record's `loki.resource.labels` hint (resolved against the
/// resource), the record's `loki.attribute.labels` hint; a later source wins on the same name.
fn merged_labels(log: &[KeyValue], res: &[KeyValue], d: &DefaultLabels) -> BTreeMap<String, String> {
    let mut out = default_labels(res, d);
    if let Some(h) = get(res, HINT_RESOURCES) {
        attributes_to_labels(res, h, &mut out);
    }
    if let Some(h) = get(log, HINT_RESOURCES) {
        attributes_to_labels(res, h, &mut out);
    }
    if let Some(h) = get(log, HINT_ATTRIBUTES) {
        attributes_to_labels(log, h, &mut out);
    }
    out
}

/// convert.go `removeAttributes`: the four hints, and every attribute named like a label
/// (before label names are normalized).
fn remove_attributes(attrs: &mut Vec<KeyValue>, labels: &BTreeMap<String, String>) {
    attrs.retain(|a| {
        !matches!(a.key.as_str(), HINT_ATTRIBUTES | HINT_RESOURCES | HINT_TENANT | HINT_FORMAT)
            && !labels.contains_key(&a.key)
    });
}

/// Prometheus `model.LabelSet.String()`: `{a="1", b="2"}`, names sorted, values quoted as Go's
/// `strconv.Quote`.
pub fn label_string(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect();
    format!("{{{}}}", inner.join(", "))
}

/// One record as logs_to_loki.go `LogToLokiEntry`: (normalized labels, line), or why it is
/// dropped.
fn log_to_entry(
    lr: &LogRecord,
    res_attrs: &[KeyValue],
    scope: Scope,
    d: &DefaultLabels,
    permissive: bool,
) -> Result<(BTreeMap<String, String>, String), String> {
    // Go works on copies of the record's and the resource's attributes.
    let mut log = lr.attributes.clone();
    let mut res = res_attrs.to_vec();
    if d.level {
        add_level(&mut log, lr.severity_number);
    }
    let format = format_from_hint(&log, &res);
    let merged = merged_labels(&log, &res, d);
    remove_attributes(&mut log, &merged);
    remove_attributes(&mut res, &merged);
    // convert.go convertLogToLokiEntry
    let line = match format.as_str() {
        "json" => encode_json(lr, &log, &res, scope)?,
        "logfmt" => encode_logfmt(lr, &log, &res, scope),
        "raw" => encode_raw(lr),
        f => return Err(format!("invalid format {f}. Expected one of: json, logfmt, raw")),
    };
    // Loki doesn't take dots in label names: pkg/translator/prometheus NormalizeLabel (with its
    // PermissiveLabelSanitization gate). Two names normalizing alike: the one sorting last wins
    // (Go: map order, random).
    let labels = merged.into_iter().map(|(k, v)| (normalize_label(&k, permissive), v)).collect();
    Ok((labels, line))
}

/// convert.go `timestampFromLogRecord`: the time, else the observed time, else now.
fn timestamp(lr: &LogRecord, now_ns: u64) -> prost_types::Timestamp {
    let ts = [lr.time_unix_nano, lr.observed_time_unix_nano].into_iter().find(|&t| t != 0).unwrap_or(now_ns) as i64;
    prost_types::Timestamp { seconds: ts.div_euclid(1_000_000_000), nanos: ts.rem_euclid(1_000_000_000) as i32 }
}

/// logs_to_loki.go `LogsToLokiRequests`: every record to a stream of its tenant's request; a
/// record without any label goes to the stream `{}` as in Go (Loki then refuses the request
/// with "at least one label pair is required per stream", which the exporter counts).
/// `permissive` is the `pkg.translator.prometheus.PermissiveLabelSanitization` gate. oxidot
/// sends tenants and streams in sorted order (Go: map order).
pub fn translate(resources: &[ResourceLogs], d: &DefaultLabels, now_ns: u64, permissive: bool) -> Translated {
    let mut by_tenant: BTreeMap<String, BTreeMap<String, Vec<EntryAdapter>>> = BTreeMap::new();
    let mut out = Translated::default();
    for rl in resources {
        let res: &[KeyValue] = rl.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]);
        for sl in &rl.scope_logs {
            let scope = sl
                .scope
                .as_ref()
                .map(|s| Scope { name: s.name.as_str(), version: s.version.as_str() })
                .unwrap_or_default();
            for lr in &sl.log_records {
                let tenant = tenant_from_hint(&lr.attributes, res);
                // Go creates the tenant's group before converting the record.
                let streams = by_tenant.entry(tenant.clone()).or_default();
                let (labels, line) = match log_to_entry(lr, res, scope, d, permissive) {
                    Ok(x) => x,
                    Err(e) => {
                        out.dropped.push((tenant, format!("failed to convert, dropping log: {e}")));
                        continue;
                    }
                };
                let entry =
                    EntryAdapter { timestamp: Some(timestamp(lr, now_ns)), line, structured_metadata: Vec::new() };
                streams.entry(label_string(&labels)).or_default().push(entry);
            }
        }
    }
    for (tenant, streams) in by_tenant {
        let streams = streams.into_iter().map(|(labels, entries)| StreamAdapter { labels, entries, hash: 0 }).collect();
        out.requests.push((tenant, PushRequest { streams }));
    }
    out
}

#[cfg(test)]
mod tests;
