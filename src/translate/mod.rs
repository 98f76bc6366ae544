//! Pure helpers shared by more than one translator, so no exporter imports another.

pub mod gojson;
pub mod prom_names;
