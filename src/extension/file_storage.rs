//! The `file_storage` extension (contrib: extension/storage/filestorage): a directory where
//! exporters keep their persistent sending queues (`sending_queue.storage: file_storage/<name>`).
//! Go keeps a bbolt file per client; oxidot keeps a segment log per client (`crate::storage`),
//! in a sub-directory named as Go names the client's file: `exporter_<type>_<name>_<signal>`.

pub mod factory;

use crate::config::{limits, ConfigError, GoDuration};
use serde::Deserialize;

/// Segment files are rolled at this size.
pub const SEGMENT_BYTES: u64 = 8 << 20;

/// `file_storage` (contrib filestorage config.go; defaults from factory.go).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FileStorageConfig {
    pub directory: String,
    /// How long to wait for another process's lock on a queue directory.
    pub timeout: GoDuration,
    pub fsync: bool,
    pub compaction: CompactionConfig,
    pub create_directory: bool,
    pub directory_permissions: String,
    /// oxidot's own: the most disk one queue (exporter and signal) may use, in MiB.
    pub max_size_mib: u64,
}

/// `compaction`: accepted; the log reclaims space as it goes (README: differences).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CompactionConfig {
    pub on_start: bool,
    pub on_rebound: bool,
    pub directory: String,
    pub rebound_needed_threshold_mib: i64,
    pub rebound_trigger_threshold_mib: i64,
    pub max_transaction_size: i64,
    pub check_interval: GoDuration,
    pub cleanup_on_start: bool,
}

/// Go's default_others.go.
pub const DEFAULT_DIRECTORY: &str = "/var/lib/otelcol/file_storage";

impl Default for CompactionConfig {
    fn default() -> Self {
        CompactionConfig {
            on_start: false,
            on_rebound: false,
            directory: DEFAULT_DIRECTORY.into(),
            rebound_needed_threshold_mib: 100,
            rebound_trigger_threshold_mib: 10,
            max_transaction_size: 65536,
            check_interval: GoDuration::from_secs(5),
            cleanup_on_start: false,
        }
    }
}

impl Default for FileStorageConfig {
    fn default() -> Self {
        FileStorageConfig {
            directory: DEFAULT_DIRECTORY.into(),
            timeout: GoDuration::from_secs(1),
            fsync: false,
            compaction: CompactionConfig::default(),
            create_directory: false,
            directory_permissions: "0750".into(),
            max_size_mib: 1024,
        }
    }
}

/// The largest `max_size_mib` (1 TiB).
const MAX_SIZE_MIB: u64 = 1 << 20;

impl FileStorageConfig {
    /// As Go's `Config.Validate`: the directories must exist unless `create_directory`.
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let p = |k: &str| format!("{base}::{k}");
        let mut dirs = vec![("directory", self.directory.as_str())];
        if self.compaction.on_start || self.compaction.on_rebound {
            dirs.push(("compaction::directory", self.compaction.directory.as_str()));
        }
        for (key, dir) in dirs {
            match std::fs::metadata(dir) {
                Ok(m) if !m.is_dir() => errs.push(ConfigError::new(p(key), format!("{dir} is not a directory"))),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.create_directory => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => errs.push(ConfigError::new(
                    p(key),
                    format!("directory must exist: stat {dir}: no such file or directory. You can enable the create_directory option to automatically create it"),
                )),
                Err(e) => errs.push(ConfigError::new(p(key), format!("problem accessing configured directory: {dir}, err: {e}"))),
            }
        }
        if self.compaction.max_transaction_size < 0 {
            errs.push(ConfigError::new(
                p("compaction::max_transaction_size"),
                "max transaction size for compaction cannot be less than 0",
            ));
        }
        if self.compaction.on_rebound && self.compaction.check_interval.0.is_zero() {
            errs.push(ConfigError::new(
                p("compaction::check_interval"),
                "compaction check interval must be positive when rebound compaction is set",
            ));
        }
        if self.create_directory {
            if let Err(m) = self.permissions() {
                errs.push(ConfigError::new(p("directory_permissions"), m));
            }
        }
        if self.max_size_mib == 0 {
            errs.push(ConfigError::new(p("max_size_mib"), "`max_size_mib` must be positive"));
        }
        limits::check(&mut errs, p("max_size_mib"), self.max_size_mib, MAX_SIZE_MIB);
        limits::check_duration(&mut errs, p("timeout"), self.timeout.0, limits::DURATION);
        errs
    }

    /// `directory_permissions` as mode bits (Go: errInvalidOctal, errInvalidPermissionBits).
    pub fn permissions(&self) -> Result<u32, &'static str> {
        let v = u32::from_str_radix(&self.directory_permissions, 8)
            .map_err(|_| "directory_permissions value must be a valid octal representation")?;
        if v & 0o777 != v {
            return Err("directory_permissions contain invalid bits for file access");
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_contribs() {
        let c = FileStorageConfig::default();
        assert_eq!(c.directory, "/var/lib/otelcol/file_storage");
        assert_eq!(c.timeout, GoDuration::from_secs(1));
        assert_eq!(c.compaction.max_transaction_size, 65536);
        assert_eq!(c.permissions(), Ok(0o750));
    }

    #[test]
    fn validate_needs_the_directory_unless_create_directory() {
        let c = FileStorageConfig { directory: "/nonexistent/oxidot-x".into(), ..Default::default() };
        let e = c.validate("extensions::file_storage");
        assert!(e[0].to_string().contains("directory must exist"), "{e:?}");
        let c = FileStorageConfig { create_directory: true, directory_permissions: "0999".into(), ..c };
        let e = c.validate("extensions::file_storage");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].to_string().contains("valid octal"), "{e:?}");
    }
}
