//! OTLP data points → EMF values (awsemfexporter datapoint.go): gauges as they are, cumulative
//! sums as deltas against the previous value of the same series (the first one only sets the
//! baseline unless `retain_initial_value_of_delta_metric`), histograms and exponential
//! histograms as statistic sets, summaries as statistic sets or, with `detailed_metrics`,
//! `_sum`, `_count` and one value per quantile. Stale, NaN and infinite points are skipped.

use crate::pipeline::attrs;
use crate::translate::gojson::float_json;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, AggregationTemporality, Metric};
use std::collections::{BTreeMap, HashMap};

/// The instrumentation scope's name as a label (metric_translator.go `oTellibDimensionKey`).
pub const OTEL_LIB: &str = "OTelLib";
/// Series forgotten after this long without a point (internal/aws/metrics `cleanInterval`).
const DELTA_TTL_MS: i64 = 5 * 60 * 1000;
/// At most this many series remembered for deltas (oxidot's bound; Go's map is unbounded).
pub const MAX_DELTA_SERIES: usize = 1_000_000;
/// OTLP's `FLAG_NO_RECORDED_VALUE`.
const NO_RECORDED_VALUE: u32 = 1;

/// A value as written into the EMF document.
#[derive(Debug, Clone, PartialEq)]
pub enum EmfValue {
    F64(f64),
    U64(u64),
    /// cWMetricStats: `{"Max","Min","Count","Sum"}` in that order.
    Stats {
        max: f64,
        min: f64,
        count: u64,
        sum: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataPoint {
    pub name: String,
    pub value: EmfValue,
    pub labels: BTreeMap<String, String>,
    pub timestamp_ms: i64,
}

/// What identifies a series for delta calculation besides its labels (deltaMetricMetadata).
pub struct SeriesKey<'a> {
    pub namespace: &'a str,
    pub log_group: &'a str,
    pub log_stream: &'a str,
}

#[derive(Debug, Clone, Copy)]
enum Prev {
    Sum(f64),
    Summary(f64, u64),
}

/// The previous cumulative values (internal/aws/metrics MetricCalculator with MapWithExpiry).
#[derive(Debug, Default)]
pub struct Deltas {
    entries: HashMap<String, (Prev, i64)>,
    last_cleanup_ms: i64,
    /// Series not remembered because the map was full.
    pub refused: u64,
}

impl Deltas {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops series not seen for 5 minutes (by their points' time, as Go), at most once a TTL.
    pub fn clean(&mut self, now_ms: i64) {
        if now_ms - self.last_cleanup_ms < DELTA_TTL_MS {
            return;
        }
        self.last_cleanup_ms = now_ms;
        self.entries.retain(|_, (_, ts)| now_ms - *ts < DELTA_TTL_MS);
    }

    /// `Calculate`: the delta to the previous value, `None` for a series' first value. The
    /// stored value is always replaced (Go stores when absent or computed).
    fn calculate(&mut self, key: String, value: Prev, ts_ms: i64) -> Option<Prev> {
        let prev = self.entries.get(&key).map(|(p, _)| *p);
        if prev.is_none() && self.entries.len() >= MAX_DELTA_SERIES {
            self.refused += 1;
            return None;
        }
        self.entries.insert(key, (value, ts_ms));
        match (prev?, value) {
            (Prev::Sum(a), Prev::Sum(b)) => Some(Prev::Sum(b - a)),
            (Prev::Summary(s0, c0), Prev::Summary(s1, c1)) => Some(Prev::Summary(s1 - s0, c1.wrapping_sub(c0))),
            _ => None,
        }
    }
}

fn series_key(name: &str, k: &SeriesKey, labels: &BTreeMap<String, String>) -> String {
    let mut s = String::with_capacity(64);
    for part in [name, k.namespace, k.log_group, k.log_stream] {
        s.push_str(part);
        s.push('\u{0}');
    }
    for (a, b) in labels {
        s.push_str(a);
        s.push('\u{1}');
        s.push_str(b);
        s.push('\u{0}');
    }
    s
}

/// A label value: pdata `AsString` (doubles as encoding/json writes them).
pub fn label_text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::DoubleValue(d)) => float_json(*d).unwrap_or_else(|e| e),
        _ => attrs::value_text(v),
    }
}

/// datapoint.go `createLabels`.
pub fn labels(attributes: &[KeyValue], scope_name: &str) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = attributes.iter().map(|kv| (kv.key.clone(), label_text(&kv.value))).collect();
    if !scope_name.is_empty() {
        m.insert(OTEL_LIB.to_string(), scope_name.to_string());
    }
    m
}

fn ms(nanos: u64) -> i64 {
    (nanos / 1_000_000) as i64
}

fn bad(f: f64) -> bool {
    !f.is_finite()
}

/// Options of [`data_points`].
pub struct PointOptions<'a> {
    pub scope_name: &'a str,
    pub retain_initial: bool,
    pub detailed: bool,
    /// The resource's `receiver` attribute is `prometheus`: summaries are cumulative.
    pub prometheus: bool,
    pub key: SeriesKey<'a>,
}

/// Every EMF data point of `m`, and how many OTLP points were skipped as stale/NaN/Inf.
pub fn data_points(m: &Metric, o: &PointOptions, deltas: &mut Deltas) -> (Vec<DataPoint>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    let name = &m.name;
    let point = |value: EmfValue, labels: BTreeMap<String, String>, t: u64| DataPoint {
        name: name.clone(),
        value,
        labels,
        timestamp_ms: ms(t),
    };
    match &m.data {
        Some(metric::Data::Gauge(g)) => {
            for p in &g.data_points {
                let Some(v) = number(p) else {
                    skipped += 1;
                    continue;
                };
                out.push(point(EmfValue::F64(v), labels(&p.attributes, o.scope_name), p.time_unix_nano));
            }
        }
        Some(metric::Data::Sum(s)) => {
            let cumulative = s.aggregation_temporality == AggregationTemporality::Cumulative as i32;
            for p in &s.data_points {
                let Some(mut v) = number(p) else {
                    skipped += 1;
                    continue;
                };
                let l = labels(&p.attributes, o.scope_name);
                if cumulative {
                    let key = series_key(name, &o.key, &l);
                    match deltas.calculate(key, Prev::Sum(v), ms(p.time_unix_nano)) {
                        // A negative delta is a reset: the current value is kept (datapoint.go).
                        Some(Prev::Sum(d)) if d >= 0.0 => v = d,
                        Some(_) => {}
                        None if o.retain_initial => {}
                        None => continue,
                    }
                }
                out.push(point(EmfValue::F64(v), l, p.time_unix_nano));
            }
        }
        Some(metric::Data::Histogram(h)) => {
            for p in &h.data_points {
                let (max, min, sum) = (p.max.unwrap_or(0.0), p.min.unwrap_or(0.0), p.sum.unwrap_or(0.0));
                if p.flags & NO_RECORDED_VALUE != 0 || bad(max) || bad(min) || bad(sum) {
                    skipped += 1;
                    continue;
                }
                let v = EmfValue::Stats { max, min, count: p.count, sum };
                out.push(point(v, labels(&p.attributes, o.scope_name), p.time_unix_nano));
            }
        }
        Some(metric::Data::ExponentialHistogram(h)) => {
            // oxidot writes a statistic set (Go writes bucket midpoints as Values/Counts).
            for p in &h.data_points {
                let (max, min, sum) = (p.max.unwrap_or(0.0), p.min.unwrap_or(0.0), p.sum.unwrap_or(0.0));
                if p.flags & NO_RECORDED_VALUE != 0 || bad(max) || bad(min) || bad(sum) {
                    skipped += 1;
                    continue;
                }
                let v = EmfValue::Stats { max, min, count: p.count, sum };
                out.push(point(v, labels(&p.attributes, o.scope_name), p.time_unix_nano));
            }
        }
        Some(metric::Data::Summary(s)) => {
            for p in &s.data_points {
                let q_bad = p.quantile_values.iter().any(|q| bad(q.value) || bad(q.quantile));
                if p.flags & NO_RECORDED_VALUE != 0 || bad(p.sum) || q_bad {
                    skipped += 1;
                    continue;
                }
                let l = labels(&p.attributes, o.scope_name);
                let (mut sum, mut count) = (p.sum, p.count);
                if o.prometheus {
                    let key = series_key(name, &o.key, &l);
                    match deltas.calculate(key, Prev::Summary(sum, count), ms(p.time_unix_nano)) {
                        Some(Prev::Summary(s, c)) => (sum, count) = (s, c),
                        Some(_) => {}
                        None if o.retain_initial => {}
                        None => continue,
                    }
                }
                if o.detailed {
                    out.push(DataPoint {
                        name: format!("{name}_sum"),
                        value: EmfValue::F64(sum),
                        labels: l.clone(),
                        timestamp_ms: ms(p.time_unix_nano),
                    });
                    out.push(DataPoint {
                        name: format!("{name}_count"),
                        value: EmfValue::U64(count),
                        labels: l.clone(),
                        timestamp_ms: ms(p.time_unix_nano),
                    });
                    for q in &p.quantile_values {
                        let mut ql = l.clone();
                        ql.insert("quantile".into(), crate::translate::gojson::float_v(q.quantile));
                        out.push(point(EmfValue::F64(q.value), ql, p.time_unix_nano));
                    }
                } else {
                    let (min, max) = match (p.quantile_values.first(), p.quantile_values.last()) {
                        (Some(a), Some(b)) => (a.value, b.value),
                        _ => (0.0, 0.0),
                    };
                    out.push(point(EmfValue::Stats { max, min, count, sum }, l, p.time_unix_nano));
                }
            }
        }
        None => {}
    }
    (out, skipped)
}

/// A number point's value, `None` when stale, NaN or infinite (datapoint.go `IsStaleNaNInf`).
fn number(p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint) -> Option<f64> {
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
    if p.flags & NO_RECORDED_VALUE != 0 {
        return None;
    }
    match p.value {
        Some(Value::AsDouble(d)) if bad(d) => None,
        Some(Value::AsDouble(d)) => Some(d),
        Some(Value::AsInt(i)) => Some(i as f64),
        None => Some(0.0),
    }
}
