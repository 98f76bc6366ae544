//! Golden tests: `tests/fixtures/golden/awsxray/<case>.in.json` (options + OTLP/JSON request) →
//! `<case>.out.json` (one document, or the skip reason, per span). `UPDATE_GOLDEN=1` rewrites.

use super::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use std::path::PathBuf;

fn options(v: &Value) -> TranslateOptions {
    let strs = |k: &str| {
        v.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    TranslateOptions {
        indexed_attributes: strs("indexed_attributes"),
        index_all_attributes: v.get("index_all_attributes").and_then(Value::as_bool).unwrap_or(false),
        log_groups: strs("log_groups"),
        skip_timestamp_validation: v.get("skip_timestamp_validation").and_then(Value::as_bool).unwrap_or(false),
        now_secs: v.get("now_secs").and_then(Value::as_i64).unwrap_or(0),
    }
}

#[test]
fn golden() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/awsxray");
    let update = std::env::var("UPDATE_GOLDEN").is_ok();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let Some(case) = p.file_name().and_then(|f| f.to_str()).and_then(|f| f.strip_suffix(".in.json")) else {
            continue;
        };
        let input: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let req: ExportTraceServiceRequest = serde_json::from_value(input["request"].clone()).unwrap();
        let opts = options(&input["options"]);
        let mut got = Vec::new();
        for rs in &req.resource_spans {
            for sp in rs.scope_spans.iter().flat_map(|s| &s.spans) {
                got.push(match segment(sp, &rs.resource, &opts) {
                    Ok(doc) => doc,
                    Err(e) => json!({"skipped": e.to_string()}),
                });
            }
        }
        let got = Value::Array(got);
        let out = dir.join(format!("{case}.out.json"));
        if update {
            std::fs::write(&out, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        } else {
            let want: Value =
                serde_json::from_str(&std::fs::read_to_string(&out).unwrap_or_else(|_| panic!("{case}: no .out.json")))
                    .unwrap();
            assert_eq!(got, want, "{case}: differs from {}", out.display());
        }
        n += 1;
    }
    assert!(n >= 12, "only {n} cases");
}

#[test]
fn document_limit_drops_metadata_then_the_document() {
    let mut doc = json!({"name": "x", "metadata": {"default": {"big": "y".repeat(70_000)}}});
    let (s, trimmed) = serialize_within_limit(&mut doc).unwrap();
    assert!(trimmed && s.len() < 100);
    let mut huge = json!({"name": "z".repeat(70_000)});
    assert!(serialize_within_limit(&mut huge).is_none());
}
