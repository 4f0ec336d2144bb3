//! Fuzz target: see `blindnym::fuzzing::verify_proof`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    blindnym::fuzzing::verify_proof(data);
});
