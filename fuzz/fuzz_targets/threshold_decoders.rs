//! Fuzz target: see `blindnym::fuzzing::threshold_decoders`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    blindnym::fuzzing::threshold_decoders(data);
});
