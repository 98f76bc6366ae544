//! One scrape's samples → OTLP metrics, as the Go receiver's appender does
//! (prometheusreceiver/internal/transaction.go, metricfamily.go, util.go, prom_to_otlp.go):
//! samples are grouped into families by their metadata (a histogram's `_bucket`/`_sum`/`_count`
//! become one histogram point per label set), `job`/`instance` pick the resource, `target_info`
//! adds resource attributes, `otel_scope_*` labels pick the scope, Prometheus' stale NaN
//! becomes the `no_recorded_value` flag. Pure: no I/O, no clock.

use super::labels::{Labels, BUCKET, INSTANCE, JOB, METRICS_PATH, METRIC_NAME, QUANTILE, SCHEME};
use super::textparse::{Exemplar, Metadata, MetricType};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, metric, number_data_point, summary_data_point::ValueAtQuantile, AggregationTemporality,
    Exemplar as OtlpExemplar, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, Sum, Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::HashMap;

/// The instrumentation scope of scraped metrics without `otel_scope_name` (Go: metadata.ScopeName).
pub const SCOPE_NAME: &str = "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver";
const TARGET_INFO: &str = "target_info";
const SCOPE_INFO: &str = "otel_scope_info";
const SCOPE_PREFIX: &str = "otel_scope_";
/// `value.StaleNaN`: the NaN Prometheus writes when a series goes away.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;
/// pmetric.DataPointFlags NoRecordedValue.
const FLAG_NO_RECORDED_VALUE: u32 = 1;

pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// Metadata of the scrape meta-metrics (internal/metadata.go `internalMetricMetadata`).
fn internal_metadata(name: &str) -> Option<Metadata> {
    let (help, unit) = match name {
        "up" => ("The scraping was successful", ""),
        "scrape_duration_seconds" => ("Duration of the scrape", "seconds"),
        "scrape_samples_scraped" => ("The number of samples the target exposed", ""),
        "scrape_series_added" => ("The approximate number of new series in this scrape", ""),
        "scrape_samples_post_metric_relabeling" => {
            ("The number of samples remaining after metric relabeling was applied", "")
        }
        _ => return None,
    };
    Some(Metadata { typ: MetricType::Gauge, help: help.into(), unit: unit.into() })
}

const SUFFIXES: &[&str] = &["_bucket", "_count", "_sum", "_total", "_info", "_created"];

/// util.go normalizeMetricName: the name without one type suffix.
fn normalize(name: &str) -> &str {
    for s in SUFFIXES {
        if let Some(base) = name.strip_suffix(s) {
            if !base.is_empty() {
                return base;
            }
        }
    }
    name
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sum {
        monotonic: bool,
    },
    Gauge,
    Histogram,
    Summary,
    /// A type the receiver does not map (gauge histograms): emitted as gauges.
    Empty,
}

/// util.go convToMetricType.
fn kind_of(t: MetricType) -> Kind {
    match t {
        MetricType::Counter => Kind::Sum { monotonic: true },
        MetricType::Gauge | MetricType::Unknown => Kind::Gauge,
        MetricType::Histogram => Kind::Histogram,
        MetricType::Summary => Kind::Summary,
        MetricType::Info | MetricType::StateSet => Kind::Sum { monotonic: false },
        MetricType::GaugeHistogram => Kind::Empty,
    }
}

/// Labels that never become point attributes (util.go notUsefulLabels*).
fn not_useful(k: Kind) -> &'static [&'static str] {
    match k {
        Kind::Histogram => &[METRIC_NAME, INSTANCE, SCHEME, METRICS_PATH, JOB, BUCKET],
        Kind::Summary => &[METRIC_NAME, INSTANCE, SCHEME, METRICS_PATH, JOB, QUANTILE],
        _ => &[METRIC_NAME, INSTANCE, SCHEME, METRICS_PATH, JOB],
    }
}

fn series_ref(ls: &Labels, k: Kind) -> u64 {
    ls.hash_without(not_useful(k), Some(SCOPE_PREFIX))
}

#[derive(Debug, Default)]
struct Group {
    ts: i64,
    ls: Labels,
    count: f64,
    has_count: bool,
    sum: f64,
    has_sum: bool,
    created_seconds: f64,
    value: f64,
    /// (boundary, value): buckets of a histogram, quantiles of a summary.
    complex: Vec<(f64, f64)>,
    exemplars: Vec<OtlpExemplar>,
}

#[derive(Debug)]
struct Family {
    name: String,
    kind: Kind,
    metadata: Metadata,
    /// The name the metadata was found under (scrape.MetricMetadata.MetricFamily).
    md_family: String,
    groups: HashMap<u64, usize>,
    order: Vec<Group>,
}

impl Family {
    /// metricfamily.go includesMetric.
    fn includes(&self, name: &str) -> bool {
        if self.kind != Kind::Gauge {
            normalize(name) == self.name
        } else {
            name == self.name
        }
    }

    fn group(&mut self, key: u64, ls: &Labels, ts: i64) -> &mut Group {
        let idx = *self.groups.entry(key).or_insert_with(|| {
            self.order.push(Group { ts, ls: ls.clone(), ..Group::default() });
            self.order.len() - 1
        });
        &mut self.order[idx]
    }

    /// metricfamily.go addSeries.
    fn add(&mut self, key: u64, name: &str, ls: &Labels, t: i64, v: f64) -> Result<(), String> {
        let kind = self.kind;
        let created_name = format!("{}_created", self.md_family);
        let g = self.group(key, ls, t);
        // `_created` carries the series' start, not a sample of this scrape: its own
        // timestamp does not have to match the family's.
        if matches!(kind, Kind::Sum { .. } | Kind::Histogram | Kind::Summary) && name == created_name {
            g.created_seconds = v;
            return Ok(());
        }
        if g.ts != t {
            return Err(format!("inconsistent timestamps on metric points for metric {name}"));
        }
        match kind {
            Kind::Histogram | Kind::Summary => {
                if name.ends_with("_sum") {
                    g.sum = v;
                    g.has_sum = true;
                } else if name.ends_with("_count") {
                    g.ts = t;
                    g.count = v;
                    g.has_count = true;
                } else if name == created_name {
                    g.created_seconds = v;
                } else {
                    let (label, what) = if kind == Kind::Histogram { (BUCKET, "le") } else { (QUANTILE, "quantile") };
                    let b = ls.get(label);
                    if b.is_empty() {
                        return Err(format!(
                            "'{what}' label on {} metric is missing or empty",
                            if kind == Kind::Histogram { "histogram" } else { "summary" }
                        ));
                    }
                    let boundary = parse_go_float(b).ok_or_else(|| format!("invalid {what} value {b:?}"))?;
                    g.complex.push((boundary, v));
                }
            }
            Kind::Sum { .. } => {
                if name == created_name {
                    g.created_seconds = v;
                } else {
                    g.value = v;
                }
            }
            Kind::Gauge | Kind::Empty => g.value = v,
        }
        Ok(())
    }
}

fn parse_go_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ResourceKey {
    job: String,
    instance: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
struct ScopeKey {
    name: String,
    version: String,
    schema_url: String,
    attributes: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct ResourceState {
    attrs: Vec<KeyValue>,
    scopes: Vec<(ScopeKey, Vec<Family>)>,
}

/// (resource, scope name, version, schema URL).
type ScopeInfoKey = (ResourceKey, String, String, String);

/// How the scrape's target is named when a sample lacks `job`/`instance`, and its scheme.
#[derive(Debug, Clone, Default)]
pub struct TargetInfo {
    pub job: String,
    pub instance: String,
    /// `__scheme__` of the discovered labels (resource `url.scheme`).
    pub scheme: String,
}

/// One scrape's appender.
pub struct Transaction<'a> {
    metadata: &'a HashMap<String, Metadata>,
    external: &'a Labels,
    target: &'a TargetInfo,
    trim_suffixes: bool,
    resources: Vec<(ResourceKey, ResourceState)>,
    /// `otel_scope_info` attributes by (resource, name, version, schema): legacy scope info.
    scope_info: HashMap<ScopeInfoKey, Vec<(String, String)>>,
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.to_string(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.to_string())) }),
        ..Default::default()
    }
}

fn put(attrs: &mut Vec<KeyValue>, k: &str, v: &str) {
    match attrs.iter_mut().find(|a| a.key == k) {
        Some(a) => *a = kv(k, v),
        None => attrs.push(kv(k, v)),
    }
}

/// prom_to_otlp.go isDiscernibleHost.
fn discernible(host: &str) -> bool {
    match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        Ok(ip) => !ip.is_loopback() && !ip.is_unspecified(),
        Err(_) => host != "localhost",
    }
}

/// net.SplitHostPort, or the whole string as host and an empty port when it has none.
fn split_host_port(instance: &str) -> (String, String) {
    if let Some(rest) = instance.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once("]:") {
            return (h.to_string(), p.to_string());
        }
        return (instance.to_string(), String::new());
    }
    match instance.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h.to_string(), p.to_string()),
        _ => (instance.to_string(), String::new()),
    }
}

/// prom_to_otlp.go CreateResource (with the legacy attributes removed, as since v0.126).
fn create_resource(job: &str, instance: &str, scheme: &str) -> Vec<KeyValue> {
    let (host, port) = split_host_port(instance);
    let mut attrs = vec![kv("service.name", job)];
    if discernible(&host) {
        attrs.push(kv("server.address", &host));
    }
    attrs.push(kv("service.instance.id", instance));
    attrs.push(kv("server.port", &port));
    attrs.push(kv("url.scheme", scheme));
    attrs
}

impl<'a> Transaction<'a> {
    pub fn new(
        metadata: &'a HashMap<String, Metadata>,
        external: &'a Labels,
        target: &'a TargetInfo,
        trim_suffixes: bool,
    ) -> Self {
        Transaction { metadata, external, target, trim_suffixes, resources: Vec::new(), scope_info: HashMap::new() }
    }

    /// metadata.go metadataForMetric: (metadata, family name, name the metadata was found under).
    fn metadata_for(&self, name: &str) -> (Metadata, String, String) {
        if let Some(m) = internal_metadata(name) {
            return (m, name.to_string(), name.to_string());
        }
        if let Some(m) = self.metadata.get(name) {
            return (m.clone(), name.to_string(), name.to_string());
        }
        let norm = normalize(name);
        if let Some(m) = self.metadata.get(norm) {
            let family = if m.typ == MetricType::Counter { name } else { norm };
            return (m.clone(), family.to_string(), norm.to_string());
        }
        (Metadata::default(), name.to_string(), name.to_string())
    }

    fn resource_key(&self, ls: &Labels) -> Result<ResourceKey, String> {
        let mut job = ls.get(JOB).to_string();
        let mut instance = ls.get(INSTANCE).to_string();
        if job.is_empty() {
            job = self.target.job.clone();
        }
        if instance.is_empty() {
            instance = self.target.instance.clone();
        }
        if job.is_empty() || instance.is_empty() {
            return Err("job or instance cannot be found from labels".into());
        }
        Ok(ResourceKey { job, instance })
    }

    fn resource(&mut self, key: &ResourceKey) -> &mut ResourceState {
        let i = match self.resources.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                let attrs = create_resource(&key.job, &key.instance, &self.target.scheme);
                self.resources.push((key.clone(), ResourceState { attrs, scopes: Vec::new() }));
                self.resources.len() - 1
            }
        };
        &mut self.resources[i].1
    }

    /// Appends one sample (transaction.go Append). Errors are per sample: the caller logs them
    /// and goes on, as Go never fails a scrape for them.
    pub fn append(&mut self, ls: Labels, t: i64, v: f64, exemplar: Option<&Exemplar>) -> Result<(), String> {
        let mut ls = ls;
        for (k, val) in self.external.iter() {
            ls.set(k.to_string(), val.to_string());
        }
        let key = self.resource_key(&ls)?;
        let name = ls.get(METRIC_NAME).to_string();
        if name.is_empty() {
            return Err("metricName not found from labels".into());
        }
        if name == TARGET_INFO {
            let res = self.resource(&key);
            for (k, val) in ls.iter() {
                if k != JOB && k != INSTANCE && k != METRIC_NAME {
                    put(&mut res.attrs, k, val);
                }
            }
            return Ok(());
        }
        if name == SCOPE_INFO {
            let mut attrs = Vec::new();
            let (mut n, mut ver, mut schema) = (String::new(), String::new(), String::new());
            for (k, val) in ls.iter() {
                match k {
                    JOB | INSTANCE | METRIC_NAME => {}
                    "otel_scope_name" => n = val.to_string(),
                    "otel_scope_version" => ver = val.to_string(),
                    "otel_scope_schema_url" => schema = val.to_string(),
                    _ => attrs.push((k.to_string(), val.to_string())),
                }
            }
            self.scope_info.insert((key, n, ver, schema), attrs);
            return Ok(());
        }
        let scope = scope_of(&ls);
        let (md, family_name, md_family) = self.metadata_for(&name);
        let fam_kind = kind_of(md.typ);
        let has_exact = self.metadata.contains_key(&name);
        let res = self.resource(&key);
        let si = match res.scopes.iter().position(|(k, _)| *k == scope) {
            Some(i) => i,
            None => {
                res.scopes.push((scope, Vec::new()));
                res.scopes.len() - 1
            }
        };
        let families = &mut res.scopes[si].1;
        // transaction.go getOrCreateMetricFamily.
        let fi = match families.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                let fname = if has_exact { name.as_str() } else { normalize(&name) };
                // An OpenMetrics `<family>_created` belongs to its counter/histogram/summary.
                let created_of = name.strip_suffix("_created").and_then(|base| {
                    families.iter().position(|f| {
                        f.md_family == base && matches!(f.kind, Kind::Sum { .. } | Kind::Histogram | Kind::Summary)
                    })
                });
                match families.iter().position(|f| f.name == fname && f.includes(&name)).or(created_of) {
                    Some(i) => i,
                    None => {
                        families.push(Family {
                            name: family_name,
                            kind: fam_kind,
                            metadata: md,
                            md_family,
                            groups: HashMap::new(),
                            order: Vec::new(),
                        });
                        families.len() - 1
                    }
                }
            }
        };
        let fam = &mut families[fi];
        let r = series_ref(&ls, fam.kind);
        fam.add(r, &name, &ls, t, v)?;
        if let Some(e) = exemplar {
            if let Some(&gi) = fam.groups.get(&r) {
                fam.order[gi].exemplars.push(convert_exemplar(e, t));
            }
        }
        Ok(())
    }

    /// transaction.go getMetrics: the batch, and its data point count.
    pub fn into_metrics(self, version: &str) -> (Vec<ResourceMetrics>, usize) {
        let mut out = Vec::new();
        let mut points = 0;
        let trim = self.trim_suffixes;
        for (rkey, res) in self.resources {
            let mut scope_metrics = Vec::new();
            for (skey, families) in res.scopes {
                let mut metrics = Vec::new();
                for f in families {
                    if let Some(m) = f.into_metric(trim) {
                        points += crate::pipeline::data::data_points(&m);
                        metrics.push(m);
                    }
                }
                if metrics.is_empty() {
                    continue;
                }
                let empty = skey.name.is_empty()
                    && skey.version.is_empty()
                    && skey.schema_url.is_empty()
                    && skey.attributes.is_empty();
                let scope = if empty {
                    InstrumentationScope { name: SCOPE_NAME.into(), version: version.into(), ..Default::default() }
                } else {
                    let mut attrs: Vec<KeyValue> = Vec::new();
                    // Legacy otel_scope_info attributes first, otel_scope_ labels win.
                    if let Some(info) = self.scope_info.get(&(
                        rkey.clone(),
                        skey.name.clone(),
                        skey.version.clone(),
                        skey.schema_url.clone(),
                    )) {
                        for (k, v) in info {
                            put(&mut attrs, k, v);
                        }
                    }
                    for (k, v) in &skey.attributes {
                        put(&mut attrs, k, v);
                    }
                    InstrumentationScope {
                        name: skey.name.clone(),
                        version: skey.version.clone(),
                        attributes: attrs,
                        ..Default::default()
                    }
                };
                scope_metrics.push(ScopeMetrics { scope: Some(scope), metrics, schema_url: skey.schema_url.clone() });
            }
            if scope_metrics.is_empty() {
                continue;
            }
            out.push(ResourceMetrics {
                resource: Some(Resource { attributes: res.attrs, ..Default::default() }),
                scope_metrics,
                schema_url: String::new(),
            });
        }
        (out, points)
    }
}

mod convert;
use convert::*;

#[cfg(test)]
mod tests;
