//! oxidot's benchmark tools: a load generator and a counting sink (binaries in `src/bin/`),
//! used by `benches/compare.sh` and `benches/soak.sh`.

pub mod gen;
pub mod grpc;
pub mod scan;
