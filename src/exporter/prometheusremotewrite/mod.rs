//! The `prometheusremotewrite` exporter.

pub mod naming;
pub mod translate;
