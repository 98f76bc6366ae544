//! What runs: the lifecycle every running component has, the host (extensions) it may ask, and
//! the typed errors of building and starting (Go: component.Component Start/Shutdown,
//! component.Host, service/internal/graph StartAll/ShutdownAll). `factory` builds these.

use super::{ComponentId, Kind};
use crate::aws::Signer;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Instant;

/// A running part of the collector: started once (back to front) and shut down once (front to
/// back) by the graph; extensions first up and last down.
#[async_trait]
pub trait Component: Send + Sync {
    /// Binds listeners, spawns tasks, runs one-off work (resource detection). An error fails
    /// the collector's start.
    async fn start(&self, _host: &Host) -> Result<(), StartError> {
        Ok(())
    }
    /// Stops accepting, drains and releases, finishing by `deadline` where it can.
    async fn shutdown(&self, _deadline: Instant) {}
}

/// Why a component could not be built from its (valid) config.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    /// The component said no: printed as `<section>::<id>: <reason>`.
    #[error("{}::{id}: {reason}", kind.section())]
    Component { kind: Kind, id: ComponentId, reason: String },
    /// The pipelines do not fit together (an id that names nothing, ...).
    #[error("{0}")]
    Graph(String),
}

impl BuildError {
    /// The component's own error, whatever its type (a message or a typed error).
    pub fn component(kind: Kind, id: &ComponentId, reason: impl std::fmt::Display) -> BuildError {
        BuildError::Component { kind, id: id.clone(), reason: reason.to_string() }
    }
}

/// Why the collector could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StartError {
    /// A listener could not be bound; the message names the component and address.
    #[error("{0}")]
    Listen(String),
    /// A component's own start failed (a resource detector's error, ...).
    #[error("{0}")]
    Failed(String),
    /// How the graph reports a component's failure (service/internal/graph StartAll).
    #[error("cannot start pipelines: failed to start {:?} {}: {reason}", id.to_string(), kind.word())]
    Pipelines { kind: Kind, id: ComponentId, reason: String },
    /// The service section could not be turned into running telemetry.
    #[error("{0}")]
    Telemetry(String),
}

/// What a running component may ask of the collector (Go: component.Host): the extensions.
#[derive(Default)]
pub struct Host {
    extensions: Vec<(ComponentId, Arc<dyn Extension>)>,
}

impl Host {
    pub fn new(extensions: Vec<(ComponentId, Arc<dyn Extension>)>) -> Host {
        Host { extensions }
    }

    pub fn extensions(&self) -> impl Iterator<Item = &(ComponentId, Arc<dyn Extension>)> {
        self.extensions.iter()
    }

    /// The authenticator extension with this id (`auth: {authenticator: <id>}`).
    pub fn authenticator(&self, id: &str) -> Result<&dyn Authenticator, String> {
        let not = || format!("authenticator {id:?} is not a configured sigv4auth extension");
        let aid = ComponentId::parse(id)?;
        let ext = self.extensions.iter().find(|(i, _)| *i == aid).ok_or_else(not)?;
        ext.1.authenticator().ok_or_else(not)
    }
}

/// An extension: started before the pipelines, stopped after them, told when they are ready
/// (Go: extensioncapabilities.PipelineWatcher).
pub trait Extension: Component {
    fn authenticator(&self) -> Option<&dyn Authenticator> {
        None
    }
    /// A storage extension (file_storage) for persistent sending queues.
    fn storage(&self) -> Option<&dyn crate::storage::Storage> {
        None
    }
    fn pipelines_ready(&self) {}
    fn pipelines_not_ready(&self) {}
}

/// Signs requests for an exporter (sigv4auth).
pub trait Authenticator: Send + Sync {
    fn signer(&self, endpoint: &str) -> Result<Arc<Signer>, String>;
}
