//! The `health_check` extension: 200 with a JSON status while pipelines run, 503 while
//! starting and draining (Go: healthcheckextension, legacy mode).

pub mod factory;

use crate::config::{ConfigError, GoDuration};
use crate::telemetry::server::{response, Handler};
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckConfig {
    pub endpoint: String,
    pub path: String,
    pub response_body: Option<ResponseBody>,
    pub check_collector_pipeline: Option<CheckPipeline>,
    pub tls: Option<Value>,
    pub cors: Option<Value>,
    pub auth: Option<Value>,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseBody {
    pub healthy: String,
    pub unhealthy: String,
}

/// Accepted and ignored, as in the Go extension since ~v0.103.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CheckPipeline {
    pub enabled: bool,
    pub interval: Option<GoDuration>,
    pub exporter_failure_threshold: Option<u32>,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig {
            endpoint: "localhost:13133".into(),
            path: "/".into(),
            response_body: None,
            check_collector_pipeline: None,
            tls: None,
            cors: None,
            auth: None,
        }
    }
}

impl HealthCheckConfig {
    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        let mut errs = Vec::new();
        let mut warns = Vec::new();
        if !self.path.starts_with('/') {
            errs.push(ConfigError::new(format!("{base}::path"), "path must start with /"));
        }
        if self.tls.is_some() || self.auth.is_some() {
            errs.push(ConfigError::new(
                base.to_string(),
                "tls and auth on health_check are not supported by oxidot yet",
            ));
        }
        if self.check_collector_pipeline.as_ref().is_some_and(|c| c.enabled) {
            warns.push(format!("{base}::check_collector_pipeline is accepted and ignored (as in the Go collector)"));
        }
        (errs, warns)
    }
}

/// Where the collector is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    Starting = 0,
    Ready = 1,
    Stopping = 2,
}

/// Shared state the lifecycle updates and the handler reads.
#[derive(Debug, Default)]
pub struct HealthState {
    status: AtomicU8,
    up_since: Mutex<Option<(SystemTime, Instant)>>,
}

impl HealthState {
    pub fn set(&self, s: Status) {
        self.status.store(s as u8, Ordering::SeqCst);
        if s == Status::Ready {
            *self.up_since.lock().unwrap_or_else(|p| p.into_inner()) = Some((SystemTime::now(), Instant::now()));
        }
    }

    pub fn ready(&self) -> bool {
        self.status.load(Ordering::SeqCst) == Status::Ready as u8
    }
}

/// The HTTP handler: `/` answers on every path (Go ServeMux catch-all); another path exactly.
pub fn handler(cfg: &HealthCheckConfig, state: Arc<HealthState>) -> Handler {
    let path = cfg.path.clone();
    let body = cfg.response_body.clone();
    Arc::new(move |req| {
        if path != "/" && req.uri().path() != path {
            return response(404, "text/plain; charset=utf-8", "404 page not found\n");
        }
        let ready = state.ready();
        if let Some(b) = &body {
            return if ready {
                response(200, "text/plain", b.healthy.clone())
            } else {
                response(503, "text/plain", b.unhealthy.clone())
            };
        }
        if ready {
            let (since, started) =
                state.up_since.lock().unwrap_or_else(|p| p.into_inner()).unwrap_or((SystemTime::now(), Instant::now()));
            let since = httpdate_rfc3339(since);
            let uptime = format!("{:.3}s", started.elapsed().as_secs_f64());
            let j = serde_json::json!({"status": "Server available", "upSince": since, "uptime": uptime});
            response(200, "application/json", j.to_string())
        } else {
            let j =
                serde_json::json!({"status": "Server not available", "upSince": "0001-01-01T00:00:00Z", "uptime": ""});
            response(503, "application/json", j.to_string())
        }
    })
}

/// RFC 3339 UTC timestamp with nanoseconds, without a date crate.
fn httpdate_rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_rfc3339() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 5);
        assert_eq!(super::httpdate_rfc3339(t), "2023-11-14T22:13:20.000000005Z");
    }
}
