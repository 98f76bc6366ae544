//! Configuration text: parse, `${env:}` expansion, typed validation.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oxidot::fuzzing::config_text(data));
