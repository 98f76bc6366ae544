//! Cases after prometheusreceiver/internal/transaction_test.go and metricfamily_test.go: text
//! in, the OTLP the Go receiver builds out.

use super::*;
use crate::receiver::prometheus::textparse::{parse, Format};

const T: i64 = 1_700_000_000_000;

fn target() -> TargetInfo {
    TargetInfo { job: "api".into(), instance: "10.0.0.5:9100".into(), scheme: "http".into() }
}

/// Parses `text`, adds the target labels as the scrape loop does, returns the batch.
fn build(text: &str, format: Format) -> (Vec<ResourceMetrics>, usize) {
    let p = parse(text, format).unwrap();
    let ext = Labels::new();
    let info = target();
    let mut tx = Transaction::new(&p.metadata, &ext, &info, false);
    for s in &p.samples {
        let mut ls = s.labels.clone();
        ls.set("job".into(), "api".into());
        ls.set("instance".into(), "10.0.0.5:9100".into());
        tx.append(ls, s.timestamp_ms.unwrap_or(T), s.value, s.exemplar.as_ref()).unwrap();
    }
    tx.into_metrics("1.0")
}

fn metric<'a>(rms: &'a [ResourceMetrics], name: &str) -> &'a Metric {
    rms.iter()
        .flat_map(|r| r.scope_metrics.iter())
        .flat_map(|s| s.metrics.iter())
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

fn attr(attrs: &[KeyValue], k: &str) -> Option<String> {
    attrs.iter().find(|a| a.key == k).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        _ => None,
    })
}

#[test]
fn counter_gauge_untyped_and_resource() {
    let (rms, points) = build(
        "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 1027\nhttp_requests_total{code=\"500\"} 3\n# TYPE temp gauge\ntemp 21.5\nraw 7\n",
        Format::PromText,
    );
    assert_eq!(points, 4);
    assert_eq!(rms.len(), 1);
    let res = rms[0].resource.as_ref().unwrap();
    assert_eq!(attr(&res.attributes, "service.name").as_deref(), Some("api"));
    assert_eq!(attr(&res.attributes, "service.instance.id").as_deref(), Some("10.0.0.5:9100"));
    assert_eq!(attr(&res.attributes, "server.address").as_deref(), Some("10.0.0.5"));
    assert_eq!(attr(&res.attributes, "server.port").as_deref(), Some("9100"));
    assert_eq!(attr(&res.attributes, "url.scheme").as_deref(), Some("http"));
    let scope = rms[0].scope_metrics[0].scope.as_ref().unwrap();
    assert_eq!(scope.name, SCOPE_NAME);
    assert_eq!(scope.version, "1.0");

    let c = metric(&rms, "http_requests_total");
    assert_eq!(c.description, "Requests.");
    let Some(metric::Data::Sum(s)) = &c.data else { panic!("{c:?}") };
    assert!(s.is_monotonic);
    assert_eq!(s.aggregation_temporality, AggregationTemporality::Cumulative as i32);
    assert_eq!(s.data_points.len(), 2);
    let p = &s.data_points[0];
    assert_eq!(p.value, Some(number_data_point::Value::AsDouble(1027.0)));
    assert_eq!(p.time_unix_nano, T as u64 * 1_000_000);
    assert_eq!(p.start_time_unix_nano, p.time_unix_nano);
    // job and instance are on the resource, not the point.
    assert_eq!(p.attributes.len(), 1);
    assert_eq!(attr(&p.attributes, "code").as_deref(), Some("200"));

    let Some(metric::Data::Gauge(g)) = &metric(&rms, "temp").data else { panic!() };
    assert_eq!(g.data_points[0].start_time_unix_nano, 0);
    // Untyped → gauge.
    assert!(matches!(&metric(&rms, "raw").data, Some(metric::Data::Gauge(_))));
}

#[test]
fn localhost_instance_has_no_server_address() {
    let p = parse("a 1\n", Format::PromText).unwrap();
    let ext = Labels::new();
    let info = TargetInfo { job: "j".into(), instance: "localhost:8888".into(), scheme: "http".into() };
    let mut tx = Transaction::new(&p.metadata, &ext, &info, false);
    tx.append(p.samples[0].labels.clone(), T, 1.0, None).unwrap();
    let (rms, _) = tx.into_metrics("v");
    let attrs = &rms[0].resource.as_ref().unwrap().attributes;
    assert_eq!(attr(attrs, "server.address"), None);
    assert_eq!(attr(attrs, "service.instance.id").as_deref(), Some("localhost:8888"));
}

#[test]
fn histogram_buckets_become_one_point() {
    let (rms, points) = build(
        r#"# TYPE rpc_seconds histogram
rpc_seconds_bucket{op="get",le="0.1"} 5
rpc_seconds_bucket{op="get",le="0.5"} 8
rpc_seconds_bucket{op="get",le="+Inf"} 10
rpc_seconds_sum{op="get"} 2.5
rpc_seconds_count{op="get"} 10
"#,
        Format::PromText,
    );
    assert_eq!(points, 1);
    let Some(metric::Data::Histogram(h)) = &metric(&rms, "rpc_seconds").data else { panic!() };
    let p = &h.data_points[0];
    assert_eq!(p.explicit_bounds, vec![0.1, 0.5]);
    assert_eq!(p.bucket_counts, vec![5, 3, 2]);
    assert_eq!(p.count, 10);
    assert_eq!(p.sum, Some(2.5));
    assert_eq!(p.attributes.len(), 1);
    assert_eq!(attr(&p.attributes, "op").as_deref(), Some("get"));
}

#[test]
fn summary_quantiles() {
    let (rms, _) = build(
        "# TYPE gc summary\ngc{quantile=\"0.5\"} 0.2\ngc{quantile=\"0\"} 0.1\ngc_sum 9\ngc_count 30\n",
        Format::PromText,
    );
    let Some(metric::Data::Summary(s)) = &metric(&rms, "gc").data else { panic!() };
    let p = &s.data_points[0];
    assert_eq!(p.count, 30);
    assert_eq!(p.sum, 9.0);
    assert_eq!(
        p.quantile_values.iter().map(|q| (q.quantile, q.value)).collect::<Vec<_>>(),
        vec![(0.0, 0.1), (0.5, 0.2)]
    );
}

#[test]
fn openmetrics_created_sets_start_time() {
    let (rms, points) = build(
        "# TYPE req counter\n# HELP req Requests.\nreq_total{a=\"x\"} 17 1700000000.5\nreq_created{a=\"x\"} 1600000000.25\n# TYPE lat histogram\n# UNIT lat seconds\nlat_bucket{le=\"1\"} 1\nlat_bucket{le=\"+Inf\"} 2\nlat_count 2\nlat_sum 3\nlat_created 1600000001\n# EOF\n",
        Format::OpenMetrics,
    );
    assert_eq!(points, 2, "_created adds no metric of its own: {rms:?}");
    let Some(metric::Data::Sum(s)) = &metric(&rms, "req_total").data else { panic!() };
    let p = &s.data_points[0];
    assert_eq!(p.start_time_unix_nano, 1_600_000_000_250_000_000);
    assert_eq!(p.time_unix_nano, 1_700_000_000_500_000_000);
    assert_eq!(p.value, Some(number_data_point::Value::AsDouble(17.0)));
    let lat = metric(&rms, "lat");
    assert_eq!(lat.unit, "seconds");
    let Some(metric::Data::Histogram(h)) = &lat.data else { panic!() };
    assert_eq!(h.data_points[0].start_time_unix_nano, 1_600_000_001_000_000_000);
}

#[test]
fn stale_nan_is_no_recorded_value() {
    let p = parse("# TYPE c counter\nc_total 1\n", Format::PromText).unwrap();
    let ext = Labels::new();
    let info = target();
    let mut tx = Transaction::new(&p.metadata, &ext, &info, false);
    let mut ls = p.samples[0].labels.clone();
    ls.set("job".into(), "api".into());
    ls.set("instance".into(), "i:1".into());
    tx.append(ls, T, stale_nan(), None).unwrap();
    let (rms, _) = tx.into_metrics("v");
    let Some(metric::Data::Sum(s)) = &metric(&rms, "c_total").data else { panic!() };
    assert_eq!(s.data_points[0].flags, 1);
    assert_eq!(s.data_points[0].value, None);
    assert!(is_stale_nan(stale_nan()) && !is_stale_nan(f64::NAN));
}

#[test]
fn target_info_and_scope_labels() {
    let (rms, points) = build(
        "target_info{env=\"prod\",region=\"eu\"} 1\nm{otel_scope_name=\"lib\",otel_scope_version=\"2\",otel_scope_team=\"x\",k=\"v\"} 1\n",
        Format::PromText,
    );
    assert_eq!(points, 1);
    let res = rms[0].resource.as_ref().unwrap();
    assert_eq!(attr(&res.attributes, "env").as_deref(), Some("prod"));
    let sm = &rms[0].scope_metrics[0];
    let scope = sm.scope.as_ref().unwrap();
    assert_eq!((scope.name.as_str(), scope.version.as_str()), ("lib", "2"));
    assert_eq!(attr(&scope.attributes, "team").as_deref(), Some("x"));
    let Some(metric::Data::Gauge(g)) = &sm.metrics[0].data else { panic!() };
    assert_eq!(g.data_points[0].attributes.len(), 1, "otel_scope_ labels are not point attributes");
}

#[test]
fn exemplar_ids() {
    let (rms, _) = build(
        "# TYPE c counter\nc_total 3 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\",user=\"u\"} 1 1700000000\n# EOF\n",
        Format::OpenMetrics,
    );
    let Some(metric::Data::Sum(s)) = &metric(&rms, "c_total").data else { panic!() };
    let e = &s.data_points[0].exemplars[0];
    assert_eq!(hex::encode(&e.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(hex::encode(&e.span_id), "00f067aa0ba902b7");
    assert_eq!(attr(&e.filtered_attributes, "user").as_deref(), Some("u"));
    assert_eq!(e.time_unix_nano, 1_700_000_000_000_000_000);
}

#[test]
fn trim_suffixes_as_translator() {
    assert_eq!(trim_suffixes("http_requests_total", Kind::Sum { monotonic: true }, ""), "http_requests");
    assert_eq!(trim_suffixes("rpc_duration_seconds", Kind::Histogram, "seconds"), "rpc_duration");
    assert_eq!(trim_suffixes("temp", Kind::Gauge, ""), "temp");
}

#[test]
fn mutated_scrapes_never_panic_in_translation() {
    let seed = "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 0\nh_sum NaN\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_count 1\n# TYPE c counter\nc_total 1\nc_created -5\ntarget_info{a=\"b\"} 1\notel_scope_info{otel_scope_name=\"x\",k=\"v\"} 1\nm{otel_scope_name=\"x\"} 1\n# EOF\n";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"{}\",= #\n_+-9.leqI";
    for _ in 0..5_000 {
        let mut b = seed.as_bytes().to_vec();
        for _ in 0..(next() % 4 + 1) {
            let i = (next() as usize) % b.len();
            match next() % 3 {
                0 => b[i] = alphabet[(next() as usize) % alphabet.len()],
                1 => {
                    b.remove(i);
                }
                _ => b.insert(i, alphabet[(next() as usize) % alphabet.len()]),
            }
        }
        let text = String::from_utf8_lossy(&b);
        for format in [Format::OpenMetrics, Format::PromText] {
            let Ok(p) = parse(&text, format) else { continue };
            let ext = Labels::new();
            let info = target();
            let mut tx = Transaction::new(&p.metadata, &ext, &info, true);
            for s in &p.samples {
                let _ = tx.append(s.labels.clone(), s.timestamp_ms.unwrap_or(T), s.value, s.exemplar.as_ref());
            }
            let _ = tx.into_metrics("v");
        }
    }
}

/// metricfamily_test.go TestMetricGroupData_toDistributionUnitTest / toSummary cases.
#[test]
fn histogram_and_summary_edge_cases_as_metricfamily_test() {
    // No +Inf bucket: the count closes the last bucket.
    let (rms, _) =
        build("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 3\nh_count 5\nh_sum 7\n", Format::PromText);
    let Some(metric::Data::Histogram(h)) = &metric(&rms, "h").data else { panic!() };
    assert_eq!(
        (h.data_points[0].explicit_bounds.clone(), h.data_points[0].bucket_counts.clone()),
        (vec![1.0, 2.0], vec![2, 1, 2])
    );
    // Only count and sum: one bucket holding everything.
    let (rms, _) = build("# TYPE h histogram\nh_count 4\nh_sum 1\n", Format::PromText);
    let Some(metric::Data::Histogram(h)) = &metric(&rms, "h").data else { panic!() };
    assert_eq!((h.data_points[0].explicit_bounds.clone(), h.data_points[0].bucket_counts.clone()), (vec![], vec![4]));
    // Without _count neither a histogram nor a summary point is made.
    let (_, points) = build(
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\n",
        Format::PromText,
    );
    assert_eq!(points, 0);
    // Buckets out of order are sorted by bound.
    let (rms, _) = build(
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 9\nh_bucket{le=\"5\"} 6\nh_bucket{le=\"1\"} 1\nh_count 9\n",
        Format::PromText,
    );
    let Some(metric::Data::Histogram(h)) = &metric(&rms, "h").data else { panic!() };
    assert_eq!(
        (h.data_points[0].explicit_bounds.clone(), h.data_points[0].bucket_counts.clone()),
        (vec![1.0, 5.0], vec![1, 5, 3])
    );
    assert_eq!(h.data_points[0].sum, None);
}

#[test]
fn otel_scope_info_attributes_join_their_scope() {
    let (rms, points) = build(
        "otel_scope_info{otel_scope_name=\"lib\",otel_scope_version=\"1\",team=\"a\",owner=\"o\"} 1\nm{otel_scope_name=\"lib\",otel_scope_version=\"1\",otel_scope_team=\"b\"} 1\n",
        Format::PromText,
    );
    assert_eq!(points, 1, "otel_scope_info is not a metric of its own (legacy mode, the Go default)");
    let scope = rms[0].scope_metrics[0].scope.as_ref().unwrap();
    assert_eq!(attr(&scope.attributes, "owner").as_deref(), Some("o"));
    assert_eq!(attr(&scope.attributes, "team").as_deref(), Some("b"), "otel_scope_ labels win");
}
