//! The `env` detector: `OTEL_RESOURCE_ATTRIBUTES` (else the deprecated `OTEL_RESOURCE`) as
//! `k=v,k2=v2`, values query-unescaped (Go: internal/env/env.go).

use super::{go_quote, AttrValue, Detected, Detection};
use regex::Regex;
use std::sync::OnceLock;

const ENV_VAR: &str = "OTEL_RESOURCE_ATTRIBUTES";
const DEPRECATED_ENV_VAR: &str = "OTEL_RESOURCE";

/// env.go labelRegex: one `key=value` pair up to a comma or the end, keys of 1–256 and values
/// of 0–256 ASCII characters, surrounding whitespace ignored. Go's `\s` is `[\t\n\f\r ]`
/// (no vertical tab), spelled out because the regex crate's `\s` is wider.
fn label_regex() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        let ws = r"[\t\n\x0C\r ]*";
        Regex::new(&format!(r"{ws}([[:ascii:]]{{1,256}}?){ws}={ws}([[:ascii:]]{{0,256}}?){ws}(?:,|$)")).ok()
    })
    .as_ref()
}

/// env.go initializeAttributeMap: every character must belong to a pair; the first problem is
/// the error. A repeated key keeps its first position and its last value (pcommon Map PutStr).
pub fn parse(s: &str) -> Result<Detected, String> {
    let re = label_regex().ok_or("the OTEL_RESOURCE_ATTRIBUTES pattern did not compile")?;
    let matches: Vec<regex::Captures> = re.captures_iter(s).collect();
    if matches.is_empty() {
        return Err(format!("invalid resource format: {}", go_quote(s)));
    }
    let mut out: Detected = Vec::new();
    let mut prev = 0;
    for m in &matches {
        let Some(whole) = m.get(0) else { continue };
        if whole.start() != prev {
            return Err(format!("invalid resource format, invalid text: {}", go_quote(&s[prev..whole.start()])));
        }
        let key = &m[1];
        let value = query_unescape(&m[2])
            .map_err(|e| format!("invalid resource format in attribute: {}, err: {e}", go_quote(whole.as_str())))?;
        match out.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = AttrValue::Str(value),
            None => out.push((key.to_string(), AttrValue::Str(value))),
        }
        prev = whole.end();
    }
    if prev != s.len() {
        return Err(format!("invalid resource format, invalid text: {}", go_quote(&s[prev..])));
    }
    Ok(out)
}

/// Go net/url QueryUnescape: `+` is a space, `%XX` a byte; a bad escape is an error naming up
/// to three characters from the `%`. Bytes that are not UTF-8 become U+FFFD (oxidot: a Go
/// string may hold them, a protobuf string may not).
pub fn query_unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
                match (b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                    }
                    _ => {
                        let end = (i + 3).min(b.len());
                        let bad = String::from_utf8_lossy(&b[i..end]);
                        return Err(format!("invalid URL escape {}", go_quote(&bad)));
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// env.go Detector.Detect: no variable (or only blanks) is an empty resource; a malformed one
/// is an error and no attributes.
pub fn detect(env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<Detection, String> {
    let get = |k: &str| env(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let mut labels = get(ENV_VAR);
    if labels.is_empty() {
        labels = get(DEPRECATED_ENV_VAR);
        if labels.is_empty() {
            return Ok(Detection::default());
        }
    }
    Ok(Detection { attrs: parse(&labels)?, schema_url: "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deprecated_variable_is_read_when_the_new_one_is_blank() {
        // env_test.go TestDetectDeprecatedEnv.
        let env = |k: &str| match k {
            "OTEL_RESOURCE_ATTRIBUTES" => Some("  ".to_string()),
            "OTEL_RESOURCE" => Some("key=value".to_string()),
            _ => None,
        };
        let d = detect(&env).unwrap();
        assert_eq!(d.attrs, vec![("key".to_string(), AttrValue::Str("value".into()))]);
        // env_test.go TestDetectFalse.
        assert_eq!(detect(&|_: &str| Some(String::new())).unwrap(), Detection::default());
    }

    #[test]
    fn long_values_do_not_match() {
        let long = format!("k={}", "v".repeat(257));
        assert_eq!(parse(&long).unwrap_err(), format!("invalid resource format: {}", go_quote(&long)));
        let ok = format!("k={}", "v".repeat(256));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn plus_is_a_space_and_repeated_keys_keep_the_last_value() {
        assert_eq!(
            parse("a=1+2,b=x,a=3").unwrap(),
            vec![("a".to_string(), AttrValue::Str("3".into())), ("b".to_string(), AttrValue::Str("x".into()))]
        );
        assert_eq!(parse("a=1+2").unwrap(), vec![("a".to_string(), AttrValue::Str("1 2".into()))]);
    }
}
