//! Shared config value types: Go-style durations (`200ms`, `5s`, `1m30s`).

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// A duration written as the Go collector writes them: `200ms`, `5s`, `1m30s`, `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct GoDuration(pub Duration);

impl GoDuration {
    pub const fn from_millis(ms: u64) -> Self {
        GoDuration(Duration::from_millis(ms))
    }
    pub const fn from_secs(s: u64) -> Self {
        GoDuration(Duration::from_secs(s))
    }
}

/// Parses a Go duration string.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let expected = || format!("invalid duration {s:?}: expected a number with a unit, like 200ms, 5s or 1m30s");
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.starts_with('-') {
        return Err(format!("invalid duration {s:?}: must not be negative"));
    }
    let mut total = 0f64;
    let mut rest = t;
    if rest.is_empty() {
        return Err(expected());
    }
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(expected)?;
        let num: f64 = rest[..num_end].parse().map_err(|_| expected())?;
        rest = &rest[num_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        let nanos_per = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(expected()),
        };
        total += num * nanos_per;
        rest = &rest[unit_end..];
    }
    // Go's time.Duration is int64 nanoseconds (about 292 years); larger is an error there too.
    if !total.is_finite() || total > i64::MAX as f64 {
        return Err(format!("invalid duration {s:?}: out of range (at most 2562047h)"));
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map(GoDuration).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5 seconds").is_err());
        assert!(parse_duration("-1s").unwrap_err().contains("negative"));
        assert!(parse_duration("9999999999h").unwrap_err().contains("out of range"));
    }
}
