//! Wire facts shared by receivers and exporters, so neither imports the other: the `google.rpc`
//! messages and gRPC codes (`grpc_status`), and the one table from pipeline errors to OTLP/HTTP
//! and gRPC status (`status`).

pub mod grpc_status;
pub mod status;
