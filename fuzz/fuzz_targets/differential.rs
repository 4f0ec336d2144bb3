//! Fuzz target: see `blindnym::fuzzing::differential`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindnym::fuzzing::differential(data));
