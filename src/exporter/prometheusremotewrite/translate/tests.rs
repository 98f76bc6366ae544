//! Golden tests: `tests/fixtures/golden/prometheusremotewrite/<case>.in.json` holds
//! `{"options": {...}, "request": <OTLP/JSON ExportMetricsServiceRequest>}`; `<case>.out.json` the
//! expected series, metadata and drops. `UPDATE_GOLDEN=1` rewrites the outputs (review the diff).

use super::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use serde_json::{json, Value};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/prometheusremotewrite")
}

fn options(v: &Value) -> TranslateOptions {
    let b = |k: &str, d: bool| v.get(k).and_then(Value::as_bool).unwrap_or(d);
    TranslateOptions {
        namespace: v.get("namespace").and_then(Value::as_str).unwrap_or("").to_string(),
        add_metric_suffixes: b("add_metric_suffixes", true),
        resource_to_telemetry: b("resource_to_telemetry", false),
        target_info: b("target_info", true),
        send_metadata: b("send_metadata", false),
        external_labels: v
            .get("external_labels")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (label_name(k), v.as_str().unwrap_or("").to_string())).collect())
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
            .map(|m| json!({"type": MetricType::try_from(m.r#type).map(|t| t.as_str_name()).unwrap_or("?"), "family": m.metric_family_name, "help": m.help, "unit": m.unit}))
            .collect();
    }
    if !t.dropped.is_empty() {
        out["dropped"] = t.dropped.iter().map(|(n, why)| json!([n, why])).collect();
    }
    out
}

#[test]
fn golden() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok();
    let mut n = 0;
    for e in std::fs::read_dir(dir()).unwrap() {
        let p = e.unwrap().path();
        let Some(case) = p.file_name().and_then(|f| f.to_str()).and_then(|f| f.strip_suffix(".in.json")) else {
            continue;
        };
        let input: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let req: ExportMetricsServiceRequest =
            serde_json::from_value(input["request"].clone()).unwrap_or_else(|e| panic!("{case}: {e}"));
        let got = render(&translate(&req.resource_metrics, &options(&input["options"])));
        let out = dir().join(format!("{case}.out.json"));
        if update {
            std::fs::write(&out, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        } else {
            let want: Value =
                serde_json::from_str(&std::fs::read_to_string(&out).unwrap_or_else(|_| panic!("{case}: no .out.json")))
                    .unwrap();
            assert_eq!(got, want, "{case}: translation differs from {}", out.display());
        }
        n += 1;
    }
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
