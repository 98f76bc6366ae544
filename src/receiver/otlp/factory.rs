//! The `otlp` receiver's factory and its running form (Go: otlpreceiver/factory.go).

use super::{start, OtlpReceiverConfig};
use crate::component::factory::{base, beta, decode, done, Parsed, ReceiverConfig, ReceiverFactory, ALL_SIGNALS};
use crate::component::{BuildError, Component, ComponentId, Factory, Host, Kind, Settings, StartError, TypeInfo};
use crate::pipeline::consumer::SignalConsumers;
use crate::telemetry::Registry;
use async_trait::async_trait;
use serde_yaml_ng::Value;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct OtlpReceiverFactory;

const TYPES: &[TypeInfo] = &[beta(Kind::Receiver, "otlp", ALL_SIGNALS, "OTLP over gRPC and HTTP (protobuf, JSON)")];

impl Factory for OtlpReceiverFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        // Go's default config has both protocols on their default ports.
        serde_yaml_ng::from_str("protocols: {grpc: {endpoint: 'localhost:4317'}, http: {endpoint: 'localhost:4318'}}")
            .unwrap_or(Value::Null)
    }
}

impl ReceiverFactory for OtlpReceiverFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ReceiverConfig>> {
        let c: OtlpReceiverConfig = decode(Kind::Receiver, id, v)?;
        let (e, w) = c.validate(&base(Kind::Receiver, id));
        done(Box::new(c), e, w)
    }
}

impl ReceiverConfig for OtlpReceiverConfig {
    fn build(&self, set: &Settings, consumers: SignalConsumers) -> Result<Arc<dyn Component>, BuildError> {
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(OtlpReceiver {
            id: set.id.clone(),
            config: self.clone(),
            consumers,
            registry: Arc::clone(set.telemetry),
            stop,
            tasks: Mutex::new(Vec::new()),
        }))
    }
}

/// A built OTLP receiver: binds its ports on start, stops accepting and finishes open requests
/// on shutdown.
pub struct OtlpReceiver {
    id: ComponentId,
    config: OtlpReceiverConfig,
    consumers: SignalConsumers,
    registry: Arc<Registry>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

#[async_trait]
impl Component for OtlpReceiver {
    async fn start(&self, _host: &Host) -> Result<(), StartError> {
        let t = start(&self.id, &self.config, &self.consumers, &self.registry, self.stop.subscribe())
            .await
            .map_err(StartError::Listen)?;
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).extend(t);
        Ok(())
    }

    async fn shutdown(&self, deadline: Instant) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            let _ = tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), t).await;
        }
    }
}
