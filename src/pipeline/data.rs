//! The unit that moves through a pipeline: one signal's resources, decoded from OTLP or still
//! encoded as it arrived (`raw`).

pub mod raw;

use crate::component::Signal;
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{metric, Metric, ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use raw::RawBatch;
use std::borrow::Cow;

/// A batch of telemetry of one signal.
#[derive(Debug, Clone, PartialEq)]
pub enum Batch {
    Traces(Vec<ResourceSpans>),
    Metrics(Vec<ResourceMetrics>),
    Logs(Vec<ResourceLogs>),
    /// Still encoded as it arrived (see `pipeline::data::raw`).
    Raw(RawBatch),
}

impl Batch {
    pub fn signal(&self) -> Signal {
        match self {
            Batch::Traces(_) => Signal::Traces,
            Batch::Metrics(_) => Signal::Metrics,
            Batch::Logs(_) => Signal::Logs,
            Batch::Raw(r) => r.signal(),
        }
    }

    /// Builds the structs of a raw batch in place (a no-op for a decoded one): what every
    /// processor that edits data does first.
    pub fn decode_in_place(&mut self) {
        if let Batch::Raw(r) = self {
            *self = r.decode();
        }
    }

    /// The batch with its structs built (borrowed when it already has them).
    pub fn decoded(&self) -> Cow<'_, Batch> {
        match self {
            Batch::Raw(r) => Cow::Owned(r.decode()),
            b => Cow::Borrowed(b),
        }
    }

    pub fn empty(signal: Signal) -> Batch {
        match signal {
            Signal::Traces => Batch::Traces(Vec::new()),
            Signal::Metrics => Batch::Metrics(Vec::new()),
            Signal::Logs => Batch::Logs(Vec::new()),
        }
    }

    /// Appends the protobuf `Export*ServiceRequest` of this batch to `buf`, reading the data in
    /// place (a raw batch is copied as it came).
    pub fn encode_request(&self, buf: &mut Vec<u8>) {
        // Each Export*ServiceRequest has one field: repeated resource entries, tag 1.
        match self {
            Batch::Traces(rs) => rs.iter().for_each(|r| prost::encoding::message::encode(1, r, buf)),
            Batch::Metrics(rs) => rs.iter().for_each(|r| prost::encoding::message::encode(1, r, buf)),
            Batch::Logs(rs) => rs.iter().for_each(|r| prost::encoding::message::encode(1, r, buf)),
            Batch::Raw(r) => {
                buf.reserve(r.len());
                r.parts().iter().for_each(|p| buf.extend_from_slice(p));
            }
        }
    }

    /// Items as the collector counts them: spans, metric data points, log records.
    pub fn items(&self) -> usize {
        match self {
            Batch::Traces(rs) => rs.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum(),
            Batch::Metrics(rm) => {
                rm.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics).map(data_points).sum()
            }
            Batch::Logs(rl) => rl.iter().flat_map(|r| &r.scope_logs).map(|s| s.log_records.len()).sum(),
            Batch::Raw(r) => r.items(),
        }
    }

    /// Number of resource entries (for the debug exporter's summary).
    pub fn resources(&self) -> usize {
        match self {
            Batch::Traces(r) => r.len(),
            Batch::Metrics(r) => r.len(),
            Batch::Logs(r) => r.len(),
            Batch::Raw(r) => r.decode().resources(),
        }
    }

    /// Moves everything of `other` (same signal) to the end of `self`.
    /// Returns `other` back when the signals differ.
    pub fn append(&mut self, mut other: Batch) -> Result<(), Batch> {
        if self.signal() != other.signal() {
            return Err(other);
        }
        match (&mut *self, other) {
            (Batch::Raw(a), Batch::Raw(b)) => {
                a.append(b);
                return Ok(());
            }
            (Batch::Raw(_), b) => {
                self.decode_in_place();
                other = b;
            }
            (a, b) if a.resources() == 0 => {
                *a = b;
                return Ok(());
            }
            (_, b) => other = b,
        }
        other.decode_in_place();
        match (self, other) {
            (Batch::Traces(a), Batch::Traces(b)) => a.extend(b),
            (Batch::Metrics(a), Batch::Metrics(b)) => a.extend(b),
            (Batch::Logs(a), Batch::Logs(b)) => a.extend(b),
            (_, other) => return Err(other),
        }
        Ok(())
    }

    /// Removes the first `n` items and returns them as a batch; `self` keeps the rest.
    /// Resources and scopes that straddle the cut are copied (without their items) to both sides.
    pub fn split_front(&mut self, n: usize) -> Batch {
        if n >= self.items() {
            return std::mem::replace(self, Batch::empty(self.signal()));
        }
        // Cutting inside encoded data would mean parsing it anyway: decode and cut the structs.
        self.decode_in_place();
        match self {
            Batch::Raw(_) => Batch::empty(self.signal()),
            Batch::Traces(rs) => Batch::Traces(split_resources(
                rs,
                n,
                |r| &mut r.scope_spans,
                |s: &mut ScopeSpans| (s.spans.len(), &mut s.spans),
            )),
            Batch::Logs(rs) => Batch::Logs(split_resources(
                rs,
                n,
                |r| &mut r.scope_logs,
                |s: &mut ScopeLogs| (s.log_records.len(), &mut s.log_records),
            )),
            Batch::Metrics(rs) => Batch::Metrics(split_metrics(rs, n)),
        }
    }

    /// Bytes of the equivalent `Export*ServiceRequest` once protobuf-encoded (Go's bytes sizer:
    /// exporterhelper `sizer.TracesSizer.TracesSize` etc., the marshalled request size).
    pub fn wire_size(&self) -> usize {
        use prost::Message;
        fn entries<M: Message>(rs: &[M]) -> usize {
            // Each resource entry is field 1 of the request, length-delimited.
            rs.iter().map(|r| prost::encoding::message::encoded_len(1, r)).sum()
        }
        match self {
            Batch::Traces(r) => entries(r),
            Batch::Metrics(r) => entries(r),
            Batch::Logs(r) => entries(r),
            Batch::Raw(r) => r.len(),
        }
    }
}

/// Data points in one metric (a histogram or summary point counts as one).
pub fn data_points(m: &Metric) -> usize {
    match &m.data {
        Some(metric::Data::Gauge(g)) => g.data_points.len(),
        Some(metric::Data::Sum(s)) => s.data_points.len(),
        Some(metric::Data::Histogram(h)) => h.data_points.len(),
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(metric::Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

/// Generic split over resource → scope → items for spans and log records.
fn split_resources<R: Clone + Default, S: Clone, I>(
    resources: &mut Vec<R>,
    n: usize,
    scopes: impl Fn(&mut R) -> &mut Vec<S>,
    items: impl Fn(&mut S) -> (usize, &mut Vec<I>),
) -> Vec<R> {
    // Whole resources that fit move as they are.
    let (mut k, mut taken) = (0, 0);
    for r in resources.iter_mut() {
        let t: usize = scopes(r).iter_mut().map(|s| items(s).0).sum();
        if taken + t > n {
            break;
        }
        taken += t;
        k += 1;
    }
    let mut front: Vec<R> = resources.drain(..k).collect();
    let mut rest = n - taken;
    if rest == 0 || resources.is_empty() {
        return front;
    }
    // Cut inside the next resource: copy its descriptor without the scopes (cheap), move whole
    // scopes, then cut the straddling scope the same way.
    let r = &mut resources[0];
    let all = std::mem::take(scopes(r));
    let mut head = r.clone();
    *scopes(r) = all;
    let rs = scopes(r);
    let (mut j, mut in_scopes) = (0, 0);
    for sc in rs.iter_mut() {
        let c = items(sc).0;
        if in_scopes + c > rest {
            break;
        }
        in_scopes += c;
        j += 1;
    }
    let mut head_scopes: Vec<S> = rs.drain(..j).collect();
    rest -= in_scopes;
    if rest > 0 {
        if let Some(sc) = rs.first_mut() {
            let all_items = std::mem::take(items(sc).1);
            let mut part = sc.clone();
            *items(sc).1 = all_items;
            let moved: Vec<I> = items(sc).1.drain(..rest).collect();
            *items(&mut part).1 = moved;
            head_scopes.push(part);
        }
    }
    *scopes(&mut head) = head_scopes;
    front.push(head);
    front
}

fn split_metrics(resources: &mut Vec<ResourceMetrics>, mut n: usize) -> Vec<ResourceMetrics> {
    // Whole resources, scopes and metrics that fit move in one `drain` each (no `remove(0)`
    // per entry); only the one straddling the cut is copied without its items and cut.
    let k = fitting(resources, &mut n, |r| r.scope_metrics.iter().flat_map(|s| &s.metrics).map(data_points).sum());
    let mut front: Vec<ResourceMetrics> = resources.drain(..k).collect();
    if n == 0 {
        return front;
    }
    let Some(r) = resources.first_mut() else { return front };
    let mut head = ResourceMetrics { scope_metrics: Vec::new(), ..r.clone_without_scopes() };
    let j = fitting(&r.scope_metrics, &mut n, |s| s.metrics.iter().map(data_points).sum());
    head.scope_metrics = r.scope_metrics.drain(..j).collect();
    if n > 0 {
        if let Some(s) = r.scope_metrics.first_mut() {
            let mut sh = ScopeMetrics { metrics: Vec::new(), scope: s.scope.clone(), schema_url: s.schema_url.clone() };
            let m = fitting(&s.metrics, &mut n, data_points);
            sh.metrics = s.metrics.drain(..m).collect();
            if n > 0 {
                if let Some(first) = s.metrics.first_mut() {
                    sh.metrics.push(split_metric_points(first, n));
                }
            }
            head.scope_metrics.push(sh);
        }
    }
    front.push(head);
    front
}

/// How many leading entries fit whole in `n` items while some are still wanted; takes their
/// items off `n`.
fn fitting<T>(entries: &[T], n: &mut usize, count: impl Fn(&T) -> usize) -> usize {
    let mut k = 0;
    for e in entries {
        if *n == 0 {
            break;
        }
        let c = count(e);
        if c > *n {
            break;
        }
        *n -= c;
        k += 1;
    }
    k
}

trait CloneWithoutScopes {
    fn clone_without_scopes(&self) -> Self;
}

impl CloneWithoutScopes for ResourceMetrics {
    fn clone_without_scopes(&self) -> Self {
        ResourceMetrics {
            resource: self.resource.clone(),
            scope_metrics: Vec::new(),
            schema_url: self.schema_url.clone(),
        }
    }
}

/// Moves the first `n` data points of `m` into a new metric with the same descriptor.
fn split_metric_points(m: &mut Metric, n: usize) -> Metric {
    // Copy each descriptor without its points, then move the first n points across.
    macro_rules! cut {
        ($g:expr, $variant:path) => {{
            let all = std::mem::take(&mut $g.data_points);
            let mut h = $g.clone();
            $g.data_points = all;
            h.data_points = $g.data_points.drain(..n.min($g.data_points.len())).collect();
            Some($variant(h))
        }};
    }
    let data = match &mut m.data {
        Some(metric::Data::Gauge(g)) => cut!(g, metric::Data::Gauge),
        Some(metric::Data::Sum(g)) => cut!(g, metric::Data::Sum),
        Some(metric::Data::Histogram(g)) => cut!(g, metric::Data::Histogram),
        Some(metric::Data::ExponentialHistogram(g)) => cut!(g, metric::Data::ExponentialHistogram),
        Some(metric::Data::Summary(g)) => cut!(g, metric::Data::Summary),
        None => None,
    };
    Metric {
        name: m.name.clone(),
        description: m.description.clone(),
        unit: m.unit.clone(),
        metadata: m.metadata.clone(),
        data,
    }
}

#[cfg(test)]
mod tests;
