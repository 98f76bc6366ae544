//! Go's TestStatsDParser_Aggregate* tables (internal/parser/statsd_parser_test.go), checked on
//! the OTLP metrics the interval produces.

use super::*;

const T611: u64 = 611_000_000_000;
const T711: u64 = 711_000_000_000;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn opts(timer: Observer, histogram: Observer) -> Options {
    Options {
        enable_metric_type: false,
        enable_simple_tags: false,
        monotonic: false,
        ip_only: false,
        ignore_host: false,
        counter: CounterType::Int,
        timer,
        histogram,
        version: "dev-0.0.1".into(),
    }
}

fn gauges() -> Options {
    opts(Observer::Gauge, Observer::Gauge)
}

/// Feeds `lines` from 1.2.3.4:5678 at 711s, takes the interval started at 611s.
fn run(o: Options, lines: &[&str]) -> Vec<Metric> {
    let mut a = Aggregator::new(o, T611);
    for l in lines {
        a.aggregate(l, addr("1.2.3.4:5678"), T711).unwrap();
    }
    let rms = a.take(T711);
    assert_eq!(rms.len(), 1);
    rms.into_iter().flat_map(|rm| rm.scope_metrics).flat_map(|sm| sm.metrics).collect()
}

fn number(m: &Metric) -> (f64, u64, u64, Vec<(String, String)>) {
    let dp = match &m.data {
        Some(metric::Data::Gauge(g)) => &g.data_points[0],
        Some(metric::Data::Sum(s)) => &s.data_points[0],
        other => panic!("not a number metric: {other:?}"),
    };
    let v = match dp.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        None => f64::NAN,
    };
    let a = dp
        .attributes
        .iter()
        .map(|kv| match &kv.value.as_ref().unwrap().value {
            Some(any_value::Value::StringValue(s)) => (kv.key.clone(), s.clone()),
            _ => panic!(),
        })
        .collect();
    (v, dp.start_time_unix_nano, dp.time_unix_nano, a)
}

fn mykey(v: &str) -> Vec<(String, String)> {
    vec![("mykey".into(), v.into())]
}

#[test]
fn go_gauge_plus_minus() {
    let ms = run(
        gauges(),
        &[
            "statsdTestMetric1:1|g|#mykey:myvalue",
            "statsdTestMetric2:2|g|#mykey:myvalue",
            "statsdTestMetric1:+1|g|#mykey:myvalue",
            "statsdTestMetric1:+100|g|#mykey:myvalue",
            "statsdTestMetric1:+10000|g|#mykey:myvalue",
            "statsdTestMetric2:+5|g|#mykey:myvalue",
            "statsdTestMetric2:+500|g|#mykey:myvalue",
        ],
    );
    assert_eq!(ms.len(), 2);
    assert_eq!(ms[0].name, "statsdTestMetric1");
    assert_eq!(number(&ms[0]), (10102.0, 0, T711, mykey("myvalue")));
    assert_eq!(number(&ms[1]), (507.0, 0, T711, mykey("myvalue")));

    let ms = run(
        gauges(),
        &[
            "statsdTestMetric1:5000|g|#mykey:myvalue",
            "statsdTestMetric2:10|g|#mykey:myvalue",
            "statsdTestMetric1:-1|g|#mykey:myvalue",
            "statsdTestMetric2:-5|g|#mykey:myvalue",
            "statsdTestMetric1:-1|g|#mykey:myvalue",
            "statsdTestMetric1:-1|g|#mykey:myvalue",
            "statsdTestMetric1:-10|g|#mykey:myvalue",
            "statsdTestMetric1:-1|g|#mykey:myvalue",
            "statsdTestMetric1:-100|g|#mykey:myvalue",
            "statsdTestMetric1:-1|g|#mykey:myvalue",
        ],
    );
    assert_eq!((number(&ms[0]).0, number(&ms[1]).0), (4885.0, 5.0));

    let ms = run(
        gauges(),
        &[
            "statsdTestMetric1:5000|g|#mykey:myvalue",
            "statsdTestMetric1:4000|g|#mykey:myvalue",
            "statsdTestMetric1:+500|g|#mykey:myvalue",
            "statsdTestMetric1:-400|g|#mykey:myvalue",
            "statsdTestMetric1:+2|g|#mykey:myvalue",
            "statsdTestMetric1:-1|g|#mykey:myvalue",
            "statsdTestMetric2:365|g|#mykey:myvalue",
            "statsdTestMetric2:+300|g|#mykey:myvalue",
            "statsdTestMetric2:-200|g|#mykey:myvalue",
            "statsdTestMetric2:200|g|#mykey:myvalue",
        ],
    );
    assert_eq!((number(&ms[0]).0, number(&ms[1]).0), (4101.0, 200.0));
}

#[test]
fn go_counters_with_sample_rate_and_gauges() {
    let ms = run(
        gauges(),
        &[
            "statsdTestMetric1:3000|c|#mykey:myvalue",
            "statsdTestMetric1:500|g|#mykey:myvalue",
            "statsdTestMetric1:400|g|#mykey:myvalue",
            "statsdTestMetric1:+20|g|#mykey:myvalue",
            "statsdTestMetric1:4000|c|#mykey:myvalue",
            "statsdTestMetric1:-1|g|#mykey:myvalue",
            "statsdTestMetric2:20|c|@0.8|#mykey:myvalue",
            "statsdTestMetric1:+2|g|#mykey:myvalue",
            "statsdTestMetric2:20|c|@0.8|#mykey:myvalue",
        ],
    );
    // Gauges first, then counters (Go GetMetrics order).
    assert_eq!(ms.len(), 3);
    assert_eq!(number(&ms[0]), (421.0, 0, T711, mykey("myvalue")));
    assert_eq!(number(&ms[1]), (7000.0, T611, T711, mykey("myvalue")));
    assert_eq!(number(&ms[2]), (50.0, T611, T711, mykey("myvalue")));
    let Some(metric::Data::Sum(s)) = &ms[1].data else { panic!() };
    assert_eq!((s.aggregation_temporality, s.is_monotonic), (AggregationTemporality::Delta as i32, false));
    assert!(matches!(s.data_points[0].value, Some(number_data_point::Value::AsInt(7000))));

    let ms = run(
        gauges(),
        &[
            "statsdTestMetric1:500|g|#mykey:myvalue",
            "statsdTestMetric1:400|g|#mykey:myvalue1",
            "statsdTestMetric1:300|g|#mykey:myvalue",
            "statsdTestMetric1:-1|g|#mykey:myvalue1",
            "statsdTestMetric1:+20|g|#mykey:myvalue",
            "statsdTestMetric1:-1|g|#mykey:myvalue",
            "statsdTestMetric1:20|c|@0.1|#mykey:myvalue",
            "statsdTestMetric2:50|c|#mykey:myvalue",
            "statsdTestMetric1:15|c|#mykey:myvalue",
            "statsdTestMetric2:5|c|@0.2|#mykey:myvalue",
        ],
    );
    let got: Vec<(f64, Vec<(String, String)>)> = ms.iter().map(|m| (number(m).0, number(m).3)).collect();
    assert_eq!(
        got,
        vec![
            (319.0, mykey("myvalue")),
            (399.0, mykey("myvalue1")),
            (215.0, mykey("myvalue")),
            (75.0, mykey("myvalue"))
        ]
    );
}

#[test]
fn go_monotonic_and_metric_type() {
    let mut o = gauges();
    o.monotonic = true;
    o.enable_metric_type = true;
    let ms = run(o, &["statsdTestMetric1:3000|c|#mykey:myvalue", "statsdTestMetric1:4000|c|#mykey:myvalue"]);
    let Some(metric::Data::Sum(s)) = &ms[0].data else { panic!() };
    assert!(s.is_monotonic);
    assert_eq!(
        number(&ms[0]).3,
        vec![("metric_type".to_string(), "counter".to_string()), ("mykey".to_string(), "myvalue".to_string())]
    );
}

#[test]
fn go_timers_histograms_distributions_as_gauges() {
    let ms = run(
        gauges(),
        &[
            "statsdTestMetric1:500|ms|#mykey:myvalue",
            "statsdTestMetric1:400|h|#mykey:myvalue",
            "statsdTestMetric1:300|ms|#mykey:myvalue",
            "statsdTestMetric1:10|h|@0.1|#mykey:myvalue",
            "statsdTestMetric1:100|d|#mykey:myvalue",
            "statsdTestMetric1:200|d|#mykey:myvalue",
        ],
    );
    let got: Vec<f64> = ms.iter().map(|m| number(m).0).collect();
    assert_eq!(got, vec![500.0, 400.0, 300.0, 10.0, 100.0, 200.0]);
    assert!(ms.iter().all(|m| matches!(m.data, Some(metric::Data::Gauge(_)))));
}

fn summary_of(m: &Metric) -> &SummaryDataPoint {
    let Some(metric::Data::Summary(s)) = &m.data else { panic!("{m:?}") };
    &s.data_points[0]
}

#[test]
fn go_timer_with_summary() {
    let o = opts(Observer::Summary(vec![]), Observer::Summary(vec![0.0, 95.0, 99.0]));
    let ms = run(
        o.clone(),
        &[
            "statsdTestMetric1:1|ms|#mykey:myvalue",
            "statsdTestMetric2:2|ms|#mykey:myvalue",
            "statsdTestMetric1:1|ms|#mykey:myvalue",
            "statsdTestMetric1:10|ms|#mykey:myvalue",
            "statsdTestMetric1:20|ms|#mykey:myvalue",
            "statsdTestMetric2:5|ms|#mykey:myvalue",
            "statsdTestMetric2:10|ms|#mykey:myvalue",
            "statsdTestMetric1:20|ms|#mykey:myvalue",
        ],
    );
    let s = summary_of(&ms[0]);
    assert_eq!((s.count, s.sum, s.start_time_unix_nano, s.time_unix_nano), (5, 52.0, T611, T711));
    // Default percentiles 0,10,50,90,95,100 over {1,1,10,20,20} (gonum Empirical).
    let q: Vec<(f64, f64)> = s.quantile_values.iter().map(|v| (v.quantile, v.value)).collect();
    assert_eq!(q, vec![(0.0, 1.0), (0.1, 1.0), (0.5, 10.0), (0.9, 20.0), (0.95, 20.0), (1.0, 20.0)]);
    let s = summary_of(&ms[1]);
    assert_eq!((s.count, s.sum), (3, 17.0));

    // "histogram_sampled": weights 10, 20, 10, 100 → count 140.
    let ms = run(
        o,
        &[
            "statsdTestMetric1:300|h|@0.1|#mykey:myvalue",
            "statsdTestMetric1:100|h|@0.05|#mykey:myvalue",
            "statsdTestMetric1:300|h|@0.1|#mykey:myvalue",
            "statsdTestMetric1:200|h|@0.01|#mykey:myvalue",
        ],
    );
    let s = summary_of(&ms[0]);
    assert_eq!((s.count, s.sum), (140, 3000.0 + 2000.0 + 3000.0 + 20000.0));
    // Sorted: 100(w20) 200(w100) 300(w10) 300(w10); 0% → 100, 95% of 140 = 133 → 300, 99% → 300.
    let q: Vec<f64> = s.quantile_values.iter().map(|v| v.value).collect();
    assert_eq!(q, vec![100.0, 300.0, 300.0]);
}

// Go TestStatsDParser_Mappings: which OTLP type each mapping gives H and T.
#[test]
fn go_mappings() {
    let cases = [
        (Observer::Gauge, Observer::Summary(vec![]), vec![("T", "gauge"), ("H", "summary")]),
        (Observer::Disabled, Observer::Summary(vec![]), vec![("H", "summary")]),
        (Observer::Summary(vec![]), Observer::Gauge, vec![("H", "gauge"), ("T", "summary")]),
        (Observer::Gauge, Observer::Disabled, vec![("T", "gauge")]),
    ];
    for (timer, hist, want) in cases {
        let ms = run(opts(timer, hist), &["H:10|h", "T:10|ms"]);
        let got: Vec<(&str, &str)> = ms
            .iter()
            .map(|m| {
                let t = match m.data {
                    Some(metric::Data::Gauge(_)) => "gauge",
                    Some(metric::Data::Summary(_)) => "summary",
                    _ => "other",
                };
                (m.name.as_str(), t)
            })
            .collect();
        assert_eq!(got, want);
    }
}

// Go TestStatsDParser_ScopeIsIncluded and TestStatsDParser_AggregateByAddress.
#[test]
fn go_scope_and_addresses() {
    let mut a =
        Aggregator::new(opts(Observer::Summary(vec![]), Observer::Histogram { max_size: 0, max_scale: 20 }), T611);
    for l in [
        "test.metric:1|c",
        "test.metric:2|g",
        "test.metric:42|h",
        "statsdTestMetric1:1|ms|#mykey:myvalue",
        "test.metric:-42|ms",
    ] {
        a.aggregate(l, addr("1.2.3.4:5678"), T711).unwrap();
    }
    a.aggregate("other:1|g", addr("255.254.253.252:251"), T711).unwrap();
    let rms = a.take(T711);
    assert_eq!(rms.len(), 2);
    assert_eq!(rms[0].scope_metrics.len(), 5);
    for sm in &rms[0].scope_metrics {
        let s = sm.scope.as_ref().unwrap();
        assert_eq!((s.name.as_str(), s.version.as_str()), (SCOPE_NAME, "dev-0.0.1"));
        assert_eq!(sm.metrics.len(), 1);
    }
    assert_eq!(rms[1].scope_metrics[0].metrics[0].name, "other");
    // The next interval starts where this one ended, with nothing in it.
    assert!(a.take(T711 + 1).is_empty());
}

// Go TestStatsDParser_IPOnlyAggregation.
#[test]
fn go_ip_only_aggregation() {
    let mut o = gauges();
    o.ip_only = true;
    let mut a = Aggregator::new(o, T611);
    a.aggregate("test.metric:1|c", addr("1.2.3.4:5678"), T711).unwrap();
    a.aggregate("test.metric:3|c", addr("1.2.3.4:8765"), T711).unwrap();
    let rms = a.take(T711);
    assert_eq!(rms.len(), 1);
    assert_eq!(number(&rms[0].scope_metrics[0].metrics[0]).0, 4.0);
}

// Go TestStatsDParser_AggregateTimerWithHistogram "one_each" through the whole path.
#[test]
fn go_histogram_metric() {
    let h = Observer::Histogram { max_size: 10, max_scale: 20 };
    let ms = run(
        opts(h.clone(), h),
        &["expohisto:1|h|#mykey:myvalue", "expohisto:0|h|#mykey:myvalue", "expohisto:-1|h|#mykey:myvalue"],
    );
    let Some(metric::Data::ExponentialHistogram(e)) = &ms[0].data else { panic!() };
    assert_eq!(e.aggregation_temporality, AggregationTemporality::Delta as i32);
    let dp = &e.data_points[0];
    assert_eq!(
        (dp.count, dp.sum, dp.min, dp.max, dp.zero_count, dp.scale),
        (3, Some(0.0), Some(-1.0), Some(1.0), 1, 20)
    );
    assert_eq!(dp.positive.as_ref().unwrap().offset, -1);
    assert_eq!(dp.positive.as_ref().unwrap().bucket_counts, vec![1]);
    assert_eq!(dp.negative.as_ref().unwrap().bucket_counts, vec![1]);
    assert_eq!((dp.start_time_unix_nano, dp.time_unix_nano), (T611, T711));
}

#[test]
fn counter_types_and_timestamps() {
    let mut o = gauges();
    let lines = ["c:1.5|c", "c:1.5|c", "c:1|c|@0.3"];
    // int: each line truncated (1 + 1 + 3).
    assert_eq!(number(&run(o.clone(), &lines)[0]).0, 5.0);
    o.counter = CounterType::Float;
    assert_eq!(number(&run(o.clone(), &lines)[0]).0, 3.0 + 1.0 / 0.3);
    // A T timestamp is kept on the point; the start is the interval's.
    assert_eq!(number(&run(o, &["t:1|c|T1656581400"])[0]).2, 1_656_581_400_000_000_000);
}

#[test]
fn rejected_lines() {
    let mut a = Aggregator::new(gauges(), T611);
    let at = addr("1.2.3.4:1");
    assert_eq!(a.aggregate("test.metric:|c", at, T711), Err(Rejected::Parse("empty metric value".into())));
    assert_eq!(a.aggregate(":42|c", at, T711), Err(Rejected::Parse("empty metric name".into())));
    assert_eq!(a.aggregate("x:NaN|g", at, T711), Err(Rejected::NotFinite));
    assert_eq!(a.aggregate("x:+Inf|c", at, T711), Err(Rejected::NotFinite));
    assert!(a.take(T711).is_empty());
    // Series beyond the interval's bound are refused, known ones still aggregate.
    for i in 0..MAX_SERIES {
        a.aggregate(&format!("m{i}:1|c"), at, T711).unwrap();
    }
    assert_eq!(a.aggregate("new:1|c", at, T711), Err(Rejected::Limit));
    a.aggregate("m0:1|c", at, T711).unwrap();
    let rms = a.take(T711);
    assert_eq!(rms[0].scope_metrics.len(), MAX_SERIES);
    a.aggregate("new:1|c", at, T711).unwrap();
}
