//! The parallel batch paths cut a batch into tasks by the pool's thread count; what comes out
//! (elements, proofs, outputs) must not depend on that cut.

mod common;

use blindnym::{PoprfClient, PoprfServer, Proof, VoprfClient, VoprfServer};
use common::seeded;
use rayon::ThreadPoolBuilder;

/// Enough elements for several chunks per thread and for split composite sums.
const BATCH: usize = 700;

/// Everything a VOPRF and a POPRF batch produce, as bytes, with every RNG seeded.
fn run() -> Vec<Vec<u8>> {
    let inputs: Vec<Vec<u8>> = (0u32..)
        .take(BATCH)
        .map(|i| i.to_le_bytes().to_vec())
        .collect();
    let mut out = Vec::new();
    let mut push = |evaluated: Vec<[u8; 32]>, proof: &Proof, outputs: Vec<Vec<u8>>| {
        out.extend(evaluated.into_iter().map(|e| e.to_vec()));
        out.push(proof.to_bytes().to_vec());
        out.extend(outputs);
    };

    let server = VoprfServer::generate(&mut seeded(1)).expect("key");
    let client = VoprfClient::new(*server.public_key());
    let (blinds, blinded) = client.blind_batch(&inputs, &mut seeded(2)).expect("blind");
    let (evaluated, proof) = server
        .blind_evaluate_batch(&blinded, &mut seeded(3))
        .expect("evaluate");
    let outputs = client
        .finalize_batch(&inputs, &blinds, &evaluated, &blinded, &proof)
        .expect("finalize");
    push(
        evaluated.iter().map(|e| e.to_bytes()).collect(),
        &proof,
        outputs.iter().map(|o| o.as_bytes().to_vec()).collect(),
    );

    let server = PoprfServer::generate(&mut seeded(4)).expect("key");
    let client = PoprfClient::new(*server.public_key());
    let (blinds, blinded) = client.blind_batch(&inputs, &mut seeded(5)).expect("blind");
    let (evaluated, proof) = server
        .blind_evaluate_batch(&blinded, b"info", &mut seeded(6))
        .expect("evaluate");
    let outputs = client
        .finalize_batch(&inputs, b"info", &blinds, &evaluated, &blinded, &proof)
        .expect("finalize");
    push(
        evaluated.iter().map(|e| e.to_bytes()).collect(),
        &proof,
        outputs.iter().map(|o| o.as_bytes().to_vec()).collect(),
    );
    out
}

#[test]
fn batch_results_do_not_depend_on_thread_count() {
    let on = |threads: usize| {
        ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(run)
    };
    let one = on(1);
    assert_eq!(one.len(), 2 * (2 * BATCH + 1));
    for threads in [2, 3, 8] {
        assert!(one == on(threads), "{threads} threads differ from one");
    }
}
