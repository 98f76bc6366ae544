//! Receivers: where data enters oxidot.

pub mod awsxray;
pub mod otlp;
