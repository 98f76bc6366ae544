//! oxidot's own logs (`service.telemetry.logs`): level and console|json encoding, to stderr.

use crate::config::service::LogsConfig;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Installs the global subscriber. Safe to call once; later calls are ignored.
pub fn init(cfg: &LogsConfig) {
    let level = match cfg.level.to_ascii_lowercase().as_str() {
        "debug" => "debug",
        "warn" => "warn",
        "error" | "dpanic" | "panic" | "fatal" => "error",
        _ => "info",
    };
    // Keep dependencies quiet unless asked for debug.
    let filter = if level == "debug" {
        "debug,h2=info,hyper=info,tower=info,rustls=info".to_string()
    } else {
        level.to_string()
    };
    let env_filter = tracing_subscriber::EnvFilter::new(filter);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi);
    let _ = if cfg.encoding == "json" { builder.json().flatten_event(true).try_init() } else { builder.try_init() };
}

/// Lets one message through per `interval_secs` for each call site (drops are still counted).
#[derive(Debug, Default)]
pub struct RateLimit {
    last: AtomicU64,
}

impl RateLimit {
    pub const fn new() -> Self {
        RateLimit { last: AtomicU64::new(0) }
    }

    pub fn allow(&self, interval_secs: u64) -> bool {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let last = self.last.load(Ordering::Relaxed);
        if last != 0 && now < last + interval_secs {
            return false;
        }
        self.last.compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }
}
