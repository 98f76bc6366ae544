//! The `attributes` processor's factory (Go: attributesprocessor/factory.go).

use super::{AttributesConfig, AttributesTransform};
use crate::component::factory::{
    base, beta, decode, done, Parsed, Processor, ProcessorConfig, ProcessorFactory, ALL_SIGNALS,
};
use crate::component::{BuildError, ComponentId, Factory, Kind, Settings, TypeInfo};
use crate::processor::transform_factory::TransformNode;
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct AttributesFactory;

const TYPES: &[TypeInfo] =
    &[beta(Kind::Processor, "attributes", ALL_SIGNALS, "actions on span, log record and data point attributes")];

impl Factory for AttributesFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        // Go's default has no action and fails validation; one action is the least.
        serde_yaml_ng::from_str("actions: [{key: deployment.environment, value: test, action: upsert}]")
            .unwrap_or(Value::Null)
    }
}

impl ProcessorFactory for AttributesFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ProcessorConfig>> {
        let c: AttributesConfig = decode(Kind::Processor, id, v)?;
        let e = c.validate(&base(Kind::Processor, id));
        done(Box::new(c), e, vec![])
    }
}

impl ProcessorConfig for AttributesConfig {
    fn build(&self, set: &Settings) -> Result<Arc<dyn Processor>, BuildError> {
        let t = AttributesTransform::new(self).map_err(|e| BuildError::component(Kind::Processor, set.id, e))?;
        Ok(Arc::new(TransformNode(Arc::new(t))))
    }
}
