//! Go's `encoding/json`, `fmt` and `strconv.Quote` number and string formats, for translators whose output must
//! match the Go collector's byte for byte (the awsxray documents, the loki JSON and logfmt lines).

use regex::Regex;
use std::fmt::Write as _;
use std::sync::LazyLock;

/// The shortest round-trip digits of `f` as `(mantissa, exponent)`, mantissa like `1.5`.
fn sci(f: f64) -> (String, i32) {
    let s = format!("{:e}", f);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    (m.to_string(), e.parse().unwrap_or(0))
}

/// `encoding/json`'s float encoding (also pdata `AsString` for doubles): ES6 style, exponent
/// form below 1e-6 and from 1e21, exponent without padding (`1e-7`, `1e+21`).
pub fn float_json(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!("json: unsupported value: {}", float_v(f)));
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let (m, e) = sci(f);
        return Ok(format!("{m}e{}{}", if e < 0 { '-' } else { '+' }, e.abs()));
    }
    Ok(format!("{f}"))
}

/// `fmt.Sprint(float64)` (`%v`: `strconv.FormatFloat(f, 'g', -1, 64)`): exponent form when the
/// exponent is below -4 or at least 6, padded to two digits (`1e+06`, `1.5e-05`).
pub fn float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let (m, e) = sci(f);
    if !(-4..6).contains(&e) {
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    format!("{f}")
}

/// A JSON string as `encoding/json` writes it (HTML-safe: `<`, `>`, `&`, U+2028 and U+2029
/// escaped; `\b`, `\f`, `\n`, `\r`, `\t` short; other control characters `\u00XX`).
pub fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// [`json_str`] appended to bytes in one pass over the string's bytes (the hot path of the X-Ray
/// documents: only ASCII specials and the three-byte U+2028/U+2029 need a look).
pub fn json_str_bytes(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        let c = b[i];
        let line_sep = c == 0xE2 && i + 2 < b.len() && b[i + 1] == 0x80 && (b[i + 2] == 0xA8 || b[i + 2] == 0xA9);
        if !(c < 0x20 || matches!(c, b'"' | b'\\' | b'<' | b'>' | b'&') || line_sep) {
            i += 1;
            continue;
        }
        out.extend_from_slice(&b[start..i]);
        let width = if line_sep { 3 } else { 1 };
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0xE2 => out.extend_from_slice(if b[i + 2] == 0xA8 { b"\\u2028" } else { b"\\u2029" }),
            _ => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(c >> 4) as usize], HEX[(c & 0xf) as usize]]),
        }
        i += width;
        start = i;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

// Go's strconv.IsPrint (a constant pattern: the unit tests below exercise it).
static PRINTABLE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^[\p{L}\p{M}\p{N}\p{P}\p{S}]$").ok());

fn char_is(re: &Option<Regex>, c: char) -> bool {
    let mut b = [0u8; 4];
    re.as_ref().is_some_and(|re| re.is_match(c.encode_utf8(&mut b)))
}

/// `strconv.Quote`: printable runes (Unicode L, M, N, P, S and the ASCII space) as they are,
/// `\a \b \f \n \r \t \v`, other control characters `\xXX`, other runes `\uXXXX`/`\UXXXXXXXX`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if char_is(&PRINTABLE, c) => out.push(c),
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_str_bytes_escapes_as_json_str() {
        let mut cases: Vec<String> = (0u8..0x80).map(|b| format!("a{}b", b as char)).collect();
        cases.extend(
            ["", "plain", "\u{2028}x\u{2029}", "é\u{2027}\u{202a}", "🦀\"<&>", "\u{e2}", "tail\u{2028}", "\\\n\t"]
                .map(String::from),
        );
        for s in &cases {
            let mut want = String::new();
            json_str(&mut want, s);
            let mut got = Vec::new();
            json_str_bytes(&mut got, s);
            assert_eq!(String::from_utf8_lossy(&got), want, "{s:?}");
        }
        let mut got = Vec::new();
        json_str_bytes(&mut got, "<\u{2028}");
        assert_eq!(got, b"\"\\u003c\\u2028\"");
    }
}
