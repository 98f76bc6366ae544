//! Go's Test_ParseMessageToMetric, Test_ParseMessageToMetricWithMetricType and
//! Test_ParseMessageToMetricWithSimpleTags (internal/parser/statsd_parser_test.go), case by case.

use super::*;

fn m(name: &str, value: f64, addition: bool, kind: MetricType, rate: f64, attrs: &[(&str, &str)], ts: u64) -> Parsed {
    let attrs = attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Parsed {
        desc: Description { name: name.into(), kind, attrs: attr_set(attrs) },
        value,
        addition,
        sample_rate: rate,
        timestamp: ts,
    }
}

use MetricType::{Counter as C, Distribution as D, Gauge as G, Histogram as H, Timing as T};

#[test]
fn go_parse_errors() {
    let cases = [
        ("", "invalid message format: "),
        ("test.metric|c", "invalid <name>:<value> format: test.metric"),
        (":42|c", "empty metric name"),
        ("test.metric:|c", "empty metric value"),
        ("test.metric:42|c|@1.0a", "parse sample rate: 1.0a"),
        ("test.metric:42|c|#:val1", "invalid tag format: \":val1\""),
        ("test.metric:42|c|$extra", "unrecognized message part: $extra"),
        ("test.metric:42.abc|c", "parse metric value string: 42.abc"),
        ("test.metric:42|unhandled_type", "unsupported metric type: unhandled_type"),
        ("test.metric:42.abc|g", "parse metric value string: 42.abc"),
        ("test.metric:42.abc|h", "parse metric value string: 42.abc"),
        ("test.metric:42|h|T1656581400", "only GAUGE and COUNT metrics support a timestamp"),
        // Not in Go's table, same code path: sets are not a supported type.
        ("users:alice|s", "unsupported metric type: s"),
        ("test.metric:42|c|Tabc", "invalid timestamp: abc"),
        // A simple tag is an error unless enable_simple_tags.
        ("test.metric:42|c|#key", "invalid tag format: \"key\""),
    ];
    for (line, want) in cases {
        assert_eq!(parse(line, false, false).unwrap_err(), want, "{line}");
    }
}

#[test]
fn go_parse_table() {
    let cases: Vec<(&str, Parsed)> = vec![
        ("test.metric:42|c|#", m("test.metric", 42.0, false, C, 0.0, &[], 0)),
        ("test.metric:42|c|#,,,", m("test.metric", 42.0, false, C, 0.0, &[], 0)),
        ("test.metric:42|c", m("test.metric", 42.0, false, C, 0.0, &[], 0)),
        ("test.metric:42|c|@0.1|#key:value", m("test.metric", 42.0, false, C, 0.1, &[("key", "value")], 0)),
        (
            "test.metric:42|c|#key:value|c:abc123",
            m("test.metric", 42.0, false, C, 0.0, &[("key", "value"), ("container.id", "abc123")], 0),
        ),
        ("test.metric:42|c|T1656581400", m("test.metric", 42.0, false, C, 0.0, &[], 1656581400000000000)),
        ("test.metric:42|c|@0.8|#key:value", m("test.metric", 42.0, false, C, 0.8, &[("key", "value")], 0)),
        (
            "test.metric:42|c|@0.8|#key:value,key2:value2",
            m("test.metric", 42.0, false, C, 0.8, &[("key", "value"), ("key2", "value2")], 0),
        ),
        ("test.metric:42.0|g", m("test.metric", 42.0, false, G, 0.0, &[], 0)),
        ("test.metric:42|g", m("test.metric", 42.0, false, G, 0.0, &[], 0)),
        ("test.metric:11|g|@0.1|#key:value", m("test.metric", 11.0, false, G, 0.1, &[("key", "value")], 0)),
        (
            "test.metric:11|g|@0.8|#key:value,key2:value2",
            m("test.metric", 11.0, false, G, 0.8, &[("key", "value"), ("key2", "value2")], 0),
        ),
        ("test.metric:11|g|T1656581400", m("test.metric", 11.0, false, G, 0.0, &[], 1656581400000000000)),
        ("test.metric:+42.0|g", m("test.metric", 42.0, true, G, 0.0, &[], 0)),
        ("test.metric:-42.0|g", m("test.metric", -42.0, true, G, 0.0, &[], 0)),
        ("test.metric:+42|g", m("test.metric", 42.0, true, G, 0.0, &[], 0)),
        ("test.metric:-42|g", m("test.metric", -42.0, true, G, 0.0, &[], 0)),
        ("test.metric:-42|ms", m("test.metric", -42.0, true, T, 0.0, &[], 0)),
        ("test.metric:42|h", m("test.metric", 42.0, false, H, 0.0, &[], 0)),
        // Go stops at the first empty part: the tags after "||" are not read.
        ("test.metric:42|c||#key:value", m("test.metric", 42.0, false, C, 0.0, &[], 0)),
        // ...and at the first empty tag.
        ("test.metric:42|c|#a:1,,b:2", m("test.metric", 42.0, false, C, 0.0, &[("a", "1")], 0)),
        // A repeated key keeps its last value (attribute.NewSet), keys sorted.
        ("x:1|c|#z:1,a:2,z:3", m("x", 1.0, false, C, 0.0, &[("a", "2"), ("z", "3")], 0)),
    ];
    for (line, want) in cases {
        assert_eq!(parse(line, false, false).unwrap(), want, "{line}");
    }
}

#[test]
fn go_parse_with_metric_type() {
    let cases: Vec<(&str, Parsed)> = vec![
        ("test.metric:42|c", m("test.metric", 42.0, false, C, 0.0, &[("metric_type", "counter")], 0)),
        (
            "test.metric:42|c|@0.1|#key:value",
            m("test.metric", 42.0, false, C, 0.1, &[("key", "value"), ("metric_type", "counter")], 0),
        ),
        (
            "test.metric:42|c|@0.8|#key:value,key2:value2",
            m(
                "test.metric",
                42.0,
                false,
                C,
                0.8,
                &[("key", "value"), ("key2", "value2"), ("metric_type", "counter")],
                0,
            ),
        ),
        ("test.metric:42.0|g", m("test.metric", 42.0, false, G, 0.0, &[("metric_type", "gauge")], 0)),
        (
            "test.metric:11|g|@0.8|#key:value,key2:value2",
            m("test.metric", 11.0, false, G, 0.8, &[("key", "value"), ("key2", "value2"), ("metric_type", "gauge")], 0),
        ),
        ("test.metric:-42|g", m("test.metric", -42.0, true, G, 0.0, &[("metric_type", "gauge")], 0)),
        ("test.metric:-42|ms", m("test.metric", -42.0, true, T, 0.0, &[("metric_type", "timing")], 0)),
        ("test.metric:42|h", m("test.metric", 42.0, false, H, 0.0, &[("metric_type", "histogram")], 0)),
        ("test.metric:42|d", m("test.metric", 42.0, false, D, 0.0, &[("metric_type", "distribution")], 0)),
    ];
    for (line, want) in cases {
        assert_eq!(parse(line, true, false).unwrap(), want, "{line}");
    }
    assert_eq!(parse("test.metric:42.abc|g", true, false).unwrap_err(), "parse metric value string: 42.abc");
}

#[test]
fn go_parse_with_simple_tags() {
    let cases: Vec<(&str, Parsed)> = vec![
        ("test.metric:42|c|@0.1|#key:value", m("test.metric", 42.0, false, C, 0.1, &[("key", "value")], 0)),
        ("test.metric:42|c|@0.1|#key", m("test.metric", 42.0, false, C, 0.1, &[("key", "")], 0)),
        ("test.metric:42|c|@0.1|#key,key2", m("test.metric", 42.0, false, C, 0.1, &[("key", ""), ("key2", "")], 0)),
    ];
    for (line, want) in cases {
        assert_eq!(parse(line, false, true).unwrap(), want, "{line}");
    }
}
