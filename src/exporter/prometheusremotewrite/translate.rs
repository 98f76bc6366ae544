//! OTLP metrics → Prometheus remote write series: a pure function (no I/O, no clock), following
//! the Go collector's `pkg/translator/prometheusremotewrite` rules. See README for the list.

use super::naming::{label_name, metric_name, NameKind};
use crate::pipeline::attrs::find;
pub use crate::pipeline::attrs::{fmt_f64, value_text};
use crate::proto::prometheus::{
    histogram, metric_metadata::MetricType, BucketSpan, Histogram, Label, MetricMetadata, Sample, TimeSeries,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point, AggregationTemporality, ExponentialHistogramDataPoint, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::BTreeMap;

/// The staleness marker Prometheus uses (`value.StaleNaN`).
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;
/// The OTLP data point flag "no recorded value".
const FLAG_NO_RECORDED_VALUE: u32 = 1;

/// Translation settings (the exporter's options that shape series).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TranslateOptions {
    pub namespace: String,
    pub add_metric_suffixes: bool,
    pub resource_to_telemetry: bool,
    pub target_info: bool,
    /// Already sanitized names.
    pub external_labels: Vec<(String, String)>,
    pub send_metadata: bool,
}

/// The result: series ordered by label set, metadata, and what had to be dropped.
#[derive(Debug, Default, PartialEq)]
pub struct Translated {
    pub series: Vec<TimeSeries>,
    pub metadata: Vec<MetricMetadata>,
    /// Data points dropped, with the reason (logged once by the exporter, counted as failed).
    pub dropped: Vec<(usize, String)>,
}

fn ms(ns: u64) -> i64 {
    (ns / 1_000_000) as i64
}

const ID_ATTRS: [&str; 3] = ["service.name", "service.namespace", "service.instance.id"];

fn resource_attrs(r: &Option<Resource>) -> &[KeyValue] {
    r.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[])
}

/// Builds one series' label set: attributes (sorted, sanitized, colliding values joined with
/// `;`), `job`/`instance` from the resource, external labels (never overriding), then the
/// reserved extras (`__name__`, `le`, `quantile`), sorted by name.
fn label_set(
    resource: &[KeyValue],
    attrs: &[KeyValue],
    opts: &TranslateOptions,
    extras: &[(&str, String)],
) -> Vec<Label> {
    let mut merged: Vec<(&str, String)> = attrs.iter().map(|a| (a.key.as_str(), value_text(&a.value))).collect();
    if opts.resource_to_telemetry {
        for r in resource {
            let v = value_text(&r.value);
            match merged.iter_mut().find(|(k, _)| *k == r.key) {
                Some(e) => e.1 = v,
                None => merged.push((r.key.as_str(), v)),
            }
        }
    }
    merged.sort_by(|a, b| a.0.cmp(b.0));
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in merged {
        let name = label_name(k);
        if name.is_empty() {
            continue;
        }
        out.entry(name)
            .and_modify(|e| {
                e.push(';');
                e.push_str(&v);
            })
            .or_insert(v);
    }
    if let Some(sn) = find(resource, "service.name") {
        let mut job = value_text(&sn.value);
        if let Some(ns) = find(resource, "service.namespace") {
            job = format!("{}/{job}", value_text(&ns.value));
        }
        out.insert("job".into(), job);
    }
    if let Some(id) = find(resource, "service.instance.id") {
        out.insert("instance".into(), value_text(&id.value));
    }
    for (k, v) in &opts.external_labels {
        out.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in extras {
        let name = if k.starts_with("__") && k.ends_with("__") && k.len() > 4 { k.to_string() } else { label_name(k) };
        out.insert(name, v.clone());
    }
    out.into_iter().map(|(name, value)| Label { name, value }).collect()
}

/// Series accumulate here, keyed by label set, so samples of one series from several data
/// points (or requests in one batch) land in one `TimeSeries`.
#[derive(Default)]
struct Acc {
    series: BTreeMap<Vec<(String, String)>, TimeSeries>,
}

impl Acc {
    fn entry(&mut self, labels: Vec<Label>) -> &mut TimeSeries {
        let key: Vec<(String, String)> = labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
        self.series.entry(key).or_insert_with(|| TimeSeries { labels, ..Default::default() })
    }
    fn sample(&mut self, labels: Vec<Label>, value: f64, timestamp: i64) {
        self.entry(labels).samples.push(Sample { value, timestamp });
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

/// Translates every metric; never fails as a whole: what cannot be translated is reported in
/// `dropped`.
pub fn translate(resources: &[ResourceMetrics], opts: &TranslateOptions) -> Translated {
    let mut acc = Acc::default();
    let mut out = Translated::default();
    let cumulative = AggregationTemporality::Cumulative as i32;
    for rm in resources {
        let res = resource_attrs(&rm.resource);
        let mut latest: i64 = 0;
        for m in rm.scope_metrics.iter().flat_map(|s| &s.metrics) {
            let (kind, mtype) = match &m.data {
                Some(Data::Gauge(_)) => (NameKind::Gauge, MetricType::Gauge),
                Some(Data::Sum(s)) if s.is_monotonic => (NameKind::MonotonicSum, MetricType::Counter),
                Some(Data::Sum(_)) => (NameKind::Other, MetricType::Gauge),
                Some(Data::Histogram(_)) | Some(Data::ExponentialHistogram(_)) => {
                    (NameKind::Other, MetricType::Histogram)
                }
                Some(Data::Summary(_)) => (NameKind::Other, MetricType::Summary),
                None => {
                    out.dropped.push((0, format!("metric {:?} has no data", m.name)));
                    continue;
                }
            };
            let name = metric_name(&m.name, &m.unit, kind, &opts.namespace, opts.add_metric_suffixes);
            if name.is_empty() {
                out.dropped
                    .push((crate::pipeline::data::data_points(m), format!("metric {:?} has no valid name", m.name)));
                continue;
            }
            let points = crate::pipeline::data::data_points(m);
            let temporality = match &m.data {
                Some(Data::Sum(s)) => Some(s.aggregation_temporality),
                Some(Data::Histogram(h)) => Some(h.aggregation_temporality),
                Some(Data::ExponentialHistogram(h)) => Some(h.aggregation_temporality),
                _ => None,
            };
            if temporality.is_some_and(|t| t != cumulative) {
                out.dropped.push((
                    points,
                    format!("invalid temporality and type combination for metric {:?}: only cumulative sums and histograms can be written to Prometheus", m.name),
                ));
                continue;
            }
            if opts.send_metadata {
                out.metadata.push(MetricMetadata {
                    r#type: mtype as i32,
                    metric_family_name: name.clone(),
                    help: m.description.clone(),
                    unit: m.unit.clone(),
                });
            }
            latest = latest.max(add_metric(&mut acc, &mut out, m, &name, res, opts));
        }
        if opts.target_info && latest > 0 && res.iter().any(|a| !ID_ATTRS.contains(&a.key.as_str())) {
            let non_id: Vec<KeyValue> = res.iter().filter(|a| !ID_ATTRS.contains(&a.key.as_str())).cloned().collect();
            let ti_name = if opts.namespace.is_empty() {
                "target_info".to_string()
            } else {
                format!("{}_target_info", opts.namespace)
            };
            let plain = TranslateOptions { resource_to_telemetry: false, ..opts.clone() };
            let labels = label_set(res, &non_id, &plain, &[("__name__", ti_name)]);
            acc.sample(labels, 1.0, latest);
        }
    }
    for (_, mut ts) in acc.series {
        ts.samples.sort_by_key(|s| s.timestamp);
        ts.histograms.sort_by_key(|h| h.timestamp);
        out.series.push(ts);
    }
    out
}

/// Adds one metric's series; returns its latest timestamp (ms).
fn add_metric(
    acc: &mut Acc,
    out: &mut Translated,
    m: &Metric,
    name: &str,
    res: &[KeyValue],
    opts: &TranslateOptions,
) -> i64 {
    let mut latest = 0;
    match &m.data {
        Some(Data::Gauge(g)) => {
            for p in &g.data_points {
                let t = ms(p.time_unix_nano);
                acc.sample(label_set(res, &p.attributes, opts, &[("__name__", name.to_string())]), number(p), t);
                latest = latest.max(t);
            }
        }
        Some(Data::Sum(s)) => {
            for p in &s.data_points {
                let t = ms(p.time_unix_nano);
                acc.sample(label_set(res, &p.attributes, opts, &[("__name__", name.to_string())]), number(p), t);
                latest = latest.max(t);
            }
        }
        Some(Data::Histogram(h)) => {
            for p in &h.data_points {
                latest = latest.max(add_histogram(acc, p, name, res, opts));
            }
        }
        Some(Data::Summary(s)) => {
            for p in &s.data_points {
                latest = latest.max(add_summary(acc, p, name, res, opts));
            }
        }
        Some(Data::ExponentialHistogram(h)) => {
            for p in &h.data_points {
                match native_histogram(p) {
                    Ok(nh) => {
                        let t = nh.timestamp;
                        acc.entry(label_set(res, &p.attributes, opts, &[("__name__", name.to_string())]))
                            .histograms
                            .push(nh);
                        latest = latest.max(t);
                    }
                    Err(e) => out.dropped.push((1, format!("metric {:?}: {e}", m.name))),
                }
            }
        }
        None => {}
    }
    latest
}

fn add_histogram(acc: &mut Acc, p: &HistogramDataPoint, name: &str, res: &[KeyValue], opts: &TranslateOptions) -> i64 {
    let t = ms(p.time_unix_nano);
    let stale = p.flags & FLAG_NO_RECORDED_VALUE != 0;
    let v = |x: f64| if stale { f64::from_bits(STALE_NAN) } else { x };
    if let Some(sum) = p.sum {
        acc.sample(label_set(res, &p.attributes, opts, &[("__name__", format!("{name}_sum"))]), v(sum), t);
    }
    acc.sample(label_set(res, &p.attributes, opts, &[("__name__", format!("{name}_count"))]), v(p.count as f64), t);
    let mut cumulative = 0u64;
    for (i, bound) in p.explicit_bounds.iter().enumerate() {
        cumulative += p.bucket_counts.get(i).copied().unwrap_or(0);
        let labels =
            label_set(res, &p.attributes, opts, &[("__name__", format!("{name}_bucket")), ("le", fmt_f64(*bound))]);
        acc.sample(labels, v(cumulative as f64), t);
    }
    let labels = label_set(res, &p.attributes, opts, &[("__name__", format!("{name}_bucket")), ("le", "+Inf".into())]);
    acc.sample(labels, v(p.count as f64), t);
    t
}

fn add_summary(acc: &mut Acc, p: &SummaryDataPoint, name: &str, res: &[KeyValue], opts: &TranslateOptions) -> i64 {
    let t = ms(p.time_unix_nano);
    let stale = p.flags & FLAG_NO_RECORDED_VALUE != 0;
    let v = |x: f64| if stale { f64::from_bits(STALE_NAN) } else { x };
    acc.sample(label_set(res, &p.attributes, opts, &[("__name__", format!("{name}_sum"))]), v(p.sum), t);
    acc.sample(label_set(res, &p.attributes, opts, &[("__name__", format!("{name}_count"))]), v(p.count as f64), t);
    for q in &p.quantile_values {
        let labels =
            label_set(res, &p.attributes, opts, &[("__name__", name.to_string()), ("quantile", fmt_f64(q.quantile))]);
        acc.sample(labels, v(q.value), t);
    }
    t
}

/// Exponential histogram → native histogram (schema = scale, down-scaled to 8 at most).
pub fn native_histogram(p: &ExponentialHistogramDataPoint) -> Result<Histogram, String> {
    if p.scale < -4 {
        return Err(format!("cannot convert exponential to native histogram: scale must be >= -4, was {}", p.scale));
    }
    let scale_down = (p.scale - 8).max(0);
    let schema = p.scale - scale_down;
    let (pos_spans, pos_deltas) =
        p.positive.as_ref().map(|b| spans(b.offset, &b.bucket_counts, scale_down)).unwrap_or_default();
    let (neg_spans, neg_deltas) =
        p.negative.as_ref().map(|b| spans(b.offset, &b.bucket_counts, scale_down)).unwrap_or_default();
    let stale = p.flags & FLAG_NO_RECORDED_VALUE != 0;
    Ok(Histogram {
        count: Some(histogram::Count::CountInt(if stale { STALE_NAN } else { p.count })),
        sum: if stale { f64::from_bits(STALE_NAN) } else { p.sum.unwrap_or(0.0) },
        schema,
        zero_threshold: p.zero_threshold,
        zero_count: Some(histogram::ZeroCount::ZeroCountInt(p.zero_count)),
        negative_spans: neg_spans,
        negative_deltas: neg_deltas,
        positive_spans: pos_spans,
        positive_deltas: pos_deltas,
        reset_hint: histogram::ResetHint::Unknown as i32,
        timestamp: ms(p.time_unix_nano),
        ..Default::default()
    })
}

/// OTel buckets (index i covers (base^i, base^(i+1)]) → Prometheus spans and count deltas
/// (index i+1). Gaps of up to two empty buckets stay inside a span, longer ones start a new span.
fn spans(offset: i32, counts: &[u64], scale_down: i32) -> (Vec<BucketSpan>, Vec<i64>) {
    let mut merged: Vec<(i32, u64)> = Vec::new();
    for (i, c) in counts.iter().enumerate() {
        let idx = (offset + i as i32) >> scale_down;
        match merged.last_mut() {
            Some((last, n)) if *last == idx => *n += c,
            _ => merged.push((idx, *c)),
        }
    }
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::new();
    let mut prev_count = 0i64;
    let mut next_idx: Option<i32> = None; // Prometheus index after the last one written
    for (idx, c) in merged.into_iter().filter(|(_, c)| *c > 0) {
        let pidx = idx + 1;
        match next_idx {
            Some(n) if pidx - n <= 2 => {
                // Fill the small gap with empty buckets in the current span.
                for _ in n..pidx {
                    deltas.push(-prev_count);
                    prev_count = 0;
                }
                if let Some(s) = spans.last_mut() {
                    s.length += (pidx - n) as u32 + 1;
                }
            }
            Some(n) => spans.push(BucketSpan { offset: pidx - n, length: 1 }),
            None => spans.push(BucketSpan { offset: pidx, length: 1 }),
        }
        deltas.push(c as i64 - prev_count);
        prev_count = c as i64;
        next_idx = Some(pidx + 1);
    }
    (spans, deltas)
}

#[cfg(test)]
mod tests;
