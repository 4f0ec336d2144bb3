//! Fuzz target: see `blindnym::fuzzing::relying_party`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    blindnym::fuzzing::relying_party(data);
});
