//! OTLP metrics → Prometheus remote write series: a pure function (no I/O, no clock), following
//! the Go collector's `pkg/translator/prometheusremotewrite` (metrics_to_prw.go, helper.go,
//! number_data_points.go, histograms.go) with names from otlptranslator. See README for the list.

use super::naming::{LabelNamer, MetricNamer, MetricType};
use crate::pipeline::attrs::find;
pub use crate::pipeline::attrs::{fmt_f64, value_text};
use crate::proto::prometheus::{
    metric_metadata::MetricType as PromType, Exemplar as PromExemplar, Label, MetricMetadata, Sample, TimeSeries,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, metric::Data, number_data_point, AggregationTemporality, Exemplar, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, SummaryDataPoint,
};
use std::collections::HashMap;

mod labels;
mod native;

#[cfg(test)]
use crate::proto::prometheus::{histogram, BucketSpan};
use labels::{label_set, resource_attrs, scope_labels, LabelBase, ResourceLabels, ID_ATTRS};
pub use native::native_histogram;
#[cfg(test)]
use native::spans;

/// The staleness marker Prometheus uses (`value.StaleNaN`).
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;
/// The OTLP data point flag "no recorded value".
const FLAG_NO_RECORDED_VALUE: u32 = 1;
/// helper.go `maxExemplarRunes`: exemplar labels (trace/span ids included) over this many
/// characters lose their attribute labels.
const MAX_EXEMPLAR_RUNES: usize = 128;

/// Translation settings (the exporter's options that shape series).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TranslateOptions {
    /// Builds metric names (namespace, suffixes, escaping).
    pub metric_namer: MetricNamer,
    /// Builds data point label names.
    pub label_namer: LabelNamer,
    pub resource_to_telemetry: bool,
    pub target_info: bool,
    /// Already sanitized names.
    pub external_labels: Vec<(String, String)>,
    pub send_metadata: bool,
    /// `disable_scope_info`: no `otel_scope_*` labels.
    pub disable_scope_info: bool,
    /// The `pkg.translator.prometheus.PermissiveLabelSanitization` gate: `target_info`'s label
    /// namer keeps runs of `_` only while it is off (helper.go `addResourceTargetInfo`).
    pub permissive_labels: bool,
}

impl TranslateOptions {
    /// The options the Go exporter's defaults give: suffixes, `_` escaping, the translator's
    /// default label namer, target_info on.
    pub fn go_default() -> TranslateOptions {
        TranslateOptions {
            metric_namer: MetricNamer { namespace: String::new(), with_suffixes: true, utf8_allowed: false },
            label_namer: default_label_namer(),
            target_info: true,
            ..Default::default()
        }
    }
}

/// metrics_to_prw.go `newPrometheusConverter`: the label namer of data point labels, with the
/// `pkg.translator.prometheus.PermissiveLabelSanitization` gate off (the default): `key` before a
/// single leading `_`, runs of `_` collapsed.
pub fn default_label_namer() -> LabelNamer {
    label_namer(false)
}

/// The data point label namer for the `PermissiveLabelSanitization` gate's value
/// (`UnderscoreLabelSanitization: !gate`).
pub fn label_namer(permissive: bool) -> LabelNamer {
    LabelNamer { utf8_allowed: false, underscore_label_sanitization: !permissive, preserve_multiple_underscores: false }
}

/// The result: series ordered by label set, metadata, and the translation errors (Go returns them
/// joined; the exporter logs them and counts one failed translation, the rest is still written).
#[derive(Debug, Default, PartialEq)]
pub struct Translated {
    pub series: Vec<TimeSeries>,
    pub metadata: Vec<MetricMetadata>,
    pub errors: Vec<String>,
}

fn ms(ns: u64) -> i64 {
    (ns / 1_000_000) as i64
}

/// Series accumulate here, found by a hash of their label set (as Go's `timeSeriesSignature`
/// map, with the labels compared on a collision), so samples of one series from several data
/// points (or requests in one batch) land in one `TimeSeries` without copying any label.
#[derive(Default)]
struct Acc {
    series: Vec<TimeSeries>,
    index: HashMap<u64, Vec<usize>>,
}

/// A series' index in `Acc::series`.
type Key = usize;

fn labels_hash(labels: &[Label]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x6f78_6964_6f74).build_hasher();
    for l in labels {
        h.write(l.name.as_bytes());
        h.write_u8(0xff);
        h.write(l.value.as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}

impl Acc {
    fn entry(&mut self, labels: Vec<Label>) -> (&mut TimeSeries, Key) {
        let slot = self.index.entry(labels_hash(&labels)).or_default();
        let found = slot.iter().copied().find(|&i| self.series[i].labels == labels);
        let i = match found {
            Some(i) => i,
            None => {
                self.series.push(TimeSeries { labels, ..Default::default() });
                slot.push(self.series.len() - 1);
                self.series.len() - 1
            }
        };
        (&mut self.series[i], i)
    }
    fn sample(&mut self, labels: Vec<Label>, value: f64, timestamp: i64) -> Key {
        let (ts, key) = self.entry(labels);
        ts.samples.push(Sample { value, timestamp });
        key
    }
}

fn number(p: &NumberDataPoint) -> f64 {
    if p.flags & FLAG_NO_RECORDED_VALUE != 0 {
        return f64::from_bits(STALE_NAN);
    }
    match p.value {
        Some(number_data_point::Value::AsDouble(d)) => d,
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        None => 0.0,
    }
}

/// otlptranslator's metric type of an OTLP metric (prometheusremotewrite
/// `TranslatorMetricFromOtelMetric`).
fn metric_type(m: &Metric) -> MetricType {
    match &m.data {
        Some(Data::Gauge(_)) => MetricType::Gauge,
        Some(Data::Sum(s)) if s.is_monotonic => MetricType::MonotonicCounter,
        Some(Data::Sum(_)) => MetricType::NonMonotonicCounter,
        Some(Data::Histogram(_)) => MetricType::Histogram,
        Some(Data::ExponentialHistogram(_)) => MetricType::ExponentialHistogram,
        Some(Data::Summary(_)) => MetricType::Summary,
        None => MetricType::Unknown,
    }
}

/// otlp_to_openmetrics_metadata.go `otelMetricTypeToPromMetricType`.
fn prom_type(m: &Metric) -> PromType {
    match &m.data {
        Some(Data::Gauge(_)) => PromType::Gauge,
        Some(Data::Sum(s)) if s.is_monotonic => PromType::Counter,
        Some(Data::Sum(_)) => PromType::Gauge,
        Some(Data::Histogram(_)) | Some(Data::ExponentialHistogram(_)) => PromType::Histogram,
        Some(Data::Summary(_)) => PromType::Summary,
        None => PromType::Unknown,
    }
}

/// helper.go `mostRecentTimestampInMetric` (nanoseconds).
fn latest_ns(m: &Metric) -> u64 {
    let it: Box<dyn Iterator<Item = u64>> = match &m.data {
        Some(Data::Gauge(g)) => Box::new(g.data_points.iter().map(|p| p.time_unix_nano)),
        Some(Data::Sum(s)) => Box::new(s.data_points.iter().map(|p| p.time_unix_nano)),
        Some(Data::Histogram(h)) => Box::new(h.data_points.iter().map(|p| p.time_unix_nano)),
        Some(Data::ExponentialHistogram(h)) => Box::new(h.data_points.iter().map(|p| p.time_unix_nano)),
        Some(Data::Summary(s)) => Box::new(s.data_points.iter().map(|p| p.time_unix_nano)),
        None => Box::new(std::iter::empty()),
    };
    it.max().unwrap_or(0)
}

/// Translates every metric; never fails as a whole: what cannot be translated is reported in
/// `errors` (metrics_to_prw.go `fromMetrics`).
pub fn translate(resources: &[ResourceMetrics], opts: &TranslateOptions) -> Translated {
    let mut acc = Acc::default();
    let mut out = Translated::default();
    let cumulative = AggregationTemporality::Cumulative as i32;
    for rm in resources {
        // Built once per resource: job/instance and the resource_to_telemetry labels.
        let res = ResourceLabels::new(resource_attrs(&rm.resource), opts);
        // fromMetrics: the resource's most recent timestamp, over every metric (also the ones
        // then rejected), stamps its target_info.
        let mut latest: u64 = 0;
        for sm in &rm.scope_metrics {
            let scope = scope_labels(&sm.scope, opts);
            for m in &sm.metrics {
                latest = latest.max(latest_ns(m));
                let ty = metric_type(m);
                // otlp_to_openmetrics_metadata.go `OtelMetricsToMetadata`: one entry per metric.
                if opts.send_metadata {
                    if let Ok(family) = opts.metric_namer.build(&m.name, &m.unit, ty) {
                        out.metadata.push(MetricMetadata {
                            r#type: prom_type(m) as i32,
                            metric_family_name: family,
                            help: m.description.clone(),
                            unit: m.unit.clone(),
                        });
                    }
                }
                // helper.go `isValidAggregationTemporality`.
                let temporality = match &m.data {
                    Some(Data::Sum(s)) => Some(s.aggregation_temporality),
                    Some(Data::Histogram(h)) => Some(h.aggregation_temporality),
                    Some(Data::ExponentialHistogram(h)) => Some(h.aggregation_temporality),
                    Some(_) => None,
                    None => Some(-1),
                };
                if temporality.is_some_and(|t| t != cumulative) {
                    out.errors.push(format!("invalid temporality and type combination for metric {:?}", m.name));
                    continue;
                }
                let name = match opts.metric_namer.build(&m.name, &m.unit, ty) {
                    Ok(n) => n,
                    Err(e) => {
                        out.errors.push(e);
                        continue;
                    }
                };
                if crate::pipeline::data::data_points(m) == 0 {
                    out.errors.push(format!("empty data points. {} is dropped", m.name));
                    continue;
                }
                add_metric(&mut acc, &mut out, m, &name, &res, &scope, opts);
            }
        }
        if let Err(e) = target_info(&mut acc, &res, latest, opts) {
            out.errors.push(e);
        }
    }
    // Ordered by label set (names and values in turn), as the output always was.
    acc.series.sort_unstable_by(|a, b| {
        a.labels.iter().map(|l| (&l.name, &l.value)).cmp(b.labels.iter().map(|l| (&l.name, &l.value)))
    });
    for mut ts in acc.series {
        ts.samples.sort_by_key(|s| s.timestamp);
        ts.histograms.sort_by_key(|h| h.timestamp);
        out.series.push(ts);
    }
    out
}

/// helper.go `addResourceTargetInfo`: `target_info` (value 1 at the resource's latest timestamp)
/// for a resource with at least one non-identifying attribute, labelled with those attributes
/// (named by a label namer that keeps runs of `_` and leading `_`), `job`/`instance` and the
/// external labels; skipped without `job` or `instance`.
fn target_info(
    acc: &mut Acc,
    resource: &ResourceLabels,
    latest_ns: u64,
    opts: &TranslateOptions,
) -> Result<(), String> {
    if !opts.target_info || latest_ns == 0 {
        return Ok(());
    }
    let res = resource.attrs;
    let ids = ID_ATTRS.iter().filter(|k| find(res, k).is_some()).count();
    if res.len() <= ids {
        return Ok(());
    }
    let namespace = &opts.metric_namer.namespace;
    let name = if namespace.is_empty() { "target_info".to_string() } else { format!("{namespace}_target_info") };
    let namer = LabelNamer { preserve_multiple_underscores: !opts.permissive_labels, ..LabelNamer::default() };
    let attrs: Vec<(&str, String)> = res
        .iter()
        .filter(|a| !ID_ATTRS.contains(&a.key.as_str()))
        .map(|a| (a.key.as_str(), value_text(&a.value)))
        .collect();
    let labels = label_set(resource, attrs, &namer, &opts.external_labels, &[])?.with(&[("__name__", name)]);
    if !labels.iter().any(|l| l.name == "job" || l.name == "instance") {
        return Ok(());
    }
    acc.sample(labels, 1.0, ms(latest_ns));
    Ok(())
}

/// helper.go `getPromExemplars`: value, timestamp (ms), `trace_id`/`span_id` in hex, then the
/// filtered attributes unless the labels would exceed 128 characters.
fn exemplars(list: &[Exemplar]) -> Vec<PromExemplar> {
    list.iter()
        .map(|e| {
            let value = match e.value {
                Some(exemplar::Value::AsDouble(d)) => d,
                Some(exemplar::Value::AsInt(i)) => i as f64,
                None => 0.0,
            };
            let mut labels = Vec::new();
            let mut runes = 0;
            for (key, id) in [("trace_id", &e.trace_id), ("span_id", &e.span_id)] {
                if !id.is_empty() && id.iter().any(|b| *b != 0) {
                    let v = hex::encode(id);
                    runes += key.len() + v.len();
                    labels.push(Label { name: key.into(), value: v });
                }
            }
            let attrs: Vec<Label> = e
                .filtered_attributes
                .iter()
                .map(|a| {
                    let v = value_text(&a.value);
                    runes += a.key.chars().count() + v.chars().count();
                    Label { name: a.key.clone(), value: v }
                })
                .collect();
            if runes <= MAX_EXEMPLAR_RUNES {
                labels.extend(attrs);
            }
            PromExemplar { labels, value, timestamp: ms(e.time_unix_nano) }
        })
        .collect()
}

/// Adds one metric's series (number_data_points.go, histograms.go, helper.go). A data point's
/// labels are built once and completed per series; a bad attribute name drops the whole point.
fn add_metric(
    acc: &mut Acc,
    out: &mut Translated,
    m: &Metric,
    name: &str,
    res: &ResourceLabels,
    scope: &[(String, String)],
    opts: &TranslateOptions,
) {
    let base =
        |attrs: &[KeyValue]| label_set(res, res.point_attrs(attrs), &opts.label_namer, &opts.external_labels, scope);
    let named = |n: String| vec![("__name__", n)];
    match &m.data {
        // number_data_points.go `addGaugeNumberDataPoints` (no exemplars).
        Some(Data::Gauge(g)) => {
            for p in &g.data_points {
                match base(&p.attributes) {
                    Ok(b) => {
                        acc.sample(b.with(&named(name.to_string())), number(p), ms(p.time_unix_nano));
                    }
                    Err(e) => out.errors.push(e),
                }
            }
        }
        // number_data_points.go `addSumNumberDataPoints` (with exemplars).
        Some(Data::Sum(s)) => {
            for p in &s.data_points {
                match base(&p.attributes) {
                    Ok(b) => {
                        let key = acc.sample(b.with(&named(name.to_string())), number(p), ms(p.time_unix_nano));
                        if let Some(ts) = acc.series.get_mut(key) {
                            ts.exemplars.extend(exemplars(&p.exemplars));
                        }
                    }
                    Err(e) => out.errors.push(e),
                }
            }
        }
        Some(Data::Histogram(h)) => {
            for p in &h.data_points {
                match base(&p.attributes) {
                    Ok(b) => add_histogram(acc, p, name, &b),
                    Err(e) => out.errors.push(e),
                }
            }
        }
        Some(Data::Summary(s)) => {
            for p in &s.data_points {
                match base(&p.attributes) {
                    Ok(b) => add_summary(acc, p, name, &b),
                    Err(e) => out.errors.push(e),
                }
            }
        }
        // histograms.go `addExponentialHistogramDataPoints`.
        Some(Data::ExponentialHistogram(h)) => {
            for p in &h.data_points {
                let labels = match base(&p.attributes) {
                    Ok(b) => b.with(&named(name.to_string())),
                    Err(e) => {
                        out.errors.push(e);
                        continue;
                    }
                };
                match native_histogram(p) {
                    Ok(nh) => {
                        let (ts, _) = acc.entry(labels);
                        ts.histograms.push(nh);
                        ts.exemplars.extend(exemplars(&p.exemplars));
                    }
                    Err(e) => out.errors.push(e),
                }
            }
        }
        None => {}
    }
}

/// helper.go `addHistogramDataPoints`: `_sum` (when set), `_count`, cumulative `_bucket`s with
/// `le` and `+Inf`; exemplars go to the first bucket whose bound holds their value.
fn add_histogram(acc: &mut Acc, p: &HistogramDataPoint, name: &str, base: &LabelBase) {
    let t = ms(p.time_unix_nano);
    let stale = p.flags & FLAG_NO_RECORDED_VALUE != 0;
    let v = |x: f64| if stale { f64::from_bits(STALE_NAN) } else { x };
    if let Some(sum) = p.sum {
        acc.sample(base.with(&[("__name__", format!("{name}_sum"))]), v(sum), t);
    }
    acc.sample(base.with(&[("__name__", format!("{name}_count"))]), v(p.count as f64), t);
    let mut cumulative = 0u64;
    let mut bounds: Vec<(f64, Key)> = Vec::new();
    for (i, bound) in p.explicit_bounds.iter().enumerate().take(p.bucket_counts.len()) {
        // uint64 addition wraps in Go (helper.go addHistogramDataPoints); found by tests/fuzz.rs.
        cumulative = cumulative.wrapping_add(p.bucket_counts[i]);
        let labels = base.with(&[("__name__", format!("{name}_bucket")), ("le", fmt_f64(*bound))]);
        bounds.push((*bound, acc.sample(labels, v(cumulative as f64), t)));
    }
    let labels = base.with(&[("__name__", format!("{name}_bucket")), ("le", "+Inf".into())]);
    bounds.push((f64::INFINITY, acc.sample(labels, v(p.count as f64), t)));
    // helper.go `addExemplars`.
    bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    for e in exemplars(&p.exemplars) {
        for (bound, key) in &bounds {
            if let Some(ts) = acc.series.get_mut(*key).filter(|ts| !ts.samples.is_empty()) {
                if e.value <= *bound {
                    ts.exemplars.push(e);
                    break;
                }
            }
        }
    }
}

/// helper.go `addSummaryDataPoints`: `_sum`, `_count`, one series per quantile.
fn add_summary(acc: &mut Acc, p: &SummaryDataPoint, name: &str, base: &LabelBase) {
    let t = ms(p.time_unix_nano);
    let stale = p.flags & FLAG_NO_RECORDED_VALUE != 0;
    let v = |x: f64| if stale { f64::from_bits(STALE_NAN) } else { x };
    acc.sample(base.with(&[("__name__", format!("{name}_sum"))]), v(p.sum), t);
    acc.sample(base.with(&[("__name__", format!("{name}_count"))]), v(p.count as f64), t);
    for q in &p.quantile_values {
        let labels = base.with(&[("__name__", name.to_string()), ("quantile", fmt_f64(q.quantile))]);
        acc.sample(labels, v(q.value), t);
    }
}

#[cfg(test)]
mod tests;
