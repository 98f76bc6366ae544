//! Debug extensions of the Go runtime oxidot accepts and does not run (pprof, zpages):
//! nothing in a pipeline depends on them; one warning at start says so.

use crate::component::factory::{beta, Extension, ExtensionConfig, ExtensionFactory, Parsed};
use crate::component::{BuildError, Component, ComponentId, Factory, Kind, Settings, TypeInfo};
use serde_yaml_ng::Value;
use std::sync::Arc;

/// One accepted-not-run extension type and the warning it logs.
pub struct IgnoredFactory {
    types: &'static [TypeInfo],
    what: &'static str,
}

pub const PPROF: IgnoredFactory = IgnoredFactory {
    types: &[beta(Kind::Extension, "pprof", &[], "accepted, not run (one warning)")],
    what: "pprof is a Go profiling endpoint; oxidot accepts it and does not run it",
};

pub const ZPAGES: IgnoredFactory = IgnoredFactory {
    types: &[beta(Kind::Extension, "zpages", &[], "accepted, not run (one warning)")],
    what: "zpages is a debug page set; oxidot accepts it and does not run it",
};

impl Factory for IgnoredFactory {
    fn types(&self) -> &'static [TypeInfo] {
        self.types
    }
}

impl ExtensionFactory for IgnoredFactory {
    fn parse(&self, _id: &ComponentId, _v: &Value) -> Parsed<Box<dyn ExtensionConfig>> {
        Ok((Box::new(Ignored(self.what)), vec![]))
    }
}

#[derive(Debug)]
struct Ignored(&'static str);

impl ExtensionConfig for Ignored {
    fn ignored(&self) -> Option<&'static str> {
        Some(self.0)
    }
    fn build(&self, _set: &Settings) -> Result<Arc<dyn Extension>, BuildError> {
        Ok(Arc::new(NotRun))
    }
}

struct NotRun;

impl Component for NotRun {}

impl Extension for NotRun {}
