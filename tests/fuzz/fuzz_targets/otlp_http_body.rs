//! The OTLP/HTTP body path: first byte = signal, encoding and Content-Encoding; then the body.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oxidot::fuzzing::otlp_http_body(data));
