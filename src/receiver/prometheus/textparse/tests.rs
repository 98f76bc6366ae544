//! Cases from prometheus/model/textparse promparse_test.go and openmetricsparse_test.go.

use super::*;

fn lbl(s: &Sample) -> Vec<(String, String)> {
    s.labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    v.sort();
    v
}

#[test]
fn prom_text_as_promparse_test() {
    let input = r#"# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# 	TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 4.9351e-05
go_gc_duration_seconds{quantile="0.25",} 7.424100000000001e-05
go_gc_duration_seconds{quantile="0.5",a="b"} 8.3835e-05
go_gc_duration_seconds{ quantile="0.9", a="b"} 8.3835e-05
# HELP prometheus_http_request_duration_seconds Histogram of latencies for HTTP requests.
# TYPE prometheus_http_request_duration_seconds histogram
prometheus_http_request_duration_seconds_bucket{handler="/",le="1"} 423
prometheus_http_request_duration_seconds_bucket{handler="/",le="+Inf"} 1423
# Hrandom comment starting with prefix of HELP
#
wind_speed{A="2",c="3"} 12345
# comment with escaped \n newline
# HELP nohelp1
go_gc_duration_seconds { quantile= "1.0", a= "b", } 8.3835e-05
go_gc_duration_seconds { quantile = "2.0" a = "b" } 8.3835e-05
some:aggregate:rate5m{a_b="c"}	1
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 33  	123123
# TYPE some_counter_total counter
# HELP some_counter_total Help after type.
some_counter_total 12
_metric_starting_with_underscore 1
testmetric{label="\"bar\""} 1
"#;
    let p = parse(input, Format::PromText).unwrap();
    let names: Vec<&str> = p.samples.iter().map(|s| s.labels.get("__name__")).collect();
    assert_eq!(
        names,
        [
            "go_gc_duration_seconds",
            "go_gc_duration_seconds",
            "go_gc_duration_seconds",
            "go_gc_duration_seconds",
            "prometheus_http_request_duration_seconds_bucket",
            "prometheus_http_request_duration_seconds_bucket",
            "wind_speed",
            "go_gc_duration_seconds",
            "go_gc_duration_seconds",
            "some:aggregate:rate5m",
            "go_goroutines",
            "some_counter_total",
            "_metric_starting_with_underscore",
            "testmetric",
        ]
    );
    assert_eq!(p.samples[1].value, 7.424100000000001e-05);
    assert_eq!(lbl(&p.samples[8]), pairs(&[("__name__", "go_gc_duration_seconds"), ("quantile", "2.0"), ("a", "b")]));
    assert_eq!(p.samples[10].timestamp_ms, Some(123123));
    assert_eq!(p.samples[10].value, 33.0);
    assert_eq!(p.samples[13].labels.get("label"), "\"bar\"");
    assert_eq!(p.metadata["go_gc_duration_seconds"].typ, MetricType::Summary);
    assert_eq!(p.metadata["go_gc_duration_seconds"].help, "A summary of the GC invocation durations.");
    assert_eq!(p.metadata["prometheus_http_request_duration_seconds"].typ, MetricType::Histogram);
    assert_eq!(p.metadata["some_counter_total"].typ, MetricType::Counter);
    assert_eq!(p.metadata["some_counter_total"].help, "Help after type.");
    assert_eq!(p.metadata["nohelp1"].help, "");
}

#[test]
fn special_values_and_escapes() {
    let p = parse("a +Inf\nb -Inf\nc NaN\nd{x=\"a\\\\b\\nc\"} 1.5e3 -5\n", Format::PromText).unwrap();
    assert_eq!(p.samples[0].value, f64::INFINITY);
    assert_eq!(p.samples[1].value, f64::NEG_INFINITY);
    assert!(p.samples[2].value.is_nan());
    assert_eq!(p.samples[3].labels.get("x"), "a\\b\nc");
    assert_eq!(p.samples[3].value, 1500.0);
    assert_eq!(p.samples[3].timestamp_ms, Some(-5));
}

#[test]
fn bad_lines_are_errors() {
    for bad in ["a", "a{b=\"c\" 1", "a{b=c} 1", "a 1 x", "a{b=\"c\",b=\"d\"} 1", "{} 1", "a zz"] {
        assert!(parse(bad, Format::PromText).is_err(), "{bad:?}");
    }
    assert!(parse("# TYPE a bogus\n", Format::PromText).is_err());
}

#[test]
fn utf8_quoted_names() {
    let p = parse("{\"my.metric\", \"some.label\"=\"v\"} 1\n", Format::PromText).unwrap();
    assert_eq!(lbl(&p.samples[0]), pairs(&[("__name__", "my.metric"), ("some.label", "v")]));
}

#[test]
fn openmetrics_as_openmetricsparse_test() {
    let input = r#"# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# TYPE go_gc_duration_seconds summary
# UNIT go_gc_duration_seconds seconds
go_gc_duration_seconds{quantile="0"} 4.9351e-05
go_gc_duration_seconds{quantile="0.25"} 7.424100000000001e-05
go_gc_duration_seconds_created 1520872607.123
# TYPE foo counter
foo_total 17.0 1520879607.789 # {id="counter-test"} 5
foo_created 1520872607.123
# TYPE hh histogram
hh_bucket{le="+Inf"} 1
# EOF
"#;
    let p = parse(input, Format::OpenMetrics).unwrap();
    assert_eq!(p.samples.len(), 6);
    assert_eq!(p.metadata["go_gc_duration_seconds"].unit, "seconds");
    assert_eq!(p.metadata["foo"].typ, MetricType::Counter);
    let foo = &p.samples[3];
    assert_eq!(foo.labels.get("__name__"), "foo_total");
    assert_eq!(foo.timestamp_ms, Some(1_520_879_607_789));
    let ex = foo.exemplar.as_ref().unwrap();
    assert_eq!(ex.labels, vec![("id".to_string(), "counter-test".to_string())]);
    assert_eq!(ex.value, 5.0);
    assert_eq!(p.samples[4].value, 1520872607.123);
}

#[test]
fn openmetrics_needs_eof_and_nothing_after() {
    assert_eq!(parse("a 1\n", Format::OpenMetrics).unwrap_err(), "data does not end with # EOF");
    assert!(parse("a 1\n# EOF\nb 2\n", Format::OpenMetrics).is_err());
    assert!(parse("# EOF\n", Format::OpenMetrics).unwrap().samples.is_empty());
    assert!(parse("# EOF", Format::OpenMetrics).is_ok());
}

#[test]
fn content_type_negotiation() {
    let fb = Some(Format::PromText);
    assert_eq!(format_of("application/openmetrics-text; version=1.0.0; charset=utf-8", None), Ok(Format::OpenMetrics));
    assert_eq!(format_of("text/plain; version=0.0.4; charset=utf-8", None), Ok(Format::PromText));
    assert_eq!(format_of("", fb), Ok(Format::PromText));
    assert_eq!(format_of("application/json", fb), Ok(Format::PromText));
    assert!(format_of("", None).unwrap_err().contains("blank Content-Type"));
}

#[test]
fn mutated_bodies_never_panic() {
    let seed = "# HELP a_total x\\n\n# TYPE a counter\n# UNIT a s\na_total{b=\"c\",\"d.e\"=\"é\"} 1.5e3 1700000000 # {trace_id=\"ab\"} 1 2\na_created 17\n{\"q.r\"} NaN\n# EOF\n";
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"{}\",= #\\\n_aE.0+-";
    for _ in 0..20_000 {
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
        let _ = parse(&text, Format::PromText);
        let _ = parse(&text, Format::OpenMetrics);
    }
}
