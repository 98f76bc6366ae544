//! The two documents the receiver reads, typed as Go reads them: `/task/stats` (docker stats
//! per container id; contrib docker_stats.go) and `/task` (internal/aws/ecsutil metadata.go).
//! Unknown fields are ignored and a field of the wrong type fails the document, as with Go's
//! encoding/json; `null` leaves a field at its zero value.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in nanoseconds from the Unix epoch.
pub const ZERO_TIME_NS: i128 = -62_135_596_800 * 1_000_000_000;

/// Days from 1970-01-01 to the civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Go `time.Parse(time.RFC3339Nano, s)` → nanoseconds from the Unix epoch.
pub fn parse_rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        (!part.is_empty() && part.bytes().all(|c| c.is_ascii_digit())).then(|| part.parse().ok()).flatten()
    };
    if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't')) {
        return None;
    }
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut frac_ns: i128 = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        let digits = s.get(start..i)?;
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        frac_ns = digits.parse::<i128>().ok()? * 10i128.pow(9 - digits.len() as u32);
    }
    let offset_s: i64 = match s.get(i..)? {
        "Z" | "z" => 0,
        z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) && z.as_bytes().get(3) == Some(&b':') => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    Some(i128::from(secs) * 1_000_000_000 + frac_ns)
}

/// A `time.Time` JSON field: an RFC 3339 string; null or absent is the zero time.
fn time_field<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(ZERO_TIME_NS),
        Some(s) => parse_rfc3339(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("parsing time {s:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse"))
        }),
    }
}

fn zero_time() -> i128 {
    ZERO_TIME_NS
}

/// A string field where `null` reads as "" (Go leaves the zero value).
fn nullable_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Go ContainerStats: one container's docker stats.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ContainerStats {
    #[serde(deserialize_with = "nullable_string")]
    pub name: String,
    #[serde(deserialize_with = "nullable_string")]
    pub id: String,
    #[serde(deserialize_with = "time_field", default = "zero_time")]
    pub read: i128,
    #[serde(deserialize_with = "time_field", default = "zero_time")]
    pub preread: i128,
    pub memory_stats: Option<MemoryStats>,
    pub blkio_stats: Option<DiskStats>,
    pub networks: Option<BTreeMap<String, NetworkStats>>,
    pub network_rate_stats: Option<NetworkRateStats>,
    pub cpu_stats: Option<CpuStats>,
    pub precpu_stats: Option<CpuStats>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct MemoryStats {
    pub usage: Option<u64>,
    pub max_usage: Option<u64>,
    pub limit: Option<u64>,
    pub stats: Option<BTreeMap<String, u64>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct DiskStats {
    pub io_service_bytes_recursive: Option<Vec<IoServiceBytes>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct IoServiceBytes {
    #[serde(deserialize_with = "nullable_string")]
    pub op: String,
    pub value: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct NetworkStats {
    pub rx_bytes: Option<u64>,
    pub rx_packets: Option<u64>,
    pub rx_errors: Option<u64>,
    pub rx_dropped: Option<u64>,
    pub tx_bytes: Option<u64>,
    pub tx_packets: Option<u64>,
    pub tx_errors: Option<u64>,
    pub tx_dropped: Option<u64>,
}

/// Computed by the ECS agent, not docker.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct NetworkRateStats {
    pub rx_bytes_per_sec: Option<f64>,
    pub tx_bytes_per_sec: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CpuUsage {
    pub total_usage: Option<u64>,
    pub usage_in_kernelmode: Option<u64>,
    pub usage_in_usermode: Option<u64>,
    pub percpu_usage: Option<Vec<Option<u64>>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CpuStats {
    pub cpu_usage: Option<CpuUsage>,
    pub online_cpus: Option<u64>,
    pub system_cpu_usage: Option<u64>,
}

/// `/task/stats`: container id → stats (`null` or `{}` for a container without stats).
pub type TaskStats = BTreeMap<String, Option<ContainerStats>>;

/// Go ecsutil.Limits.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Limits {
    #[serde(rename = "CPU")]
    pub cpu: Option<f64>,
    #[serde(rename = "Memory")]
    pub memory: Option<u64>,
}

/// Go ecsutil.ContainerMetadata (the fields the receiver reads).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerMetadata {
    #[serde(rename = "Name", deserialize_with = "nullable_string")]
    pub container_name: String,
    #[serde(rename = "DockerId", deserialize_with = "nullable_string")]
    pub docker_id: String,
    #[serde(deserialize_with = "nullable_string")]
    pub docker_name: String,
    #[serde(deserialize_with = "nullable_string")]
    pub image: String,
    #[serde(rename = "ImageID", deserialize_with = "nullable_string")]
    pub image_id: String,
    #[serde(deserialize_with = "nullable_string")]
    pub created_at: String,
    #[serde(deserialize_with = "nullable_string")]
    pub started_at: String,
    #[serde(deserialize_with = "nullable_string")]
    pub finished_at: String,
    #[serde(deserialize_with = "nullable_string")]
    pub known_status: String,
    pub exit_code: Option<i64>,
    pub limits: Option<Limits>,
}

/// Go ecsutil.TaskMetadata (the fields the receiver reads).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskMetadata {
    #[serde(deserialize_with = "nullable_string")]
    pub availability_zone: String,
    #[serde(deserialize_with = "nullable_string")]
    pub cluster: String,
    pub containers: Option<Vec<ContainerMetadata>>,
    #[serde(deserialize_with = "nullable_string")]
    pub family: String,
    #[serde(deserialize_with = "nullable_string")]
    pub known_status: String,
    #[serde(deserialize_with = "nullable_string")]
    pub launch_type: String,
    pub limits: Option<Limits>,
    #[serde(deserialize_with = "nullable_string")]
    pub pull_started_at: String,
    #[serde(deserialize_with = "nullable_string")]
    pub pull_stopped_at: String,
    #[serde(deserialize_with = "nullable_string")]
    pub revision: String,
    #[serde(deserialize_with = "nullable_string")]
    pub service_name: String,
    #[serde(rename = "TaskARN", deserialize_with = "nullable_string")]
    pub task_arn: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_as_go_parses_it() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2020-10-08T20:47:20.567813946Z"), Some(1_602_190_040_567_813_946));
        assert_eq!(parse_rfc3339("2020-10-08T22:47:20.5+02:00"), Some(1_602_190_040_500_000_000));
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), Some(ZERO_TIME_NS));
        assert_eq!(parse_rfc3339("2020-10-08 20:47:20Z"), None);
        assert_eq!(parse_rfc3339("2020-10-08T20:47:20"), None);
    }

    #[test]
    fn nulls_and_wrong_types() {
        let s: TaskStats = serde_json::from_str(r#"{"a": null, "b": {}, "c": {"read": null, "name": null}}"#).unwrap();
        assert_eq!(s["a"], None);
        assert_eq!(s["b"].as_ref().unwrap().read, ZERO_TIME_NS);
        assert!(serde_json::from_str::<TaskStats>(r#"{"a": {"memory_stats": {"usage": "1"}}}"#).is_err());
        assert!(serde_json::from_str::<TaskMetadata>(r#"{"Revision": 3}"#).is_err());
        let t: TaskMetadata = serde_json::from_str(r#"{"Revision": null, "Limits": {"CPU": 0.25}}"#).unwrap();
        assert_eq!(t.limits.unwrap().cpu, Some(0.25));
    }
}
