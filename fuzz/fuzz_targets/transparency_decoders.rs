//! Fuzz target: see `blindnym::fuzzing::transparency_decoders`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    blindnym::fuzzing::transparency_decoders(data);
});
