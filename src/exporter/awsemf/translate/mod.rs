//! Metrics → EMF log events (awsemfexporter metric_translator.go, grouped_metric.go, util.go):
//! data points with the same namespace, time, log group/stream, metric type and labels become
//! one JSON document with every label as a field, every metric value as a field, and the
//! `_aws.CloudWatchMetrics` block that tells CloudWatch which fields are metrics and which
//! labels are their dimensions. Pure: the clock (`now_ms`) and the delta state are passed in.

pub mod datapoint;
mod emf;
#[cfg(test)]
mod tests;

use super::declaration::Declaration;
use crate::pipeline::attrs;
use datapoint::{data_points, DataPoint, Deltas, EmfValue, PointOptions, SeriesKey};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{metric, Metric, ResourceMetrics};
use std::collections::{BTreeMap, HashMap};

/// `dimension_rollup_option`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    ZeroAndSingle,
    SingleOnly,
    None,
}

/// A `metric_descriptors` entry (config.go MetricDescriptor).
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    pub unit: String,
    pub overwrite: bool,
}

/// What translation needs from the config.
#[derive(Debug, Clone)]
pub struct TranslateOptions {
    pub namespace: String,
    pub log_group_name: String,
    pub log_stream_name: String,
    pub rollup: Rollup,
    pub declarations: Vec<Declaration>,
    pub descriptors: HashMap<String, Descriptor>,
    pub parse_json_encoded_attr_values: Vec<String>,
    pub retain_initial_value_of_delta_metric: bool,
    pub detailed_metrics: bool,
    pub version: String,
    pub disable_metric_extraction: bool,
    pub eks_fargate_container_insights: bool,
    pub resource_to_telemetry: bool,
}

/// One log event for CloudWatch Logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub log_group: String,
    /// Empty: the exporter's default stream (`otel-stream-<collector id>`).
    pub log_stream: String,
    pub timestamp_ms: i64,
    pub message: String,
    /// OTLP data points this event carries (for counting what failed).
    pub points: usize,
}

/// What a batch became.
#[derive(Debug, Default)]
pub struct Translated {
    pub events: Vec<Event>,
    /// Points skipped as stale, NaN or infinite.
    pub skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    namespace: String,
    timestamp_ms: i64,
    log_group: String,
    log_stream: String,
    kind: u8,
    labels: Vec<(String, String)>,
}

/// groupedMetric: labels, metrics (name → value, unit) in arrival order, metadata.
#[derive(Debug)]
pub(crate) struct Group {
    pub labels: BTreeMap<String, String>,
    pub metrics: Vec<(String, EmfValue, String)>,
    pub namespace: String,
    pub timestamp_ms: i64,
    pub log_group: String,
    pub log_stream: String,
    pub kind: u8,
    pub prometheus: bool,
    pub points: usize,
}

/// util.go patternKeyToAttributeMap.
const PATTERNS: [(&str, &str); 7] = [
    ("ClusterName", "aws.ecs.cluster.name"),
    ("TaskId", "aws.ecs.task.id"),
    ("NodeName", "k8s.node.name"),
    ("PodName", "pod"),
    ("ServiceName", "service.name"),
    ("ContainerInstanceId", "aws.ecs.container.instance.id"),
    ("TaskDefinitionFamily", "aws.ecs.task.family"),
];

/// util.go `replacePatterns`: `{Key}` from the attribute `Key`, else its mapped attribute, else
/// `undefined`; returns whether every placeholder found a non-empty value.
pub fn replace_patterns(s: &str, attrs: &BTreeMap<String, String>) -> (String, bool) {
    let mut out = s.to_string();
    let mut ok = true;
    for (key, attr) in PATTERNS {
        let pattern = format!("{{{key}}}");
        if !out.contains(&pattern) {
            continue;
        }
        match attrs.get(key).or_else(|| attrs.get(attr)).filter(|v| !v.is_empty()) {
            Some(v) => out = out.replace(&pattern, v),
            None => {
                out = out.replace(&pattern, "undefined");
                ok = false;
            }
        }
    }
    (out, ok)
}

/// util.go `getNamespace`.
fn namespace(resource: &[KeyValue], configured: &str) -> String {
    if !configured.is_empty() {
        return configured.to_string();
    }
    let name = attrs::str_attr(resource, "service.name");
    let ns = attrs::str_attr(resource, "service.namespace");
    let ns = match (name, ns) {
        (Some(n), Some(s)) => format!("{s}/{n}"),
        (Some(n), None) => n.to_string(),
        (None, Some(s)) => s.to_string(),
        (None, None) => String::new(),
    };
    // Go checks the length last: an empty `service.name` still gives `default`.
    if ns.is_empty() {
        "default".into()
    } else {
        ns
    }
}

fn kind_of(m: &Metric) -> u8 {
    match &m.data {
        Some(metric::Data::Gauge(_)) => 1,
        Some(metric::Data::Sum(_)) => 2,
        Some(metric::Data::Histogram(_)) => 3,
        Some(metric::Data::ExponentialHistogram(_)) => 4,
        Some(metric::Data::Summary(_)) => 5,
        None => 0,
    }
}

/// grouped_metric.go `translateUnit`: a descriptor's unit when the metric has none or it
/// overwrites; else ms, s, us, By, Bi mapped to CloudWatch's names, others as they are.
fn unit(m: &Metric, descriptors: &HashMap<String, Descriptor>) -> String {
    if let Some(d) = descriptors.get(&m.name) {
        if m.unit.is_empty() || d.overwrite {
            return d.unit.clone();
        }
    }
    match m.unit.as_str() {
        "ms" => "Milliseconds",
        "s" => "Seconds",
        "us" => "Microseconds",
        "By" => "Bytes",
        "Bi" => "Bits",
        u => u,
    }
    .to_string()
}

/// Every resource of the batch into EMF events, in arrival order.
pub fn translate(rms: &[ResourceMetrics], o: &TranslateOptions, deltas: &mut Deltas, now_ms: i64) -> Translated {
    deltas.clean(now_ms);
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<GroupKey, usize> = HashMap::new();
    let mut skipped = 0;
    for rm in rms {
        let resource: &[KeyValue] = rm.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]);
        let ns = namespace(resource, &o.namespace);
        // util.go getLogInfo.
        let res_text: BTreeMap<String, String> =
            resource.iter().map(|kv| (kv.key.clone(), datapoint::label_text(&kv.value))).collect();
        let (mut group0, mut g_ok) = (format!("/metrics/{ns}"), true);
        if !o.log_group_name.is_empty() {
            (group0, g_ok) = replace_patterns(&o.log_group_name, &res_text);
        }
        let (mut stream0, mut s_ok) = (String::new(), true);
        if !o.log_stream_name.is_empty() {
            (stream0, s_ok) = replace_patterns(&o.log_stream_name, &res_text);
        }
        let replaced = g_ok && s_ok;
        let prometheus = attrs::str_attr(resource, "receiver") == Some("prometheus");
        let mut scope_name = String::new();
        for sm in &rm.scope_metrics {
            // metric_translator.go keeps the last non-empty scope name for later scopes.
            if let Some(n) = sm.scope.as_ref().map(|s| s.name.as_str()).filter(|n| !n.is_empty()) {
                scope_name = n.to_string();
            }
            for m in &sm.metrics {
                let owned;
                let m = if o.resource_to_telemetry && !resource.is_empty() {
                    owned = with_resource_attributes(m, resource);
                    &owned
                } else {
                    m
                };
                let po = PointOptions {
                    scope_name: &scope_name,
                    retain_initial: o.retain_initial_value_of_delta_metric,
                    detailed: o.detailed_metrics,
                    prometheus,
                    key: SeriesKey { namespace: &ns, log_group: &group0, log_stream: &stream0 },
                };
                let (points, s) = data_points(m, &po, deltas);
                skipped += s;
                let unit = unit(m, &o.descriptors);
                for dp in points {
                    add(
                        &mut groups,
                        &mut index,
                        dp,
                        &unit,
                        m,
                        o,
                        (&ns, &group0, &stream0, replaced),
                        now_ms,
                        prometheus,
                    );
                }
            }
        }
    }
    let events = groups.iter().map(|g| emf::event(g, o)).collect();
    Translated { events, skipped }
}

/// grouped_metric.go `addToGroupedMetric` for one point.
#[allow(clippy::too_many_arguments)]
fn add(
    groups: &mut Vec<Group>,
    index: &mut HashMap<GroupKey, usize>,
    mut dp: DataPoint,
    unit: &str,
    m: &Metric,
    o: &TranslateOptions,
    (ns, group0, stream0, replaced): (&str, &str, &str, bool),
    now_ms: i64,
    prometheus: bool,
) {
    if o.eks_fargate_container_insights {
        if let Some(t) = dp.labels.get("Type") {
            if t == "Pod" || t == "Container" {
                emf::add_kubernetes_wrapper(&mut dp.labels);
            }
        }
    }
    // Placeholders the resource could not fill are tried against the point's labels.
    let (mut log_group, mut log_stream) = (group0.to_string(), stream0.to_string());
    if !replaced {
        if log_group.contains("undefined") {
            log_group = replace_patterns(&o.log_group_name, &dp.labels).0;
        }
        if log_stream.contains("undefined") {
            log_stream = replace_patterns(&o.log_stream_name, &dp.labels).0;
        }
    }
    let timestamp_ms = if dp.timestamp_ms > 0 { dp.timestamp_ms } else { now_ms };
    let key = GroupKey {
        namespace: ns.to_string(),
        timestamp_ms,
        log_group: log_group.clone(),
        log_stream: log_stream.clone(),
        kind: kind_of(m),
        labels: dp.labels.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
    };
    match index.get(&key) {
        Some(&i) => {
            let g = &mut groups[i];
            g.points += 1;
            if g.metrics.iter().any(|(n, _, _)| *n == dp.name) {
                tracing::debug!(name = %dp.name, "Duplicate metric found");
            } else {
                g.metrics.push((dp.name, dp.value, unit.to_string()));
            }
        }
        None => {
            index.insert(key, groups.len());
            groups.push(Group {
                labels: dp.labels,
                metrics: vec![(dp.name, dp.value, unit.to_string())],
                namespace: ns.to_string(),
                timestamp_ms,
                log_group,
                log_stream,
                kind: kind_of(m),
                prometheus,
                points: 1,
            });
        }
    }
}

/// resourcetotelemetry: the resource's attributes copied onto every data point (over the
/// point's own of the same key).
fn with_resource_attributes(m: &Metric, resource: &[KeyValue]) -> Metric {
    let mut m = m.clone();
    let merge = |a: &mut Vec<KeyValue>| {
        for kv in resource {
            match a.iter_mut().find(|x| x.key == kv.key) {
                Some(x) => x.value = kv.value.clone(),
                None => a.push(kv.clone()),
            }
        }
    };
    match &mut m.data {
        Some(metric::Data::Gauge(g)) => g.data_points.iter_mut().for_each(|p| merge(&mut p.attributes)),
        Some(metric::Data::Sum(g)) => g.data_points.iter_mut().for_each(|p| merge(&mut p.attributes)),
        Some(metric::Data::Histogram(g)) => g.data_points.iter_mut().for_each(|p| merge(&mut p.attributes)),
        Some(metric::Data::ExponentialHistogram(g)) => g.data_points.iter_mut().for_each(|p| merge(&mut p.attributes)),
        Some(metric::Data::Summary(g)) => g.data_points.iter_mut().for_each(|p| merge(&mut p.attributes)),
        None => {}
    }
    m
}
