//! The `env` detector: `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k2=v2`, percent-decoded).

use super::{AttrValue, Detected};

/// Parses `OTEL_RESOURCE_ATTRIBUTES`; malformed pairs are skipped and reported by position
/// (values are not echoed: they may hold secrets).
pub fn parse(s: &str) -> (Detected, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, pair) in s.split(',').enumerate() {
        if pair.trim().is_empty() {
            continue;
        }
        let Some((k, v)) = pair.split_once('=') else {
            problems.push(format!("pair {} has no '='", i + 1));
            continue;
        };
        let key = k.trim();
        if key.is_empty() {
            problems.push(format!("pair {} has an empty key", i + 1));
            continue;
        }
        match percent_decode(v.trim()) {
            Some(val) => out.push((key.to_string(), AttrValue::Str(val))),
            None => problems.push(format!("the value of {key:?} is not valid percent-encoding")),
        }
    }
    (out, problems)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub fn detect(env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<Detected, String> {
    let Some(v) = env("OTEL_RESOURCE_ATTRIBUTES") else { return Ok(Vec::new()) };
    let (attrs, problems) = parse(&v);
    if !problems.is_empty() {
        tracing::warn!(detector = "env", problems = %problems.join("; "), "OTEL_RESOURCE_ATTRIBUTES has malformed pairs; they were skipped");
    }
    Ok(attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decodes() {
        let (a, p) = parse("service.name=enterprise-api, environment=dev,note=a%2Cb%20c");
        assert_eq!(
            a,
            vec![
                ("service.name".into(), AttrValue::Str("enterprise-api".into())),
                ("environment".into(), AttrValue::Str("dev".into())),
                ("note".into(), AttrValue::Str("a,b c".into())),
            ]
        );
        assert!(p.is_empty());
    }

    #[test]
    fn reports_malformed_pairs_without_values() {
        let (a, p) = parse("good=1,secretvalue,=x,bad=%zz");
        assert_eq!(a, vec![("good".into(), AttrValue::Str("1".into()))]);
        assert_eq!(p.len(), 3);
        assert!(!p.join(" ").contains("secretvalue"));
    }
}
