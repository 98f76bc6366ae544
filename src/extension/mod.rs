//! Extensions: components beside the pipelines.

pub mod health_check;
pub mod sigv4auth;
