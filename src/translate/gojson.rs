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
