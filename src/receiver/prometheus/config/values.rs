//! The value syntaxes of a Prometheus configuration (prometheus/config and common/model):
//! scrape protocols and their Accept header, durations, byte sizes, TLS versions and the
//! `$VAR` expansion of external labels.

use serde_yaml_ng::Value;
use std::time::Duration;

/// config.ScrapeProtocolsHeaders.
pub(super) fn protocol_header(p: &str) -> Option<(&'static str, bool)> {
    // (media type, takes the escaping parameter)
    Some(match p {
        "PrometheusText0.0.4" => ("text/plain;version=0.0.4", false),
        "PrometheusText1.0.0" => ("text/plain;version=1.0.0", true),
        "OpenMetricsText0.0.1" => ("application/openmetrics-text;version=0.0.1", false),
        "OpenMetricsText1.0.0" => ("application/openmetrics-text;version=1.0.0", true),
        "PrometheusProto" => return None,
        _ => return None,
    })
}

pub(super) const DEFAULT_PROTOCOLS: &[&str] =
    &["OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText1.0.0", "PrometheusText0.0.4"];

/// The Accept header a scrape sends (scrape.acceptHeader, escaping=allow-utf-8).
pub fn accept_header(protocols: &[String]) -> String {
    let mut vals = Vec::new();
    // len(ScrapeProtocolsHeaders) + 1
    let mut weight = 6;
    for p in protocols {
        if let Some((media, escaping)) = protocol_header(p) {
            let mut v = media.to_string();
            if escaping {
                v.push_str(";escaping=allow-utf-8");
            }
            v.push_str(&format!(";q=0.{weight}"));
            vals.push(v);
            weight -= 1;
        }
    }
    vals.push(format!("*/*;q=0.{weight}"));
    vals.join(",")
}

/// A Prometheus duration (model.ParseDuration): `1y2w3d4h5m6s7ms`, each unit at most once and
/// in that order, or `0`.
pub fn parse_prom_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("not a valid duration string: {s:?}");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(bad());
    }
    const UNITS: &[(&str, u64)] = &[
        ("y", 365 * 24 * 3600 * 1000),
        ("w", 7 * 24 * 3600 * 1000),
        ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000),
        ("m", 60 * 1000),
        ("s", 1000),
        ("ms", 1),
    ];
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let idx = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(bad)?;
        if idx < next_unit {
            return Err(bad());
        }
        next_unit = idx + 1;
        total = total.checked_add(n.checked_mul(UNITS[idx].1).ok_or_else(bad)?).ok_or_else(bad)?;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_millis(total))
}

/// units.Base2Bytes as Prometheus parses `body_size_limit`: `100MB` is 100 MiB.
pub(super) fn parse_bytes(v: &Value) -> Result<u64, String> {
    let s = match v {
        Value::Number(n) => return n.as_u64().ok_or_else(|| format!("invalid size {n}")),
        Value::String(s) => s.trim().to_string(),
        Value::Null => return Ok(0),
        _ => return Err("expected a size like 10MB".into()),
    };
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..digits].parse().map_err(|_| format!("invalid size {s:?}"))?;
    let mult: u64 = match s[digits..].trim() {
        "" | "B" => 1,
        "KB" | "KiB" => 1 << 10,
        "MB" | "MiB" => 1 << 20,
        "GB" | "GiB" => 1 << 30,
        "TB" | "TiB" => 1 << 40,
        _ => return Err(format!("invalid size {s:?}: use B, KB, MB, GB or TB")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("size {s:?} is too large"))
}

pub(super) fn tls_version(v: &Option<String>, key: &str) -> Result<String, String> {
    Ok(match v.as_deref() {
        None | Some("") => String::new(),
        Some("TLS10") => "1.0".into(),
        Some("TLS11") => "1.1".into(),
        Some("TLS12") => "1.2".into(),
        Some("TLS13") => "1.3".into(),
        Some(o) => return Err(format!("{key}: unknown TLS version {o:?} (TLS10, TLS11, TLS12 or TLS13)")),
    })
}

/// os.Expand as Prometheus applies it to external label values: `$$` is `$`, `$VAR` and
/// `${VAR}` are the variable (empty when unset).
pub fn os_expand(s: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' || i + 1 >= b.len() {
            let ch = s[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&s[i..i + ch]);
            i += ch;
            continue;
        }
        let rest = &s[i + 1..];
        if rest.starts_with('$') {
            out.push('$');
            i += 2;
        } else if let Some(inner) = rest.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => {
                    out.push_str(&env(&inner[..end]).unwrap_or_default());
                    i += 2 + end + 1;
                }
                None => {
                    // Go drops a bad `${` syntax.
                    i += 2;
                }
            }
        } else {
            let n = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if n == 0 {
                out.push('$');
                i += 1;
            } else {
                out.push_str(&env(&rest[..n]).unwrap_or_default());
                i += 1 + n;
            }
        }
    }
    out
}
