//! Golden tests: `tests/fixtures/golden/prometheusremotewrite/<case>.in.json` holds
//! `{"go_test": <the Go test and case it ports, if any>, "why": <where oxidot deliberately
//! differs, if it does>, "options": {...}, "request": <OTLP/JSON ExportMetricsServiceRequest>}`;
//! `<case>.out.json` the expected series (with exemplars), metadata and translation errors.
//! `UPDATE_GOLDEN=1` rewrites the outputs (review the diff).
//! `otlptranslator.<GoTest>.json` are the tables of github.com/prometheus/otlptranslator's tests,
//! run by the `otlptranslator_*` tests below.

use super::*;
use crate::exporter::prometheusremotewrite::naming::{LabelNamer, MetricNamer, MetricType, Strategy, UnitNamer};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use serde_json::{json, Value};
use std::path::PathBuf;

fn dir() -> PathBuf {
    crate::golden::dir("prometheusremotewrite")
}

fn options(v: &Value) -> TranslateOptions {
    let b = |k: &str, d: bool| v.get(k).and_then(Value::as_bool).unwrap_or(d);
    TranslateOptions {
        metric_namer: MetricNamer {
            namespace: v.get("namespace").and_then(Value::as_str).unwrap_or("").to_string(),
            with_suffixes: b("add_metric_suffixes", true),
            utf8_allowed: false,
        },
        label_namer: label_namer(b("permissive_label_sanitization", false)),
        permissive_labels: b("permissive_label_sanitization", false),
        resource_to_telemetry: b("resource_to_telemetry", false),
        target_info: b("target_info", true),
        send_metadata: b("send_metadata", false),
        disable_scope_info: b("disable_scope_info", false),
        external_labels: v
            .get("external_labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (LabelNamer::default().build(k).unwrap(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn num(v: f64) -> Value {
    if v.to_bits() == STALE_NAN {
        json!("StaleNaN")
    } else if v.is_nan() {
        json!("NaN")
    } else {
        json!(v)
    }
}

fn render(t: &Translated) -> Value {
    let series: Vec<Value> = t
        .series
        .iter()
        .map(|s| {
            let labels: serde_json::Map<String, Value> =
                s.labels.iter().map(|l| (l.name.clone(), json!(l.value))).collect();
            let mut o = json!({"labels": labels});
            if !s.samples.is_empty() {
                o["samples"] = s.samples.iter().map(|x| json!([x.timestamp, num(x.value)])).collect();
            }
            if !s.exemplars.is_empty() {
                o["exemplars"] = s
                    .exemplars
                    .iter()
                    .map(|e| {
                        // In order: trace_id, span_id, then the filtered attributes.
                        let labels: Vec<Value> = e.labels.iter().map(|l| json!([l.name, l.value])).collect();
                        json!({"timestamp": e.timestamp, "value": num(e.value), "labels": labels})
                    })
                    .collect();
            }
            if !s.histograms.is_empty() {
                o["histograms"] = s
                    .histograms
                    .iter()
                    .map(|h| {
                        let count = match h.count {
                            Some(histogram::Count::CountInt(c)) if c == STALE_NAN => json!("StaleNaN"),
                            Some(histogram::Count::CountInt(c)) => json!(c),
                            Some(histogram::Count::CountFloat(c)) => json!(c),
                            None => Value::Null,
                        };
                        let zc = match h.zero_count {
                            Some(histogram::ZeroCount::ZeroCountInt(c)) => json!(c),
                            Some(histogram::ZeroCount::ZeroCountFloat(c)) => json!(c),
                            None => Value::Null,
                        };
                        let sp = |v: &[BucketSpan]| v.iter().map(|s| json!([s.offset, s.length])).collect::<Vec<_>>();
                        json!({"timestamp": h.timestamp, "count": count, "sum": num(h.sum), "schema": h.schema,
                            "zero_threshold": h.zero_threshold, "zero_count": zc,
                            "positive_spans": sp(&h.positive_spans), "positive_deltas": h.positive_deltas,
                            "negative_spans": sp(&h.negative_spans), "negative_deltas": h.negative_deltas})
                    })
                    .collect();
            }
            o
        })
        .collect();
    let mut out = json!({"series": series});
    if !t.metadata.is_empty() {
        out["metadata"] = t
            .metadata
            .iter()
            .map(|m| json!({"type": PromType::try_from(m.r#type).map(|t| t.as_str_name()).unwrap_or("?"), "family": m.metric_family_name, "help": m.help, "unit": m.unit}))
            .collect();
    }
    if !t.errors.is_empty() {
        out["errors"] = t.errors.iter().map(|e| json!(e)).collect();
    }
    out
}

#[test]
fn golden() {
    let mut g = crate::golden::Golden::new();
    let n = g.dir(&dir(), |case| {
        let req: ExportMetricsServiceRequest =
            serde_json::from_value(case.input["request"].clone()).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        render(&translate(&req.resource_metrics, &options(&case.input["options"])))
    });
    g.finish();
    assert!(n >= 10, "only {n} golden cases");
}

#[test]
fn spans_fill_small_gaps_and_split_large_ones() {
    // OTel offset 0: buckets at OTel 0,1,(2,3 empty),4, (5..9 empty), 10 → Prometheus 1,2,5,11.
    let (s, d) = spans(0, &[1, 2, 0, 0, 3, 0, 0, 0, 0, 0, 4], 0);
    assert_eq!(s, vec![BucketSpan { offset: 1, length: 5 }, BucketSpan { offset: 5, length: 1 }]);
    assert_eq!(d, vec![1, 1, -2, 0, 3, 1]);
    // Down-scaling by one merges pairs: OTel (-2,-1) → -1, (0,1) → 0, (2,3) → 1.
    let (s, d) = spans(-2, &[1, 1, 2, 2, 3, 3], 1);
    assert_eq!(s, vec![BucketSpan { offset: 0, length: 3 }]);
    assert_eq!(d, vec![2, 2, 2]);
}

fn table(file: &str) -> Vec<Value> {
    let p = dir().join(file);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    v["cases"].as_array().unwrap_or_else(|| panic!("{file}: no cases")).clone()
}

fn metric_type(s: &str) -> MetricType {
    match s {
        "gauge" => MetricType::Gauge,
        "monotonic_counter" => MetricType::MonotonicCounter,
        "non_monotonic_counter" => MetricType::NonMonotonicCounter,
        "histogram" => MetricType::Histogram,
        "exponential_histogram" => MetricType::ExponentialHistogram,
        "summary" => MetricType::Summary,
        _ => MetricType::Unknown,
    }
}

/// otlptranslator metric_namer_test.go `TestMetricNamer_Build`: every case, with the unit name
/// check it makes when suffixes are on.
#[test]
fn otlptranslator_metric_namer_build() {
    let cases = table("otlptranslator.TestMetricNamer_Build.json");
    let mut failures = Vec::new();
    for c in &cases {
        let case = c["name"].as_str().unwrap();
        let n = &c["namer"];
        let ns = n["namespace"].as_str().unwrap_or("");
        let namer = match n.get("strategy").and_then(Value::as_str) {
            Some(s) => MetricNamer::new(ns, Strategy::parse(s).unwrap()),
            None => MetricNamer {
                namespace: ns.to_string(),
                with_suffixes: n["with_suffixes"].as_bool().unwrap(),
                utf8_allowed: n["utf8_allowed"].as_bool().unwrap(),
            },
        };
        let m = &c["metric"];
        let got = namer.build(
            m["name"].as_str().unwrap(),
            m["unit"].as_str().unwrap(),
            metric_type(m["type"].as_str().unwrap()),
        );
        let want_err = c.get("want_error").and_then(Value::as_str);
        let (got_name, got_err) = match &got {
            Ok(n) => (n.as_str(), None),
            Err(e) => ("", Some(e.as_str())),
        };
        if got_err != want_err || got_name != c["want_metric_name"].as_str().unwrap() {
            failures.push(format!("{case}: got {got:?}, want {:?} / error {want_err:?}", c["want_metric_name"]));
        }
        if namer.with_suffixes {
            let unit = UnitNamer { utf8_allowed: namer.utf8_allowed }.build(m["unit"].as_str().unwrap());
            if unit != c["want_unit_name"].as_str().unwrap() {
                failures.push(format!("{case}: unit name {unit:?}, want {:?}", c["want_unit_name"]));
            }
            if !got_name.contains(&unit) {
                failures.push(format!("{case}: {got_name:?} does not contain the unit name {unit:?}"));
            }
        }
    }
    assert!(cases.len() >= 80, "only {} cases", cases.len());
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// otlptranslator label_namer_test.go `TestBuildLabel` (its four namer settings) and
/// `TestBuildLabel_UTF8Allowed`: every case of `labelTestCases`.
#[test]
fn otlptranslator_build_label() {
    let cases = table("otlptranslator.TestBuildLabel.json");
    let mut failures = Vec::new();
    let s = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    for c in &cases {
        let label = c["label"].as_str().unwrap();
        let sanitized = s(c, "sanitized").unwrap_or_default();
        let multi = s(c, "sanitized_multiple_underscores");
        let under = s(c, "sanitized_underscore_label_sanitization");
        let both = s(c, "sanitized_multiple_underscores_and_underscore_label_sanitization");
        let err = s(c, "want_sanitization_error");
        let multi_err = s(c, "want_sanitization_multiple_underscores_error").or(err.clone());
        let mut check = |what: &str, namer: LabelNamer, want: Result<String, String>| {
            let got = namer.build(label);
            if got != want {
                failures.push(format!("{label:?} ({what}): got {got:?}, want {want:?}"));
            }
        };
        // "Not preserving multiple underscores", and its "Sanitizing leading underscore" subtest.
        match &err {
            Some(e) => check("default", LabelNamer::default(), Err(e.clone())),
            None => {
                check("default", LabelNamer::default(), Ok(sanitized.clone()));
                let want = under.clone().unwrap_or(sanitized.clone());
                check("underscore", LabelNamer { underscore_label_sanitization: true, ..Default::default() }, Ok(want));
            }
        }
        // "Preserving multiple underscores", and its "Sanitizing leading underscore" subtest.
        match &multi_err {
            Some(e) => check(
                "preserve",
                LabelNamer { preserve_multiple_underscores: true, ..Default::default() },
                Err(e.clone()),
            ),
            None => {
                let want = multi.clone().unwrap_or(sanitized.clone());
                check("preserve", LabelNamer { preserve_multiple_underscores: true, ..Default::default() }, Ok(want));
                let want = both.or(under).or(multi).unwrap_or(sanitized);
                let namer = LabelNamer {
                    preserve_multiple_underscores: true,
                    underscore_label_sanitization: true,
                    ..Default::default()
                };
                check("preserve+underscore", namer, Ok(want));
            }
        }
        // TestBuildLabel_UTF8Allowed.
        let want = match s(c, "want_utf8_error") {
            Some(e) => Err(e),
            None => Ok(label.to_string()),
        };
        check("utf8", LabelNamer { utf8_allowed: true, ..Default::default() }, want);
    }
    assert!(cases.len() >= 15, "only {} cases", cases.len());
    assert!(failures.is_empty(), "{} checks differ:\n{}", failures.len(), failures.join("\n"));
}
