//! Flow A's holder: builds the request, checks the evaluation, forwards the assertion
//! (`spec/06-flow-a.md` §6.4).

use core::fmt;

#[cfg(feature = "threshold")]
use ed25519_dalek::Signature;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::codec::{Reader, concat};
use crate::error::{Error, Result};
use crate::messages::{Blind, BlindedElement, EvaluatedElement, Proof};
use crate::poprf::PoprfClient;
use crate::pseudonym::ids::{ServiceId, SubjectId};
#[cfg(feature = "threshold")]
use crate::pseudonym::key_schedule::Epoch;
use crate::pseudonym::key_schedule::EpochPublicKeys;
use crate::pseudonym::key_set::VerifiedKeySet;
use crate::pseudonym::session::{Challenge, ChannelBinding, check_expiry};

use super::*;

/// The holder's state between [`Holder::request`] and [`Holder::finish`]. Secret (holds
/// `r`): never printed; its saved form is zeroized.
pub struct HolderState {
    r: Blind,
    blinded: BlindedElement,
    session: [u8; 32],
}

impl HolderState {
    /// The saved form: `r || B || session`, 96 bytes.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 96]> {
        Zeroizing::new(concat(&[
            self.r.to_bytes().as_ref(),
            self.blinded.as_bytes(),
            &self.session,
        ]))
    }

    /// Restores a saved state.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 96 bytes; the scalar and element errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, 96)?;
        let state = Self {
            r: Blind::from_bytes(reader.take(32)?)?,
            blinded: BlindedElement::from_bytes(reader.take(32)?)?,
            session: reader.array()?,
        };
        reader.finish()?;
        Ok(state)
    }
}

impl fmt::Debug for HolderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HolderState(<redacted>)")
    }
}

/// The holder of flow A: its authenticated subject and the verified key set. `Debug` does not
/// print the subject.
#[derive(Clone, Debug)]
pub struct Holder {
    keys: VerifiedKeySet,
    subject: SubjectId,
    subject_info: Vec<u8>,
}

impl Holder {
    /// A holder authenticated as `subject`, trusting `keys`.
    ///
    /// # Errors
    /// None in practice.
    pub fn new(keys: VerifiedKeySet, subject: SubjectId) -> Result<Self> {
        let subject_info = subject_info(&subject)?;
        Ok(Self {
            keys,
            subject,
            subject_info,
        })
    }

    /// Step 2: blinds `service` — the authenticated origin of the holder's own channel — and
    /// binds the request to the relying party's challenge and to that channel
    /// (`spec/06-flow-a.md` §6.3).
    ///
    /// # Errors
    /// [`Error::RandomnessFailure`] for a broken RNG.
    pub fn request(
        &self,
        service: &ServiceId,
        challenge: &Challenge,
        channel: &ChannelBinding,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(HolderState, Request)> {
        let newest = self.keys.set().epochs().last().ok_or(Error::Malformed)?;
        let (r, blinded) =
            PoprfClient::new(newest.attested).blind(&service_input(service)?, rng)?;
        let session = challenge.session_hash(channel)?;
        Ok((
            HolderState {
                r,
                blinded,
                session,
            },
            Request { blinded, session },
        ))
    }

    /// Checks that the proof of one answer holds for this holder's subject under `keys`.
    fn check_proof(
        &self,
        state: &HolderState,
        keys: &EpochPublicKeys,
        z: &EvaluatedElement,
        proof: &Proof,
    ) -> Result<()> {
        PoprfClient::new(keys.attested).verify(
            &self.subject_info,
            core::slice::from_ref(&state.blinded),
            core::slice::from_ref(z),
            proof,
        )
    }

    /// Step 4: checks the evaluation against the holder's own clock and subject, then builds
    /// the assertion to forward (`spec/06-flow-a.md` §6.5).
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`]/[`Error::StaleEpoch`] for an epoch not accepted at `now`;
    /// [`Error::VerifyError`] when the proof fails (another key or another subject: a tagging
    /// attempt); [`Error::OffGridExpiry`] or [`Error::Expired`] for an expiry off the grid,
    /// too far ahead or passed; [`Error::BadSignature`] when the signature fails.
    pub fn finish(
        &self,
        state: HolderState,
        evaluation: &Evaluation,
        now: u64,
    ) -> Result<Assertion> {
        let keys = self.keys.accept_epoch(evaluation.epoch, now)?;
        self.check_proof(&state, keys, &evaluation.evaluated, &evaluation.proof)?;
        check_expiry(evaluation.expiry, now)?;
        let message = signed_message(
            self.keys.realm(),
            evaluation.epoch,
            &state.blinded,
            &evaluation.evaluated,
            &state.session,
            evaluation.expiry,
        )?;
        check_signature(keys, &message, &evaluation.signature)?;
        Ok(Assertion {
            epoch: evaluation.epoch,
            r: state.r,
            blinded: state.blinded,
            evaluated: evaluation.evaluated,
            session: state.session,
            expiry: evaluation.expiry,
            signature: evaluation.signature,
        })
    }

    /// Step 4 of a migration: both answers checked as in [`Holder::finish`], the old epoch
    /// before the new one, and the one signature by the new epoch's key.
    ///
    /// # Errors
    /// As [`Holder::finish`]; [`Error::StaleEpoch`] unless the new epoch is current and the
    /// old one the epoch just before it (no time limit on the old one: see
    /// [`VerifiedKeySet::accept_migration`]).
    pub fn finish_migration(
        &self,
        state: HolderState,
        evaluation: &MigrationEvaluation,
        now: u64,
    ) -> Result<MigrationAssertion> {
        let (old, new) = (&evaluation.old, &evaluation.new);
        let (old_keys, keys) = self.keys.accept_migration(old.epoch, new.epoch, now)?;
        self.check_proof(&state, old_keys, &old.evaluated, &old.proof)?;
        self.check_proof(&state, keys, &new.evaluated, &new.proof)?;
        check_expiry(new.expiry, now)?;
        let message = migration_message(
            self.keys.realm(),
            old.epoch,
            new.epoch,
            &state.blinded,
            &old.evaluated,
            &new.evaluated,
            &state.session,
            new.expiry,
        )?;
        check_signature(keys, &message, &new.signature)?;
        Ok(MigrationAssertion {
            old_epoch: old.epoch,
            new_epoch: new.epoch,
            r: state.r,
            blinded: state.blinded,
            old_evaluated: old.evaluated,
            new_evaluated: new.evaluated,
            session: state.session,
            expiry: new.expiry,
            signature: new.signature,
        })
    }

    /// Threshold mode (`spec/12-threshold.md` §12.8): the holder's own blinded element and
    /// session hash, which the share answers and the signers' message cover.
    #[cfg(feature = "threshold")]
    pub(crate) fn request_of(state: &HolderState) -> Request {
        Request {
            blinded: state.blinded,
            session: state.session,
        }
    }

    /// Threshold mode, a migration: accepts `(old, new)` as [`Holder::finish_migration`]
    /// does, lets `combine` check both epochs' share answers and return `(Z_old, Z_new)` and
    /// the aggregated signature, then checks the expiry and the signature by the new epoch's
    /// key and builds the same assertion.
    #[cfg(feature = "threshold")]
    #[allow(clippy::type_complexity)]
    pub(crate) fn finish_migration_combined(
        &self,
        state: HolderState,
        (old, new): (Epoch, Epoch),
        expiry: u64,
        now: u64,
        combine: impl FnOnce(
            (&EpochPublicKeys, &EpochPublicKeys),
            &[u8],
        ) -> Result<(EvaluatedElement, EvaluatedElement, Signature)>,
    ) -> Result<MigrationAssertion> {
        let (old_keys, keys) = self.keys.accept_migration(old, new, now)?;
        check_expiry(expiry, now)?;
        let (old_evaluated, new_evaluated, signature) =
            combine((old_keys, keys), self.keys.realm())?;
        let message = migration_message(
            self.keys.realm(),
            old,
            new,
            &state.blinded,
            &old_evaluated,
            &new_evaluated,
            &state.session,
            expiry,
        )?;
        check_signature(keys, &message, &signature)?;
        Ok(MigrationAssertion {
            old_epoch: old,
            new_epoch: new,
            r: state.r,
            blinded: state.blinded,
            old_evaluated,
            new_evaluated,
            session: state.session,
            expiry,
            signature,
        })
    }

    /// The key set this holder trusts.
    #[cfg(feature = "threshold")]
    pub(crate) fn keys(&self) -> &VerifiedKeySet {
        &self.keys
    }

    /// The info `frame("blindnym v2 flow-A subject", subject)` of this holder.
    #[cfg(feature = "threshold")]
    pub(crate) fn subject_info(&self) -> &[u8] {
        &self.subject_info
    }

    /// Threshold mode: accepts `epoch` at `now`, lets `combine` check the share answers and
    /// return the combined `Z` and the aggregated signature, then checks the expiry and the
    /// signature as [`Holder::finish`] does and builds the same assertion.
    #[cfg(feature = "threshold")]
    pub(crate) fn finish_combined(
        &self,
        state: HolderState,
        epoch: Epoch,
        expiry: u64,
        now: u64,
        combine: impl FnOnce(&EpochPublicKeys, &[u8]) -> Result<(EvaluatedElement, Signature)>,
    ) -> Result<Assertion> {
        let keys = self.keys.accept_epoch(epoch, now)?;
        check_expiry(expiry, now)?;
        let (evaluated, signature) = combine(keys, self.keys.realm())?;
        let message = signed_message(
            self.keys.realm(),
            epoch,
            &state.blinded,
            &evaluated,
            &state.session,
            expiry,
        )?;
        check_signature(keys, &message, &signature)?;
        Ok(Assertion {
            epoch,
            r: state.r,
            blinded: state.blinded,
            evaluated,
            session: state.session,
            expiry,
            signature,
        })
    }

    /// The subject this holder was authenticated as.
    pub fn subject(&self) -> &SubjectId {
        &self.subject
    }
}
