//! Flow A: attested pairwise pseudonyms over the POPRF, private input = service id, public
//! info = subject (`spec/06-flow-a.md`).
//!
//! 1. The [`RelyingParty`] issues a [`Challenge`]. The holder takes the service id from the
//!    authenticated origin of its channel ([`ServiceId`]), never from the relying party.
//! 2. The [`Holder`] sends `B = r·HashToGroup(service)` and the session hash
//!    `H(nonce, channel binding)` ([`Request`]).
//! 3. The [`Evaluator`] — which authenticated the holder as `subject` outside this library —
//!    answers `Z = t⁻¹·B` with a DLEQ proof and an Ed25519 signature over
//!    `(epoch, B, Z, session, expiry)`, the expiry on the public grid ([`Evaluation`]).
//! 4. The holder checks the epoch, the proof for its own subject, the expiry against its own
//!    clock and the signature, then forwards an [`Assertion`] — never the proof or `T`.
//! 5. The relying party checks epoch, signature, session (nonce and channel), expiry and
//!    `B = r·P` for its own service, records the session as answered, and computes the
//!    pseudonym from `N = r⁻¹·Z`.
//!
//! Migration to a new epoch runs the same steps once with both epochs' keys: one `B`, one
//! session, one signature over both answers, and the relying party gets `(old, new)`.

use core::fmt;

use curve25519_dalek::ristretto::RistrettoPoint;
use ed25519_dalek::{Signature, Signer};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::budget::EvaluationBudget;
use super::context;
use super::ids::{ServiceId, SubjectId};
use super::key_schedule::{AttestedKey, Epoch, EpochPublicKeys};
use super::key_set::VerifiedKeySet;
use super::session::{
    Challenge, ChannelBinding, NonceStore, PendingChallenge, check_expiry, grid_expiry,
};
use super::text::Pseudonym;
use crate::codec::{Reader, concat, decodes_from_slice, derive_key, frame};
use crate::error::{Error, Result};
use crate::group::hash_to_group;
use crate::messages::{Blind, BlindedElement, EvaluatedElement, PROOF_LEN, Proof};
use crate::poprf::PoprfClient;
use crate::suite::Mode;

/// Serialized size of a [`Request`]: blinded element and session hash.
pub const REQUEST_LEN: usize = 32 + 32;
/// Serialized size of an [`Evaluation`]: epoch, Z, proof, expiry, signature.
pub const EVALUATION_LEN: usize = 4 + 32 + PROOF_LEN + 8 + 64;
/// Serialized size of an [`Assertion`]: epoch, r, B, Z, session hash, expiry, signature.
pub const ASSERTION_LEN: usize = 4 + 32 + 32 + 32 + 32 + 8 + 64;
/// Serialized size of a [`MigrationEvaluation`]: two (epoch, Z, proof), expiry, signature.
pub const MIGRATION_EVALUATION_LEN: usize = 2 * (4 + 32 + PROOF_LEN) + 8 + 64;
/// Serialized size of a [`MigrationAssertion`]: two epochs, r, B, two Z, session, expiry,
/// signature.
pub const MIGRATION_ASSERTION_LEN: usize = 4 + 4 + 32 + 32 + 32 + 32 + 32 + 8 + 64;

/// The flow A private input `frame("blindnym v2 flow-A service", service id)`.
///
/// # Errors
/// None in practice (service ids are bounded).
pub fn service_input(service: &ServiceId) -> Result<Vec<u8>> {
    frame(&[context::FLOW_A_SERVICE.as_bytes(), service.as_bytes()])
}

/// The flow A public info `frame("blindnym v2 flow-A subject", subject)`.
///
/// # Errors
/// None in practice (subject ids are bounded).
pub fn subject_info(subject: &SubjectId) -> Result<Vec<u8>> {
    frame(&[context::FLOW_A_SUBJECT.as_bytes(), subject.as_bytes()])
}

/// The pseudonym `blake3.derive_key("blindnym v2 pseudonym flow-A", frame(service, N))`.
///
/// # Errors
/// None in practice.
pub fn pseudonym_from_element(service: &ServiceId, unblinded: &[u8; 32]) -> Result<Pseudonym> {
    derive_key(context::FLOW_A_PSEUDONYM, &[service.as_bytes(), unblinded])
        .map(Pseudonym::from_array)
}

/// `frame("blindnym v2 flow-A evaluation signature", realm, epoch, B, Z, session, expiry)`.
pub(crate) fn signed_message(
    realm: &[u8],
    epoch: Epoch,
    b: &BlindedElement,
    z: &EvaluatedElement,
    session: &[u8; 32],
    expiry: u64,
) -> Result<Vec<u8>> {
    frame(&[
        context::FLOW_A_SIGNATURE.as_bytes(),
        realm,
        &epoch.to_be_bytes(),
        b.as_bytes(),
        z.as_bytes(),
        session,
        &expiry.to_be_bytes(),
    ])
}

/// `frame("blindnym v2 flow-A migration signature", realm, old epoch, new epoch, B, Z_old,
/// Z_new, session, expiry)`, signed with the new epoch's key.
#[allow(clippy::too_many_arguments)]
pub(crate) fn migration_message(
    realm: &[u8],
    old: Epoch,
    new: Epoch,
    b: &BlindedElement,
    z_old: &EvaluatedElement,
    z_new: &EvaluatedElement,
    session: &[u8; 32],
    expiry: u64,
) -> Result<Vec<u8>> {
    frame(&[
        context::FLOW_A_MIGRATION_SIGNATURE.as_bytes(),
        realm,
        &old.to_be_bytes(),
        &new.to_be_bytes(),
        b.as_bytes(),
        z_old.as_bytes(),
        z_new.as_bytes(),
        session,
        &expiry.to_be_bytes(),
    ])
}

fn check_signature(keys: &EpochPublicKeys, message: &[u8], signature: &Signature) -> Result<()> {
    keys.attested_signing
        .verify_strict(message, signature)
        .map_err(|_| Error::BadSignature)
}

/// Holder → evaluator (`spec/06-flow-a.md` §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// `B = r·HashToGroup(service_input(service))`.
    pub blinded: BlindedElement,
    /// `H(nonce, channel binding)`.
    pub session: [u8; 32],
}

impl Request {
    /// `B || session`, 64 bytes.
    pub fn to_bytes(&self) -> [u8; REQUEST_LEN] {
        concat(&[self.blinded.as_bytes(), &self.session])
    }

    /// Decodes a request strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 64 bytes; the element errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, REQUEST_LEN)?;
        let blinded = BlindedElement::from_bytes(reader.take(32)?)?;
        let session = reader.array()?;
        reader.finish()?;
        Ok(Self { blinded, session })
    }
}

/// Evaluator → holder (`spec/06-flow-a.md` §6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// The epoch whose keys evaluated and signed.
    pub epoch: Epoch,
    /// `Z = t⁻¹·B`.
    pub evaluated: EvaluatedElement,
    /// DLEQ proof against `T = pk + m·G`.
    pub proof: Proof,
    /// Absolute expiry, on the public grid.
    pub expiry: u64,
    /// Ed25519 signature over the signed message.
    pub signature: Signature,
}

impl Evaluation {
    /// `epoch || Z || proof || expiry || signature`, 172 bytes.
    pub fn to_bytes(&self) -> [u8; EVALUATION_LEN] {
        concat(&[
            &self.epoch.to_be_bytes(),
            self.evaluated.as_bytes(),
            &self.proof.to_bytes(),
            &self.expiry.to_be_bytes(),
            &self.signature.to_bytes(),
        ])
    }

    /// Decodes an evaluation strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 172 bytes; the element and scalar errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, EVALUATION_LEN)?;
        let evaluation = Self {
            epoch: reader.u32()?,
            evaluated: EvaluatedElement::from_bytes(reader.take(32)?)?,
            proof: Proof::from_bytes(reader.take(PROOF_LEN)?)?,
            expiry: reader.u64()?,
            signature: Signature::from_bytes(&reader.array()?),
        };
        reader.finish()?;
        Ok(evaluation)
    }
}

/// Evaluator → holder for a migration: the answers under the old and the new epoch's keys,
/// one expiry and one signature by the new epoch's key over both (`spec/06-flow-a.md` §6.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MigrationEvaluation {
    /// The old epoch's answer (its `expiry` and `signature` are unused).
    pub old: Evaluation,
    /// The new epoch's answer; its `expiry` and `signature` cover both.
    pub new: Evaluation,
}

impl MigrationEvaluation {
    /// `old epoch || Z_old || proof_old || new epoch || Z_new || proof_new || expiry ||
    /// signature`, 272 bytes.
    pub fn to_bytes(&self) -> [u8; MIGRATION_EVALUATION_LEN] {
        concat(&[
            &self.old.epoch.to_be_bytes(),
            self.old.evaluated.as_bytes(),
            &self.old.proof.to_bytes(),
            &self.new.epoch.to_be_bytes(),
            self.new.evaluated.as_bytes(),
            &self.new.proof.to_bytes(),
            &self.new.expiry.to_be_bytes(),
            &self.new.signature.to_bytes(),
        ])
    }

    /// Decodes a migration evaluation strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 272 bytes; the element and scalar errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, MIGRATION_EVALUATION_LEN)?;
        let half = |reader: &mut Reader<'_>| -> Result<(Epoch, EvaluatedElement, Proof)> {
            Ok((
                reader.u32()?,
                EvaluatedElement::from_bytes(reader.take(32)?)?,
                Proof::from_bytes(reader.take(PROOF_LEN)?)?,
            ))
        };
        let (old_epoch, old_z, old_proof) = half(&mut reader)?;
        let (new_epoch, new_z, new_proof) = half(&mut reader)?;
        let expiry = reader.u64()?;
        let signature = Signature::from_bytes(&reader.array()?);
        reader.finish()?;
        Ok(Self {
            old: Evaluation {
                epoch: old_epoch,
                evaluated: old_z,
                proof: old_proof,
                expiry,
                signature,
            },
            new: Evaluation {
                epoch: new_epoch,
                evaluated: new_z,
                proof: new_proof,
                expiry,
                signature,
            },
        })
    }
}

/// Holder → relying party (`spec/06-flow-a.md` §6.5).
#[derive(Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The epoch whose keys evaluated.
    pub epoch: Epoch,
    /// The holder's blinding scalar `r`.
    pub r: Blind,
    /// `B = r·P`.
    pub blinded: BlindedElement,
    /// `Z = t⁻¹·B`.
    pub evaluated: EvaluatedElement,
    /// `H(nonce, channel binding)`.
    pub session: [u8; 32],
    /// Absolute expiry, on the public grid.
    pub expiry: u64,
    /// The evaluator's signature.
    pub signature: Signature,
}

impl Assertion {
    /// `epoch || r || B || Z || session || expiry || signature`, 204 bytes.
    pub fn to_bytes(&self) -> [u8; ASSERTION_LEN] {
        concat(&[
            &self.epoch.to_be_bytes(),
            self.r.to_bytes().as_ref(),
            self.blinded.as_bytes(),
            self.evaluated.as_bytes(),
            &self.session,
            &self.expiry.to_be_bytes(),
            &self.signature.to_bytes(),
        ])
    }

    /// Decodes an assertion strictly: exact length, canonical nonzero `r`, canonical
    /// non-identity elements.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 204 bytes; the scalar and element errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, ASSERTION_LEN)?;
        let assertion = Self {
            epoch: reader.u32()?,
            r: Blind::from_bytes(reader.take(32)?)?,
            blinded: BlindedElement::from_bytes(reader.take(32)?)?,
            evaluated: EvaluatedElement::from_bytes(reader.take(32)?)?,
            session: reader.array()?,
            expiry: reader.u64()?,
            signature: Signature::from_bytes(&reader.array()?),
        };
        reader.finish()?;
        Ok(assertion)
    }
}

impl fmt::Debug for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Assertion")
            .field("epoch", &self.epoch)
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

/// Holder → relying party for a migration: one `r`, `B` and session, both answers, one
/// signature (`spec/06-flow-a.md` §6.7).
#[derive(Clone, PartialEq, Eq)]
pub struct MigrationAssertion {
    /// The old epoch.
    pub old_epoch: Epoch,
    /// The new epoch.
    pub new_epoch: Epoch,
    /// The holder's blinding scalar `r`.
    pub r: Blind,
    /// `B = r·P`.
    pub blinded: BlindedElement,
    /// The old epoch's `Z`.
    pub old_evaluated: EvaluatedElement,
    /// The new epoch's `Z`.
    pub new_evaluated: EvaluatedElement,
    /// `H(nonce, channel binding)`.
    pub session: [u8; 32],
    /// Absolute expiry, on the public grid.
    pub expiry: u64,
    /// The new epoch's signature over both answers.
    pub signature: Signature,
}

impl MigrationAssertion {
    /// `old epoch || new epoch || r || B || Z_old || Z_new || session || expiry ||
    /// signature`, 240 bytes.
    pub fn to_bytes(&self) -> [u8; MIGRATION_ASSERTION_LEN] {
        concat(&[
            &self.old_epoch.to_be_bytes(),
            &self.new_epoch.to_be_bytes(),
            self.r.to_bytes().as_ref(),
            self.blinded.as_bytes(),
            self.old_evaluated.as_bytes(),
            self.new_evaluated.as_bytes(),
            &self.session,
            &self.expiry.to_be_bytes(),
            &self.signature.to_bytes(),
        ])
    }

    /// Decodes a migration assertion strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 240 bytes; the scalar and element errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, MIGRATION_ASSERTION_LEN)?;
        let assertion = Self {
            old_epoch: reader.u32()?,
            new_epoch: reader.u32()?,
            r: Blind::from_bytes(reader.take(32)?)?,
            blinded: BlindedElement::from_bytes(reader.take(32)?)?,
            old_evaluated: EvaluatedElement::from_bytes(reader.take(32)?)?,
            new_evaluated: EvaluatedElement::from_bytes(reader.take(32)?)?,
            session: reader.array()?,
            expiry: reader.u64()?,
            signature: Signature::from_bytes(&reader.array()?),
        };
        reader.finish()?;
        Ok(assertion)
    }
}

impl fmt::Debug for MigrationAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MigrationAssertion")
            .field("old_epoch", &self.old_epoch)
            .field("new_epoch", &self.new_epoch)
            .finish_non_exhaustive()
    }
}

decodes_from_slice!(
    Request,
    Evaluation,
    MigrationEvaluation,
    Assertion,
    MigrationAssertion
);

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

/// The evaluator of flow A for one epoch. None of its functions takes a service id: it sees
/// only `B` and the session hash, plus the subject it authenticated itself.
#[derive(Debug)]
pub struct Evaluator {
    key: AttestedKey,
    budget: EvaluationBudget,
}

impl Evaluator {
    /// An evaluator answering with `key`, counting against `budget`.
    pub fn new(key: AttestedKey, budget: EvaluationBudget) -> Self {
        Self { key, budget }
    }

    /// The key's budget.
    pub fn budget(&self) -> &EvaluationBudget {
        &self.budget
    }

    fn answer(
        &self,
        subject: &SubjectId,
        request: &Request,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(EvaluatedElement, Proof)> {
        self.budget.charge(1)?;
        self.key
            .server
            .blind_evaluate(&request.blinded, &subject_info(subject)?, rng)
    }

    /// Step 3: evaluates `request` for the authenticated `subject` at time `now` and signs
    /// the result; the expiry is [`grid_expiry`]`(now)` (`spec/06-flow-a.md` §6.4).
    ///
    /// # Errors
    /// [`Error::BudgetExhausted`] when the key's budget is spent, [`Error::InverseError`]
    /// when the tweak is zero (negligible), [`Error::RandomnessFailure`] for a broken RNG.
    pub fn evaluate(
        &self,
        subject: &SubjectId,
        request: &Request,
        now: u64,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Evaluation> {
        let (evaluated, proof) = self.answer(subject, request, rng)?;
        let expiry = grid_expiry(now);
        let message = signed_message(
            &self.key.realm,
            self.key.epoch,
            &request.blinded,
            &evaluated,
            &request.session,
            expiry,
        )?;
        Ok(Evaluation {
            epoch: self.key.epoch,
            evaluated,
            proof,
            expiry,
            signature: self.key.signing.sign(&message),
        })
    }

    /// A migration: answers `request` under `previous` (the old epoch's evaluator) and this
    /// one, signed once by this epoch's key (`spec/06-flow-a.md` §6.7). Each key's budget is
    /// charged.
    ///
    /// # Errors
    /// [`Error::StaleEpoch`] unless `previous` is this realm's epoch just before this one;
    /// as [`Evaluator::evaluate`], for either key.
    pub fn evaluate_migration(
        &self,
        previous: &Evaluator,
        subject: &SubjectId,
        request: &Request,
        now: u64,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<MigrationEvaluation> {
        if previous.key.epoch.checked_add(1) != Some(self.key.epoch)
            || previous.key.realm != self.key.realm
        {
            return Err(Error::StaleEpoch {
                epoch: previous.key.epoch,
            });
        }
        let (old_z, old_proof) = previous.answer(subject, request, rng)?;
        let (new_z, new_proof) = self.answer(subject, request, rng)?;
        let expiry = grid_expiry(now);
        let message = migration_message(
            &self.key.realm,
            previous.key.epoch,
            self.key.epoch,
            &request.blinded,
            &old_z,
            &new_z,
            &request.session,
            expiry,
        )?;
        let signature = self.key.signing.sign(&message);
        Ok(MigrationEvaluation {
            old: Evaluation {
                epoch: previous.key.epoch,
                evaluated: old_z,
                proof: old_proof,
                expiry,
                signature,
            },
            new: Evaluation {
                epoch: self.key.epoch,
                evaluated: new_z,
                proof: new_proof,
                expiry,
                signature,
            },
        })
    }
}

/// The fields of an assertion that the relying party's session checks read.
struct Presented<'a> {
    r: &'a Blind,
    blinded: &'a BlindedElement,
    session: &'a [u8; 32],
    expiry: u64,
}

/// The relying party of flow A: its own service id and the verified key set.
#[derive(Clone, Debug)]
pub struct RelyingParty {
    keys: VerifiedKeySet,
    service: ServiceId,
    base: RistrettoPoint,
}

impl RelyingParty {
    /// A relying party for `service`, trusting `keys`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the service hashes to the identity (negligible).
    pub fn new(keys: VerifiedKeySet, service: ServiceId) -> Result<Self> {
        let base = hash_to_group(Mode::Poprf, &service_input(&service)?)?;
        Ok(Self {
            keys,
            service,
            base,
        })
    }

    /// The service id.
    pub fn service(&self) -> &ServiceId {
        &self.service
    }

    /// Step 1: a fresh challenge at time `now` — the one-shot state to keep with the session
    /// and the message to send to the holder. It lapses at [`grid_expiry`]`(now)`.
    pub fn challenge(
        &self,
        rng: &mut (impl CryptoRng + ?Sized),
        now: u64,
    ) -> (PendingChallenge, Challenge) {
        PendingChallenge::issue(rng, now)
    }

    /// The checks shared by both kinds of assertion, in the order of `spec/06-flow-a.md`
    /// §6.6, after the epoch and signature checks: session, expiry, service.
    fn check_presented(
        &self,
        pending: &PendingChallenge,
        channel: &ChannelBinding,
        now: u64,
        presented: Presented<'_>,
    ) -> Result<()> {
        pending.check(presented.session, channel)?;
        check_expiry(presented.expiry, now)?;
        let recomputed = (presented.r.0 * self.base).compress();
        if !bool::from(recomputed.as_bytes().ct_eq(presented.blinded.as_bytes())) {
            return Err(Error::ServiceMismatch);
        }
        Ok(())
    }

    fn pseudonym(&self, r: &Blind, z: &EvaluatedElement) -> Result<Pseudonym> {
        let unblinded = Zeroizing::new((r.0.invert() * z.point).compress().to_bytes());
        pseudonym_from_element(&self.service, &unblinded)
    }

    /// Step 5: checks an assertion for the session `pending` over `channel` at time `now`,
    /// records the session in `store`, and derives the pseudonym (`spec/06-flow-a.md` §6.6).
    /// The library reads no clock.
    ///
    /// # Errors
    /// In order: [`Error::UnknownEpoch`]/[`Error::StaleEpoch`]; [`Error::BadSignature`]
    /// (tampered or forged); [`Error::SessionMismatch`] (another session's nonce, or relayed
    /// over another channel); [`Error::OffGridExpiry`]/[`Error::Expired`];
    /// [`Error::ServiceMismatch`] (made for another service); [`Error::Expired`] when the
    /// challenge has lapsed; [`Error::Replayed`].
    pub fn verify(
        &self,
        pending: PendingChallenge,
        assertion: &Assertion,
        channel: &ChannelBinding,
        now: u64,
        store: &impl NonceStore,
    ) -> Result<Pseudonym> {
        let keys = self.keys.accept_epoch(assertion.epoch, now)?;
        let message = signed_message(
            self.keys.realm(),
            assertion.epoch,
            &assertion.blinded,
            &assertion.evaluated,
            &assertion.session,
            assertion.expiry,
        )?;
        check_signature(keys, &message, &assertion.signature)?;
        self.check_presented(
            &pending,
            channel,
            now,
            Presented {
                r: &assertion.r,
                blinded: &assertion.blinded,
                session: &assertion.session,
                expiry: assertion.expiry,
            },
        )?;
        pending.consume(&assertion.session, now, store)?;
        self.pseudonym(&assertion.r, &assertion.evaluated)
    }

    /// Step 5 of a migration: the checks of [`RelyingParty::verify`] with both epochs
    /// accepted and the new epoch's signature over both answers; returns the `(old, new)`
    /// pseudonyms of the same subject so the application can move the account. The
    /// evaluator computes no mapping: the holder carries it.
    ///
    /// # Errors
    /// As [`RelyingParty::verify`]; [`Error::StaleEpoch`] unless the new epoch is current and
    /// the old one the epoch just before it.
    pub fn verify_migration(
        &self,
        pending: PendingChallenge,
        assertion: &MigrationAssertion,
        channel: &ChannelBinding,
        now: u64,
        store: &impl NonceStore,
    ) -> Result<(Pseudonym, Pseudonym)> {
        let (_, keys) =
            self.keys
                .accept_migration(assertion.old_epoch, assertion.new_epoch, now)?;
        let message = migration_message(
            self.keys.realm(),
            assertion.old_epoch,
            assertion.new_epoch,
            &assertion.blinded,
            &assertion.old_evaluated,
            &assertion.new_evaluated,
            &assertion.session,
            assertion.expiry,
        )?;
        check_signature(keys, &message, &assertion.signature)?;
        self.check_presented(
            &pending,
            channel,
            now,
            Presented {
                r: &assertion.r,
                blinded: &assertion.blinded,
                session: &assertion.session,
                expiry: assertion.expiry,
            },
        )?;
        pending.consume(&assertion.session, now, store)?;
        Ok((
            self.pseudonym(&assertion.r, &assertion.old_evaluated)?,
            self.pseudonym(&assertion.r, &assertion.new_evaluated)?,
        ))
    }
}
