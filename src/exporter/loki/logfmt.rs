//! logfmt as the Go translator gets it from github.com/go-logfmt/logfmt: the decoder its
//! `parseLogfmtLine` runs on string bodies and the encoder behind `logfmt.MarshalKeyvals`.
//! Written for oxidot from the library's documented behaviour.

use std::fmt::Write as _;

/// A key: Go keeps keys decoded from a body as `[]byte` and the others as `string`; only
/// string keys are ever matched by `keyvalsReplaceOrAppend` (encode.go).
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub text: Vec<u8>,
    pub from_body: bool,
}

impl Key {
    pub fn s(s: &str) -> Self {
        Key { text: s.as_bytes().to_vec(), from_body: false }
    }
}

/// A value with the Go type that decides how go-logfmt writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Go `string`: quoted when needed, the text `null` always quoted.
    Str(String),
    /// Go `[]byte` (decoded body values, pdata bytes): quoted when needed.
    Bytes(Vec<u8>),
    /// A decoded key without `=`: Go's nil `[]byte`, written as nothing (`key=`).
    NilBytes,
    Bool(bool),
    Int(i64),
    Uint(u32),
    Float(f64),
}

/// Decoded pairs: key, and value (`None`: no value, Go's nil `[]byte`).
pub type Pairs = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// bufio.Scanner's default limit: a first line this long makes the decoder fail.
const MAX_TOKEN: usize = 64 * 1024;

/// go-logfmt `Decoder` on the first line of `body` (`ScanRecord` once, then `ScanKeyval` until
/// false): the pairs, or `None` on a syntax error or a line too long for the scanner.
pub fn parse_first_line(body: &str) -> Option<Pairs> {
    let raw = body.as_bytes();
    let line_end = raw.iter().position(|&c| c == b'\n').unwrap_or(raw.len());
    if line_end >= MAX_TOKEN {
        return None;
    }
    if raw.is_empty() {
        return Some(Vec::new());
    }
    let mut line = &raw[..line_end];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        // garbage
        match line[pos..].iter().position(|&c| c > b' ') {
            Some(p) => pos += p,
            None => return Some(out),
        }
        // key
        let start = pos;
        let mut multibyte = false;
        let mut key: Option<&[u8]> = None;
        let mut saw_equal = false;
        while pos < line.len() {
            let c = line[pos];
            if c == b'=' {
                if pos > start {
                    key = Some(&line[start..pos]);
                }
                key?;
                saw_equal = true;
                break;
            } else if c == b'"' {
                return None;
            } else if c <= b' ' {
                break;
            } else if c >= 0x80 {
                multibyte = true;
            }
            pos += 1;
        }
        if key.is_none() && pos > start {
            key = Some(&line[start..pos]);
        }
        // The garbage loop stopped on a byte above space that is not `"` or `=`: never None.
        let key = key?;
        if multibyte && String::from_utf8_lossy(key).contains('\u{fffd}') {
            return None;
        }
        if !saw_equal {
            out.push((key.to_vec(), None));
            continue;
        }
        // equal
        pos += 1;
        if pos >= line.len() || line[pos] <= b' ' {
            out.push((key.to_vec(), None));
            continue;
        }
        if line[pos] == b'"' {
            // quoted value
            let start = pos;
            let (mut has_esc, mut esc) = (false, false);
            let mut end = None;
            for (p, &c) in line[pos + 1..].iter().enumerate() {
                if esc {
                    esc = false;
                } else if c == b'\\' {
                    has_esc = true;
                    esc = true;
                } else if c == b'"' {
                    end = Some(pos + p + 2);
                    break;
                }
            }
            let end = end?;
            pos = end;
            let value = if has_esc {
                Some(unquote(&line[start + 1..end - 1])?)
            } else if end - 1 > start + 1 {
                Some(line[start + 1..end - 1].to_vec())
            } else {
                None
            };
            out.push((key.to_vec(), value));
            continue;
        }
        // plain value
        let start = pos;
        while pos < line.len() {
            let c = line[pos];
            if c == b'=' || c == b'"' {
                return None;
            }
            if c <= b' ' {
                break;
            }
            pos += 1;
        }
        out.push((key.to_vec(), Some(line[start..pos].to_vec())));
    }
}

fn hex4(s: &[u8]) -> Option<u32> {
    if s.len() < 4 {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(&s[..4]).ok()?, 16)
        .ok()
        .filter(|_| s[..4].iter().all(u8::is_ascii_hexdigit))
}

/// The JSON-style unquoting go-logfmt applies to quoted values with escapes (contents between
/// the quotes): `\" \\ \/ \' \b \f \n \r \t \uXXXX` (surrogate pairs joined, lone ones
/// U+FFFD); control bytes and unknown escapes make the value invalid.
fn unquote(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut r = 0;
    while r < s.len() {
        let c = s[r];
        if c == b'\\' {
            r += 1;
            let e = *s.get(r)?;
            match e {
                b'"' | b'\\' | b'/' | b'\'' => out.push(e),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'u' => {
                    let mut rr = hex4(&s[r + 1..])?;
                    r += 5;
                    if (0xd800..0xe000).contains(&rr) {
                        let lo = if s.get(r) == Some(&b'\\') && s.get(r + 1) == Some(&b'u') {
                            hex4(&s[r + 2..])
                        } else {
                            None
                        };
                        match lo {
                            Some(lo) if (0xd800..0xdc00).contains(&rr) && (0xdc00..0xe000).contains(&lo) => {
                                rr = 0x10000 + ((rr - 0xd800) << 10) + (lo - 0xdc00);
                                r += 6;
                            }
                            _ => rr = 0xfffd,
                        }
                    }
                    let ch = char::from_u32(rr).unwrap_or('\u{fffd}');
                    let mut b = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                    continue;
                }
                _ => return None,
            }
            r += 1;
        } else if c == b'"' || c < b' ' {
            return None;
        } else {
            out.push(c);
            r += 1;
        }
    }
    // Go coerces invalid UTF-8 to U+FFFD while unquoting.
    Some(String::from_utf8_lossy(&out).into_owned().into_bytes())
}

fn needs_quote(s: &str) -> bool {
    s.chars().any(|r| r <= ' ' || r == '=' || r == '"' || r == '\u{fffd}')
}

/// go-logfmt's quoted form: `\\ \" \n \r \t`, other bytes below 0x20 `\u00XX`, invalid UTF-8
/// (and U+FFFD) `\ufffd`.
fn write_quoted(out: &mut String, b: &[u8]) {
    out.push('"');
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{fffd}' => out.push_str("\\ufffd"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        // Go decodes one invalid byte at a time: one U+FFFD each.
        for _ in chunk.invalid() {
            out.push_str("\\ufffd");
        }
    }
    out.push('"');
}

fn write_bytes_value(out: &mut String, b: &[u8]) {
    let lossy = String::from_utf8_lossy(b);
    if needs_quote(&lossy) {
        write_quoted(out, b);
    } else {
        out.push_str(&lossy);
    }
}

fn write_str_value(out: &mut String, s: &str) {
    if s == "null" {
        out.push_str("\"null\"");
    } else if needs_quote(s) {
        write_quoted(out, s.as_bytes());
    } else {
        out.push_str(s);
    }
}

/// `logfmt.MarshalKeyvals`: `key=value` joined by spaces; keys lose runes at or below space,
/// `=`, `"` and U+FFFD, and a key left empty drops its pair.
pub fn marshal(keyvals: &[(Key, Val)]) -> String {
    let mut out = String::new();
    for (k, v) in keyvals {
        let key: String = String::from_utf8_lossy(&k.text)
            .chars()
            .filter(|&r| !(r <= ' ' || r == '=' || r == '"' || r == '\u{fffd}'))
            .collect();
        if key.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&key);
        out.push('=');
        match v {
            Val::Str(s) => write_str_value(&mut out, s),
            Val::Bytes(b) => write_bytes_value(&mut out, b),
            Val::NilBytes => {}
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Val::Uint(u) => {
                let _ = write!(out, "{u}");
            }
            Val::Float(f) => write_str_value(&mut out, &super::gofmt::float_v(*f)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &str) -> Option<Vec<(String, Option<String>)>> {
        parse_first_line(s).map(|v| {
            v.into_iter()
                .map(|(k, v)| (String::from_utf8(k).unwrap(), v.map(|v| String::from_utf8(v).unwrap())))
                .collect()
        })
    }

    #[test]
    fn decoder_as_go_logfmt() {
        let p = |k: &str, v: Option<&str>| (k.to_string(), v.map(str::to_string));
        assert_eq!(pairs("Example log"), Some(vec![p("Example", None), p("log", None)]));
        assert_eq!(
            pairs(r#"msg="hello world" a=1 b= c"#),
            Some(vec![p("msg", Some("hello world")), p("a", Some("1")), p("b", None), p("c", None)])
        );
        assert_eq!(pairs(r#"a="x\"y\u00e9""#), Some(vec![p("a", Some("x\"yé"))]));
        assert_eq!(pairs("a=1\nb=2"), Some(vec![p("a", Some("1"))]));
        assert_eq!(pairs(""), Some(vec![]));
        assert_eq!(pairs(r#"a="""#), Some(vec![p("a", None)]));
        assert_eq!(pairs("=a"), None);
        assert_eq!(pairs("a=b=c"), None);
        assert_eq!(pairs(r#"a"b"#), None);
        assert_eq!(pairs(r#"a="open"#), None);
        assert_eq!(pairs(r#"a="\x""#), None);
        assert_eq!(pairs(&"a".repeat(MAX_TOKEN)), None);
    }

    #[test]
    fn encoder_as_go_logfmt() {
        let kv = vec![
            (Key::s("a"), Val::Str("hello world".into())),
            (Key::s("b"), Val::Str(String::new())),
            (Key::s("c"), Val::Str("null".into())),
            (Key::s("d"), Val::Bytes(b"null".to_vec())),
            (Key::s("e f"), Val::NilBytes),
            (Key::s(" "), Val::Int(1)),
            (Key::s("g"), Val::Float(1e6)),
            (Key::s("h"), Val::Str("tab\there\u{1}".into())),
            (Key::s("i"), Val::Bytes(vec![b'a', 0xff])),
        ];
        assert_eq!(marshal(&kv), r#"a="hello world" b= c="null" d=null ef= g=1e+06 h="tab\there\u0001" i="a\ufffd""#);
    }

    /// go-logfmt v0.6.0 (pkg/translator/loki's go.mod through v0.130) neither quotes DEL in a
    /// value nor drops it from a key; v0.6.1 (Oct 2025, after the exporter's removal) does both.
    #[test]
    fn del_is_plain_as_go_logfmt_v0_6_0() {
        let kv = vec![(Key::s("k\u{7f}"), Val::Str("a\u{7f}b".into())), (Key::s("b"), Val::Bytes(b"\x7f".to_vec()))];
        assert_eq!(marshal(&kv), "k\u{7f}=a\u{7f}b b=\u{7f}");
    }
}
