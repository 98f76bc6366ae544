//! Processors: stages between receivers and exporters.

pub mod batch;
