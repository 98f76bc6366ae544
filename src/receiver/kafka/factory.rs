//! The `kafka` receiver's factory and running form (Go: kafkareceiver/factory.go).

use super::consume::{self, SignalLoop};
use super::KafkaReceiverConfig;
use crate::component::factory::{base, beta, decode, done, Parsed, ReceiverConfig, ReceiverFactory, ALL_SIGNALS};
use crate::component::{BuildError, Component, ComponentId, Factory, Host, Kind, Settings, StartError, TypeInfo};
use crate::kafka::encoding::Encoding;
use crate::pipeline::consumer::SignalConsumers;
use crate::telemetry::component::ReceiverTelemetry;
use crate::telemetry::Registry;
use async_trait::async_trait;
use serde_yaml_ng::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct KafkaReceiverFactory;

const TYPES: &[TypeInfo] =
    &[beta(Kind::Receiver, "kafka", ALL_SIGNALS, "Kafka consumer group (OTLP protobuf or JSON), librdkafka")];

impl Factory for KafkaReceiverFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
}

impl ReceiverFactory for KafkaReceiverFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ReceiverConfig>> {
        let c: KafkaReceiverConfig = decode(Kind::Receiver, id, v)?;
        let (e, w) = c.validate(&base(Kind::Receiver, id));
        done(Box::new(c), e, w)
    }
}

impl ReceiverConfig for KafkaReceiverConfig {
    fn build(&self, set: &Settings, consumers: SignalConsumers) -> Result<Arc<dyn Component>, BuildError> {
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(KafkaReceiver {
            id: set.id.clone(),
            config: self.clone(),
            consumers,
            registry: Arc::clone(set.telemetry),
            stop,
            tasks: Mutex::new(Vec::new()),
        }))
    }
}

/// A built kafka receiver: joins the group on start (one member per signal with a pipeline),
/// stops reading, commits and leaves on shutdown.
pub struct KafkaReceiver {
    id: ComponentId,
    config: KafkaReceiverConfig,
    consumers: SignalConsumers,
    registry: Arc<Registry>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

#[async_trait]
impl Component for KafkaReceiver {
    async fn start(&self, _host: &Host) -> Result<(), StartError> {
        let c = &self.config;
        let backoff = if c.error_backoff.enabled {
            (
                c.error_backoff.initial_interval.0.max(Duration::from_millis(1)),
                c.error_backoff.max_interval.0.max(Duration::from_millis(1)),
            )
        } else {
            (Duration::from_millis(100), Duration::from_secs(5))
        };
        let headers = c.header_extraction.extract_headers.then(|| c.header_extraction.headers.clone());
        let mut tasks = Vec::new();
        for signal in crate::component::Signal::ALL {
            let Some(next) = self.consumers.get(signal) else { continue };
            let encoding = Encoding::parse(c.encoding_name(signal), String::new())
                .map_err(|e| StartError::Failed(e.to_string()))?;
            let consumer =
                consume::create(c, &self.id, &c.topics(signal), &self.registry).map_err(StartError::Failed)?;
            let l = SignalLoop {
                id: self.id.clone(),
                signal,
                encoding,
                consumer,
                next: Arc::clone(next),
                registry: Arc::clone(&self.registry),
                telemetry: ReceiverTelemetry::new(&self.registry, &self.id, "kafka", signal),
                after: c.message_marking.after,
                on_error: c.message_marking.on_error,
                on_permanent_error: c.mark_on_permanent_error(),
                autocommit: c.autocommit.enable,
                commit_interval: c.autocommit.interval.0,
                headers: headers.clone(),
                backoff,
            };
            tasks.push(tokio::spawn(l.run(self.stop.subscribe())));
        }
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).extend(tasks);
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
