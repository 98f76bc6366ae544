//! The `file_storage` factory and running form: hands each exporter (and signal) its own queue
//! log in its own sub-directory, locked against a second process.

use super::{FileStorageConfig, SEGMENT_BYTES};
use crate::component::factory::{base, beta, decode, done, Extension, ExtensionConfig, ExtensionFactory, Parsed};
use crate::component::{BuildError, Component, ComponentId, Factory, Kind, Settings, TypeInfo};
use crate::storage::log::LogOptions;
use crate::storage::{self, OpenSettings, OpenedLog, Storage};
use futures::future::BoxFuture;
use serde_yaml_ng::Value;
use std::path::PathBuf;
use std::sync::Arc;

pub struct FileStorageFactory;

const TYPES: &[TypeInfo] =
    &[beta(Kind::Extension, "file_storage", &[], "persistent sending queues on disk (segment log)")];

impl Factory for FileStorageFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    /// Go's default directory must exist already; the local value is the temporary directory.
    fn default_config(&self) -> Value {
        let mut m = serde_yaml_ng::Mapping::new();
        m.insert("directory".into(), std::env::temp_dir().to_string_lossy().into_owned().into());
        Value::Mapping(m)
    }
}

impl ExtensionFactory for FileStorageFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExtensionConfig>> {
        let c: FileStorageConfig = decode(Kind::Extension, id, v)?;
        let e = c.validate(&base(Kind::Extension, id));
        let mut warns = Vec::new();
        let cc = &c.compaction;
        if cc.on_start || cc.on_rebound || cc.cleanup_on_start {
            warns.push(format!(
                "{id}: compaction settings are accepted and not needed: the segment log deletes a segment once \
                 every record in it is sent, and rewrites its ack file at start"
            ));
        }
        done(Box::new(c), e, warns)
    }
}

impl ExtensionConfig for FileStorageConfig {
    fn is_storage(&self) -> bool {
        true
    }
    fn build(&self, _set: &Settings) -> Result<Arc<dyn Extension>, BuildError> {
        Ok(Arc::new(FileStorage(self.clone())))
    }
}

pub struct FileStorage(FileStorageConfig);

impl Component for FileStorage {}

impl Extension for FileStorage {
    fn storage(&self) -> Option<&dyn Storage> {
        Some(self)
    }
}

impl FileStorage {
    fn settings(&self) -> OpenSettings {
        let c = &self.0;
        OpenSettings {
            directory: PathBuf::from(&c.directory),
            create_directory: c.create_directory,
            mode: c.permissions().unwrap_or(0o750),
            lock_timeout: c.timeout.0,
            log: LogOptions { fsync: c.fsync, segment_bytes: SEGMENT_BYTES },
            max_bytes: c.max_size_mib << 20,
        }
    }
}

impl Storage for FileStorage {
    fn open_queue(&self, client: &str) -> Result<OpenedLog, String> {
        storage::open(&self.settings(), client)
    }
    fn queue_open_here(&self, client: &str) -> bool {
        storage::open_here(&self.settings(), client)
    }
    fn open_queue_after_release(&self, client: &str) -> BoxFuture<'static, Result<OpenedLog, String>> {
        Box::pin(storage::open_after_release(self.settings(), client.to_string()))
    }
}
