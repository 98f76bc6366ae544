//! Compiles proto/ (wire formats not in opentelemetry-proto) with protox, so a plain `cargo build`
//! needs no system protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/prometheus/remote.proto", "proto/prometheus/types.proto", "proto/loki/push.proto"];
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(protos, ["proto"])?;
    prost_build::Config::new().compile_fds(fds)?;
    Ok(())
}
