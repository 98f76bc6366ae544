//! Splitting one batch into one part per backend by the routing key (Go:
//! loadbalancingexporter trace_exporter.go / metrics_exporter.go / log_exporter.go
//! `routingIdentifiersFrom…` and `split…`). Every item keeps its resource and scope; a
//! resource or scope is copied into each part that has items of it.

use super::ring::Ring;
use crate::pipeline::attrs::{str_attr, value_text};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, Metric, ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use std::collections::BTreeMap;

/// `routing_key`, resolved per signal as Go resolves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    TraceId,
    Service,
    Resource,
    Metric,
    StreamId,
    Attributes,
}

/// Parts by endpoint index (into the ring's endpoints).
pub type Parts<T> = BTreeMap<usize, Vec<T>>;

const SERVICE_NAME: &str = "service.name";

fn service_key(resource: &Option<Resource>) -> Result<Vec<u8>, String> {
    resource
        .as_ref()
        .and_then(|r| str_attr(&r.attributes, SERVICE_NAME))
        .map(|s| s.as_bytes().to_vec())
        .ok_or_else(|| "unable to get service name".to_string())
}

/// The resource's attributes, sorted by key, as one byte string.
fn resource_key(resource: &Option<Resource>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(r) = resource {
        attrs_key(&r.attributes, &mut out);
    }
    out
}

fn attrs_key(attrs: &[KeyValue], out: &mut Vec<u8>) {
    let mut kv: Vec<(&str, String)> = attrs.iter().map(|a| (a.key.as_str(), value_text(&a.value))).collect();
    kv.sort();
    for (k, v) in kv {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
}

fn index(ring: &Ring, key: &[u8]) -> Result<usize, String> {
    ring.index_for(key).ok_or_else(|| "no backends available".to_string())
}

/// The composite key of `routing_attributes`: each named attribute's value, looked up on the
/// resource then on the item (the pseudo attributes `span.name`, `span.kind` on spans).
fn attributes_key(
    names: &[String],
    resource: &Option<Resource>,
    item: &[KeyValue],
    pseudo: &dyn Fn(&str) -> Option<String>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let res: &[KeyValue] = resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]);
    for n in names {
        let v = pseudo(n)
            .or_else(|| res.iter().find(|a| &a.key == n).map(|a| value_text(&a.value)))
            .or_else(|| item.iter().find(|a| &a.key == n).map(|a| value_text(&a.value)));
        if let Some(v) = v {
            out.extend_from_slice(v.as_bytes());
        }
        out.push(0);
    }
    out
}

pub fn traces(
    rss: Vec<ResourceSpans>,
    key: Key,
    attrs: &[String],
    ring: &Ring,
) -> Result<Parts<ResourceSpans>, String> {
    let mut parts: Parts<ResourceSpans> = BTreeMap::new();
    for rs in rss {
        match key {
            Key::Service => {
                let i = index(ring, &service_key(&rs.resource)?)?;
                parts.entry(i).or_default().push(rs);
            }
            Key::Resource => {
                let i = index(ring, &resource_key(&rs.resource))?;
                parts.entry(i).or_default().push(rs);
            }
            _ => {
                let ResourceSpans { resource, scope_spans, schema_url } = rs;
                let mut per: BTreeMap<usize, ResourceSpans> = BTreeMap::new();
                for ss in scope_spans {
                    let ScopeSpans { scope, spans, schema_url: ss_schema } = ss;
                    let mut per_scope: BTreeMap<usize, Vec<_>> = BTreeMap::new();
                    for span in spans {
                        let k = if key == Key::Attributes {
                            let pseudo = |n: &str| match n {
                                "span.name" => Some(span.name.clone()),
                                "span.kind" => Some(span.kind.to_string()),
                                _ => None,
                            };
                            attributes_key(attrs, &resource, &span.attributes, &pseudo)
                        } else {
                            span.trace_id.clone()
                        };
                        per_scope.entry(index(ring, &k)?).or_default().push(span);
                    }
                    for (i, spans) in per_scope {
                        let r = per.entry(i).or_insert_with(|| ResourceSpans {
                            resource: resource.clone(),
                            scope_spans: Vec::new(),
                            schema_url: schema_url.clone(),
                        });
                        r.scope_spans.push(ScopeSpans { scope: scope.clone(), spans, schema_url: ss_schema.clone() });
                    }
                }
                for (i, r) in per {
                    parts.entry(i).or_default().push(r);
                }
            }
        }
    }
    Ok(parts)
}

pub fn logs(rls: Vec<ResourceLogs>, key: Key, ring: &Ring) -> Result<Parts<ResourceLogs>, String> {
    let mut parts: Parts<ResourceLogs> = BTreeMap::new();
    for rl in rls {
        if key == Key::Service {
            let i = index(ring, &service_key(&rl.resource)?)?;
            parts.entry(i).or_default().push(rl);
            continue;
        }
        let ResourceLogs { resource, scope_logs, schema_url } = rl;
        let mut per: BTreeMap<usize, ResourceLogs> = BTreeMap::new();
        for sl in scope_logs {
            let ScopeLogs { scope, log_records, schema_url: sl_schema } = sl;
            let mut per_scope: BTreeMap<usize, Vec<_>> = BTreeMap::new();
            for rec in log_records {
                // A record without a trace id goes to a random backend, as in Go.
                let i = if rec.trace_id.iter().any(|b| *b != 0) {
                    index(ring, &rec.trace_id)?
                } else {
                    index(ring, &rand::random::<[u8; 16]>())?
                };
                per_scope.entry(i).or_default().push(rec);
            }
            for (i, log_records) in per_scope {
                let r = per.entry(i).or_insert_with(|| ResourceLogs {
                    resource: resource.clone(),
                    scope_logs: Vec::new(),
                    schema_url: schema_url.clone(),
                });
                r.scope_logs.push(ScopeLogs { scope: scope.clone(), log_records, schema_url: sl_schema.clone() });
            }
        }
        for (i, r) in per {
            parts.entry(i).or_default().push(r);
        }
    }
    Ok(parts)
}

/// A metric split by the key of each data point (`streamID`: resource, scope, name and the
/// point's attributes).
fn split_points(m: Metric, prefix: &[u8], ring: &Ring) -> Result<BTreeMap<usize, Metric>, String> {
    let Metric { name, description, unit, data, metadata } = m;
    let mut out: BTreeMap<usize, Metric> = BTreeMap::new();
    let shell = |data| Metric {
        name: name.clone(),
        description: description.clone(),
        unit: unit.clone(),
        data,
        metadata: metadata.clone(),
    };
    let key = |attrs: &[KeyValue]| {
        let mut k = prefix.to_vec();
        k.extend_from_slice(name.as_bytes());
        k.push(0);
        attrs_key(attrs, &mut k);
        k
    };
    macro_rules! split {
        ($d:expr, $variant:ident) => {{
            let mut per: BTreeMap<usize, Vec<_>> = BTreeMap::new();
            let mut d = $d;
            for p in std::mem::take(&mut d.data_points) {
                per.entry(index(ring, &key(&p.attributes))?).or_default().push(p);
            }
            for (i, pts) in per {
                let mut part = d.clone();
                part.data_points = pts;
                out.insert(i, shell(Some(Data::$variant(part))));
            }
        }};
    }
    match data {
        Some(Data::Gauge(d)) => split!(d, Gauge),
        Some(Data::Sum(d)) => split!(d, Sum),
        Some(Data::Histogram(d)) => split!(d, Histogram),
        Some(Data::ExponentialHistogram(d)) => split!(d, ExponentialHistogram),
        Some(Data::Summary(d)) => split!(d, Summary),
        None => {
            out.insert(index(ring, &key(&[]))?, shell(None));
        }
    }
    Ok(out)
}

pub fn metrics(rms: Vec<ResourceMetrics>, key: Key, ring: &Ring) -> Result<Parts<ResourceMetrics>, String> {
    let mut parts: Parts<ResourceMetrics> = BTreeMap::new();
    for rm in rms {
        match key {
            Key::Service | Key::TraceId => {
                let i = index(ring, &service_key(&rm.resource)?)?;
                parts.entry(i).or_default().push(rm);
            }
            Key::Resource | Key::Attributes => {
                let i = index(ring, &resource_key(&rm.resource))?;
                parts.entry(i).or_default().push(rm);
            }
            Key::Metric | Key::StreamId => {
                let ResourceMetrics { resource, scope_metrics, schema_url } = rm;
                let res_key = resource_key(&resource);
                let mut per: BTreeMap<usize, ResourceMetrics> = BTreeMap::new();
                for sm in scope_metrics {
                    let ScopeMetrics { scope, metrics, schema_url: sm_schema } = sm;
                    let mut per_scope: BTreeMap<usize, Vec<Metric>> = BTreeMap::new();
                    for m in metrics {
                        if key == Key::Metric {
                            per_scope.entry(index(ring, m.name.as_bytes())?).or_default().push(m);
                        } else {
                            let mut prefix = res_key.clone();
                            if let Some(s) = &scope {
                                prefix.extend_from_slice(s.name.as_bytes());
                                prefix.push(0);
                                prefix.extend_from_slice(s.version.as_bytes());
                                prefix.push(0);
                            }
                            for (i, part) in split_points(m, &prefix, ring)? {
                                per_scope.entry(i).or_default().push(part);
                            }
                        }
                    }
                    for (i, metrics) in per_scope {
                        let r = per.entry(i).or_insert_with(|| ResourceMetrics {
                            resource: resource.clone(),
                            scope_metrics: Vec::new(),
                            schema_url: schema_url.clone(),
                        });
                        r.scope_metrics.push(ScopeMetrics {
                            scope: scope.clone(),
                            metrics,
                            schema_url: sm_schema.clone(),
                        });
                    }
                }
                for (i, r) in per {
                    parts.entry(i).or_default().push(r);
                }
            }
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};
    use opentelemetry_proto::tonic::trace::v1::Span;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
            ..Default::default()
        }
    }

    fn rs(service: &str, traces: &[u8]) -> ResourceSpans {
        ResourceSpans {
            resource: Some(Resource { attributes: vec![kv(SERVICE_NAME, service)], ..Default::default() }),
            scope_spans: vec![ScopeSpans {
                spans: traces
                    .iter()
                    .enumerate()
                    .map(|(n, t)| Span { trace_id: vec![*t; 16], span_id: vec![n as u8 + 1; 8], ..Default::default() })
                    .collect(),
                ..Default::default()
            }],
            schema_url: String::new(),
        }
    }

    fn ring() -> Ring {
        Ring::new(&["a:4317".to_string(), "b:4317".to_string(), "c:4317".to_string()])
    }

    #[test]
    fn every_span_of_a_trace_goes_to_the_backend_of_its_trace_id() {
        let r = ring();
        let input = vec![rs("svc", &[1, 2, 3, 1, 2, 3, 4, 5, 6, 7]), rs("other", &[1, 7])];
        let parts = traces(input, Key::TraceId, &[], &r).unwrap();
        let mut n = 0;
        for (i, part) in &parts {
            for rs in part {
                assert!(rs.resource.is_some());
                for s in rs.scope_spans.iter().flat_map(|s| &s.spans) {
                    assert_eq!(r.index_for(&s.trace_id), Some(*i));
                    n += 1;
                }
            }
        }
        assert_eq!(n, 12);
        assert!(parts.len() > 1, "ten trace ids over three backends");
    }

    #[test]
    fn service_routing_keeps_resources_whole_and_needs_the_name() {
        let r = ring();
        let parts = traces(vec![rs("svc", &[1, 2, 3])], Key::Service, &[], &r).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts.keys().next().copied(), r.index_for(b"svc"));
        let mut nameless = rs("x", &[1]);
        nameless.resource = None;
        assert_eq!(traces(vec![nameless], Key::Service, &[], &r).unwrap_err(), "unable to get service name");
    }

    #[test]
    fn stream_routing_splits_points_and_keeps_the_metric() {
        use opentelemetry_proto::tonic::metrics::v1::{Gauge, NumberDataPoint};
        let r = ring();
        let points: Vec<NumberDataPoint> = (0..30)
            .map(|n| NumberDataPoint { attributes: vec![kv("n", &n.to_string())], ..Default::default() })
            .collect();
        let m = Metric {
            name: "m".into(),
            unit: "1".into(),
            data: Some(Data::Gauge(Gauge { data_points: points })),
            ..Default::default()
        };
        let rm = ResourceMetrics {
            scope_metrics: vec![ScopeMetrics { metrics: vec![m], ..Default::default() }],
            ..Default::default()
        };
        let parts = metrics(vec![rm.clone()], Key::StreamId, &r).unwrap();
        assert!(parts.len() > 1);
        let total: usize = parts
            .values()
            .flatten()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .map(|m| match &m.data {
                Some(Data::Gauge(g)) => g.data_points.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(total, 30);
        // Routing by name sends the whole metric to one backend.
        let parts = metrics(vec![rm], Key::Metric, &r).unwrap();
        assert_eq!(parts.keys().copied().collect::<Vec<_>>(), vec![r.index_for(b"m").unwrap()]);
    }
}
