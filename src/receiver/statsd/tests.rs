//! Config: Go's defaults (factory.go) and Validate's messages (config.go, config_test.go).

use super::*;

fn parse(yaml: &str) -> StatsdConfig {
    serde_yaml_ng::from_str(yaml).unwrap()
}

fn errors(yaml: &str) -> Vec<String> {
    parse(yaml).validate("receivers::statsd").iter().map(|e| e.to_string()).collect()
}

#[test]
fn defaults_are_gos() {
    let c = parse("{}");
    assert_eq!(c.endpoint, "localhost:8125");
    assert_eq!(c.transport, "udp");
    assert_eq!(c.aggregation_interval.0, Duration::from_secs(60));
    assert!(!c.enable_metric_type && !c.enable_simple_tags && !c.is_monotonic_counter);
    assert_eq!(c.counter_type, "int");
    let m: Vec<(&str, &str)> =
        c.timer_histogram_mapping.iter().map(|m| (m.statsd_type.as_str(), m.observer_type.as_str())).collect();
    assert_eq!(m, vec![("timer", "gauge"), ("histogram", "gauge")]);
    assert!(c.validate("receivers::statsd").is_empty());
}

#[test]
fn go_testdata_config_parses() {
    // receiver/statsdreceiver/testdata/config.yaml `statsd/receiver_settings`.
    let c = parse(
        "endpoint: localhost:12345\ntransport: udp6\naggregation_interval: 70s\nenable_metric_type: false\n\
         timer_histogram_mapping:\n  - statsd_type: histogram\n    observer_type: gauge\n\
         \x20 - statsd_type: timing\n    observer_type: histogram\n    histogram:\n      max_size: 170\n\
         \x20 - statsd_type: distribution\n    observer_type: summary\n    summary:\n      percentiles: [0, 10, 50, 90, 95, 100]\n",
    );
    assert!(c.validate("r").is_empty(), "{:?}", c.validate("r"));
    assert_eq!(c.aggregation_interval.0, Duration::from_secs(70));
    assert_eq!(c.timer_histogram_mapping[1].histogram.max_size, 170);
    assert_eq!(c.timer_histogram_mapping[2].summary.percentiles.len(), 6);
}

#[test]
fn go_validate_messages() {
    let p = "receivers::statsd::timer_histogram_mapping: ";
    assert_eq!(
        errors("aggregation_interval: 0s"),
        vec!["receivers::statsd::aggregation_interval: aggregation_interval must be a positive duration"]
    );
    assert_eq!(
        errors("timer_histogram_mapping: [{statsd_type: foo, observer_type: gauge}]"),
        vec![format!("{p}statsd_type is not a supported mapping for histogram and timing metrics: foo")]
    );
    assert_eq!(
        errors("timer_histogram_mapping: [{statsd_type: timer, observer_type: gaugegg}]"),
        vec![format!("{p}observer_type is not supported for histogram and timing metrics: gaugegg")]
    );
    assert_eq!(
        errors("timer_histogram_mapping: [{statsd_type: timer}]"),
        vec![format!("{p}must specify object id for all TimerHistogramMappings")]
    );
    assert_eq!(
        errors("timer_histogram_mapping: [{statsd_type: timer, observer_type: histogram, histogram: {max_size: 1}}]"),
        vec![format!("{p}histogram max_size out of range: 1")]
    );
    assert_eq!(
        errors("timer_histogram_mapping: [{statsd_type: timer, observer_type: gauge, histogram: {max_size: 100}}]"),
        vec![format!("{p}histogram configuration requires observer_type: histogram")]
    );
    assert_eq!(
        errors(
            "timer_histogram_mapping: [{statsd_type: timer, observer_type: summary, summary: {percentiles: [101]}}]"
        ),
        vec![format!("{p}summary percentiles out of [0, 100] range: 101")]
    );
    assert_eq!(
        errors("timer_histogram_mapping: [{statsd_type: timer, observer_type: gauge, summary: {percentiles: [50]}}]"),
        vec![format!("{p}summary configuration requires observer_type: summary")]
    );
}

#[test]
fn transports_oxidot_does_not_serve_are_errors() {
    for t in ["tcp", "unixgram"] {
        let e = errors(&format!("transport: {t}"));
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("receivers::statsd::transport: transport"), "{e:?}");
        assert!(e[0].contains("not supported by oxidot yet"), "{e:?}");
    }
    assert!(errors("transport: udp4").is_empty());
    assert!(serde_yaml_ng::from_str::<StatsdConfig>("endpont: x").is_err());
    assert!(errors("counter_type: double")[0].contains("counter_type must be one of"));
}
