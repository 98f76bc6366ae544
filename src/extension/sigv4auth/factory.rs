//! The `sigv4auth` extension's factory and running form (Go: sigv4authextension): an
//! authenticator exporters reach through the host.

use super::SigV4AuthConfig;
use crate::aws::Signer;
use crate::component::factory::{
    base, beta, decode, done, Authenticator, Extension, ExtensionConfig, ExtensionFactory, Parsed,
};
use crate::component::{BuildError, Component, ComponentId, Factory, Kind, Settings, TypeInfo};
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct SigV4AuthFactory;

const TYPES: &[TypeInfo] = &[beta(Kind::Extension, "sigv4auth", &[], "signs exporter requests with AWS SigV4")];

impl Factory for SigV4AuthFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
}

impl ExtensionFactory for SigV4AuthFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExtensionConfig>> {
        let c: SigV4AuthConfig = decode(Kind::Extension, id, v)?;
        let e = c.validate(&base(Kind::Extension, id));
        done(Box::new(c), e, vec![])
    }
}

impl ExtensionConfig for SigV4AuthConfig {
    fn is_authenticator(&self) -> bool {
        true
    }
    fn build(&self, _set: &Settings) -> Result<Arc<dyn Extension>, BuildError> {
        Ok(Arc::new(SigV4Auth(self.clone())))
    }
}

/// Credentials are fetched lazily by each signer, so start and shutdown have nothing to do.
pub struct SigV4Auth(SigV4AuthConfig);

impl Component for SigV4Auth {}

impl Extension for SigV4Auth {
    fn authenticator(&self) -> Option<&dyn Authenticator> {
        Some(self)
    }
}

impl Authenticator for SigV4Auth {
    fn signer(&self, endpoint: &str) -> Result<Arc<Signer>, String> {
        self.0.signer(endpoint).map(Arc::new)
    }
}
