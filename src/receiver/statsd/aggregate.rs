//! The interval's state: parsed lines aggregated per client address and series, turned into
//! OTLP metrics at each tick (contrib statsdreceiver internal/parser/statsd_parser.go
//! `Aggregate`/`GetMetrics` and metric_translator.go). Pure: the clock is passed in.

use super::expo;
use super::parser::{self, Description, MetricType, Parsed};
use super::StatsdConfig;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point, metric, number_data_point, summary_data_point, AggregationTemporality,
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::HashMap;
use std::net::SocketAddr;

/// The scope every metric carries (Go `receiverName`), with oxidot's version as Go's build
/// version.
pub const SCOPE_NAME: &str = "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/statsdreceiver";
/// Go statsDDefaultPercentiles.
const DEFAULT_PERCENTILES: &[f64] = &[0.0, 10.0, 50.0, 90.0, 95.0, 100.0];
/// oxidot's bounds on one interval's state (Go has none): distinct series, and points kept one
/// by one (timers observed as gauges, summary samples). Lines beyond are dropped and counted.
pub const MAX_SERIES: usize = 100_000;
pub const MAX_SAMPLES: usize = 1_000_000;

/// How `ms`, `h` and `d` lines are observed (Go ObserverCategory).
#[derive(Debug, Clone, PartialEq)]
pub enum Observer {
    Disabled,
    Gauge,
    Summary(Vec<f64>),
    Histogram { max_size: i32, max_scale: i32 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CounterType {
    Int,
    Float,
    StochasticInt,
}

/// The parser's settings (Go StatsDParser.Initialize).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub enable_metric_type: bool,
    pub enable_simple_tags: bool,
    pub monotonic: bool,
    pub ip_only: bool,
    pub ignore_host: bool,
    pub counter: CounterType,
    pub timer: Observer,
    pub histogram: Observer,
    pub version: String,
}

impl Options {
    pub fn from_config(c: &StatsdConfig) -> Options {
        let mut timer = Observer::Disabled;
        let mut histogram = Observer::Disabled;
        for m in &c.timer_histogram_mapping {
            let obs = match m.observer_type.as_str() {
                "gauge" => Observer::Gauge,
                "summary" => Observer::Summary(m.summary.percentiles.clone()),
                "histogram" => Observer::Histogram {
                    max_size: m.histogram.max_size,
                    max_scale: m.histogram.max_scale.unwrap_or(expo::MAX_SCALE),
                },
                _ => Observer::Disabled,
            };
            match m.statsd_type.as_str() {
                "histogram" | "distribution" => histogram = obs,
                "timing" | "timer" => timer = obs,
                _ => {}
            }
        }
        Options {
            enable_metric_type: c.enable_metric_type,
            enable_simple_tags: c.enable_simple_tags,
            monotonic: c.is_monotonic_counter,
            ip_only: c.enable_ip_only_aggregation,
            ignore_host: c.ignore_host,
            counter: match c.counter_type.as_str() {
                "float" => CounterType::Float,
                "stochastic_int" => CounterType::StochasticInt,
                _ => CounterType::Int,
            },
            timer,
            histogram,
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Why a line was not aggregated.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejected {
    /// Go's parse error text.
    Parse(String),
    /// NaN or an infinity (newer contrib discards them).
    NotFinite,
    /// Over [`MAX_SERIES`] or [`MAX_SAMPLES`] this interval.
    Limit,
}

/// Series in arrival order, found by description.
struct Series<V> {
    index: HashMap<Description, usize>,
    items: Vec<(Description, V)>,
}

impl<V> Default for Series<V> {
    fn default() -> Self {
        Series { index: HashMap::new(), items: Vec::new() }
    }
}

impl<V> Series<V> {
    fn get_mut(&mut self, d: &Description) -> Option<&mut V> {
        let i = *self.index.get(d)?;
        self.items.get_mut(i).map(|(_, v)| v)
    }
    fn insert(&mut self, d: Description, v: V) {
        self.index.insert(d.clone(), self.items.len());
        self.items.push((d, v));
    }
}

struct CounterState {
    int: i64,
    float: f64,
    /// The first line's `T`, 0 when it had none.
    ts: u64,
}

struct SummaryState {
    points: Vec<f64>,
    weights: Vec<f64>,
    percentiles: Vec<f64>,
}

#[derive(Default)]
struct Instruments {
    gauges: Series<(f64, u64)>,
    counters: Series<CounterState>,
    /// Timers/histograms observed as gauges: one point per line, in order.
    timers: Vec<(Description, f64, u64)>,
    summaries: Series<SummaryState>,
    histograms: Series<expo::Histogram>,
}

/// Go StatsDParser: the state of one aggregation interval.
pub struct Aggregator {
    opts: Options,
    by_addr: Series<Instruments>,
    last_interval: u64,
    series: usize,
    samples: usize,
}

/// The instruments key (Go netAddr, newIPOnlyNetAddr); one shared key with `ignore_host`.
fn addr_key(opts: &Options, addr: SocketAddr) -> Description {
    let s = if opts.ignore_host {
        String::new()
    } else if opts.ip_only {
        addr.ip().to_string()
    } else {
        addr.to_string()
    };
    // The key reuses Description's Hash/Eq; only `name` matters.
    Description { name: s, kind: MetricType::Gauge, attrs: Vec::new() }
}

impl Aggregator {
    /// Go Initialize: the first interval starts at `now_ns`.
    pub fn new(opts: Options, now_ns: u64) -> Aggregator {
        Aggregator { opts, by_addr: Series::default(), last_interval: now_ns, series: 0, samples: 0 }
    }

    fn observer(&self, t: MetricType) -> &Observer {
        match t {
            MetricType::Histogram | MetricType::Distribution => &self.opts.histogram,
            MetricType::Timing => &self.opts.timer,
            MetricType::Counter | MetricType::Gauge => &Observer::Disabled,
        }
    }

    /// Go Aggregate: one line from `addr`, arriving at `now_ns`.
    pub fn aggregate(&mut self, line: &str, addr: SocketAddr, now_ns: u64) -> Result<(), Rejected> {
        let p =
            parser::parse(line, self.opts.enable_metric_type, self.opts.enable_simple_tags).map_err(Rejected::Parse)?;
        if !p.value.is_finite() {
            return Err(Rejected::NotFinite);
        }
        let observer = self.observer(p.desc.kind).clone();
        let key = addr_key(&self.opts, addr);
        if self.by_addr.get_mut(&key).is_none() {
            self.by_addr.insert(key.clone(), Instruments::default());
        }
        let (series, samples) = (self.series, self.samples);
        let counter_type = self.opts.counter;
        let Some(inst) = self.by_addr.get_mut(&key) else { return Err(Rejected::Limit) };
        let new_series = |n: &mut usize| {
            if series >= MAX_SERIES {
                return Err(Rejected::Limit);
            }
            *n += 1;
            Ok(())
        };
        let mut added_series = 0usize;
        let mut added_samples = 0usize;
        match p.desc.kind {
            MetricType::Gauge => match inst.gauges.get_mut(&p.desc) {
                Some(g) if p.addition => g.0 += p.value,
                Some(g) => *g = (p.value, now_ns),
                None => {
                    new_series(&mut added_series)?;
                    inst.gauges.insert(p.desc, (p.value, now_ns));
                }
            },
            MetricType::Counter => {
                let v = counter_value(&p);
                let int = match counter_type {
                    CounterType::Int => v as i64,
                    CounterType::StochasticInt => stochastic_round(v),
                    CounterType::Float => 0,
                };
                match inst.counters.get_mut(&p.desc) {
                    Some(c) => {
                        c.int = c.int.wrapping_add(int);
                        c.float += v;
                    }
                    None => {
                        new_series(&mut added_series)?;
                        inst.counters.insert(p.desc, CounterState { int, float: v, ts: p.timestamp });
                    }
                }
            }
            MetricType::Timing | MetricType::Histogram | MetricType::Distribution => match observer {
                Observer::Disabled => {}
                Observer::Gauge => {
                    if samples >= MAX_SAMPLES {
                        return Err(Rejected::Limit);
                    }
                    added_samples += 1;
                    inst.timers.push((p.desc, p.value, now_ns));
                }
                Observer::Summary(percentiles) => {
                    if samples >= MAX_SAMPLES {
                        return Err(Rejected::Limit);
                    }
                    added_samples += 1;
                    let (value, weight) = sample(&p);
                    match inst.summaries.get_mut(&p.desc) {
                        Some(s) => {
                            s.points.push(value);
                            s.weights.push(weight);
                        }
                        None => {
                            new_series(&mut added_series)?;
                            inst.summaries.insert(
                                p.desc,
                                SummaryState { points: vec![value], weights: vec![weight], percentiles },
                            );
                        }
                    }
                }
                Observer::Histogram { max_size, max_scale } => {
                    let (value, weight) = sample(&p);
                    if inst.histograms.get_mut(&p.desc).is_none() {
                        new_series(&mut added_series)?;
                        inst.histograms.insert(p.desc.clone(), expo::Histogram::new(max_size, max_scale));
                    }
                    if let Some(h) = inst.histograms.get_mut(&p.desc) {
                        // Go: uint64(raw.count), the weight truncated.
                        if !h.update(value, weight as u64) {
                            return Err(Rejected::Limit);
                        }
                    }
                }
            },
        }
        self.series += added_series;
        self.samples += added_samples;
        Ok(())
    }

    /// Go GetMetrics: one ResourceMetrics per client address (in order of first line), each
    /// metric in its own scope; the state is reset and the next interval starts at `now_ns`.
    pub fn take(&mut self, now_ns: u64) -> Vec<ResourceMetrics> {
        let start = self.last_interval;
        let by_addr = std::mem::take(&mut self.by_addr);
        self.last_interval = now_ns;
        self.series = 0;
        self.samples = 0;
        let mut out = Vec::with_capacity(by_addr.items.len());
        for (_, inst) in by_addr.items {
            let mut sms = Vec::new();
            for (d, (v, ts)) in inst.gauges.items {
                sms.push(gauge(&d, v, ts));
            }
            for (d, v, ts) in inst.timers {
                sms.push(gauge(&d, v, ts));
            }
            for (d, c) in inst.counters.items {
                let value = match self.opts.counter {
                    CounterType::Float => number_data_point::Value::AsDouble(c.float),
                    CounterType::Int | CounterType::StochasticInt => number_data_point::Value::AsInt(c.int),
                };
                let ts = if c.ts == 0 { now_ns } else { c.ts };
                sms.push(Metric {
                    name: d.name.clone(),
                    data: Some(metric::Data::Sum(Sum {
                        aggregation_temporality: AggregationTemporality::Delta as i32,
                        is_monotonic: self.opts.monotonic,
                        data_points: vec![NumberDataPoint {
                            attributes: attrs(&d),
                            start_time_unix_nano: start,
                            time_unix_nano: ts,
                            value: Some(value),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                });
            }
            for (d, s) in inst.summaries.items {
                sms.push(summary(&d, s, start, now_ns));
            }
            for (d, h) in inst.histograms.items {
                sms.push(histogram(&d, &h, start, now_ns));
            }
            let scope = InstrumentationScope {
                name: SCOPE_NAME.to_string(),
                version: self.opts.version.clone(),
                ..Default::default()
            };
            let scope_metrics = sms
                .into_iter()
                .map(|m| ScopeMetrics { scope: Some(scope.clone()), metrics: vec![m], schema_url: String::new() })
                .collect();
            out.push(ResourceMetrics { resource: Some(Resource::default()), scope_metrics, schema_url: String::new() });
        }
        out
    }
}

/// Go statsDMetric.counterValue: the value scaled up by a sample rate in (0, 1).
fn counter_value(p: &Parsed) -> f64 {
    if 0.0 < p.sample_rate && p.sample_rate < 1.0 {
        p.value / p.sample_rate
    } else {
        p.value
    }
}

/// Go statsDMetric.sampleValue: the value and its weight (1 / sample rate).
fn sample(p: &Parsed) -> (f64, f64) {
    let count = if 0.0 < p.sample_rate && p.sample_rate < 1.0 { 1.0 / p.sample_rate } else { 1.0 };
    (p.value, count)
}

/// counter_type stochastic_int: rounds up with the probability of the fraction.
fn stochastic_round(v: f64) -> i64 {
    let floor = v.floor();
    let up = rand::random::<f64>() < v - floor;
    floor as i64 + i64::from(up)
}

fn attrs(d: &Description) -> Vec<KeyValue> {
    d.attrs
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.clone())) }),
            ..Default::default()
        })
        .collect()
}

/// Go buildGaugeMetric.
fn gauge(d: &Description, v: f64, ts: u64) -> Metric {
    Metric {
        name: d.name.clone(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                attributes: attrs(d),
                time_unix_nano: ts,
                value: Some(number_data_point::Value::AsDouble(v)),
                ..Default::default()
            }],
        })),
        ..Default::default()
    }
}

/// gonum stat.Quantile(p, stat.Empirical, x, weights) over `x` sorted ascending.
fn empirical_quantile(p: f64, x: &[f64], w: &[f64], total: f64) -> f64 {
    let target = p * total;
    let mut cum = 0.0;
    for (v, wt) in x.iter().zip(w) {
        cum += wt;
        if cum >= target {
            return *v;
        }
    }
    // Only reachable through rounding of the weights' sum; gonum panics, the largest is right.
    x.last().copied().unwrap_or(0.0)
}

/// Go buildSummaryMetric.
fn summary(d: &Description, s: SummaryState, start: u64, now: u64) -> Metric {
    let mut count = 0.0;
    let mut sum = 0.0;
    for (v, w) in s.points.iter().zip(&s.weights) {
        count += w;
        sum += v * w;
    }
    let mut pairs: Vec<(f64, f64)> = s.points.into_iter().zip(s.weights).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (x, w): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
    let total: f64 = w.iter().sum();
    let percentiles = if s.percentiles.is_empty() { DEFAULT_PERCENTILES.to_vec() } else { s.percentiles };
    let quantile_values = percentiles
        .iter()
        .map(|pct| summary_data_point::ValueAtQuantile {
            quantile: pct / 100.0,
            value: empirical_quantile(pct / 100.0, &x, &w, total),
        })
        .collect();
    Metric {
        name: d.name.clone(),
        data: Some(metric::Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                attributes: attrs(d),
                start_time_unix_nano: start,
                time_unix_nano: now,
                // Go: uint64(count), the weights' sum truncated.
                count: count as u64,
                sum,
                quantile_values,
                flags: 0,
            }],
        })),
        ..Default::default()
    }
}

/// Go buildExponentialBucketHistogramMetric.
fn histogram(d: &Description, h: &expo::Histogram, start: u64, now: u64) -> Metric {
    let buckets = |b: &expo::Buckets| exponential_histogram_data_point::Buckets {
        offset: if b.counts.is_empty() { 0 } else { b.start },
        bucket_counts: b.counts.clone(),
    };
    Metric {
        name: d.name.clone(),
        data: Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
            aggregation_temporality: AggregationTemporality::Delta as i32,
            data_points: vec![ExponentialHistogramDataPoint {
                attributes: attrs(d),
                start_time_unix_nano: start,
                time_unix_nano: now,
                count: h.count,
                sum: Some(h.sum),
                scale: h.scale(),
                zero_count: h.zero_count,
                positive: Some(buckets(&h.positive)),
                negative: Some(buckets(&h.negative)),
                min: (h.count != 0).then_some(h.min),
                max: (h.count != 0).then_some(h.max),
                ..Default::default()
            }],
        })),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
