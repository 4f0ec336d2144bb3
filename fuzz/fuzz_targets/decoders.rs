//! Fuzz target: see `blindnym::fuzzing::decoders`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindnym::fuzzing::decoders(data));
