//! Receivers: where data enters oxidot.

pub mod awsecscontainermetrics;
pub mod helper;
pub mod otlp;
pub mod statsd;
