//! Replays the committed fuzz seed corpora through the fuzzing entry points under plain
//! `cargo test`, so a seed that crashes (or a corpus that went missing) fails the suite
//! without cargo-fuzz.
#![cfg(feature = "fuzzing")]

use std::fs;
use std::path::PathBuf;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let seeds: Vec<Vec<u8>> = entries
        .map(|entry| fs::read(entry.expect("corpus entry").path()).expect("corpus file"))
        .collect();
    assert!(!seeds.is_empty(), "empty corpus for {target}");
    seeds
}

#[test]
fn decoders_corpus() {
    for seed in corpus("decoders") {
        blindnym::fuzzing::decoders(&seed);
    }
}

#[test]
fn verify_proof_corpus_includes_accepted_proofs() {
    // The seeds are the RFC vectors' honest proofs: each must take the accepting path (where
    // the target checks soundness), and one flipped proof byte must take the rejecting path.
    for seed in corpus("verify_proof") {
        assert!(
            blindnym::fuzzing::verify_proof(&seed),
            "honest seed rejected"
        );
        let mut tampered = seed.clone();
        let proof_start = 32 + 1 + 1 + usize::from(seed[33]);
        tampered[proof_start] ^= 1;
        assert!(
            !blindnym::fuzzing::verify_proof(&tampered),
            "tampered seed accepted"
        );
    }
}

#[test]
fn differential_corpus() {
    for seed in corpus("differential") {
        blindnym::fuzzing::differential(&seed);
    }
}
