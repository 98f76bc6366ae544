//! Extensions: components beside the pipelines, started first and stopped last.

pub mod file_storage;
pub mod health_check;
pub mod ignored;
pub mod sigv4auth;
