//! Fuzz target: see `blindnym::fuzzing::protocol_decoders`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    blindnym::fuzzing::protocol_decoders(data);
});
