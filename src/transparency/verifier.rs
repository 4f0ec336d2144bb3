//! A key-set verifier that also asks for transparency (`spec/13-transparency.md` §13.5): a set
//! is accepted only with a proof that it is a leaf of the log under a checkpoint the policy
//! trusts, and only when that checkpoint extends the last one this party kept. Offline: the
//! proof bundle (and a consistency proof from the kept size) is all it needs.

use tlog_tiles::Hash;

use super::bundle::{KeySetProof, MAX_PROOF_HASHES};
use super::checkpoint::{TreeHead, VerifiedCheckpoint, verify_checkpoint};
use super::log::leaf_hash;
use super::policy::Policy;
use super::witness::check_extends;
use crate::error::{Error, Result};
use crate::pseudonym::{KeySetVerifier, SignedKeySet, VerifiedKeySet};

/// [`KeySetVerifier`] with a transparency policy and the last checkpoint accepted.
#[derive(Clone, Debug)]
pub struct LoggedKeySetVerifier {
    keys: KeySetVerifier,
    policy: Policy,
    last: Option<VerifiedCheckpoint>,
}

impl LoggedKeySetVerifier {
    /// `keys` (the anchor, realm and last accepted set) under `policy`, with no checkpoint
    /// kept yet.
    pub fn new(keys: KeySetVerifier, policy: Policy) -> Self {
        Self {
            keys,
            policy,
            last: None,
        }
    }

    /// As [`LoggedKeySetVerifier::new`], restoring the checkpoint this party kept (the note
    /// bytes of [`LoggedKeySetVerifier::last_checkpoint`]), checked again under `policy`.
    ///
    /// # Errors
    /// As [`verify_checkpoint`].
    pub fn with_last_checkpoint(
        keys: KeySetVerifier,
        policy: Policy,
        checkpoint: &[u8],
    ) -> Result<Self> {
        let last = verify_checkpoint(checkpoint, &policy)?;
        Ok(Self {
            keys,
            policy,
            last: Some(last),
        })
    }

    /// The checkpoint note kept (persist it beside the last accepted set).
    pub fn last_checkpoint(&self) -> Option<&[u8]> {
        self.last.as_ref().map(VerifiedCheckpoint::note)
    }

    /// The tree head kept.
    pub fn last_head(&self) -> Option<TreeHead> {
        self.last.as_ref().map(VerifiedCheckpoint::head)
    }

    /// The key-set verifier inside (its last accepted set).
    pub fn keys(&self) -> &KeySetVerifier {
        &self.keys
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Accepts `set` at `now` only if `proof` shows it logged under a checkpoint the policy
    /// trusts which extends the kept one (`consistency`: the proof from the kept size to the
    /// checkpoint's; empty when none is kept or the size is the same). Then the key-set rules
    /// of §4.5 apply ([`KeySetVerifier::accept`]). Nothing is kept unless all pass.
    ///
    /// # Errors
    /// As [`verify_checkpoint`]; [`Error::NotLogged`] when the proof does not prove this
    /// set's digest; [`Error::LogRollback`] or [`Error::LogFork`] against the kept
    /// checkpoint; as [`KeySetVerifier::accept`].
    pub fn accept(
        &mut self,
        set: &SignedKeySet,
        proof: &KeySetProof,
        consistency: &[[u8; 32]],
        now: u64,
    ) -> Result<VerifiedKeySet> {
        let checkpoint = verify_checkpoint(&proof.checkpoint, &self.policy)?;
        let head = checkpoint.head();
        check_inclusion(&set.digest(), proof, head)?;
        if let Some(last) = &self.last {
            let last = last.head();
            check_extends(last, head, last.size, consistency)?;
        }
        let mut keys = self.keys.clone();
        let verified = keys.accept(set, now)?;
        self.keys = keys;
        // A checkpoint of the same tree keeps the one seen first (it carries the quorum too).
        if self.last.as_ref().is_none_or(|l| l.head().size < head.size) {
            self.last = Some(checkpoint);
        }
        Ok(verified)
    }
}

/// Checks that `new` extends `old` by the RFC 9162 consistency proof `proof` (empty for the
/// same tree).
///
/// # Errors
/// [`Error::LogRollback`] for a smaller tree; [`Error::LogFork`] otherwise.
pub fn check_consistency(old: TreeHead, new: TreeHead, proof: &[[u8; 32]]) -> Result<()> {
    check_extends(old, new, old.size, proof)
}

/// Checks that `proof` proves `digest` as its leaf under `head`.
///
/// # Errors
/// [`Error::NotLogged`].
pub fn check_inclusion(digest: &[u8; 32], proof: &KeySetProof, head: TreeHead) -> Result<()> {
    if proof.index >= head.size || proof.inclusion.len() > MAX_PROOF_HASHES {
        return Err(Error::NotLogged);
    }
    let path: Vec<Hash> = proof.inclusion.iter().map(|h| Hash(*h)).collect();
    tlog_tiles::check_record(
        &path,
        head.size,
        Hash(head.root),
        proof.index,
        Hash(leaf_hash(digest)),
    )
    .map_err(|_| Error::NotLogged)
}
