//! The `resource` processor's factory (Go: resourceprocessor/factory.go).

use super::{ResourceConfig, ResourceTransform};
use crate::component::factory::{
    base, beta, decode, done, Parsed, Processor, ProcessorConfig, ProcessorFactory, ALL_SIGNALS,
};
use crate::component::{BuildError, ComponentId, Factory, Kind, Settings, TypeInfo};
use crate::processor::transform_factory::TransformNode;
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct ResourceFactory;

const TYPES: &[TypeInfo] = &[beta(Kind::Processor, "resource", ALL_SIGNALS, "actions on resource attributes")];

impl Factory for ResourceFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        // Go's default has no action and fails validation; one action is the least.
        serde_yaml_ng::from_str("attributes: [{key: deployment.environment, value: test, action: upsert}]")
            .unwrap_or(Value::Null)
    }
}

impl ProcessorFactory for ResourceFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ProcessorConfig>> {
        let c: ResourceConfig = decode(Kind::Processor, id, v)?;
        let e = c.validate(&base(Kind::Processor, id));
        done(Box::new(c), e, vec![])
    }
}

impl ProcessorConfig for ResourceConfig {
    fn build(&self, set: &Settings) -> Result<Arc<dyn Processor>, BuildError> {
        let t = ResourceTransform::new(self).map_err(|e| BuildError::component(Kind::Processor, set.id, e))?;
        Ok(Arc::new(TransformNode(Arc::new(t))))
    }
}
