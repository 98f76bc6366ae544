//! The Go library behaviour the Loki translator's output depends on, written for oxidot:
//! `encoding/json` (`json.Marshal` of pdata's `AsRaw()` values), pdata's `Value.AsString`,
//! `fmt`'s `%v` for floats and `strconv.Quote` (Prometheus `LabelSet.String`). The Prometheus
//! translator's `NormalizeLabel` is shared: `crate::translate::prom_names`.

use base64::Engine as _;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use crate::translate::gojson::{float_json, float_v, json_str, quote};

/// The value inside an optional `AnyValue` (`None`: pdata's empty value).
pub fn inner(v: &Option<AnyValue>) -> Option<&any_value::Value> {
    v.as_ref().and_then(|v| v.value.as_ref())
}

/// `json.Marshal(value.AsRaw())`: maps with sorted keys (the last of duplicate keys wins, as
/// `AsRaw` builds a Go map), bytes as standard base64, the empty value as `null`.
pub fn json_value(out: &mut String, v: &Option<AnyValue>) -> Result<(), String> {
    match inner(v) {
        None => out.push_str("null"),
        Some(any_value::Value::StringValue(s)) => json_str(out, s),
        Some(any_value::Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(any_value::Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(any_value::Value::DoubleValue(d)) => out.push_str(&float_json(*d)?),
        Some(any_value::Value::BytesValue(b)) => json_str(out, &base64::engine::general_purpose::STANDARD.encode(b)),
        Some(any_value::Value::ArrayValue(a)) => {
            out.push('[');
            for (i, x) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_value(out, &Some(x.clone()))?;
            }
            out.push(']');
        }
        Some(any_value::Value::KvlistValue(kv)) => {
            let m: BTreeMap<&str, &Option<AnyValue>> = kv.values.iter().map(|k| (k.key.as_str(), &k.value)).collect();
            json_map(out, &m)?;
        }
        Some(any_value::Value::StringValueStrindex(i)) => {
            let _ = write!(out, "{i}");
        }
    }
    Ok(())
}

/// A Go `map[string]any` as `json.Marshal` writes it (keys already sorted).
pub fn json_map(out: &mut String, m: &BTreeMap<&str, &Option<AnyValue>>) -> Result<(), String> {
    out.push('{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, k);
        out.push(':');
        json_value(out, v)?;
    }
    out.push('}');
    Ok(())
}

/// pdata `Value.AsString`: strings as they are, numbers and booleans as text, bytes as
/// base64, maps and slices as their JSON (empty on a JSON error), the empty value as "".
pub fn as_string(v: &Option<AnyValue>) -> String {
    match inner(v) {
        None => String::new(),
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => {
            float_json(*d).unwrap_or_else(|_| format!("json: unsupported value: {}", float_v(*d)))
        }
        Some(any_value::Value::BytesValue(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Some(any_value::Value::ArrayValue(_)) | Some(any_value::Value::KvlistValue(_)) => {
            let mut s = String::new();
            match json_value(&mut s, v) {
                Ok(()) => s,
                Err(_) => String::new(),
            }
        }
        Some(any_value::Value::StringValueStrindex(i)) => i.to_string(),
    }
}

/// pdata `Value.Str()`: the string of a string value, "" for every other type.
pub fn str_value(v: &Option<AnyValue>) -> &str {
    match inner(v) {
        Some(any_value::Value::StringValue(s)) => s,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_prints_them() {
        for (f, json, v) in [
            (1.0, "1", "1"),
            (1.1, "1.1", "1.1"),
            (-0.5, "-0.5", "-0.5"),
            (123456.0, "123456", "123456"),
            (1234567.0, "1234567", "1.234567e+06"),
            (1e21, "1e+21", "1e+21"),
            (1e20, "100000000000000000000", "1e+20"),
            (0.0001, "0.0001", "0.0001"),
            (0.00001, "0.00001", "1e-05"),
            (1.5e-7, "1.5e-7", "1.5e-07"),
            (0.0, "0", "0"),
        ] {
            assert_eq!(float_json(f).unwrap(), json, "{f}");
            assert_eq!(float_v(f), v, "{f}");
        }
        assert_eq!(float_json(f64::NAN).unwrap_err(), "json: unsupported value: NaN");
        assert_eq!(float_v(f64::INFINITY), "+Inf");
    }

    #[test]
    fn json_strings_are_html_safe() {
        let mut s = String::new();
        json_str(&mut s, "<a href=\"x\">&\u{2028}\u{1}\u{8}\t</a>é");
        assert_eq!(s, r#""\u003ca href=\"x\"\u003e\u0026\u2028\u0001\b\t\u003c/a\u003eé""#);
    }

    #[test]
    fn quote_as_strconv() {
        assert_eq!(
            quote("a\"b\\c\nd\u{1}\u{7f}é\u{a0}\u{200b}🙂\u{e0001}"),
            r#""a\"b\\c\nd\x01\x7fé\u00a0\u200b🙂\U000e0001""#
        );
    }
}
