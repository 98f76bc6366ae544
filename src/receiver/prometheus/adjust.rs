//! Start times of cumulative points (prometheusreceiver/internal/metrics_adjuster.go,
//! initialPointAdjuster): a series' first point keeps its own time as start; later points get
//! that first start until the value goes down (a reset), which starts the series again. Points
//! whose start came from `_created` are left alone. Series not seen for `gc_interval` are
//! forgotten (the Go adjuster's mark-and-sweep).

use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, ResourceMetrics};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Info {
    start: u64,
    previous: f64,
    previous_sum: f64,
    seen: Instant,
}

type SeriesKey = (String, Vec<(String, String)>);

/// Per (job, instance): series → their start.
#[derive(Debug)]
pub struct Adjuster {
    jobs: HashMap<(String, String), HashMap<SeriesKey, Info>>,
    gc_interval: Duration,
    last_gc: Instant,
}

fn str_of(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        _ => String::new(),
    }
}

/// getAttributesSignature: the non-empty attributes, sorted.
fn signature(attrs: &[KeyValue]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> =
        attrs.iter().map(|a| (a.key.clone(), str_of(a))).filter(|(_, v)| !v.is_empty()).collect();
    v.sort();
    v
}

enum Seen {
    /// First point of the series: keeps its start.
    New,
    /// A later point: this start.
    Start(u64),
}

impl Adjuster {
    pub fn new(gc_interval: Duration) -> Self {
        Adjuster { jobs: HashMap::new(), gc_interval, last_gc: Instant::now() }
    }

    /// One point: returns the start to set, if any. `value` and `sum` are what reset detection
    /// compares (count and sum for histograms and summaries).
    fn see(
        series: &mut HashMap<SeriesKey, Info>,
        key: SeriesKey,
        start: u64,
        stale: bool,
        value: f64,
        sum: f64,
        now: Instant,
    ) -> Seen {
        match series.get_mut(&key) {
            None => {
                if !stale {
                    series.insert(key, Info { start, previous: value, previous_sum: sum, seen: now });
                }
                Seen::New
            }
            Some(info) => {
                info.seen = now;
                if stale {
                    return Seen::Start(info.start);
                }
                if value < info.previous || sum < info.previous_sum {
                    // A reset: the series starts again at this point.
                    *info = Info { start, previous: value, previous_sum: sum, seen: now };
                    return Seen::New;
                }
                info.previous = value;
                info.previous_sum = sum;
                Seen::Start(info.start)
            }
        }
    }

    /// Adjusts every cumulative point of `rms` in place.
    pub fn adjust(&mut self, rms: &mut [ResourceMetrics], now: Instant) {
        for rm in rms.iter_mut() {
            let attrs = rm.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]);
            let find = |k: &str| attrs.iter().find(|a| a.key == k).map(str_of).unwrap_or_default();
            let job = (find("service.name"), find("service.instance.id"));
            let series = self.jobs.entry(job).or_default();
            for sm in rm.scope_metrics.iter_mut() {
                for m in sm.metrics.iter_mut() {
                    let name = m.name.clone();
                    match m.data.as_mut() {
                        Some(metric::Data::Sum(s)) => {
                            for p in s.data_points.iter_mut() {
                                if p.start_time_unix_nano < p.time_unix_nano && p.flags & 1 == 0 {
                                    continue; // set from _created
                                }
                                let v = match p.value {
                                    Some(number_data_point::Value::AsDouble(d)) => d,
                                    Some(number_data_point::Value::AsInt(i)) => i as f64,
                                    None => 0.0,
                                };
                                let key = (name.clone(), signature(&p.attributes));
                                if let Seen::Start(s) =
                                    Self::see(series, key, p.start_time_unix_nano, p.flags & 1 != 0, v, 0.0, now)
                                {
                                    p.start_time_unix_nano = s;
                                }
                            }
                        }
                        Some(metric::Data::Histogram(h)) => {
                            for p in h.data_points.iter_mut() {
                                if p.start_time_unix_nano < p.time_unix_nano && p.flags & 1 == 0 {
                                    continue;
                                }
                                let key = (name.clone(), signature(&p.attributes));
                                let stale = p.flags & 1 != 0;
                                if let Seen::Start(s) = Self::see(
                                    series,
                                    key,
                                    p.start_time_unix_nano,
                                    stale,
                                    p.count as f64,
                                    p.sum.unwrap_or(0.0),
                                    now,
                                ) {
                                    p.start_time_unix_nano = s;
                                }
                            }
                        }
                        Some(metric::Data::Summary(su)) => {
                            for p in su.data_points.iter_mut() {
                                if p.start_time_unix_nano < p.time_unix_nano && p.flags & 1 == 0 {
                                    continue;
                                }
                                let key = (name.clone(), signature(&p.attributes));
                                let stale = p.flags & 1 != 0;
                                if let Seen::Start(s) =
                                    Self::see(series, key, p.start_time_unix_nano, stale, p.count as f64, p.sum, now)
                                {
                                    p.start_time_unix_nano = s;
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        if now.saturating_duration_since(self.last_gc) > self.gc_interval {
            let cutoff = self.gc_interval;
            for series in self.jobs.values_mut() {
                series.retain(|_, i| now.saturating_duration_since(i.seen) <= cutoff);
            }
            self.jobs.retain(|_, s| !s.is_empty());
            self.last_gc = now;
        }
    }

    #[cfg(test)]
    pub fn series_count(&self) -> usize {
        self.jobs.values().map(|s| s.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::AnyValue;
    use opentelemetry_proto::tonic::metrics::v1::{Metric, NumberDataPoint, ScopeMetrics, Sum};
    use opentelemetry_proto::tonic::resource::v1::Resource;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
            ..Default::default()
        }
    }

    fn sum(v: f64, ts: u64, start: u64, flags: u32) -> Vec<ResourceMetrics> {
        vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "j"), kv("service.instance.id", "i")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "c_total".into(),
                    data: Some(metric::Data::Sum(Sum {
                        data_points: vec![NumberDataPoint {
                            attributes: vec![kv("a", "1")],
                            start_time_unix_nano: start,
                            time_unix_nano: ts,
                            value: (flags == 0).then_some(number_data_point::Value::AsDouble(v)),
                            flags,
                            ..Default::default()
                        }],
                        aggregation_temporality: 2,
                        is_monotonic: true,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }]
    }

    fn start_after(a: &mut Adjuster, v: f64, ts: u64, start: u64, flags: u32) -> u64 {
        let mut rms = sum(v, ts, start, flags);
        a.adjust(&mut rms, Instant::now());
        let Some(metric::Data::Sum(s)) = &rms[0].scope_metrics[0].metrics[0].data else { panic!() };
        s.data_points[0].start_time_unix_nano
    }

    #[test]
    fn first_point_starts_resets_restart_created_is_kept() {
        let mut a = Adjuster::new(Duration::from_secs(60));
        assert_eq!(start_after(&mut a, 5.0, 100, 100, 0), 100);
        assert_eq!(start_after(&mut a, 7.0, 200, 200, 0), 100);
        // Stale: keeps the start.
        assert_eq!(start_after(&mut a, 0.0, 250, 250, 1), 100);
        // A drop is a reset: the series starts again.
        assert_eq!(start_after(&mut a, 2.0, 300, 300, 0), 300);
        assert_eq!(start_after(&mut a, 4.0, 400, 400, 0), 300);
        // A start from _created (before the point) is left alone.
        assert_eq!(start_after(&mut a, 9.0, 500, 50, 0), 50);
        assert_eq!(a.series_count(), 1);
    }

    #[test]
    fn unseen_series_are_forgotten() {
        let mut a = Adjuster::new(Duration::from_millis(1));
        start_after(&mut a, 1.0, 1, 1, 0);
        std::thread::sleep(Duration::from_millis(5));
        let mut other = sum(1.0, 2, 2, 0);
        if let Some(r) = other[0].resource.as_mut() {
            r.attributes[1] = kv("service.instance.id", "other");
        }
        a.adjust(&mut other, Instant::now() + Duration::from_millis(5));
        assert_eq!(a.series_count(), 1, "only the series just seen stays");
    }
}
