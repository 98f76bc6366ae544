//! Receivers: where data enters oxidot.

pub mod otlp;
