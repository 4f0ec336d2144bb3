//! Fuzz target: see `blindnym::fuzzing::request_signature`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    blindnym::fuzzing::request_signature(data);
});
