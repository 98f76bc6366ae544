//! The largest value oxidot accepts for every config size, count and duration that allocates,
//! spawns or reads per unit, and the largest configuration it reads. Go accepts any number
//! here; a typo of a few zeros then starts a collector that exhausts memory (100,000,000
//! consumers) or overflows (`max_request_body_size: 18446744073709551615`). Each maximum is far
//! above what any deployment needs; README "Configuration limits" lists them.

use super::ConfigError;
use std::time::Duration;

const MIB: u64 = 1024 * 1024;

/// Largest configuration text read from a file, an `env:` URI or `AOT_CONFIG_CONTENT`.
pub const CONFIG_BYTES: u64 = 16 * MIB;
/// `sending_queue.num_consumers`, `remote_write_queue.num_consumers`, awsxray `num_workers`,
/// `max_batch_request_parallelism`: one task (and its buffers) each.
pub const CONSUMERS: u64 = 1_000;
/// `sending_queue.queue_size`, `remote_write_queue.queue_size` (requests or items).
pub const QUEUE_SIZE: u64 = 10_000_000;
/// batch `send_batch_size`, `send_batch_max_size` (items; the intake holds 8 batches).
pub const BATCH_ITEMS: u64 = 1_000_000;
/// batch `metadata_cardinality_limit`.
pub const CARDINALITY: u64 = 100_000;
/// otlp http `max_request_body_size` (bytes), before and after decompression.
pub const BODY_BYTES: u64 = 1024 * MIB;
/// otlp grpc `max_recv_msg_size_mib`.
pub const RECV_MSG_MIB: u64 = 1024;
/// prometheusremotewrite `max_batch_size_bytes`.
pub const RW_BATCH_BYTES: u64 = 1024 * MIB;
/// memory_limiter `limit_mib`, `spike_limit_mib` (16 TiB: `mib * 2^20` cannot overflow).
pub const MEMORY_MIB: u64 = 16 * MIB;
/// Retry counts (awsxray `max_retries`, `imds_retries`).
pub const RETRIES: u64 = 100;
/// Timeouts and intervals (exporter `timeout`, batch `timeout`, `check_interval`, retry
/// intervals, awsxray `request_timeout_seconds`).
pub const DURATION: Duration = Duration::from_secs(24 * 3600);

/// Pushes an error naming `path` when `value` is above `max`.
pub fn check(errors: &mut Vec<ConfigError>, path: String, value: u64, max: u64) {
    if value > max {
        errors.push(ConfigError::new(
            path,
            format!("{value} is larger than the maximum {max} (README \"Configuration limits\")"),
        ));
    }
}

/// Pushes an error naming `path` when the duration `value` is above `max`.
pub fn check_duration(errors: &mut Vec<ConfigError>, path: String, value: Duration, max: Duration) {
    if value > max {
        errors.push(ConfigError::new(
            path,
            format!("{value:?} is longer than the maximum {max:?} (README \"Configuration limits\")"),
        ));
    }
}

/// Reads at most [`CONFIG_BYTES`] of configuration text from `r`; more is an error, so
/// `--config /dev/zero` fails at once instead of reading forever.
pub fn read_config_text(r: impl std::io::Read) -> Result<String, String> {
    use std::io::Read;
    let mut buf = Vec::new();
    r.take(CONFIG_BYTES + 1).read_to_end(&mut buf).map_err(|e| format!("cannot read the file: {e}"))?;
    if buf.len() as u64 > CONFIG_BYTES {
        return Err(too_large());
    }
    String::from_utf8(buf).map_err(|e| format!("cannot read the file: not UTF-8 text ({e})"))
}

/// The error for configuration text over [`CONFIG_BYTES`].
pub fn too_large() -> String {
    format!("the configuration is larger than {} MiB (README \"Configuration limits\")", CONFIG_BYTES / MIB)
}

/// Checks the length of configuration text that is already in memory (environment variables).
pub fn check_text(text: &str) -> Result<(), String> {
    if text.len() as u64 > CONFIG_BYTES {
        return Err(too_large());
    }
    Ok(())
}
