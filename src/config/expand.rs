//! `${env:VAR}`, `${VAR}`, `${env:VAR:-default}` and `$$` in string values (keys are never
//! expanded), following the collector's confmap rules: a value that is exactly one reference is
//! re-read as YAML (so `${env:PORT}` can be a number); an unset variable without a default is
//! null and warned about; `:-default` applies only when the variable is unset.

use serde_yaml_ng::Value;

/// The result of expanding one config tree: the new tree and warnings to log.
#[derive(Debug)]
pub struct Expanded {
    pub value: Value,
    pub warnings: Vec<String>,
}

/// An expansion error: the YAML path and the message.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpandError {
    pub path: Vec<String>,
    pub message: String,
}

/// Expands every string value of `v`, reading variables through `lookup`.
pub fn expand(v: &Value, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Expanded, ExpandError> {
    let mut warnings = Vec::new();
    let mut path = Vec::new();
    let value = walk(v, lookup, &mut path, &mut warnings)?;
    Ok(Expanded { value, warnings })
}

fn walk(
    v: &Value,
    lookup: &dyn Fn(&str) -> Option<String>,
    path: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Value, ExpandError> {
    Ok(match v {
        Value::String(s) => expand_str(s, lookup, path, warnings)?,
        Value::Sequence(seq) => {
            let mut out = Vec::with_capacity(seq.len());
            for (i, x) in seq.iter().enumerate() {
                path.push(i.to_string());
                out.push(walk(x, lookup, path, warnings)?);
                path.pop();
            }
            Value::Sequence(out)
        }
        Value::Mapping(m) => {
            let mut out = serde_yaml_ng::Mapping::with_capacity(m.len());
            for (k, x) in m {
                path.push(key_text(k));
                out.insert(k.clone(), walk(x, lookup, path, warnings)?);
                path.pop();
            }
            Value::Mapping(out)
        }
        other => other.clone(),
    })
}

pub(crate) fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => "?".into(),
    }
}

enum Piece {
    Text(String),
    /// A reference; `None` when the variable is unset and has no default.
    Ref(Option<String>),
}

fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn expand_str(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    path: &[String],
    warnings: &mut Vec<String>,
) -> Result<Value, ExpandError> {
    if !s.contains('$') {
        return Ok(Value::String(s.to_string()));
    }
    let err = |message: String| ExpandError { path: path.to_vec(), message };
    let mut pieces: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'$') {
            text.push('$');
            i += 2;
        } else if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            let rest = &s[i + 2..];
            let end = rest.find('}').ok_or_else(|| err(format!("unterminated reference in {s:?}: missing '}}'")))?;
            let inner = &rest[..end];
            if inner.contains('$') {
                return Err(err(format!("invalid reference ${{{inner}}}: '$' is not allowed inside")));
            }
            let (scheme, opaque) = match inner.split_once(':') {
                Some((sch, o)) => (sch, o),
                None => ("env", inner),
            };
            if scheme != "env" {
                return Err(err(format!(
                    "unsupported scheme {scheme:?} in ${{{inner}}}: oxidot expands only env references"
                )));
            }
            let (name, default) = match opaque.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (opaque, None),
            };
            if !is_var_name(name) {
                return Err(err(format!(
                    "environment variable {name:?} has an invalid name: use letters, digits and _"
                )));
            }
            let val = match lookup(name) {
                Some(v) => Some(v),
                None => match default {
                    Some(d) => Some(d.to_string()),
                    None => {
                        warnings.push(format!(
                            "{}: configuration references unset environment variable {name}",
                            path.join("::")
                        ));
                        None
                    }
                },
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Ref(val));
            i += 2 + end + 1;
        } else {
            // Copy one whole UTF-8 character.
            let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
            text.push_str(&s[i..i + ch_len]);
            i += ch_len;
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    match pieces.as_slice() {
        // One whole reference: typed as YAML (numbers, bools, lists), or null when unset.
        [Piece::Ref(None)] => Ok(Value::Null),
        [Piece::Ref(Some(v))] => Ok(match serde_yaml_ng::from_str::<Value>(v) {
            Ok(Value::Mapping(_)) | Ok(Value::Sequence(_)) | Err(_) => Value::String(v.clone()),
            Ok(Value::Null) if !v.trim().is_empty() && v.trim() != "~" && v.trim() != "null" => {
                Value::String(v.clone())
            }
            Ok(Value::Null) => Value::String(String::new()),
            Ok(scalar) => scalar,
        }),
        _ => {
            let mut out = String::new();
            for p in pieces {
                match p {
                    Piece::Text(t) => out.push_str(&t),
                    Piece::Ref(Some(v)) => out.push_str(&v),
                    Piece::Ref(None) => {}
                }
            }
            Ok(Value::String(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("collector".into()),
            "PORT" => Some("4317".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn x(s: &str) -> Value {
        let v: Value = serde_yaml_ng::from_str(s).unwrap();
        expand(&v, &env).unwrap().value
    }

    #[test]
    fn expands_forms() {
        assert_eq!(x("a: ${env:HOST}:${PORT}"), serde_yaml_ng::from_str::<Value>("a: collector:4317").unwrap());
        assert_eq!(x("a: ${env:PORT}"), serde_yaml_ng::from_str::<Value>("a: 4317").unwrap());
        assert_eq!(x("a: ${env:NOPE:-x.y}"), serde_yaml_ng::from_str::<Value>("a: x.y").unwrap());
        assert_eq!(x("a: ${env:EMPTY:-x}"), serde_yaml_ng::from_str::<Value>("a: ''").unwrap());
        assert_eq!(x("a: ${env:NOPE}"), serde_yaml_ng::from_str::<Value>("a: null").unwrap());
        assert_eq!(x("a: $$5 and $${env:HOST}"), serde_yaml_ng::from_str::<Value>("a: '$5 and ${env:HOST}'").unwrap());
        assert_eq!(x("a: $HOST"), serde_yaml_ng::from_str::<Value>("a: $HOST").unwrap());
        assert_eq!(x("${env:HOST}: v"), serde_yaml_ng::from_str::<Value>("${env:HOST}: v").unwrap());
    }

    #[test]
    fn warns_on_unset_and_rejects_bad_refs() {
        let v: Value = serde_yaml_ng::from_str("e: {x: '${NOPE}'}").unwrap();
        let out = expand(&v, &env).unwrap();
        assert_eq!(out.warnings.len(), 1);
        assert!(out.warnings[0].contains("e::x") && out.warnings[0].contains("NOPE"));
        let bad: Value = serde_yaml_ng::from_str("e: {x: '${file:/etc/passwd}'}").unwrap();
        let e = expand(&bad, &env).unwrap_err();
        assert_eq!(e.path, vec!["e", "x"]);
        assert!(e.message.contains("unsupported scheme"));
        let bad: Value = serde_yaml_ng::from_str("e: '${1A}'").unwrap();
        assert!(expand(&bad, &env).unwrap_err().message.contains("invalid name"));
        let bad: Value = serde_yaml_ng::from_str("e: '${A'").unwrap();
        assert!(expand(&bad, &env).unwrap_err().message.contains("unterminated"));
    }
}
