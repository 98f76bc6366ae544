//! Prometheus label-name rules shared by translators: contrib `pkg/translator/prometheus`
//! normalize_label.go `NormalizeLabel`, which the v0.130 loki translator calls. (The remote write
//! translator follows otlptranslator's `LabelNamer` instead: prometheusremotewrite/naming.rs.)

use regex::Regex;
use std::sync::LazyLock;

// Go's unicode.IsLetter || unicode.IsDigit (a constant pattern: the unit tests below exercise it).
static LETTER_OR_DIGIT: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^[\p{L}\p{Nd}]$").ok());

fn letter_or_digit(c: char) -> bool {
    let mut b = [0u8; 4];
    LETTER_OR_DIGIT.as_ref().is_some_and(|re| re.is_match(c.encode_utf8(&mut b)))
}

/// pkg/translator/prometheus normalize_label.go `NormalizeLabel` (what the v0.130 loki
/// translator calls, not otlptranslator): every rune that is not a Unicode letter or decimal
/// digit becomes `_`; a leading digit gets `key_`; a single leading `_` gets `key`, unless the
/// alpha gate `pkg.translator.prometheus.PermissiveLabelSanitization` is on (`permissive`).
pub fn normalize_label(label: &str, permissive: bool) -> String {
    if label.is_empty() {
        return String::new();
    }
    let out: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || (!c.is_ascii() && letter_or_digit(c)) { c } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("key_{out}")
    } else if out.starts_with('_') && !out.starts_with("__") && !permissive {
        format!("key{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// contrib pkg/translator/prometheus normalize_label_test.go `TestSanitize`.
    #[test]
    fn legacy_label_names_for_loki() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/golden/prometheusremotewrite/normalize_label.TestSanitize.json");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let cases = v["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 6);
        for c in cases {
            let (label, want) = (c["label"].as_str().unwrap(), c["want"].as_str().unwrap());
            assert_eq!(normalize_label(label, false), want, "{label:?}");
        }
        assert_eq!(normalize_label("service.name", false), "service_name");
    }

    #[test]
    fn labels_normalized_as_prometheus_translator() {
        for (i, o) in [
            ("host.name", "host_name"),
            ("0abc", "key_0abc"),
            ("_abc", "key_abc"),
            ("__abc", "__abc"),
            ("héllo-wörld", "héllo_wörld"),
            ("a²", "a_"),
            ("", ""),
        ] {
            assert_eq!(normalize_label(i, false), o, "{i}");
        }
    }

    /// normalize_label_test.go `TestSanitizeDropSanitization`: with the gate on, a single
    /// leading `_` stays (a leading digit still gets `key_`).
    #[test]
    fn permissive_gate_keeps_a_leading_underscore() {
        for (i, o) in [("", ""), ("_test", "_test"), ("0test", "key_0test"), ("test", "test"), ("__test", "__test")] {
            assert_eq!(normalize_label(i, true), o, "{i}");
        }
    }
}
