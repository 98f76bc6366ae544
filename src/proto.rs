//! Generated types for wire formats kept in proto/ (compiled by build.rs).

/// Prometheus remote write 1.0 (`prometheus.WriteRequest`).
pub mod prometheus {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/prometheus.rs"));
}

/// Loki's push API (`logproto.PushRequest`).
pub mod logproto {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/logproto.rs"));
}
