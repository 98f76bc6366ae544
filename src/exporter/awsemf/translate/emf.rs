//! One group → one EMF document (metric_translator.go `translateGroupedMetricToCWMetric`,
//! `groupedMetricToCWMeasurement(sWithFilters)`, `translateCWMetricToEMF`; util.go
//! `dimensionRollup`, `dedupDimensions`), written as Go's encoding/json writes it: map keys
//! sorted, struct fields in declaration order, floats in Go's shortest form.

use super::datapoint::{EmfValue, OTEL_LIB};
use super::{Event, Group, Rollup, TranslateOptions};
use crate::translate::gojson::{float_json, json_str};
use std::collections::{BTreeMap, HashSet};

/// A JSON value in the order it is to be written.
#[derive(Debug, Clone)]
enum J {
    Str(String),
    F64(f64),
    U64(u64),
    I64(i64),
    Bool(bool),
    Null,
    /// Written in this order (structs); maps are sorted before they become this.
    Obj(Vec<(String, J)>),
    Arr(Vec<J>),
}

fn write(out: &mut String, v: &J) {
    match v {
        J::Str(s) => json_str(out, s),
        // Values are finite (NaN and infinities are skipped before); null is the safe fallback.
        J::F64(f) => out.push_str(&float_json(*f).unwrap_or_else(|_| "null".into())),
        J::U64(u) => out.push_str(&u.to_string()),
        J::I64(i) => out.push_str(&i.to_string()),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Null => out.push_str("null"),
        J::Obj(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_str(out, k);
                out.push(':');
                write(out, v);
            }
            out.push('}');
        }
        J::Arr(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, v);
            }
            out.push(']');
        }
    }
}

/// A decoded JSON value as Go's `interface{}` re-encodes it: numbers as float64, maps sorted.
fn from_json(v: &serde_json::Value) -> J {
    match v {
        serde_json::Value::Null => J::Null,
        serde_json::Value::Bool(b) => J::Bool(*b),
        serde_json::Value::Number(n) => J::F64(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => J::Str(s.clone()),
        serde_json::Value::Array(a) => J::Arr(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            let sorted: BTreeMap<&String, &serde_json::Value> = o.iter().collect();
            J::Obj(sorted.into_iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
    }
}

fn value(v: &EmfValue) -> J {
    match v {
        EmfValue::F64(f) => J::F64(*f),
        EmfValue::U64(u) => J::U64(*u),
        EmfValue::Stats { max, min, count, sum } => J::Obj(vec![
            ("Max".into(), J::F64(*max)),
            ("Min".into(), J::F64(*min)),
            ("Count".into(), J::U64(*count)),
            ("Sum".into(), J::F64(*sum)),
        ]),
    }
}

/// metric_translator.go fieldPrometheusTypes.
fn prom_type(kind: u8) -> &'static str {
    match kind {
        1 => "gauge",
        2 => "counter",
        3 => "histogram",
        5 => "summary",
        _ => "",
    }
}

/// util.go `dimensionRollup`: the zero set (`[OTelLib]` or `[]`) when there are labels, and
/// one set per label (with `OTelLib`), each sorted; labels in sorted order.
pub fn dimension_rollup(rollup: Rollup, labels: &BTreeMap<String, String>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let has_lib = labels.contains_key(OTEL_LIB);
    let zero: Vec<String> = if has_lib { vec![OTEL_LIB.to_string()] } else { Vec::new() };
    let others: Vec<&String> = labels.keys().filter(|k| *k != OTEL_LIB).collect();
    if rollup == Rollup::ZeroAndSingle && !others.is_empty() {
        out.push(zero.clone());
    }
    if rollup == Rollup::ZeroAndSingle || rollup == Rollup::SingleOnly {
        for l in others {
            let mut set = zero.clone();
            set.push(l.clone());
            set.sort();
            out.push(set);
        }
    }
    out
}

/// util.go `dedupDimensions`.
fn dedup(dims: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let mut seen = HashSet::new();
    dims.into_iter().filter(|d| seen.insert(d.join(","))).collect()
}

fn metric_entry(name: &str, unit: &str) -> J {
    // A map[string]string in Go: keys sorted, `Unit` only when set.
    let mut f = vec![("Name".to_string(), J::Str(name.to_string()))];
    if !unit.is_empty() {
        f.push(("Unit".into(), J::Str(unit.to_string())));
    }
    J::Obj(f)
}

fn measurement(namespace: &str, dims: Vec<Vec<String>>, metrics: Vec<J>) -> J {
    J::Obj(vec![
        ("Namespace".into(), J::Str(namespace.to_string())),
        ("Dimensions".into(), J::Arr(dims.into_iter().map(|d| J::Arr(d.into_iter().map(J::Str).collect())).collect())),
        ("Metrics".into(), J::Arr(metrics)),
    ])
}

/// The CloudWatch measurements of a group (empty when declarations select nothing).
fn measurements(g: &Group, o: &TranslateOptions) -> Vec<J> {
    let labels = &g.labels;
    if o.declarations.is_empty() {
        // groupedMetricToCWMeasurement: all labels (sorted: Go's order is a map's), then rollups.
        let all: Vec<String> = labels.keys().cloned().collect();
        let rollup = dimension_rollup(o.rollup, labels);
        let mut dims = vec![all.clone()];
        if !rollup.is_empty() {
            let single_label = all.len() <= 1 || (all.len() == 2 && labels.contains_key(OTEL_LIB));
            if single_label && o.rollup != Rollup::None {
                dims.clear();
            }
        }
        dims.extend(rollup);
        let metrics = g.metrics.iter().map(|(n, _, u)| metric_entry(n, u)).collect();
        return vec![measurement(&g.namespace, dims, metrics)];
    }
    let decls: Vec<&super::Declaration> = o.declarations.iter().filter(|d| d.matches_labels(labels)).collect();
    if decls.is_empty() {
        tracing::debug!(labels = ?labels, "Dropped batch of metrics: no metric declaration matched labels");
        return Vec::new();
    }
    // Metrics grouped by the list of declarations their name matches, in first-seen order.
    let mut groups: Vec<(Vec<usize>, Vec<J>)> = Vec::new();
    for (name, _, unit) in &g.metrics {
        let idx: Vec<usize> = decls.iter().enumerate().filter(|(_, d)| d.matches_name(name)).map(|(i, _)| i).collect();
        if idx.is_empty() {
            tracing::debug!(metric = %name, "Dropped metric: no metric declaration matched metric name");
            continue;
        }
        match groups.iter_mut().find(|(k, _)| *k == idx) {
            Some((_, ms)) => ms.push(metric_entry(name, unit)),
            None => groups.push((idx, vec![metric_entry(name, unit)])),
        }
    }
    let rollup = dimension_rollup(o.rollup, labels);
    let mut out = Vec::new();
    for (idx, metrics) in groups {
        let mut dims: Vec<Vec<String>> = idx.iter().flat_map(|&i| decls[i].extract_dimensions(labels)).collect();
        dims.extend(rollup.iter().cloned());
        let dims = dedup(dims);
        if !dims.is_empty() {
            out.push(measurement(&g.namespace, dims, metrics));
        }
    }
    out
}

/// The EMF document of a group.
pub(crate) fn event(g: &Group, o: &TranslateOptions) -> Event {
    let mut fields: BTreeMap<String, J> = g.labels.iter().map(|(k, v)| (k.clone(), J::Str(v.clone()))).collect();
    for (name, v, _) in &g.metrics {
        fields.insert(name.clone(), value(v));
    }
    if g.prometheus {
        fields.insert("prom_metric_type".into(), J::Str(prom_type(g.kind).into()));
    }
    for key in &o.parse_json_encoded_attr_values {
        match fields.get(key) {
            Some(J::Str(s)) => match serde_json::from_str::<serde_json::Value>(s) {
                Ok(v) => {
                    fields.insert(key.clone(), from_json(&v));
                }
                Err(e) => tracing::debug!(key = %key, error = %e, "Failed to parse json-encoded string"),
            },
            Some(_) => tracing::debug!(key = %key, "Invalid json-encoded data. A string is expected"),
            None => {}
        }
    }
    let ms = if o.disable_metric_extraction { Vec::new() } else { measurements(g, o) };
    match o.version.as_str() {
        "1" if !ms.is_empty() => {
            fields.insert("Version".into(), J::Str("1".into()));
            fields.insert(
                "_aws".into(),
                J::Obj(vec![("CloudWatchMetrics".into(), J::Arr(ms)), ("Timestamp".into(), J::I64(g.timestamp_ms))]),
            );
        }
        "0" => {
            fields.insert("Timestamp".into(), J::Str(g.timestamp_ms.to_string()));
            if !ms.is_empty() {
                fields.insert("Version".into(), J::Str("0".into()));
                fields.insert("CloudWatchMetrics".into(), J::Arr(ms));
            }
        }
        _ => {}
    }
    let mut message = String::with_capacity(256);
    write(&mut message, &J::Obj(fields.into_iter().collect()));
    Event {
        log_group: g.log_group.clone(),
        log_stream: g.log_stream.clone(),
        timestamp_ms: g.timestamp_ms,
        message,
        points: g.points,
    }
}

/// grouped_metric.go `addKubernetesWrapper`: the `kubernetes` label as Container Insights
/// writes it (eks_fargate_container_insights_enabled), fields in the struct's order, empty ones
/// left out.
pub(crate) fn add_kubernetes_wrapper(labels: &mut BTreeMap<String, String>) {
    let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
    let obj = |pairs: Vec<(&str, String)>| -> Option<J> {
        let f: Vec<(String, J)> =
            pairs.into_iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.to_string(), J::Str(v))).collect();
        (!f.is_empty()).then_some(J::Obj(f))
    };
    let mut f: Vec<(String, J)> = Vec::new();
    let mut put = |k: &str, v: Option<J>| {
        if let Some(v) = v {
            f.push((k.into(), v));
        }
    };
    let s = |v: String| (!v.is_empty()).then_some(J::Str(v));
    put("container_name", s(get("container")));
    put("docker", obj(vec![("container_id", get("container_id"))]));
    put("host", s(get("NodeName")));
    put("labels", obj(vec![("app", get("app")), ("pod-template-hash", get("pod-template-hash"))]));
    put("namespace_name", s(get("Namespace")));
    put("pod_id", s(get("PodId")));
    put("pod_name", s(get("PodName")));
    put("pod_owners", obj(vec![("owner_kind", get("owner_kind")), ("owner_name", get("owner_name"))]));
    put("service_name", s(get("Service")));
    let mut out = String::new();
    write(&mut out, &J::Obj(f));
    labels.insert("kubernetes".into(), out);
}
