//! Flow H: holder-derived pairwise pseudonyms over the VOPRF (`spec/05-flow-h.md`).
//!
//! The holder blinds `frame("blindnym v2 flow-H input", credential, service id)`; the
//! [`Evaluator`] sees only the blinded element. The OPRF output seeds an Ed25519 key per
//! service ([`ServiceKey`]); the pseudonym is the hash of its public key, and the holder logs
//! in by signing the relying party's challenge ([`LoginProof`]), so a pseudonym is an
//! account name, not a password: whoever learns it still cannot log in. The master
//! credential is a 256-bit secret ([`MasterCredential`]), never an identity number, so the
//! anonymous evaluator is no oracle for guessing it.

use core::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::budget::EvaluationBudget;
use super::context;
use super::ids::ServiceId;
use super::key_schedule::{Epoch, EpochPublicKeys, HolderDerivedKey};
use super::key_set::{VerifiedKeySet, decode_verifying_key};
use super::session::{Challenge, ChannelBinding, NonceStore, PendingChallenge};
use super::text::Pseudonym;
use crate::codec::{Reader, concat, decodes_from_slice, derive_key, frame, push_field};
use crate::error::{Error, Result};
use crate::messages::{Blind, BlindedElement, EvaluatedElement, Output, PROOF_LEN, Proof};
use crate::secret::secret_bytes_type;
use crate::voprf::VoprfClient;

/// Length of a [`MasterCredential`].
pub const CREDENTIAL_LEN: usize = 32;
/// Serialized size of a [`Request`].
pub const REQUEST_LEN: usize = 32;
/// Serialized size of a [`Response`]: epoch, evaluated element, proof.
pub const RESPONSE_LEN: usize = 4 + 32 + PROOF_LEN;
/// Serialized size of a [`LoginProof`]: verifying key and signature.
pub const LOGIN_PROOF_LEN: usize = 32 + 64;

secret_bytes_type!(
    /// The holder's master credential: 32 uniformly random bytes, generated once
    /// ([`MasterCredential::generate`]) and kept by the holder (`spec/05-flow-h.md` §5.1). At
    /// 256 bits it cannot be enumerated through the evaluator, which serves anonymous
    /// requests; [`MasterCredential::from_bytes`] takes exactly 32 bytes, so an identity
    /// number is refused. Zeroized on drop; never printed.
    MasterCredential,
    CREDENTIAL_LEN,
    random
);

/// The flow H private input `frame("blindnym v2 flow-H input", credential, service id)`
/// (`spec/05-flow-h.md` §5.2).
///
/// # Errors
/// None in practice (both fields are bounded).
pub fn private_input(
    credential: &MasterCredential,
    service: &ServiceId,
) -> Result<Zeroizing<Vec<u8>>> {
    frame(&[
        context::FLOW_H_INPUT.as_bytes(),
        credential.0.as_ref(),
        service.as_bytes(),
    ])
    .map(Zeroizing::new)
}

/// The pseudonym of the holder whose per-service key is `key` at `service`:
/// `blake3.derive_key("blindnym v2 pseudonym flow-H", frame(service, key))`.
///
/// # Errors
/// None in practice (both fields are bounded).
pub fn pseudonym_of(service: &ServiceId, key: &VerifyingKey) -> Result<Pseudonym> {
    derive_key(
        context::FLOW_H_PSEUDONYM,
        &[service.as_bytes(), key.as_bytes()],
    )
    .map(Pseudonym::from_array)
}

/// Holder → evaluator: the blinded element (`spec/05-flow-h.md` §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// `blind · HashToGroup(private input)`.
    pub blinded: BlindedElement,
}

impl Request {
    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; REQUEST_LEN] {
        self.blinded.to_bytes()
    }

    /// Decodes a request.
    ///
    /// # Errors
    /// As [`BlindedElement::from_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        BlindedElement::from_bytes(bytes).map(|blinded| Self { blinded })
    }
}

/// Evaluator → holder: the epoch, the evaluated element and its DLEQ proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    /// The epoch whose key evaluated.
    pub epoch: Epoch,
    /// `skS · blinded`.
    pub evaluated: EvaluatedElement,
    /// Proof that `evaluated` used the key published for `epoch`.
    pub proof: Proof,
}

impl Response {
    /// `I2OSP(epoch, 4) || evaluated || proof`, 100 bytes.
    pub fn to_bytes(&self) -> [u8; RESPONSE_LEN] {
        concat(&[
            &self.epoch.to_be_bytes(),
            self.evaluated.as_bytes(),
            &self.proof.to_bytes(),
        ])
    }

    /// Decodes a response strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 100 bytes; the element and scalar errors of
    /// the fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, RESPONSE_LEN)?;
        let response = Self {
            epoch: reader.u32()?,
            evaluated: EvaluatedElement::from_bytes(reader.take(32)?)?,
            proof: Proof::from_bytes(reader.take(PROOF_LEN)?)?,
        };
        reader.finish()?;
        Ok(response)
    }
}

/// The holder's state between [`Holder::blind`] and [`Holder::finalize`]: the private input,
/// the blind and the blinded element. Secret: never printed; its saved form is zeroized.
pub struct HolderState {
    input: Zeroizing<Vec<u8>>,
    blind: Blind,
    blinded: BlindedElement,
}

impl HolderState {
    /// The saved form: `blind (32) || blinded (32) || len(input):2 || input`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(66 + self.input.len()));
        out.extend_from_slice(self.blind.to_bytes().as_ref());
        out.extend_from_slice(self.blinded.as_bytes());
        // The input was framed from bounded fields, so it fits a field.
        let _ = push_field(&mut out, &self.input);
        out
    }

    /// Restores a saved state.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for a short or long buffer; the scalar and element errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let blind = Blind::from_bytes(reader.take(32)?)?;
        let blinded = BlindedElement::from_bytes(reader.take(32)?)?;
        let input = Zeroizing::new(reader.field()?.to_vec());
        reader.finish()?;
        Ok(Self {
            input,
            blind,
            blinded,
        })
    }
}

impl fmt::Debug for HolderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HolderState(<redacted>)")
    }
}

/// The holder of flow H: its credential and the verified key set.
pub struct Holder {
    keys: VerifiedKeySet,
    credential: MasterCredential,
}

impl Holder {
    /// A holder with `credential`, trusting `keys`.
    pub fn new(keys: VerifiedKeySet, credential: MasterCredential) -> Self {
        Self { keys, credential }
    }

    /// Blinds `(credential, service)` (`spec/05-flow-h.md` §5.3 step 1). `service` is the
    /// authenticated origin of the holder's channel (see [`ServiceId`]).
    ///
    /// # Errors
    /// [`Error::RandomnessFailure`] for a broken RNG.
    pub fn blind(
        &self,
        service: &ServiceId,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(HolderState, Request)> {
        let input = private_input(&self.credential, service)?;
        let newest = self.keys.set().epochs().last().ok_or(Error::Malformed)?;
        let (blind, blinded) = VoprfClient::new(newest.holder_derived).blind(&input, rng)?;
        Ok((
            HolderState {
                input,
                blind,
                blinded,
            },
            Request { blinded },
        ))
    }

    /// Verifies the response against the key of its epoch, if that epoch is accepted at
    /// `now`, and derives the per-service key (`spec/05-flow-h.md` §5.3 step 3).
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`] or [`Error::StaleEpoch`] for an epoch not accepted now
    /// (a stale or future key could single the holder out); [`Error::VerifyError`] when the
    /// proof fails (an evaluation under any other key: a tagging attempt).
    pub fn finalize(
        &self,
        state: HolderState,
        response: &Response,
        now: u64,
    ) -> Result<ServiceKey> {
        let keys = self.keys.accept_epoch(response.epoch, now)?;
        Self::service_key(state, keys, response)
    }

    /// For a migration (`spec/05-flow-h.md` §5.6): like [`Holder::finalize`] for an answer
    /// the holder asked of the previous epoch's evaluator, which must be the epoch just before
    /// the current one (no time limit: see [`VerifiedKeySet::accept_migration`]).
    ///
    /// # Errors
    /// As [`Holder::finalize`]; [`Error::StaleEpoch`] for any other epoch.
    pub fn finalize_previous(
        &self,
        state: HolderState,
        response: &Response,
        now: u64,
    ) -> Result<ServiceKey> {
        let current = self.keys.current(now)?.epoch;
        let (keys, _) = self.keys.accept_migration(response.epoch, current, now)?;
        Self::service_key(state, keys, response)
    }

    /// Threshold mode (`spec/12-threshold.md` §12.5): accepts `epoch` at `now`, lets
    /// `combine` check the share answers against that epoch's keys and return the combined
    /// `Z` for this holder's blinded element, then finalizes as [`Holder::finalize`] does.
    /// With `previous`, the epoch is accepted as [`Holder::finalize_previous`] does (the one
    /// just before the current one, for a migration).
    #[cfg(feature = "threshold")]
    pub(crate) fn finalize_combined(
        &self,
        state: HolderState,
        epoch: Epoch,
        now: u64,
        previous: bool,
        combine: impl FnOnce(&EpochPublicKeys, &BlindedElement) -> Result<EvaluatedElement>,
    ) -> Result<ServiceKey> {
        let keys = if previous {
            let current = self.keys.current(now)?.epoch;
            self.keys.accept_migration(epoch, current, now)?.0
        } else {
            self.keys.accept_epoch(epoch, now)?
        };
        let evaluated = combine(keys, &state.blinded)?;
        let output = crate::finalize::unblind_and_finalize_one(
            &state.input,
            None,
            &state.blind,
            &evaluated,
        )?;
        Ok(ServiceKey::from_output(epoch, &output))
    }

    /// Verifies `response` under `keys` and derives the per-service key.
    fn service_key(
        state: HolderState,
        keys: &EpochPublicKeys,
        response: &Response,
    ) -> Result<ServiceKey> {
        let output = VoprfClient::new(keys.holder_derived).finalize(
            &state.input,
            &state.blind,
            &response.evaluated,
            &state.blinded,
            &response.proof,
        )?;
        Ok(ServiceKey::from_output(response.epoch, &output))
    }
}

impl fmt::Debug for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Holder")
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

/// The holder's key at one service for one epoch: an Ed25519 key seeded by
/// `blake3.derive_key("blindnym v2 flow-H service signing key", output)`. Secret.
pub struct ServiceKey {
    epoch: Epoch,
    signing: SigningKey,
}

impl ServiceKey {
    fn from_output(epoch: Epoch, output: &Output) -> Self {
        let seed = Zeroizing::new(blake3::derive_key(
            context::FLOW_H_SIGNING_KEY,
            output.as_bytes(),
        ));
        Self {
            epoch,
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// The epoch the key belongs to.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The public key the relying party's pseudonym is the hash of.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The pseudonym at `service`.
    ///
    /// # Errors
    /// None in practice.
    pub fn pseudonym(&self, service: &ServiceId) -> Result<Pseudonym> {
        pseudonym_of(service, &self.verifying_key())
    }

    /// Answers a relying party's `challenge` over `channel` (`spec/05-flow-h.md` §5.5):
    /// signs `frame("blindnym v2 flow-H login signature", service, H(nonce, channel))`.
    ///
    /// # Errors
    /// None in practice.
    pub fn answer(
        &self,
        service: &ServiceId,
        challenge: &Challenge,
        channel: &ChannelBinding,
    ) -> Result<LoginProof> {
        let message = login_message(service, &challenge.session_hash(channel)?)?;
        Ok(LoginProof {
            key: self.verifying_key(),
            signature: self.signing.sign(&message),
        })
    }
}

impl fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceKey")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

fn login_message(service: &ServiceId, session: &[u8; 32]) -> Result<Vec<u8>> {
    frame(&[
        context::FLOW_H_LOGIN.as_bytes(),
        service.as_bytes(),
        session,
    ])
}

/// Holder → relying party: the per-service public key and a signature over the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginProof {
    /// The holder's per-service public key.
    pub key: VerifyingKey,
    /// Its signature over the login message.
    pub signature: Signature,
}

impl LoginProof {
    /// `key (32) || signature (64)`.
    pub fn to_bytes(&self) -> [u8; LOGIN_PROOF_LEN] {
        concat(&[self.key.as_bytes(), &self.signature.to_bytes()])
    }

    /// Decodes a login proof strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 96 bytes; the key errors of
    /// [`decode_verifying_key`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, LOGIN_PROOF_LEN)?;
        let key = decode_verifying_key(&reader.array()?)?;
        let signature = Signature::from_bytes(&reader.array()?);
        reader.finish()?;
        Ok(Self { key, signature })
    }
}

decodes_from_slice!(Request, Response, LoginProof);

/// The relying party of flow H: checks login proofs for its own service.
#[derive(Clone, Debug)]
pub struct RelyingParty {
    service: ServiceId,
}

impl RelyingParty {
    /// A relying party for `service`.
    pub fn new(service: ServiceId) -> Self {
        Self { service }
    }

    /// A fresh challenge: the one-shot state to keep and the message to send.
    pub fn challenge(
        &self,
        rng: &mut (impl CryptoRng + ?Sized),
        now: u64,
    ) -> (PendingChallenge, Challenge) {
        PendingChallenge::issue(rng, now)
    }

    /// Checks `proof` against the challenge it must answer and returns the pseudonym
    /// (`spec/05-flow-h.md` §5.5). `store` records the answered session.
    ///
    /// # Errors
    /// [`Error::BadSignature`] when the signature does not verify for this service and
    /// session (a bearer replay, another session's proof, or a forgery); [`Error::Expired`]
    /// when the challenge has lapsed; [`Error::Replayed`] when it was answered before.
    pub fn verify(
        &self,
        pending: PendingChallenge,
        proof: &LoginProof,
        channel: &ChannelBinding,
        now: u64,
        store: &impl NonceStore,
    ) -> Result<Pseudonym> {
        let session = self.check(&pending, proof, channel)?;
        pending.consume(&session, now, store)?;
        pseudonym_of(&self.service, &proof.key)
    }

    /// Migration to a new epoch (`spec/05-flow-h.md` §5.6): proofs from the holder's old and
    /// new per-service keys answering one challenge; returns `(old, new)` pseudonyms so the
    /// application can move the account.
    ///
    /// # Errors
    /// As [`RelyingParty::verify`], for either proof.
    pub fn verify_migration(
        &self,
        pending: PendingChallenge,
        old: &LoginProof,
        new: &LoginProof,
        channel: &ChannelBinding,
        now: u64,
        store: &impl NonceStore,
    ) -> Result<(Pseudonym, Pseudonym)> {
        let session = self.check(&pending, old, channel)?;
        self.check(&pending, new, channel)?;
        pending.consume(&session, now, store)?;
        Ok((
            pseudonym_of(&self.service, &old.key)?,
            pseudonym_of(&self.service, &new.key)?,
        ))
    }

    fn check(
        &self,
        pending: &PendingChallenge,
        proof: &LoginProof,
        channel: &ChannelBinding,
    ) -> Result<[u8; 32]> {
        let session = pending.session_hash(channel)?;
        let message = login_message(&self.service, &session)?;
        proof
            .key
            .verify_strict(&message, &proof.signature)
            .map_err(|_| Error::BadSignature)?;
        Ok(session)
    }
}

/// The evaluator of flow H. Its API takes only blinded elements: it never receives the
/// credential or the service id.
#[derive(Debug)]
pub struct Evaluator {
    key: HolderDerivedKey,
    budget: EvaluationBudget,
}

impl Evaluator {
    /// An evaluator answering with `key`, counting against `budget`.
    pub fn new(key: HolderDerivedKey, budget: EvaluationBudget) -> Self {
        Self { key, budget }
    }

    /// The key's budget.
    pub fn budget(&self) -> &EvaluationBudget {
        &self.budget
    }

    /// Evaluates a request with a DLEQ proof (`spec/05-flow-h.md` §5.3 step 2).
    ///
    /// # Errors
    /// [`Error::BudgetExhausted`] when the key's budget is spent,
    /// [`Error::RandomnessFailure`] for a broken RNG.
    pub fn evaluate(
        &self,
        request: &Request,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Response> {
        self.budget.charge(1)?;
        let (evaluated, proof) = self.key.server.blind_evaluate(&request.blinded, rng)?;
        Ok(Response {
            epoch: self.key.epoch,
            evaluated,
            proof,
        })
    }
}
