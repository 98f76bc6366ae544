//! The `resource_detection` processor's factory (Go: resourcedetectionprocessor/factory.go):
//! one detection per id, run once at start, shared by every pipeline naming it.

use super::{process_env, ResourceDetection, ResourceDetectionConfig};
use crate::component::factory::{
    base, beta, decode, done, Parsed, Processor, ProcessorConfig, ProcessorFactory, Stage, ALL_SIGNALS,
};
use crate::component::{
    BuildError, Component, ComponentId, Factory, Host, Kind, PipelineId, Settings, StartError, TypeInfo,
};
use crate::pipeline::consumer::Consumer;
use crate::processor::{Transform, TransformProcessor};
use async_trait::async_trait;
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct ResourceDetectionFactory;

// contrib v0.153 renamed the type to resource_detection and kept the old name as a deprecated
// alias (processor/resourcedetectionprocessor metadata.yaml, #48525).
const TYPES: &[TypeInfo] = &[
    beta(Kind::Processor, "resource_detection", ALL_SIGNALS, "detectors env, system, ecs"),
    beta(Kind::Processor, "resourcedetection", ALL_SIGNALS, "deprecated alias of resource_detection"),
];

impl Factory for ResourceDetectionFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        serde_yaml_ng::from_str("detectors: [env]").unwrap_or(Value::Null)
    }
}

impl ProcessorFactory for ResourceDetectionFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ProcessorConfig>> {
        let c: ResourceDetectionConfig = decode(Kind::Processor, id, v)?;
        let (e, mut w) = c.validate(&base(Kind::Processor, id));
        // The collector warns when a deprecated type alias is used (collector #14349).
        if id.type_ == "resourcedetection" {
            w.insert(0, "Using deprecated alias resourcedetection; use resource_detection instead".to_string());
        }
        done(Box::new(c), e, w)
    }
}

impl ProcessorConfig for ResourceDetectionConfig {
    fn build(&self, set: &Settings) -> Result<Arc<dyn Processor>, BuildError> {
        Ok(Arc::new(Detect(Arc::new(ResourceDetection::new(set.id.to_string(), self.clone())))))
    }
}

struct Detect(Arc<ResourceDetection>);

#[async_trait]
impl Component for Detect {
    /// A detector's error fails the start (Go: the processor's Start error).
    async fn start(&self, _host: &Host) -> Result<(), StartError> {
        self.0.detect(&process_env).await.map_err(StartError::Failed)
    }
}

impl Processor for Detect {
    fn attach(&self, set: &Settings, pipeline: &PipelineId, next: Arc<dyn Consumer>) -> Result<Stage, BuildError> {
        self.0.built_in(pipeline.to_string(), pipeline.signal.as_str());
        let t = Arc::clone(&self.0) as Arc<dyn Transform>;
        Ok(Stage {
            consumer: TransformProcessor::new(set.id, pipeline.signal, t, next, set.telemetry),
            lifecycle: None,
        })
    }
}
