//! Receivers: where data enters oxidot.

pub mod kafka;
pub mod otlp;
