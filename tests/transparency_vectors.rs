//! Key-transparency known answers (`spec/13-transparency.md`, `spec/vectors/transparency.json`):
//! fixed log and witness keys, a log of three key-set digests, each checkpoint as the log signs
//! it and as two witnesses cosign it, every leaf's bundle, the consistency proofs and the
//! witnesses' state. The committed file equals a fresh generation, and checks from its bytes
//! alone under the recorded policy.
//!
//! `BLINDNYM_WRITE_VECTORS=1 cargo test --all-features --test transparency_vectors` rewrites
//! the file before comparing.
#![cfg(feature = "transparency")]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test]: a panic is a failed test"
)]

mod common;
#[allow(
    dead_code,
    reason = "only the file helpers of the generator are used here"
)]
mod kat;

use blindnym::transparency::checkpoint::add_signature_lines;
use blindnym::transparency::log::leaf_hash;
use blindnym::transparency::verifier::{check_consistency, check_inclusion};
use blindnym::transparency::witness::state_bytes;
use blindnym::transparency::{KeySetProof, Log, Policy, verify_checkpoint};
use common::transparency::*;
use common::*;
use kat::{committed, committed_equals, hex, unhex_value as unhex};
use serde_json::{Value, json};

const FILE: &str = "transparency.json";

fn generate() -> Value {
    let mut log = Log::new(log_signer()).unwrap();
    let (mut w1, mut w2) = (witness(1), witness(2));
    let sets: Vec<_> = (1..=3).map(|sequence| set(sequence, 1)).collect();
    let mut steps = Vec::new();
    for set in &sets {
        log.append(&set.digest()).unwrap();
        let signed = log.checkpoint().unwrap();
        let mut note = signed.clone();
        let mut consistency = Vec::new();
        for w in [&mut w1, &mut w2] {
            let old = w.last().map_or(0, |h| h.size);
            let proof = if old == 0 {
                Vec::new()
            } else {
                log.consistency(old, log.size()).unwrap()
            };
            let (line, _) = w.cosign(&note, old, &proof, NOW).unwrap();
            note = add_signature_lines(&note, &line).unwrap();
            consistency = proof;
        }
        steps.push(json!({
            "size": log.size(),
            "leaf": hex(set.digest()),
            "leaf_hash": hex(leaf_hash(&set.digest())),
            "signed_checkpoint": String::from_utf8(signed).unwrap(),
            "cosigned_checkpoint": String::from_utf8(note).unwrap(),
            "consistency_from_previous": consistency.iter().map(hex).collect::<Vec<_>>(),
            "witness_state": hex(state_bytes(w1.last().unwrap())),
        }));
    }
    let checkpoint = log.checkpoint().unwrap();
    let note = cosigned(&log, &mut [&mut witness(1), &mut witness(2)]);
    assert!(checkpoint.len() < note.len());
    let bundles: Vec<String> = sets
        .iter()
        .map(|set| String::from_utf8(log.bundle(&set.digest(), &note).unwrap().to_bytes()).unwrap())
        .collect();
    json!({
        "description": "Key transparency known answers (spec/13-transparency.md). Log key: Ed25519 secret [0x10; 32] named log.example/blindnym; witnesses i = 1, 2, 3: secrets [0x20 + i; 32] named witness-i.example; cosignatures at time 1700000000. The leaves are the digests (§4.5) of three key sets of the test fixtures (sequence 1, 2, 3). Each step appends one leaf: the log's checkpoint, the same cosigned by witnesses 1 and 2 (each given the consistency proof from its own last size), and witness 1's state. The bundles prove each leaf under the final checkpoint, cosigned by witnesses 1 and 2 afresh.",
        "generator": "BLINDNYM_WRITE_VECTORS=1 cargo test --all-features --test transparency_vectors",
        "policy": policy().to_text(),
        "steps": steps,
        "bundles": bundles,
    })
}

#[test]
fn committed_vectors_match_generator() {
    committed_equals(FILE, &generate());
}

/// Checks the vectors from their bytes alone under the recorded policy.
#[test]
fn committed_vectors_check_from_their_bytes() {
    let v = committed(FILE);
    let policy = Policy::from_text(v["policy"].as_str().unwrap()).unwrap();
    let steps = v["steps"].as_array().unwrap();
    let mut previous = None;
    for step in steps {
        let note = step["cosigned_checkpoint"].as_str().unwrap().as_bytes();
        let checkpoint = verify_checkpoint(note, &policy).unwrap();
        assert_eq!(checkpoint.witnesses(), 2);
        let head = checkpoint.head();
        assert_eq!(head.size, step["size"].as_u64().unwrap());
        // The log's own checkpoint has no cosignature: below the quorum.
        let signed = step["signed_checkpoint"].as_str().unwrap().as_bytes();
        assert!(verify_checkpoint(signed, &policy).is_err());
        if let Some(previous) = previous {
            let proof: Vec<[u8; 32]> = step["consistency_from_previous"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| unhex(h).try_into().unwrap())
                .collect();
            check_consistency(previous, head, &proof).unwrap();
        }
        previous = Some(head);
    }
    let last = previous.unwrap();
    for (i, (bundle, step)) in v["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .zip(steps)
        .enumerate()
    {
        let bundle = KeySetProof::from_bytes(bundle.as_str().unwrap().as_bytes()).unwrap();
        assert_eq!(bundle.index, i as u64);
        let head = verify_checkpoint(&bundle.checkpoint, &policy)
            .unwrap()
            .head();
        assert_eq!(head, last);
        let digest: [u8; 32] = unhex(&step["leaf"]).try_into().unwrap();
        assert_eq!(hex(leaf_hash(&digest)), step["leaf_hash"].as_str().unwrap());
        check_inclusion(&digest, &bundle, head).unwrap();
    }
}
