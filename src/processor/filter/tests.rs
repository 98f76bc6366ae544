//! Cases from contrib's filterspan_test.go, filterlog_test.go, filtermetric_test.go,
//! attributematcher_test.go and filterprocessor's config/processor tests.

use super::matcher::{severity_number, Compiled};
use super::processor::apply;
use super::FilterConfig;
use crate::pipeline::data::Batch;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{metric, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

fn cfg(yaml: &str) -> FilterConfig {
    serde_yaml_ng::from_str(yaml).unwrap()
}

fn compiled(yaml: &str) -> Compiled {
    cfg(yaml).compile().unwrap_or_else(|e| panic!("{e:?}"))
}

fn errors(yaml: &str) -> Vec<String> {
    cfg(yaml).validate("processors::filter").iter().map(|e| e.to_string()).collect()
}

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue { key: k.into(), value: Some(AnyValue { value: Some(v) }), ..Default::default() }
}

fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

/// filterspan_test.go's span: "spanName", client, keyString/keyInt/keyDouble/keyBool/keyExists,
/// resource service.name=svcA.
fn go_span() -> (Span, Option<Resource>) {
    let span = Span {
        name: "spanName".into(),
        kind: 3,
        attributes: vec![
            kv("keyString", s("arithmetic")),
            kv("keyInt", any_value::Value::IntValue(123)),
            kv("keyDouble", any_value::Value::DoubleValue(3245.6)),
            kv("keyBool", any_value::Value::BoolValue(true)),
            kv("keyExists", s("present")),
        ],
        ..Default::default()
    };
    (span, Some(Resource { attributes: vec![kv("service.name", s("svcA"))], ..Default::default() }))
}

fn span_matches(props: &str) -> bool {
    let c = compiled(&format!("spans: {{include: {props}}}"));
    let (sp, res) = go_span();
    !c.spans.unwrap().skip(&sp, &res, Some(&InstrumentationScope::default()))
}

#[test]
fn span_matching_true_cases_of_filterspan_test() {
    for p in [
        "{match_type: regexp, services: [svcA]}",
        "{match_type: strict, services: [svcA]}",
        "{match_type: regexp, span_names: ['span.*']}",
        "{match_type: regexp, span_names: ['wrong.*pattern', 'span.*', 'yet another?pattern', regularstring]}",
        "{match_type: strict, span_kinds: [SPAN_KIND_CLIENT]}",
        "{match_type: regexp, span_kinds: [CLIENT]}",
        "{match_type: strict, attributes: [{key: keyString, value: arithmetic}, {key: keyInt, value: 123}]}",
        "{match_type: strict, attributes: [{key: keyDouble, value: 3245.6}, {key: keyBool, value: true}]}",
        "{match_type: strict, attributes: [{key: keyExists}]}",
        "{match_type: regexp, attributes: [{key: keyString, value: 'arith.*'}, {key: keyInt, value: '12.'}]}",
        "{match_type: regexp, attributes: [{key: keyDouble, value: '3245\\.6'}, {key: keyBool, value: 'true'}]}",
        "{match_type: strict, resources: [{key: service.name, value: svcA}]}",
        "{match_type: strict, libraries: [{name: ''}]}",
    ] {
        assert!(span_matches(p), "{p}");
    }
}

#[test]
fn span_matching_false_cases_of_filterspan_test() {
    for p in [
        "{match_type: regexp, services: [svcB]}",
        "{match_type: strict, services: [svcA2]}",
        "{match_type: regexp, span_names: ['spanNo.*Name']}",
        "{match_type: regexp, span_names: ['spanNo.*Name', 'non-matching?pattern', 'regular string']}",
        "{match_type: regexp, span_kinds: [SPAN_KIND_PRODUCER]}",
        "{match_type: strict, span_kinds: [SPAN_KIND_PRODUCER]}",
        // strict compares types: the string "123" is not the int 123.
        "{match_type: strict, attributes: [{key: keyInt, value: '123'}]}",
        "{match_type: strict, attributes: [{key: keyMissing}]}",
        "{match_type: strict, libraries: [{name: lib, version: '1'}]}",
    ] {
        assert!(!span_matches(p), "{p}");
    }
}

#[test]
fn span_missing_service_name_is_the_nil_placeholder() {
    let c = compiled("spans: {include: {match_type: strict, services: ['<nil-service-name>']}}");
    assert!(!c.spans.unwrap().skip(&Span::default(), &None, None));
}

#[test]
fn span_config_errors_as_go_reports_them() {
    let cases = [
        ("{}", r#"at least one of "attributes", "libraries",  or "resources" field must be specified"#),
        ("{log_bodies: [log], services: [a]}", "log_bodies should not be specified for trace spans"),
        (
            "{match_type: wrong_match_type, services: [abc]}",
            "error creating service name filters: unrecognized match_type: 'wrong_match_type', valid types are: [regexp strict]",
        ),
        (
            "{services: [abc]}",
            "error creating service name filters: unrecognized match_type: '', valid types are: [regexp strict]",
        ),
        ("{match_type: regexp, span_names: ['[']}", "error creating span name filters: error parsing regexp"),
        ("{match_type: strict, span_kinds: [test_invalid_span_kind]}", "span_kinds string must match one of"),
        (
            "{match_type: regexp, attributes: [{key: k, value: 1}]}",
            r#"error creating attribute filters: match_type=regexp for "k" only supports Str, but found Int"#,
        ),
        ("{match_type: strict, attributes: [{key: ''}]}", "can't have empty key in the list of attributes"),
    ];
    for (props, want) in cases {
        let e = errors(&format!("spans: {{exclude: {props}}}"));
        assert_eq!(e.len(), 1, "{props}: {e:?}");
        assert!(e[0].starts_with("processors::filter::spans::exclude: "), "{e:?}");
        assert!(e[0].contains(want), "{props}: {e:?}");
    }
}

#[test]
fn ottl_keys_are_errors_that_name_the_key() {
    let e = errors(
        "traces: {span: ['name == \"x\"']}\nmetrics: {metric: ['name == \"x\"']}\n\
         logs: {log_record: ['body == \"x\"']}\nmetric_conditions: ['true']\n",
    );
    let want = "OTTL conditions are not supported yet";
    assert_eq!(e.len(), 4, "{e:?}");
    for k in ["metrics::metric", "logs::log_record", "traces::span", "metric_conditions"] {
        assert!(
            e.iter().any(|x| x.starts_with(&format!("processors::filter::{k}: ")) && x.contains(want)),
            "{k} {e:?}"
        );
    }
}

#[test]
fn error_mode_is_checked_and_unknown_keys_refused() {
    assert!(errors("error_mode: ignore").is_empty());
    assert!(errors("error_mode: propagate").is_empty());
    assert!(errors("error_mode: IGNORE").is_empty());
    assert_eq!(errors("error_mode: loud").len(), 1);
    assert!(serde_yaml_ng::from_str::<FilterConfig>("metrics: {include: {match_typ: strict}}").is_err());
}

fn log(body: &str, sev: i32, text: &str, attrs: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        body: Some(AnyValue { value: Some(s(body)) }),
        severity_number: sev,
        severity_text: text.into(),
        attributes: attrs,
        ..Default::default()
    }
}

fn kept_logs(yaml: &str, records: Vec<LogRecord>) -> Vec<String> {
    let c = compiled(yaml);
    let mut b = Batch::Logs(vec![ResourceLogs {
        resource: Some(Resource { attributes: vec![kv("host", s("h1"))], ..Default::default() }),
        scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
        ..Default::default()
    }]);
    apply(&c, &mut b);
    let Batch::Logs(rs) = b else { panic!() };
    rs.iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .map(|l| crate::pipeline::attrs::value_text(&l.body))
        .collect()
}

#[test]
fn logs_bodies_severity_and_attributes_as_filterlog() {
    let recs = || {
        vec![
            log("debug line", 5, "DEBUG", vec![]),
            log("info line", 9, "INFO", vec![kv("k", s("v"))]),
            log("error line", 17, "ERROR", vec![]),
            log("no severity", 0, "", vec![]),
        ]
    };
    // config_logs_min_severity.yaml: include severity_number min INFO, match_undefined.
    assert_eq!(
        kept_logs("logs: {include: {severity_number: {min: INFO, match_undefined: true}}}", recs()),
        ["info line", "error line", "no severity"]
    );
    assert_eq!(kept_logs("logs: {include: {severity_number: {min: info}}}", recs()), ["info line", "error line"]);
    assert_eq!(
        kept_logs("logs: {exclude: {match_type: strict, severity_texts: [DEBUG, ERROR]}}", recs()),
        ["info line", "no severity"]
    );
    assert_eq!(kept_logs("logs: {include: {match_type: regexp, bodies: ['^err']}}", recs()), ["error line"]);
    assert_eq!(
        kept_logs("logs: {include: {match_type: strict, record_attributes: [{key: k}]}}", recs()),
        ["info line"]
    );
    assert_eq!(
        kept_logs("logs: {exclude: {match_type: strict, resource_attributes: [{key: host, value: h1}]}}", recs()),
        Vec::<String>::new()
    );
    // An include that sets nothing is ignored (config.go isEmpty).
    assert_eq!(kept_logs("logs: {include: {match_type: strict}}", recs()).len(), 4);
    // Bodies need a match type; severity alone does not.
    assert!(errors("logs: {include: {bodies: [x]}}")[0].contains("unrecognized match_type: ''"));
    assert!(errors("logs: {include: {severity_number: {min: LOUD}}}")[0].contains("'LOUD' is not a valid severity"));
}

#[test]
fn severity_names_and_numbers() {
    assert_eq!(severity_number("trace"), Some(1));
    assert_eq!(severity_number("DEBUG4"), Some(8));
    assert_eq!(severity_number("Info2"), Some(10));
    assert_eq!(severity_number("FATAL4"), Some(24));
    assert_eq!(severity_number("17"), Some(17));
    assert_eq!(severity_number("ERROR5"), None);
    assert_eq!(severity_number("25"), None);
    assert_eq!(severity_number(""), None);
}

fn gauge(name: &str) -> Metric {
    Metric {
        name: name.into(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint::default(), NumberDataPoint::default()],
        })),
        ..Default::default()
    }
}

fn metrics_batch() -> Batch {
    let rm = |svc: &str, names: &[&str]| ResourceMetrics {
        resource: Some(Resource { attributes: vec![kv("service.name", s(svc))], ..Default::default() }),
        scope_metrics: vec![ScopeMetrics { metrics: names.iter().map(|n| gauge(n)).collect(), ..Default::default() }],
        ..Default::default()
    };
    Batch::Metrics(vec![
        rm("a", &["ecs.task.memory.reserved", "ecs.task.cpu.utilized", "container.memory.usage"]),
        rm("b", &["container.duration", "other"]),
    ])
}

fn kept_metrics(yaml: &str) -> Vec<(String, Vec<String>)> {
    let c = compiled(yaml);
    let mut b = metrics_batch();
    apply(&c, &mut b);
    let Batch::Metrics(rs) = b else { panic!() };
    rs.iter()
        .map(|r| {
            let svc = crate::pipeline::attrs::str_attr(&r.resource.as_ref().unwrap().attributes, "service.name");
            let names = r.scope_metrics.iter().flat_map(|s| &s.metrics).map(|m| m.name.clone()).collect();
            (svc.unwrap().to_string(), names)
        })
        .collect()
}

#[test]
fn metrics_include_strict_names_as_the_adot_amp_configs() {
    let k = kept_metrics(
        "metrics: {include: {match_type: strict, metric_names: [ecs.task.memory.reserved, ecs.task.cpu.utilized, \
         container.duration]}}",
    );
    assert_eq!(
        k,
        [
            ("a".to_string(), vec!["ecs.task.memory.reserved".to_string(), "ecs.task.cpu.utilized".into()]),
            ("b".to_string(), vec!["container.duration".to_string()])
        ]
    );
}

#[test]
fn metrics_regexp_exclude_resource_attributes_and_both() {
    let k = kept_metrics("metrics: {exclude: {match_type: regexp, metric_names: ['^ecs\\.', 'other']}}");
    assert_eq!(k.len(), 2);
    assert_eq!(k[0].1, ["container.memory.usage"]);
    assert_eq!(k[1].1, ["container.duration"]);
    // Resource attributes alone keep the resource's metrics untouched.
    let k =
        kept_metrics("metrics: {include: {match_type: strict, resource_attributes: [{key: service.name, value: b}]}}");
    assert_eq!(k, [("b".to_string(), vec!["container.duration".to_string(), "other".into()])]);
    // Include first, then exclude.
    let k = kept_metrics(
        "metrics: {include: {match_type: regexp, metric_names: ['^container']}, \
         exclude: {match_type: strict, metric_names: [container.duration]}}",
    );
    assert_eq!(k, [("a".to_string(), vec!["container.memory.usage".to_string()])]);
    // Nothing left: no resources.
    assert!(kept_metrics("metrics: {include: {match_type: strict, metric_names: [none]}}").is_empty());
    // match_type expr without expressions is no rule; with expressions an error.
    assert_eq!(kept_metrics("metrics: {include: {match_type: expr}}").len(), 2);
    assert!(errors("metrics: {include: {match_type: expr, expressions: ['MetricName == \"x\"']}}")[0]
        .contains("metrics::include::expressions"));
    assert!(errors("metrics: {include: {metric_names: [x]}}")[0].contains("unrecognized match_type: ''"));
}

#[test]
fn no_rule_for_a_signal_keeps_it_untouched() {
    let c = compiled("metrics: {include: {match_type: strict, metric_names: [x]}}");
    assert!(c.spans.is_none() && c.logs.is_none());
    let mut b = Batch::Traces(vec![ResourceSpans {
        scope_spans: vec![ScopeSpans { spans: vec![Span::default()], ..Default::default() }],
        ..Default::default()
    }]);
    assert!(!apply(&c, &mut b));
    assert_eq!(b.items(), 1);
}

/// filterlog_test.go TestLogRecord_Matching_True / _False: a string body and a map body
/// (matched as its JSON text), severity TRACE/DEBUG, attribute abc=def.
#[test]
fn log_matching_cases_of_filterlog_test() {
    let map_body = AnyValue {
        value: Some(any_value::Value::KvlistValue(opentelemetry_proto::tonic::common::v1::KeyValueList {
            values: vec![kv("message", s("AUTHENTICATION FAILED"))],
        })),
    };
    let matches = |props: &str, lr: &LogRecord| {
        let c = compiled(&format!("logs: {{include: {props}}}"));
        !c.logs.unwrap().skip(lr, &None, None)
    };
    // Matching_False: severity TRACE, no attributes.
    let lr = LogRecord { severity_number: 1, ..log("AUTHENTICATION FAILED", 1, "", vec![]) };
    let lrm = LogRecord { body: Some(map_body.clone()), ..lr.clone() };
    for p in [
        "{match_type: regexp, record_attributes: [{key: abc, value: def}]}",
        "{match_type: regexp, record_attributes: [{key: 'ab.*c', value: def}]}",
        "{match_type: regexp, severity_texts: ['debug.*']}",
        "{match_type: regexp, severity_number: {min: INFO}}",
        "{match_type: regexp, bodies: ['.*TEST.*']}",
    ] {
        assert!(!matches(p, &lr), "{p}");
        assert!(!matches(p, &lrm), "{p} (map body)");
    }
    // Matching_True: abc=def, severity text "debug", DEBUG.
    let lr = log("AUTHENTICATION FAILED", 5, "debug", vec![kv("abc", s("def"))]);
    let lrm = LogRecord { body: Some(map_body), ..lr.clone() };
    for p in [
        "{match_type: strict, record_attributes: [{key: abc, value: def}]}",
        "{match_type: regexp, record_attributes: [{key: abc, value: 'd.f'}]}",
        "{match_type: regexp, bodies: ['AUTH.*']}",
        "{match_type: regexp, severity_texts: ['debug.*']}",
        "{match_type: regexp, severity_number: {min: DEBUG}}",
    ] {
        assert!(matches(p, &lr), "{p}");
        assert!(matches(p, &lrm), "{p} (map body)");
    }
}

/// filterlog_test.go TestLogRecord_validateMatchesConfiguration_InvalidConfig.
#[test]
fn log_config_errors_of_filterlog_test() {
    for (props, want) in [
        (
            "{match_type: wrong_match_type, record_attributes: [{key: abc, value: def}]}",
            "error creating attribute filters: unrecognized match_type: 'wrong_match_type', valid types are: [regexp strict]",
        ),
        (
            "{record_attributes: [{key: abc, value: def}]}",
            "error creating attribute filters: unrecognized match_type: '', valid types are: [regexp strict]",
        ),
        ("{match_type: regexp, record_attributes: [{key: abc, value: '['}]}", "error creating attribute filters: error parsing regexp"),
    ] {
        let e = errors(&format!("logs: {{exclude: {props}}}"));
        assert_eq!(e.len(), 1, "{props}: {e:?}");
        assert!(e[0].starts_with("processors::filter::logs::exclude: failed to build skip matcher: "), "{e:?}");
        assert!(e[0].contains(want), "{props}: {e:?}");
    }
    // A key alone needs no match type (Go builds no value filter).
    assert!(errors("logs: {include: {record_attributes: [{key: abc}]}}").is_empty());
}
