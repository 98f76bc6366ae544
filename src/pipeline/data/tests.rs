use super::*;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{Gauge, NumberDataPoint, Sum};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

fn spans(per_scope: &[&[usize]]) -> Batch {
    // per_scope[r][s] = number of spans in scope s of resource r; names encode r.s.i
    Batch::Traces(
        per_scope
            .iter()
            .enumerate()
            .map(|(r, scopes)| ResourceSpans {
                resource: Some(Resource { dropped_attributes_count: r as u32, ..Default::default() }),
                scope_spans: scopes
                    .iter()
                    .enumerate()
                    .map(|(s, n)| ScopeSpans {
                        spans: (0..*n).map(|i| Span { name: format!("{r}.{s}.{i}"), ..Default::default() }).collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
    )
}

fn names(b: &Batch) -> Vec<String> {
    match b {
        Batch::Traces(rs) => {
            rs.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).map(|s| s.name.clone()).collect()
        }
        _ => vec![],
    }
}

#[test]
fn split_front_keeps_order_and_counts() {
    let mut b = spans(&[&[2, 3], &[4]]);
    let all = names(&b);
    assert_eq!(b.items(), 9);
    let f1 = b.split_front(4);
    assert_eq!(f1.items(), 4);
    let f2 = b.split_front(4);
    assert_eq!(f2.items(), 4);
    assert_eq!(b.items(), 1);
    let mut joined = names(&f1);
    joined.extend(names(&f2));
    joined.extend(names(&b));
    assert_eq!(joined, all);
    // The straddling resource keeps its resource on both sides.
    if let (Batch::Traces(a), Batch::Traces(c)) = (&f2, &b) {
        assert_eq!(a.last().unwrap().resource, c[0].resource);
    }
}

#[test]
fn split_more_than_available_takes_all() {
    let mut b = spans(&[&[1, 1]]);
    let f = b.split_front(10);
    assert_eq!(f.items(), 2);
    assert_eq!(b.items(), 0);
}

#[test]
fn metrics_split_by_data_points_within_a_metric() {
    let pts = |n: usize| {
        (0..n).map(|i| NumberDataPoint { time_unix_nano: i as u64, ..Default::default() }).collect::<Vec<_>>()
    };
    let mut b = Batch::Metrics(vec![ResourceMetrics {
        scope_metrics: vec![ScopeMetrics {
            metrics: vec![
                Metric {
                    name: "g".into(),
                    data: Some(metric::Data::Gauge(Gauge { data_points: pts(3) })),
                    ..Default::default()
                },
                Metric {
                    name: "s".into(),
                    data: Some(metric::Data::Sum(Sum {
                        data_points: pts(5),
                        aggregation_temporality: 2,
                        is_monotonic: true,
                    })),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        ..Default::default()
    }]);
    assert_eq!(b.items(), 8);
    let f = b.split_front(5);
    assert_eq!((f.items(), b.items()), (5, 3));
    let Batch::Metrics(front) = &f else { panic!() };
    let m = &front[0].scope_metrics[0].metrics;
    assert_eq!((m[0].name.as_str(), data_points(&m[0])), ("g", 3));
    assert_eq!((m[1].name.as_str(), data_points(&m[1])), ("s", 2));
    let Batch::Metrics(rest) = &b else { panic!() };
    let r = &rest[0].scope_metrics[0].metrics[0];
    let Some(metric::Data::Sum(s)) = &r.data else { panic!() };
    assert!(s.is_monotonic && s.aggregation_temporality == 2, "descriptor kept on the remainder");
    assert_eq!(s.data_points[0].time_unix_nano, 2);
}

#[test]
fn logs_items_and_append() {
    let mk = |n: usize| {
        Batch::Logs(vec![ResourceLogs {
            scope_logs: vec![ScopeLogs { log_records: vec![LogRecord::default(); n], ..Default::default() }],
            ..Default::default()
        }])
    };
    let mut a = mk(2);
    a.append(mk(3)).unwrap();
    assert_eq!(a.items(), 5);
    assert!(a.append(spans(&[&[1]])).is_err(), "signals never mix");
}

#[test]
fn split_at_boundaries_and_zero() {
    let mut b = spans(&[&[2, 3], &[4]]);
    assert_eq!(b.split_front(0).items(), 0);
    assert_eq!(b.items(), 9);
    // Exactly the first scope: no empty straddling scope is produced.
    let f = b.split_front(2);
    let Batch::Traces(rs) = &f else { panic!() };
    assert_eq!((rs.len(), rs[0].scope_spans.len(), f.items()), (1, 1, 2));
    // Exactly the rest of the first resource.
    let f = b.split_front(3);
    assert_eq!(names(&f), vec!["0.1.0", "0.1.1", "0.1.2"]);
    assert_eq!(names(&b), vec!["1.0.0", "1.0.1", "1.0.2", "1.0.3"]);
}
