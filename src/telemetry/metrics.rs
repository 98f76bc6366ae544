//! A small self-metrics registry: pre-labelled atomic counters, gauges and fixed-bucket
//! histograms, rendered in the Prometheus text format. Handles are made at build time so the
//! hot path only does atomic adds.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default)]
struct CounterCell {
    value: AtomicU64,
    /// Series appear on `/metrics` once touched, as in the collector (a series recorded with 0 shows 0).
    touched: AtomicBool,
}

/// A monotonic counter.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<CounterCell>);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.value.fetch_add(n, Ordering::Relaxed);
        self.0.touched.store(true, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.value.load(Ordering::Relaxed)
    }
}

/// A gauge holding a signed integer.
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<CounterCell>);

impl Gauge {
    pub fn set(&self, v: i64) {
        self.0.value.store(v as u64, Ordering::Relaxed);
        self.0.touched.store(true, Ordering::Relaxed);
    }
    pub fn add(&self, d: i64) {
        self.0.value.fetch_add(d as u64, Ordering::Relaxed);
        self.0.touched.store(true, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.value.load(Ordering::Relaxed) as i64
    }
}

#[derive(Debug)]
struct HistogramCell {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum: AtomicU64,
    count: AtomicU64,
}

/// A histogram with fixed bucket bounds (integer observations: item counts).
#[derive(Debug, Clone)]
pub struct Histogram(Arc<HistogramCell>);

impl Histogram {
    pub fn observe(&self, v: u64) {
        let c = &self.0;
        let idx = c.bounds.iter().position(|b| (v as f64) <= *b).unwrap_or(c.bounds.len());
        if let Some(slot) = c.counts.get(idx) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
        c.sum.fetch_add(v, Ordering::Relaxed);
        c.count.fetch_add(1, Ordering::Relaxed);
    }
    pub fn count(&self) -> u64 {
        self.0.count.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug, Clone)]
enum Cell {
    Counter(Counter),
    Gauge(Gauge),
    Histogram(Histogram),
}

#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    typ: Type,
    series: Vec<(Labels, Cell)>,
}

/// All self-metrics of one collector run.
#[derive(Debug, Default)]
pub struct Registry {
    families: Mutex<Vec<Family>>,
}

impl Registry {
    pub fn new() -> Arc<Registry> {
        Arc::new(Registry::default())
    }

    fn get_or_insert(
        &self,
        name: &'static str,
        help: &'static str,
        typ: Type,
        labels: Labels,
        make: impl FnOnce() -> Cell,
    ) -> Cell {
        let mut fams = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let idx = match fams.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                fams.push(Family { name, help, typ, series: Vec::new() });
                fams.len() - 1
            }
        };
        let fam = &mut fams[idx];
        if let Some((_, c)) = fam.series.iter().find(|(l, _)| *l == labels) {
            return c.clone();
        }
        let c = make();
        fam.series.push((labels, c.clone()));
        c
    }

    pub fn counter(&self, name: &'static str, help: &'static str, labels: Labels) -> Counter {
        match self.get_or_insert(name, help, Type::Counter, labels, || Cell::Counter(Counter::default())) {
            Cell::Counter(c) => c,
            _ => Counter::default(),
        }
    }

    pub fn gauge(&self, name: &'static str, help: &'static str, labels: Labels) -> Gauge {
        match self.get_or_insert(name, help, Type::Gauge, labels, || Cell::Gauge(Gauge::default())) {
            Cell::Gauge(g) => g,
            _ => Gauge::default(),
        }
    }

    pub fn histogram(
        &self,
        name: &'static str,
        help: &'static str,
        bounds: &'static [f64],
        labels: Labels,
    ) -> Histogram {
        let make = || {
            Cell::Histogram(Histogram(Arc::new(HistogramCell {
                bounds,
                counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
                sum: AtomicU64::new(0),
                count: AtomicU64::new(0),
            })))
        };
        match self.get_or_insert(name, help, Type::Histogram, labels, make) {
            Cell::Histogram(h) => h,
            _ => match make() {
                Cell::Histogram(h) => h,
                _ => unreachable_histogram(),
            },
        }
    }

    /// Renders every touched series in the Prometheus text format (0.0.4).
    /// `with_suffixes` adds `_total` to counters, as a reader with `without_type_suffix: false` does.
    pub fn render(&self, out: &mut String, with_suffixes: bool) {
        let fams = self.families.lock().unwrap_or_else(|p| p.into_inner());
        for f in fams.iter() {
            let touched: Vec<&(Labels, Cell)> = f
                .series
                .iter()
                .filter(|(_, c)| match c {
                    Cell::Counter(c) => c.0.touched.load(Ordering::Relaxed),
                    Cell::Gauge(g) => g.0.touched.load(Ordering::Relaxed),
                    Cell::Histogram(h) => h.count() > 0,
                })
                .collect();
            if touched.is_empty() {
                continue;
            }
            let name =
                if with_suffixes && f.typ == Type::Counter { format!("{}_total", f.name) } else { f.name.to_string() };
            let typ = match f.typ {
                Type::Counter => "counter",
                Type::Gauge => "gauge",
                Type::Histogram => "histogram",
            };
            let _ = writeln!(out, "# HELP {name} {}", f.help);
            let _ = writeln!(out, "# TYPE {name} {typ}");
            for (labels, cell) in touched {
                match cell {
                    Cell::Counter(c) => write_sample(out, &name, "", labels, None, c.get() as f64),
                    Cell::Gauge(g) => write_sample(out, &name, "", labels, None, g.get() as f64),
                    Cell::Histogram(h) => {
                        let mut cum = 0u64;
                        for (i, b) in h.0.bounds.iter().enumerate() {
                            cum += h.0.counts.get(i).map_or(0, |c| c.load(Ordering::Relaxed));
                            write_sample(out, &name, "_bucket", labels, Some(&fmt_float(*b)), cum as f64);
                        }
                        let total = h.count();
                        write_sample(out, &name, "_bucket", labels, Some("+Inf"), total as f64);
                        write_sample(out, &name, "_sum", labels, None, h.0.sum.load(Ordering::Relaxed) as f64);
                        write_sample(out, &name, "_count", labels, None, total as f64);
                    }
                }
            }
        }
    }
}

fn unreachable_histogram() -> Histogram {
    Histogram(Arc::new(HistogramCell {
        bounds: &[],
        counts: vec![AtomicU64::new(0)],
        sum: AtomicU64::new(0),
        count: AtomicU64::new(0),
    }))
}

pub fn fmt_float(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Writes one sample line; `le` is added last for histogram buckets.
pub fn write_sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(&'static str, String)],
    le: Option<&str>,
    v: f64,
) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        for (k, val) in labels {
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(out, "{k}=\"{}\"", escape_label(val));
        }
        if let Some(le) = le {
            if !first {
                out.push(',');
            }
            let _ = write!(out, "le=\"{le}\"");
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", fmt_float(v));
}

pub fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_touched_series_only() {
        let r = Registry::new();
        let a = r.counter("otelcol_x", "help x", vec![("receiver", "otlp".into())]);
        let _b = r.counter("otelcol_y", "help y", vec![]);
        a.add(3);
        let h = r.histogram("otelcol_h", "h", &[10.0, 100.0], vec![("processor", "batch".into())]);
        h.observe(5);
        h.observe(50);
        h.observe(500);
        let mut s = String::new();
        r.render(&mut s, false);
        assert!(s.contains("# TYPE otelcol_x counter\notelcol_x{receiver=\"otlp\"} 3\n"), "{s}");
        assert!(!s.contains("otelcol_y"), "{s}");
        assert!(s.contains("otelcol_h_bucket{processor=\"batch\",le=\"10\"} 1\n"), "{s}");
        assert!(s.contains("otelcol_h_bucket{processor=\"batch\",le=\"100\"} 2\n"), "{s}");
        assert!(s.contains("otelcol_h_bucket{processor=\"batch\",le=\"+Inf\"} 3\n"), "{s}");
        assert!(s.contains("otelcol_h_sum{processor=\"batch\"} 555\n"), "{s}");
        let mut t = String::new();
        r.render(&mut t, true);
        assert!(t.contains("otelcol_x_total{receiver=\"otlp\"} 3"), "{t}");
        // Same name and labels: same series.
        r.counter("otelcol_x", "help x", vec![("receiver", "otlp".into())]).add(1);
        assert_eq!(a.get(), 4);
    }
}
