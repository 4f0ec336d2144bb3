//! Key-transparency decoders under fuzzing (`spec/13-transparency.md`).

use crate::transparency::witness::{state_bytes, state_from_bytes};
use crate::transparency::{
    KeyRole, KeySetProof, NoteKey, NoteSigner, Policy, TilePath, checkpoint::verify_checkpoint,
};

fn fixed_policy() -> Option<Policy> {
    let log = NoteSigner::from_bytes("log.example/blindnym", KeyRole::Log, &[0x10; 32]).ok()?;
    let witness =
        NoteSigner::from_bytes("witness-1.example", KeyRole::Witness, &[0x21; 32]).ok()?;
    Policy::new(log.public().clone(), vec![witness.public().clone()], 1).ok()
}

/// Every transparency decoder on the same bytes: signed-note verifier keys, policies, proof
/// bundles, checkpoints (under a fixed policy), witness state and tile paths. Each refuses
/// without panicking or decodes to a value that re-encodes to exactly these bytes.
pub fn transparency_decoders(data: &[u8]) {
    if let Ok(bundle) = KeySetProof::from_bytes(data) {
        assert_eq!(bundle.to_bytes(), data, "bundle re-encodes differently");
        if let Some(policy) = fixed_policy() {
            let _ = verify_checkpoint(&bundle.checkpoint, &policy);
        }
    }
    if let Some(policy) = fixed_policy() {
        let _ = verify_checkpoint(data, &policy);
    }
    if let Ok(head) = state_from_bytes(data) {
        assert_eq!(
            state_bytes(head).as_slice(),
            data,
            "state re-encodes differently"
        );
    }
    if let Ok(text) = core::str::from_utf8(data) {
        if let Ok(key) = NoteKey::from_vkey(text) {
            assert_eq!(key.to_vkey(), text, "vkey re-encodes differently");
        }
        if let Ok(policy) = Policy::from_text(text) {
            assert_eq!(policy.to_text(), text, "policy re-encodes differently");
        }
        if let Ok(tile) = TilePath::parse(text) {
            assert_eq!(tile.to_path(), text, "tile path re-encodes differently");
        }
    }
}

/// Genuine inputs for the corpus: a vkey, a policy, a cosigned checkpoint and its bundle.
pub fn transparency_seeds() -> Vec<Vec<u8>> {
    let (Ok(log_key), Ok(witness_key)) = (
        NoteSigner::from_bytes("log.example/blindnym", KeyRole::Log, &[0x10; 32]),
        NoteSigner::from_bytes("witness-1.example", KeyRole::Witness, &[0x21; 32]),
    ) else {
        return Vec::new();
    };
    let (Ok(mut log), Some(policy)) = (crate::transparency::Log::new(log_key), fixed_policy())
    else {
        return Vec::new();
    };
    let mut seeds = vec![
        witness_key.public().to_vkey().into_bytes(),
        policy.to_text().into_bytes(),
    ];
    for leaf in 0..3u8 {
        let _ = log.append(&[leaf; 32]);
    }
    let Ok(mut witness) =
        crate::transparency::Witness::new(witness_key, policy.log().clone(), None)
    else {
        return seeds;
    };
    if let Ok(note) = log.checkpoint()
        && let Ok((line, state)) = witness.cosign(&note, 0, &[], 1_700_000_000)
        && let Ok(cosigned) = crate::transparency::checkpoint::add_signature_lines(&note, &line)
        && let Ok(bundle) = log.bundle(&[1; 32], &cosigned)
    {
        seeds.push(cosigned);
        seeds.push(bundle.to_bytes());
        seeds.push(state.to_vec());
        seeds.push(b"tile/0/x001/000.p/3".to_vec());
        seeds.push(b"tile/entries/000".to_vec());
    }
    seeds
}
