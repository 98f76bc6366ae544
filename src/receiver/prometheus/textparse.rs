//! Parsers of the two text formats a scrape may answer with: the Prometheus text format 0.0.4
//! (and 1.0.0, which only adds quoted UTF-8 names) and OpenMetrics 1.0
//! (prometheus/model/textparse promparse.go and openmetricsparse.go: the same inputs are
//! accepted and the same samples come out; OpenMetrics timestamps are seconds, converted to
//! milliseconds, and the body must end with `# EOF`).

use super::labels::{Labels, METRIC_NAME};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain` (0.0.4 or 1.0.0).
    PromText,
    /// `application/openmetrics-text`.
    OpenMetrics,
}

/// `# TYPE` values of both formats (model.MetricType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    #[default]
    Unknown,
}

impl MetricType {
    fn parse(s: &str) -> Option<MetricType> {
        Some(match s {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "gaugehistogram" => MetricType::GaugeHistogram,
            "summary" => MetricType::Summary,
            "info" => MetricType::Info,
            "stateset" => MetricType::StateSet,
            "untyped" | "unknown" => MetricType::Unknown,
            _ => return None,
        })
    }
}

/// What `# TYPE`, `# HELP` and `# UNIT` said about one family.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    pub typ: MetricType,
    pub help: String,
    pub unit: String,
}

/// An OpenMetrics exemplar.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// One sample: its labels (with `__name__`), value and own timestamp if it had one.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
    pub exemplar: Option<Exemplar>,
}

/// A parsed body: samples in order and metadata by family name.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    pub samples: Vec<Sample>,
    pub metadata: HashMap<String, Metadata>,
}

/// The format a `Content-Type` names, or `fallback` when it is blank or another type
/// (textparse.extractMediaType; the receiver's fallback is PrometheusText0.0.4).
pub fn format_of(content_type: &str, fallback: Option<Format>) -> Result<Format, String> {
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match media.as_str() {
        "application/openmetrics-text" => Ok(Format::OpenMetrics),
        "text/plain" => Ok(Format::PromText),
        "" => fallback.ok_or_else(|| {
            "non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target"
                .to_string()
        }),
        _ => fallback.ok_or_else(|| {
            format!("received unsupported Content-Type {content_type:?} and no fallback_scrape_protocol specified for target")
        }),
    }
}

/// Parses a whole body.
pub fn parse(body: &str, format: Format) -> Result<Parsed, String> {
    let om = format == Format::OpenMetrics;
    let mut out = Parsed::default();
    let mut saw_eof = false;
    for (n, raw) in body.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let err = |m: &str| format!("line {}: {m}: {:?}", n + 1, truncate(line));
        if saw_eof {
            if line.is_empty() {
                continue;
            }
            return Err(err("unexpected data after # EOF"));
        }
        let t = if om { line } else { line.trim_start_matches([' ', '\t']) };
        if t.is_empty() {
            continue;
        }
        if let Some(rest) = t.strip_prefix('#') {
            if om && rest == " EOF" {
                saw_eof = true;
                continue;
            }
            comment(rest, om, &mut out.metadata).map_err(|m| err(&m))?;
            continue;
        }
        let s = sample(t, om).map_err(|m| err(&m))?;
        out.samples.push(s);
    }
    if om && !saw_eof {
        return Err("data does not end with # EOF".into());
    }
    Ok(out)
}

fn truncate(s: &str) -> String {
    s.chars().take(120).collect()
}

/// `# HELP`, `# TYPE`, `# UNIT`; other comments are skipped.
fn comment(rest: &str, om: bool, md: &mut HashMap<String, Metadata>) -> Result<(), String> {
    let rest = rest.trim_start_matches([' ', '\t']);
    let (kw, after) = match rest.split_once([' ', '\t']) {
        Some((k, a)) => (k, a),
        None => (rest, ""),
    };
    if !(matches!(kw, "HELP" | "TYPE") || om && kw == "UNIT") {
        return Ok(());
    }
    let after = after.trim_start_matches([' ', '\t']);
    let (name, text) = if after.starts_with('"') {
        let (n, used) = quoted(after)?;
        (n, after[used..].trim_start_matches([' ', '\t']))
    } else {
        match after.split_once([' ', '\t']) {
            Some((n, t)) => (n.to_string(), t),
            None => (after.to_string(), ""),
        }
    };
    if name.is_empty() {
        return Err(format!("expected metric name after {kw}"));
    }
    let entry = md.entry(name).or_default();
    match kw {
        "HELP" => entry.help = unescape_help(text),
        "TYPE" => {
            entry.typ =
                MetricType::parse(text.trim()).ok_or_else(|| format!("invalid metric type {:?}", text.trim()))?
        }
        _ => entry.unit = text.trim().to_string(),
    }
    Ok(())
}

fn unescape_help(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A `"…"` string at the start of `s`: its unescaped text and the bytes used.
fn quoted(s: &str) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    chars.next(); // the opening quote
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, o)) => {
                    out.push('\\');
                    out.push(o);
                }
                None => return Err("unterminated quoted string".into()),
            },
            '\n' => return Err("newline in quoted string".into()),
            c => out.push(c),
        }
    }
    Err("unterminated quoted string".into())
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn bare_name(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !is_name_char(c)).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// `name{labels} value [timestamp] [# {exemplar labels} value [timestamp]]`.
fn sample(line: &str, om: bool) -> Result<Sample, String> {
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut name = String::new();
    let mut rest = line;
    if rest.starts_with(is_name_start) {
        let (n, r) = bare_name(rest);
        name = n.to_string();
        rest = r;
        // The text format allows blanks between the name and its labels.
        let t = rest.trim_start_matches([' ', '\t']);
        if !om && t.starts_with('{') {
            rest = t;
        }
    } else if !rest.starts_with('{') {
        return Err("expected a metric name".into());
    }
    if rest.starts_with('{') {
        let (ls, quoted_name, used) = label_set(rest, true)?;
        if let Some(q) = quoted_name {
            if !name.is_empty() {
                return Err("metric name given twice".into());
            }
            name = q;
        }
        labels = ls;
        rest = &rest[used..];
    }
    if name.is_empty() {
        return Err("expected a metric name".into());
    }
    let mut exemplar = None;
    let mut body = rest;
    if om {
        if let Some(i) = rest.find(" # ") {
            exemplar = Some(parse_exemplar(&rest[i + 3..])?);
            body = &rest[..i];
        }
    }
    if !body.starts_with([' ', '\t']) {
        return Err("expected a space before the value".into());
    }
    let mut fields = body.split([' ', '\t']).filter(|f| !f.is_empty());
    let value = parse_value(fields.next().ok_or("expected a value")?)?;
    let timestamp_ms = match fields.next() {
        None => None,
        Some(ts) if om => Some(seconds_to_ms(parse_value(ts)?)?),
        Some(ts) => Some(ts.parse::<i64>().map_err(|_| format!("invalid timestamp {ts:?}"))?),
    };
    if fields.next().is_some() {
        return Err("unexpected text after the timestamp".into());
    }
    let mut ls = Labels::new();
    for (k, v) in labels {
        if ls.has(&k) {
            return Err(format!("duplicate label name {k:?}"));
        }
        // An empty value is the same as no label (labels.Builder drops it).
        ls.set(k, v);
    }
    if ls.has(METRIC_NAME) {
        return Err("__name__ given as a label".into());
    }
    ls.set(METRIC_NAME.to_string(), name);
    Ok(Sample { labels: ls, value, timestamp_ms, exemplar })
}

fn seconds_to_ms(s: f64) -> Result<i64, String> {
    if !s.is_finite() {
        return Err("invalid timestamp".into());
    }
    Ok((s * 1000.0) as i64)
}

/// Go's strconv.ParseFloat forms the formats use (`NaN`, `+Inf`, `-Inf`, decimals, exponents).
fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => return Ok(f64::INFINITY),
        "-Inf" | "-inf" => return Ok(f64::NEG_INFINITY),
        "NaN" | "nan" => return Ok(f64::NAN),
        _ => {}
    }
    s.parse::<f64>()
        .ok()
        .filter(|_| !s.eq_ignore_ascii_case("infinity") && !s.eq_ignore_ascii_case("+infinity"))
        .ok_or_else(|| format!("invalid value {s:?}"))
}

/// `{a="1",b="2"}` at the start of `s`: the pairs, a quoted metric name if one stood alone
/// (`{"my.metric", a="1"}`), and the bytes used.
type LabelSet = (Vec<(String, String)>, Option<String>, usize);

fn label_set(s: &str, allow_name: bool) -> Result<LabelSet, String> {
    let mut pairs = Vec::new();
    let mut name = None;
    let mut i = 1; // after '{'
    loop {
        let rest = &s[i..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        i += rest.len() - trimmed.len();
        let rest = &s[i..];
        if rest.starts_with('}') {
            return Ok((pairs, name, i + 1));
        }
        let (key, used) = if rest.starts_with('"') {
            quoted(rest)?
        } else if rest.starts_with(is_name_start) {
            let (n, _) = bare_name(rest);
            (n.to_string(), n.len())
        } else {
            return Err("expected a label name".into());
        };
        i += used;
        let rest = &s[i..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        i += rest.len() - trimmed.len();
        let rest = &s[i..];
        if let Some(r) = rest.strip_prefix('=') {
            let r2 = r.trim_start_matches([' ', '\t']);
            i += 1 + (r.len() - r2.len());
            if !r2.starts_with('"') {
                return Err("expected a quoted label value".into());
            }
            let (val, used) = quoted(r2)?;
            i += used;
            pairs.push((key, val));
        } else if allow_name && name.is_none() && pairs.is_empty() && s[..i].trim_end().ends_with('"') {
            // A quoted metric name standing alone in the braces.
            name = Some(key);
        } else {
            return Err("expected '=' after the label name".into());
        }
        let rest = &s[i..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        i += rest.len() - trimmed.len();
        let rest = &s[i..];
        // The comma is optional: promlex accepts `{a="1" b="2"}`.
        if rest.starts_with(',') {
            i += 1;
        }
    }
}

fn parse_exemplar(s: &str) -> Result<Exemplar, String> {
    if !s.starts_with('{') {
        return Err("expected '{' at the start of the exemplar".into());
    }
    let (labels, _, used) = label_set(s, false)?;
    let mut fields = s[used..].split([' ', '\t']).filter(|f| !f.is_empty());
    let value = parse_value(fields.next().ok_or("expected the exemplar value")?)?;
    let timestamp_ms = match fields.next() {
        Some(ts) => Some(seconds_to_ms(parse_value(ts)?)?),
        None => None,
    };
    Ok(Exemplar { labels, value, timestamp_ms })
}

#[cfg(test)]
mod tests;
