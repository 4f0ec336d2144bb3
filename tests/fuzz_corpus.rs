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

#[test]
fn protocol_decoders_corpus() {
    for seed in corpus("protocol_decoders") {
        blindnym::fuzzing::protocol_decoders(&seed);
    }
}

/// Checks that the committed `fuzz/corpus/<target>/genuine-<i>` files equal `seeds`
/// (rewritten with `BLINDNYM_WRITE_SEEDS=1`).
fn committed_seeds(target: &str, seeds: &[Vec<u8>]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    for (i, seed) in seeds.iter().enumerate() {
        let path = dir.join(format!("genuine-{i}"));
        if std::env::var_os("BLINDNYM_WRITE_SEEDS").is_some() {
            fs::create_dir_all(&dir).expect("corpus folder");
            fs::write(&path, seed).expect("write seed");
        }
        assert_eq!(
            &fs::read(&path).expect("committed seed"),
            seed,
            "{}",
            path.display()
        );
    }
}

/// Checks `target`'s committed genuine seeds: they equal `seeds` (rewritten with
/// `BLINDNYM_WRITE_SEEDS=1`), `accepts` each, and refuses each with any one bit changed from
/// byte `from` on.
fn genuine_corpus(target: &str, seeds: &[Vec<u8>], accepts: fn(&[u8]) -> bool, from: usize) {
    committed_seeds(target, seeds);
    for (i, seed) in seeds.iter().enumerate() {
        assert!(accepts(seed), "{target}: genuine seed {i} refused");
        for byte in from..seed.len() {
            let mut tampered = seed.clone();
            tampered[byte] ^= 0x10;
            assert!(
                !accepts(&tampered),
                "{target}: byte {byte} flipped, accepted"
            );
        }
    }
    assert_eq!(corpus(target).len(), seeds.len());
}

/// The relying-party seeds are genuine assertions the library makes; the committed files
/// must equal them (set `BLINDNYM_WRITE_SEEDS=1` to rewrite them after a format change),
/// each must be accepted, and any one-bit change of one must be refused.
#[test]
fn relying_party_corpus_holds_genuine_assertions() {
    genuine_corpus(
        "relying_party",
        &blindnym::fuzzing::relying_party_seeds(),
        blindnym::fuzzing::relying_party,
        8,
    );
}

/// The request-signature seeds are genuine signed requests of the target's fixed caller:
/// each is accepted, and a one-bit change anywhere in one (a header value, the signature
/// parameters, the signature or the body) is refused.
#[test]
fn request_signature_corpus_holds_genuine_requests() {
    genuine_corpus(
        "request_signature",
        &blindnym::fuzzing::request_signature_seeds(),
        blindnym::fuzzing::request_signature,
        0,
    );
}

/// The transparency seeds are genuine vkeys, policies, cosigned checkpoints, bundles, witness
/// state and tile paths (rewritten with `BLINDNYM_WRITE_SEEDS=1`); each replays through the
/// decoders.
#[cfg(feature = "transparency")]
#[test]
fn transparency_decoders_corpus_holds_genuine_inputs() {
    let seeds = blindnym::fuzzing::transparency_seeds();
    assert_eq!(seeds.len(), 7);
    committed_seeds("transparency_decoders", &seeds);
    for seed in corpus("transparency_decoders") {
        blindnym::fuzzing::transparency_decoders(&seed);
    }
}
