//! Cases of awsemfexporter metric_translator_test.go (TestTranslateCWMetricToEMF,
//! TestGroupedMetricToCWMeasurement…), util_test.go (TestDimensionRollup, TestGetNamespace,
//! TestGetLogInfo, TestReplacePatterns), datapoint_test.go (deltas, summaries, NaN) and
//! grouped_metric_test.go (TestTranslateUnit, grouping by type and labels).

use super::datapoint::{Deltas, OTEL_LIB};
use super::emf::dimension_rollup;
use super::*;
use crate::exporter::awsemf::declaration::DeclarationConfig;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    number_data_point, summary_data_point::ValueAtQuantile, Gauge, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::{json, Value};

const T: u64 = 1_596_151_098_037_000_000;
const T_MS: i64 = 1_596_151_098_037;

fn opts() -> TranslateOptions {
    TranslateOptions {
        namespace: String::new(),
        log_group_name: String::new(),
        log_stream_name: String::new(),
        rollup: Rollup::ZeroAndSingle,
        declarations: Vec::new(),
        descriptors: HashMap::new(),
        parse_json_encoded_attr_values: Vec::new(),
        retain_initial_value_of_delta_metric: false,
        detailed_metrics: false,
        version: "1".into(),
        disable_metric_extraction: false,
        eks_fargate_container_insights: false,
        resource_to_telemetry: false,
    }
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
        ..Default::default()
    }
}

fn np(v: f64, t: u64, attrs: &[(&str, &str)]) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs.iter().map(|(k, v)| kv(k, v)).collect(),
        time_unix_nano: t,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    }
}

fn gauge(name: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        data: Some(metric::Data::Gauge(Gauge { data_points: points })),
        ..Default::default()
    }
}

fn cumulative(name: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        data: Some(metric::Data::Sum(Sum { data_points: points, aggregation_temporality: 2, is_monotonic: true })),
        ..Default::default()
    }
}

fn rm(resource: &[(&str, &str)], scope: &str, metrics: Vec<Metric>) -> ResourceMetrics {
    ResourceMetrics {
        resource: Some(Resource { attributes: resource.iter().map(|(k, v)| kv(k, v)).collect(), ..Default::default() }),
        scope_metrics: vec![ScopeMetrics {
            scope: Some(InstrumentationScope { name: scope.into(), ..Default::default() }),
            metrics,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn run(rms: &[ResourceMetrics], o: &TranslateOptions, d: &mut Deltas) -> Vec<Value> {
    translate(rms, o, d, T_MS + 1000).events.iter().map(|e| serde_json::from_str(&e.message).unwrap()).collect()
}

#[test]
fn emf_v1_document_as_test_translate_cw_metric_to_emf() {
    let o = TranslateOptions { namespace: "test-emf".into(), ..opts() };
    let r = rm(&[], "cloudwatch-otel", vec![gauge("spanCounter", "Count", vec![np(0.0, T, &[("spanName", "test")])])]);
    let t = translate(&[r], &o, &mut Deltas::default(), T_MS);
    assert_eq!(t.events.len(), 1);
    assert_eq!(
        t.events[0].message,
        r#"{"OTelLib":"cloudwatch-otel","Version":"1","_aws":{"CloudWatchMetrics":[{"Namespace":"test-emf","Dimensions":[["OTelLib"],["OTelLib","spanName"]],"Metrics":[{"Name":"spanCounter","Unit":"Count"}]}],"Timestamp":1596151098037},"spanCounter":0,"spanName":"test"}"#
    );
    assert_eq!((t.events[0].log_group.as_str(), t.events[0].log_stream.as_str()), ("/metrics/test-emf", ""));
    assert_eq!(t.events[0].timestamp_ms, T_MS);
}

#[test]
fn emf_v0_and_no_measurements() {
    let o = TranslateOptions { namespace: "ns".into(), version: "0".into(), ..opts() };
    let r = rm(&[], "", vec![gauge("g", "", vec![np(1.5, T, &[("a", "A")])])]);
    let v = run(std::slice::from_ref(&r), &o, &mut Deltas::default());
    assert_eq!(
        v[0],
        json!({"Timestamp": T_MS.to_string(), "Version": "0", "a": "A", "g": 1.5,
               "CloudWatchMetrics": [{"Namespace": "ns", "Dimensions": [[], ["a"]], "Metrics": [{"Name": "g"}]}]})
    );
    // A declaration that selects nothing: v1 writes the fields alone (TestTranslateCWMetricToEMFNoMeasurements).
    let decl = DeclarationConfig {
        metric_name_selectors: vec!["nothing".into()],
        dimensions: vec![vec!["a".into()]],
        ..Default::default()
    };
    let declarations = match decl.compile() {
        crate::exporter::awsemf::declaration::Compiled::Ok(d, _) => vec![d],
        _ => panic!(),
    };
    let o = TranslateOptions { namespace: "ns".into(), declarations, ..opts() };
    assert_eq!(run(&[r], &o, &mut Deltas::default())[0], json!({"a": "A", "g": 1.5}));
}

#[test]
fn dimension_rollup_as_util_test() {
    let labels = |ks: &[&str]| ks.iter().map(|k| (k.to_string(), "v".to_string())).collect::<BTreeMap<_, _>>();
    let sets =
        |v: &[&[&str]]| v.iter().map(|s| s.iter().map(|x| x.to_string()).collect::<Vec<_>>()).collect::<Vec<_>>();
    assert!(dimension_rollup(Rollup::None, &labels(&["a", "b", "c"])).is_empty());
    assert_eq!(dimension_rollup(Rollup::SingleOnly, &labels(&["a", "b", "c"])), sets(&[&["a"], &["b"], &["c"]]));
    assert_eq!(
        dimension_rollup(Rollup::SingleOnly, &labels(&["a", "b", "c", OTEL_LIB])),
        sets(&[&[OTEL_LIB, "a"], &[OTEL_LIB, "b"], &[OTEL_LIB, "c"]])
    );
    assert_eq!(dimension_rollup(Rollup::ZeroAndSingle, &labels(&["a", "b"])), sets(&[&[], &["a"], &["b"]]));
    assert_eq!(
        dimension_rollup(Rollup::ZeroAndSingle, &labels(&["a", OTEL_LIB])),
        sets(&[&[OTEL_LIB], &[OTEL_LIB, "a"]])
    );
    // Only OTelLib: no rollup at all.
    assert!(dimension_rollup(Rollup::ZeroAndSingle, &labels(&[OTEL_LIB])).is_empty());
    assert!(dimension_rollup(Rollup::ZeroAndSingle, &labels(&[])).is_empty());
}

fn dims(v: &Value) -> Value {
    v["_aws"]["CloudWatchMetrics"][0]["Dimensions"].clone()
}

#[test]
fn measurement_dimensions_as_test_grouped_metric_to_cw_measurement() {
    let r = |attrs: &[(&str, &str)]| rm(&[], "", vec![gauge("m", "", vec![np(1.0, T, attrs)])]);
    let with = |rollup| TranslateOptions { namespace: "ns".into(), rollup, ..opts() };
    // Several labels, no rollup: one set, sorted.
    let v = run(&[r(&[("b", "1"), ("a", "2")])], &with(Rollup::None), &mut Deltas::default());
    assert_eq!(dims(&v[0]), json!([["a", "b"]]));
    let v = run(&[r(&[("b", "1"), ("a", "2")])], &with(Rollup::ZeroAndSingle), &mut Deltas::default());
    assert_eq!(dims(&v[0]), json!([["a", "b"], [], ["a"], ["b"]]));
    // A single label with single rollup: the duplicate full set is dropped.
    let v = run(&[r(&[("a", "2")])], &with(Rollup::SingleOnly), &mut Deltas::default());
    assert_eq!(dims(&v[0]), json!([["a"]]));
    let v = run(&[r(&[("a", "2")])], &with(Rollup::ZeroAndSingle), &mut Deltas::default());
    assert_eq!(dims(&v[0]), json!([[], ["a"]]));
    // No labels: one empty set.
    let v = run(&[r(&[])], &with(Rollup::ZeroAndSingle), &mut Deltas::default());
    assert_eq!(dims(&v[0]), json!([[]]));
}

#[test]
fn metric_declarations_select_metrics_and_dimensions() {
    let compile = |y: &str| match serde_yaml_ng::from_str::<DeclarationConfig>(y).unwrap().compile() {
        crate::exporter::awsemf::declaration::Compiled::Ok(d, _) => d,
        _ => panic!("{y}"),
    };
    let o = TranslateOptions {
        namespace: "ns".into(),
        rollup: Rollup::None,
        declarations: vec![
            compile("{dimensions: [[a, b], [a], [a, a], [c]], metric_name_selectors: ['^m1$']}"),
            compile("{dimensions: [[b]], metric_name_selectors: ['^m'], label_matchers: [{label_names: [a, b], regex: '^x;y$'}]}"),
        ],
        ..opts()
    };
    let r = rm(
        &[],
        "",
        vec![
            gauge("m1", "", vec![np(1.0, T, &[("a", "x"), ("b", "y")])]),
            gauge("m2", "", vec![np(2.0, T, &[("a", "x"), ("b", "y")])]),
            gauge("other", "", vec![np(3.0, T, &[("a", "x"), ("b", "y")])]),
        ],
    );
    let v = run(&[r], &o, &mut Deltas::default());
    assert_eq!(v.len(), 1);
    // m1 matches both declarations, m2 only the second: two measurements; `c` is not a label.
    assert_eq!(
        v[0]["_aws"]["CloudWatchMetrics"],
        json!([
            {"Namespace": "ns", "Dimensions": [["a", "b"], ["a"], ["b"]], "Metrics": [{"Name": "m1"}]},
            {"Namespace": "ns", "Dimensions": [["b"]], "Metrics": [{"Name": "m2"}]}
        ])
    );
    // Every metric stays a field.
    assert_eq!((v[0]["m1"].clone(), v[0]["m2"].clone(), v[0]["other"].clone()), (json!(1), json!(2), json!(3)));
}

#[test]
fn cumulative_sums_become_deltas_and_the_first_value_is_dropped_unless_retained() {
    let o = TranslateOptions { namespace: "ns".into(), ..opts() };
    let mut d = Deltas::default();
    let batch = |v: f64, t: u64| vec![rm(&[], "", vec![cumulative("c", vec![np(v, t, &[("k", "v")])])])];
    assert!(run(&batch(10.0, T), &o, &mut d).is_empty());
    assert_eq!(run(&batch(15.0, T + 1_000_000_000), &o, &mut d)[0]["c"], json!(5));
    // A reset (smaller value) sends the value as it is.
    assert_eq!(run(&batch(3.0, T + 2_000_000_000), &o, &mut d)[0]["c"], json!(3));
    let o = TranslateOptions { retain_initial_value_of_delta_metric: true, ..o };
    let mut d = Deltas::default();
    assert_eq!(run(&batch(10.0, T), &o, &mut d)[0]["c"], json!(10));
    assert_eq!(run(&batch(12.0, T + 1_000_000_000), &o, &mut d)[0]["c"], json!(2));
    // Series are told apart by labels.
    let mut d = Deltas::default();
    run(&batch(10.0, T), &o, &mut d);
    let other = vec![rm(&[], "", vec![cumulative("c", vec![np(7.0, T, &[("k", "w")])])])];
    assert_eq!(run(&other, &o, &mut d)[0]["c"], json!(7));
    assert_eq!(d.len(), 2);
}

#[test]
fn delta_series_expire_after_five_minutes() {
    let o = TranslateOptions { namespace: "ns".into(), ..opts() };
    let mut d = Deltas::default();
    let b = vec![rm(&[], "", vec![cumulative("c", vec![np(1.0, T, &[])])])];
    translate(&b, &o, &mut d, T_MS);
    assert_eq!(d.len(), 1);
    translate(&[], &o, &mut d, T_MS + 5 * 60 * 1000 + 1);
    assert_eq!(d.len(), 0);
}

#[test]
fn histograms_and_summaries_as_statistic_sets_and_detailed() {
    let h = Metric {
        name: "h".into(),
        unit: "ms".into(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                count: 5,
                sum: Some(15.5),
                min: Some(1.0),
                max: Some(7.0),
                time_unix_nano: T,
                ..Default::default()
            }],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    let s = Metric {
        name: "s".into(),
        data: Some(metric::Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                count: 4,
                sum: 10.0,
                time_unix_nano: T,
                quantile_values: vec![
                    ValueAtQuantile { quantile: 0.0, value: 1.0 },
                    ValueAtQuantile { quantile: 0.5, value: 2.0 },
                    ValueAtQuantile { quantile: 1.0, value: 4.0 },
                ],
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let o = TranslateOptions { namespace: "ns".into(), rollup: Rollup::None, ..opts() };
    let v = run(&[rm(&[], "", vec![h.clone(), s.clone()])], &o, &mut Deltas::default());
    // Different metric types are different events.
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["h"], json!({"Max": 7, "Min": 1, "Count": 5, "Sum": 15.5}));
    assert_eq!(v[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"], json!([{"Name": "h", "Unit": "Milliseconds"}]));
    assert_eq!(v[1]["s"], json!({"Max": 4, "Min": 1, "Count": 4, "Sum": 10}));
    // The statistic set keeps Go's field order.
    let t = translate(&[rm(&[], "", vec![h])], &o, &mut Deltas::default(), T_MS);
    assert!(t.events[0].message.contains(r#""h":{"Max":7,"Min":1,"Count":5,"Sum":15.5}"#), "{}", t.events[0].message);
    let o = TranslateOptions { detailed_metrics: true, ..o };
    let v = run(&[rm(&[], "", vec![s])], &o, &mut Deltas::default());
    // _sum and _count share the labels; each quantile has its own `quantile` label.
    assert_eq!(v.len(), 4);
    assert_eq!((v[0]["s_sum"].clone(), v[0]["s_count"].clone()), (json!(10), json!(4)));
    let q: Vec<(String, f64)> =
        v[1..].iter().map(|e| (e["quantile"].as_str().unwrap().to_string(), e["s"].as_f64().unwrap())).collect();
    assert_eq!(q, [("0".to_string(), 1.0), ("0.5".into(), 2.0), ("1".into(), 4.0)]);
}

#[test]
fn nan_infinite_and_stale_points_are_skipped() {
    let stale = NumberDataPoint { flags: 1, ..np(1.0, T, &[]) };
    let r = rm(
        &[],
        "",
        vec![gauge("g", "", vec![np(f64::NAN, T, &[]), np(f64::INFINITY, T, &[]), stale, np(2.0, T, &[])])],
    );
    let t = translate(&[r], &TranslateOptions { namespace: "ns".into(), ..opts() }, &mut Deltas::default(), T_MS);
    assert_eq!(t.skipped, 3);
    assert_eq!(t.events.len(), 1);
    assert!(t.events[0].message.contains(r#""g":2"#));
}

#[test]
fn units_and_descriptors_as_test_translate_unit() {
    let mut descriptors = HashMap::new();
    descriptors.insert("writeIfNotExist".to_string(), Descriptor { unit: "Count".into(), overwrite: false });
    descriptors.insert("forceOverwrite".to_string(), Descriptor { unit: "Count".into(), overwrite: true });
    let m = |name: &str, unit: &str| Metric { name: name.into(), unit: unit.into(), ..Default::default() };
    assert_eq!(unit(&m("writeIfNotExist", ""), &descriptors), "Count");
    assert_eq!(unit(&m("writeIfNotExist", "s"), &descriptors), "Seconds");
    assert_eq!(unit(&m("forceOverwrite", "ms"), &descriptors), "Count");
    for (u, want) in
        [("ms", "Milliseconds"), ("s", "Seconds"), ("us", "Microseconds"), ("By", "Bytes"), ("Bi", "Bits"), ("1", "1")]
    {
        assert_eq!(unit(&m("x", u), &descriptors), want);
    }
}

#[test]
fn namespace_and_log_group_stream_placeholders_as_util_test() {
    let attrs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<BTreeMap<_, _>>();
    assert_eq!(namespace(&[kv("service.name", "svc"), kv("service.namespace", "ns")], ""), "ns/svc");
    assert_eq!(namespace(&[kv("service.name", "svc")], ""), "svc");
    assert_eq!(namespace(&[kv("service.namespace", "ns")], ""), "ns");
    assert_eq!(namespace(&[], ""), "default");
    assert_eq!(namespace(&[kv("service.name", "svc")], "cfg"), "cfg");
    let a = attrs(&[("aws.ecs.cluster.name", "c1"), ("aws.ecs.task.id", "t1"), ("TaskDefinitionFamily", "fam")]);
    assert_eq!(replace_patterns("/aws/ecs/{ClusterName}/{TaskId}", &a), ("/aws/ecs/c1/t1".to_string(), true));
    assert_eq!(replace_patterns("{TaskDefinitionFamily}-x", &a), ("fam-x".to_string(), true));
    assert_eq!(replace_patterns("{ServiceName}/{TaskId}", &a), ("undefined/t1".to_string(), false));
    assert_eq!(replace_patterns("{Unknown}", &a), ("{Unknown}".to_string(), true));
    // From the resource, else from the point's labels.
    let o = TranslateOptions {
        namespace: "ns".into(),
        log_group_name: "/g/{ClusterName}".into(),
        log_stream_name: "{TaskId}".into(),
        ..opts()
    };
    let r =
        rm(&[("aws.ecs.cluster.name", "c1")], "", vec![gauge("g", "", vec![np(1.0, T, &[("aws.ecs.task.id", "t9")])])]);
    let t = translate(&[r], &o, &mut Deltas::default(), T_MS);
    assert_eq!((t.events[0].log_group.as_str(), t.events[0].log_stream.as_str()), ("/g/c1", "t9"));
}

#[test]
fn resource_to_telemetry_and_json_encoded_attributes() {
    let o = TranslateOptions {
        namespace: "ns".into(),
        rollup: Rollup::None,
        resource_to_telemetry: true,
        parse_json_encoded_attr_values: vec!["kubernetes".into()],
        ..opts()
    };
    let r = rm(
        &[("TaskDefinitionFamily", "fam"), ("k", "resource")],
        "",
        vec![gauge("g", "", vec![np(1.0, T, &[("k", "point"), ("kubernetes", r#"{"b":1,"a":"x"}"#)])])],
    );
    let t = translate(&[r], &o, &mut Deltas::default(), T_MS);
    let v: Value = serde_json::from_str(&t.events[0].message).unwrap();
    assert_eq!(v["TaskDefinitionFamily"], "fam");
    assert_eq!(v["k"], "resource");
    assert_eq!(v["kubernetes"], json!({"a": "x", "b": 1}));
    assert_eq!(dims(&v), json!([["TaskDefinitionFamily", "k", "kubernetes"]]));
    assert!(t.events[0].message.contains(r#""kubernetes":{"a":"x","b":1}"#));
}

#[test]
fn points_with_the_same_labels_and_time_share_one_event() {
    let o = TranslateOptions { namespace: "ns".into(), rollup: Rollup::None, ..opts() };
    let r = rm(
        &[],
        "",
        vec![
            gauge("a", "", vec![np(1.0, T, &[("k", "v")]), np(9.0, T + 60_000_000_000, &[("k", "v")])]),
            gauge("b", "", vec![np(2.0, T, &[("k", "v")])]),
        ],
    );
    let t = translate(&[r], &o, &mut Deltas::default(), T_MS);
    assert_eq!(t.events.len(), 2);
    let v: Value = serde_json::from_str(&t.events[0].message).unwrap();
    assert_eq!((v["a"].clone(), v["b"].clone()), (json!(1), json!(2)));
    assert_eq!(t.events[0].points, 2);
    assert_eq!(t.events[1].timestamp_ms, T_MS + 60_000);
}
