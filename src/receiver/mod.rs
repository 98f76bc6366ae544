//! Receivers: where data enters oxidot.

pub mod otlp;
pub mod prometheus;
