//! A key-transparency fixture: a log, three witnesses, a 2-of-3 policy, and key sets to log.

use blindnym::pseudonym::{KeySet, KeySetVerifier, SignedKeySet};
use blindnym::transparency::{
    KeyRole, KeySetProof, Log, LoggedKeySetVerifier, NoteSigner, Policy, Witness,
    checkpoint::add_signature_lines,
};

use super::{EPOCH_1_START, NOW, REALM, SET_NOT_AFTER, keys, signer};

pub const LOG_ORIGIN: &str = "log.example/blindnym";

pub fn log_signer() -> NoteSigner {
    NoteSigner::from_bytes(LOG_ORIGIN, KeyRole::Log, &[0x10; 32]).expect("log key")
}

pub fn witness_signer(i: u8) -> NoteSigner {
    NoteSigner::from_bytes(
        &format!("witness-{i}.example"),
        KeyRole::Witness,
        &[0x20 + i; 32],
    )
    .expect("witness key")
}

/// Witness `i` (1 to 3) of the fixture's log, with no state.
pub fn witness(i: u8) -> Witness {
    Witness::new(witness_signer(i), log_signer().public().clone(), None).expect("witness")
}

/// The log, pinned with witnesses 1 to 3, any 2 of which must cosign.
pub fn policy() -> Policy {
    Policy::new(
        log_signer().public().clone(),
        (1..=3)
            .map(|i| witness_signer(i).public().clone())
            .collect(),
        2,
    )
    .expect("policy")
}

/// A verifier pinned to the fixtures' anchor and the policy.
pub fn logged_verifier() -> LoggedKeySetVerifier {
    LoggedKeySetVerifier::new(
        KeySetVerifier::new(signer().verifying_key(), REALM),
        policy(),
    )
}

/// A key set of `sequence` listing epoch 1 of root `byte`, signed by the fixtures' signer.
pub fn set(sequence: u64, byte: u8) -> SignedKeySet {
    signer().sign(
        KeySet::new(
            REALM,
            sequence,
            EPOCH_1_START,
            SET_NOT_AFTER,
            vec![keys(byte, 1).public(EPOCH_1_START)],
        )
        .expect("set"),
    )
}

/// The log's current checkpoint cosigned by `witnesses`, each given the consistency proof
/// from its own last head; the witnesses that refuse are left out.
pub fn cosigned(log: &Log, witnesses: &mut [&mut Witness]) -> Vec<u8> {
    let mut note = log.checkpoint().expect("checkpoint");
    for witness in witnesses.iter_mut() {
        let old = witness.last().map_or(0, |h| h.size);
        let proof = if old == 0 || old >= log.size() {
            Vec::new()
        } else {
            log.consistency(old, log.size()).expect("consistency")
        };
        if let Ok((line, _)) = witness.cosign(&note, old, &proof, NOW) {
            note = add_signature_lines(&note, &line).expect("line");
        }
    }
    note
}

/// `set` appended to `log`, and its bundle under the checkpoint `witnesses` cosign.
pub fn logged(log: &mut Log, set: &SignedKeySet, witnesses: &mut [&mut Witness]) -> KeySetProof {
    log.append(&set.digest()).expect("append");
    let note = cosigned(log, witnesses);
    log.bundle(&set.digest(), &note).expect("bundle")
}
