//! The `statsd` receiver end to end: two real clients (PyPI `statsd` and `datadog`'s DogStatsD,
//! tests/support/statsd_client.py) send to oxidot over UDP; after one aggregation interval an
//! OTLP/gRPC sink gets the aggregated metrics, whose values are checked exactly.

mod support;

use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, Metric, ResourceMetrics};
use std::net::UdpSocket;
use std::process::Command;
use support::sinks::GrpcSink;
use support::{eventually, python, Oxidot};

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn config(udp: u16, sink: u16, interval: &str) -> String {
    format!(
        "extensions:\n  health_check:\n    endpoint: 127.0.0.1:$HEALTH\n\
         receivers:\n  statsd:\n    endpoint: 127.0.0.1:{udp}\n    aggregation_interval: {interval}\n\
         \x20   enable_metric_type: true\n    enable_simple_tags: true\n    is_monotonic_counter: true\n\
         \x20   timer_histogram_mapping:\n\
         \x20     - statsd_type: timer\n        observer_type: summary\n        summary: {{percentiles: [0, 50, 100]}}\n\
         \x20     - statsd_type: histogram\n        observer_type: histogram\n        histogram: {{max_size: 10}}\n\
         exporters:\n  otlp:\n    endpoint: 127.0.0.1:{sink}\n    tls: {{insecure: true}}\n\
         service:\n  extensions: [health_check]\n  pipelines:\n    metrics:\n      receivers: [statsd]\n      exporters: [otlp]\n\
         \x20 telemetry:\n    metrics:\n      address: 127.0.0.1:$METRICS\n"
    )
}

/// Every ResourceMetrics the sink got.
fn received(sink: &GrpcSink) -> Vec<ResourceMetrics> {
    sink.got.lock().unwrap().metrics.iter().flat_map(|r| r.resource_metrics.clone()).collect()
}

/// The ResourceMetrics holding a metric named `name`.
fn holding(rms: &[ResourceMetrics], name: &str) -> Option<ResourceMetrics> {
    rms.iter().find(|rm| metrics(rm).iter().any(|m| m.name == name)).cloned()
}

fn metrics(rm: &ResourceMetrics) -> Vec<Metric> {
    rm.scope_metrics.iter().flat_map(|s| s.metrics.clone()).collect()
}

fn attrs(a: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> Vec<(String, String)> {
    a.iter()
        .map(|kv| match &kv.value.as_ref().and_then(|v| v.value.clone()) {
            Some(any_value::Value::StringValue(s)) => (kv.key.clone(), s.clone()),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn kv(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// (value, attributes) of a gauge with a double, or of a delta sum with an integer.
fn number(m: &Metric) -> (f64, Vec<(String, String)>) {
    let (dp, sum) = match &m.data {
        Some(metric::Data::Gauge(g)) => (&g.data_points[0], None),
        Some(metric::Data::Sum(s)) => (&s.data_points[0], Some(s)),
        other => panic!("{}: {other:?}", m.name),
    };
    if let Some(s) = sum {
        assert_eq!((s.aggregation_temporality, s.is_monotonic), (1, true), "{}: delta, is_monotonic_counter", m.name);
        assert!(dp.start_time_unix_nano > 0 && dp.start_time_unix_nano < dp.time_unix_nano, "{}", m.name);
        assert!(dp.time_unix_nano - dp.start_time_unix_nano < 5_000_000_000, "{}: one interval", m.name);
    }
    let v = match dp.value {
        Some(number_data_point::Value::AsDouble(v)) => {
            assert!(sum.is_none(), "{}: counters are integers (counter_type int)", m.name);
            v
        }
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        None => panic!(),
    };
    (v, attrs(&dp.attributes))
}

#[test]
fn statsd_and_dogstatsd_clients_aggregate_into_exact_otlp_metrics() {
    let sink = GrpcSink::start();
    let udp = free_udp_port();
    let o = Oxidot::start(&config(udp, sink.port, "1s"));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/statsd_client.py");
    let out = Command::new(python()).args([script, "127.0.0.1", &udp.to_string()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    assert!(
        eventually(15, || {
            let r = received(&sink);
            holding(&r, "temp").is_some() && holding(&r, "dd.dist").is_some()
        }),
        "sink got {:?}\n{}",
        received(&sink),
        o.stderr()
    );
    let rms = received(&sink);

    // The statsd client's datagram: one client address, one ResourceMetrics.
    let rm = holding(&rms, "temp").unwrap();
    assert!(rm.resource.as_ref().unwrap().attributes.is_empty());
    for sm in &rm.scope_metrics {
        let s = sm.scope.as_ref().unwrap();
        assert_eq!(s.name, "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/statsdreceiver");
        assert_eq!(s.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(sm.metrics.len(), 1);
    }
    let ms = metrics(&rm);
    let names: Vec<&str> = ms.iter().map(|m| m.name.as_str()).collect();
    // Go's GetMetrics order: gauges, counters, summaries; the set line is refused.
    assert_eq!(names, vec!["temp", "requests", "sampled", "latency"]);
    assert_eq!(number(&ms[0]), (22.0, kv(&[("metric_type", "gauge")])), "20, +5, -3");
    assert_eq!(number(&ms[1]), (5.0, kv(&[("metric_type", "counter")])), "3 + 2");
    assert_eq!(number(&ms[2]), (2.0, kv(&[("metric_type", "counter")])), "1 at @0.5");
    let Some(metric::Data::Summary(s)) = &ms[3].data else { panic!("{:?}", ms[3]) };
    let dp = &s.data_points[0];
    assert_eq!((dp.count, dp.sum), (3, 60.0));
    let q: Vec<(f64, f64)> = dp.quantile_values.iter().map(|q| (q.quantile, q.value)).collect();
    assert_eq!(q, vec![(0.0, 10.0), (0.5, 20.0), (1.0, 30.0)]);
    assert_eq!(attrs(&dp.attributes), kv(&[("metric_type", "timing")]));

    // DogStatsD's datagram.
    let rm = holding(&rms, "dd.dist").unwrap();
    let ms = metrics(&rm);
    let names: Vec<&str> = ms.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, vec!["dd.queue", "dd.hits", "dd.flag", "dd.rt", "dd.size", "dd.dist"]);
    assert_eq!(number(&ms[0]), (7.0, kv(&[("env", "prod"), ("metric_type", "gauge")])));
    // The same tags in another order are the same series: 2 + 1.
    assert_eq!(number(&ms[1]), (3.0, kv(&[("env", "prod"), ("metric_type", "counter"), ("region", "eu")])));
    // A DogStatsD tag without a value (enable_simple_tags).
    assert_eq!(number(&ms[2]), (1.0, kv(&[("beta", ""), ("metric_type", "counter")])));
    let Some(metric::Data::Summary(s)) = &ms[3].data else { panic!() };
    assert_eq!((s.data_points[0].count, s.data_points[0].sum), (1, 100.0));
    // 1.5, 3 and 0 with max_size 10: from scale 20 down to 3, where 1.5 is bucket
    // floor(log2(1.5) * 8) = 4 and 3 is floor(log2(3) * 8) = 12; 0 is counted apart.
    let Some(metric::Data::ExponentialHistogram(h)) = &ms[4].data else { panic!() };
    assert_eq!(h.aggregation_temporality, 1);
    let dp = &h.data_points[0];
    assert_eq!((dp.count, dp.sum, dp.min, dp.max, dp.zero_count, dp.scale), (3, Some(4.5), Some(0.0), Some(3.0), 1, 3));
    let pos = dp.positive.as_ref().unwrap();
    assert_eq!((pos.offset, pos.bucket_counts.clone()), (4, vec![1, 0, 0, 0, 0, 0, 0, 0, 1]));
    assert!(dp.negative.as_ref().unwrap().bucket_counts.is_empty());
    assert_eq!(attrs(&dp.attributes), kv(&[("env", "prod"), ("metric_type", "histogram")]));
    // A distribution follows the histogram mapping; 4 = 2^2 sits at the top of bucket
    // (2 << 20) - 1 at scale 20.
    let Some(metric::Data::ExponentialHistogram(h)) = &ms[5].data else { panic!() };
    let dp = &h.data_points[0];
    assert_eq!((dp.count, dp.sum, dp.scale, dp.min, dp.max), (1, Some(4.0), 20, Some(4.0), Some(4.0)));
    let pos = dp.positive.as_ref().unwrap();
    assert_eq!((pos.offset, pos.bucket_counts.clone()), ((2 << 20) - 1, vec![1]));
    assert_eq!(attrs(&dp.attributes), kv(&[("env", "prod"), ("metric_type", "distribution")]));

    // Self-metrics: every line counted, the two sets as parse failures; 10 data points accepted.
    let rec =
        |s: &str| o.metric("otelcol_receiver_received_statsd_metrics", &[("receiver", "statsd"), ("parse_success", s)]);
    assert_eq!((rec("true"), rec("false")), (18.0, 2.0));
    assert_eq!(
        o.metric("otelcol_receiver_accepted_metric_points", &[("receiver", "statsd"), ("transport", "udp")]),
        10.0
    );
    assert!(o.stderr().contains("unsupported metric type: s"), "{}", o.stderr());
}

#[test]
fn bad_lines_are_counted_and_shutdown_sends_the_open_interval() {
    let sink = GrpcSink::start();
    let udp = free_udp_port();
    let mut o = Oxidot::start(&config(udp, sink.port, "60s"));
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    for bad in ["", "no-pipe", "x:1|zz", ":1|c", "x:abc|g", "x:1|c|#:v", "x:1|h|T1", "\u{0}\u{ff}garbage", "x:NaN|g"] {
        c.send_to(bad.as_bytes(), ("127.0.0.1", udp)).unwrap();
    }
    c.send_to(b"good:4|c\ngood:1|c|@0.25\n\nother:2|g", ("127.0.0.1", udp)).unwrap();
    let rec = |s: &str| o.metric("otelcol_receiver_received_statsd_metrics", &[("parse_success", s)]);
    assert!(eventually(10, || rec("true") == 4.0), "{}", o.stderr());
    assert_eq!(rec("false"), 7.0, "the empty datagram holds no line");
    assert_eq!(o.metric("oxidot_receiver_statsd_dropped_lines", &[("reason", "not_finite")]), 1.0);
    assert!(o.is_running(), "bad input never stops the receiver");
    assert!(received(&sink).is_empty(), "nothing before the interval ends");
    // A 60 s interval is still open at SIGTERM: its metrics go out before the exit.
    assert!(o.stop().success());
    let rms = received(&sink);
    let rm = holding(&rms, "good").expect("the open interval is sent at shutdown");
    let ms = metrics(&rm);
    assert_eq!(ms.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), vec!["other", "good"]);
    assert_eq!(number(&ms[1]).0, 8.0, "4 + 1 / 0.25");
}

#[test]
fn transports_oxidot_does_not_serve_fail_validation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    let yaml = "receivers:\n  statsd:\n    transport: tcp\nexporters:\n  debug:\nservice:\n  pipelines:\n    metrics:\n      receivers: [statsd]\n      exporters: [debug]\n";
    std::fs::write(&path, yaml).unwrap();
    let (code, _, err) = support::run_cli(&["validate", "--config", path.to_str().unwrap()], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("receivers::statsd::transport: transport \"tcp\" is not supported by oxidot yet"), "{err}");
}
