//! Flow A: attested pairwise pseudonyms over the POPRF, private input = service id, public
//! info = subject (`spec/06-flow-a.md`).
//!
//! 1. The relying party issues a fresh [`Nonce`] and tells the holder its service id.
//! 2. The [`Holder`] sends `B = r·HashToGroup(service)` and `H(nonce)` ([`Request`]).
//! 3. The [`Evaluator`] — which authenticated the holder as `subject` outside this library —
//!    answers `Z = t⁻¹·B` with a DLEQ proof against `T = t·G` and an Ed25519 signature over
//!    `(epoch, B, Z, H(nonce), expiry)` ([`Evaluation`]). Its API takes no service id.
//! 4. The holder verifies the proof against `T = pk + m·G` for its own subject and forwards
//!    `(r, B, Z, H(nonce), expiry, signature)` ([`Assertion`]) — never the proof or `T`.
//! 5. The [`RelyingParty`] checks signature, nonce, expiry and `B = r·P` for its own
//!    service, then computes `N = r⁻¹·Z` and the pseudonym.
//!
//! Replay protection beyond the nonce check (remembering used nonces, expiring sessions)
//! belongs to the relying party's application: [`RelyingParty::verify`] only checks that the
//! assertion answers the nonce passed in (`spec/06-flow-a.md` §6.6).

use core::fmt;

use curve25519_dalek::ristretto::RistrettoPoint;
use ed25519_dalek::{Signature, Signer};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use super::encoding::{Reader, concat, context, derive_key, frame};
use super::epoch_keys::{Epoch, EvaluatorKeys, PublishedKeys};
use super::pseudonym::Pseudonym;
use crate::error::{Error, Result};
use crate::group::hash_to_group;
use crate::messages::{Blind, BlindedElement, EvaluatedElement, PROOF_LEN, Proof};
use crate::poprf::PoprfClient;
use crate::suite::Mode;

/// Length of a relying-party nonce.
pub const NONCE_LEN: usize = 32;
/// Serialized size of a [`Request`]: blinded element and nonce hash.
pub const REQUEST_LEN: usize = 32 + 32;
/// Serialized size of an [`Evaluation`]: epoch, Z, proof, expiry, signature.
pub const EVALUATION_LEN: usize = 4 + 32 + PROOF_LEN + 8 + 64;
/// Serialized size of an [`Assertion`]: epoch, r, B, Z, nonce hash, expiry, signature.
pub const ASSERTION_LEN: usize = 4 + 32 + 32 + 32 + 32 + 8 + 64;

/// A relying party's fresh per-session challenge (`spec/06-flow-a.md` §6.2).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// A fresh random nonce.
    pub fn generate(rng: &mut (impl CryptoRng + ?Sized)) -> Self {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        Self(nonce)
    }

    /// Decodes a nonce.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::group::exact::<NONCE_LEN>(bytes).map(Self)
    }

    /// The nonce bytes.
    pub fn as_bytes(&self) -> &[u8; NONCE_LEN] {
        &self.0
    }

    /// `H(nonce) = blake3::derive_key("blindnym v1 flow-A nonce", nonce)`: what the evaluator
    /// sees and signs instead of the nonce itself.
    pub fn hash(&self) -> [u8; 32] {
        blake3::derive_key(context::FLOW_A_NONCE, &self.0)
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce(")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        write!(f, ")")
    }
}

/// The flow A private input `frame("blindnym v1 flow-A service", service_id)`.
///
/// # Errors
/// [`Error::InputTooLong`] for a service id over 65535 bytes.
pub fn service_input(service_id: &[u8]) -> Result<Vec<u8>> {
    frame(&[context::FLOW_A_SERVICE.as_bytes(), service_id])
}

/// The flow A public info `frame("blindnym v1 flow-A subject", subject)`.
///
/// # Errors
/// [`Error::InputTooLong`] for a subject over 65535 bytes.
pub fn subject_info(subject: &[u8]) -> Result<Vec<u8>> {
    frame(&[context::FLOW_A_SUBJECT.as_bytes(), subject])
}

/// The pseudonym `blake3::derive_key("blindnym v1 pseudonym flow-A", frame(service_id, N))`
/// (`spec/06-flow-a.md` §6.5).
///
/// # Errors
/// [`Error::InputTooLong`] for a service id over 65535 bytes.
pub fn pseudonym_from_element(service_id: &[u8], unblinded: &[u8; 32]) -> Result<Pseudonym> {
    derive_key(context::FLOW_A_PSEUDONYM, &[service_id, unblinded]).map(Pseudonym::from_array)
}

/// The bytes the evaluator signs (`spec/06-flow-a.md` §6.4):
/// `frame(FLOW_A_SIGNATURE, realm, epoch, B, Z, H(nonce), expiry)`.
fn signed_message(
    realm: &[u8],
    epoch: Epoch,
    blinded: &BlindedElement,
    evaluated: &EvaluatedElement,
    nonce_hash: &[u8; 32],
    expiry: u64,
) -> Result<Vec<u8>> {
    frame(&[
        context::FLOW_A_SIGNATURE.as_bytes(),
        realm,
        &epoch.to_be_bytes(),
        blinded.as_bytes(),
        evaluated.as_bytes(),
        nonce_hash,
        &expiry.to_be_bytes(),
    ])
}

/// Checks the evaluator's signature with the key published for `epoch`.
fn check_signature(
    published: &PublishedKeys,
    epoch: Epoch,
    blinded: &BlindedElement,
    evaluated: &EvaluatedElement,
    nonce_hash: &[u8; 32],
    expiry: u64,
    signature: &Signature,
) -> Result<()> {
    let keys = published.get(epoch)?;
    let message = signed_message(
        published.realm(),
        epoch,
        blinded,
        evaluated,
        nonce_hash,
        expiry,
    )?;
    keys.signing
        .verify_strict(&message, signature)
        .map_err(|_| Error::BadSignature)
}

/// Holder → evaluator (`spec/06-flow-a.md` §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// `B = r·HashToGroup(service_input(service id))`.
    pub blinded: BlindedElement,
    /// `H(nonce)`.
    pub nonce_hash: [u8; 32],
}

impl Request {
    /// `B || H(nonce)`, 64 bytes.
    pub fn to_bytes(&self) -> [u8; REQUEST_LEN] {
        concat(&[self.blinded.as_bytes(), &self.nonce_hash])
    }

    /// Decodes a request strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 64 bytes; the errors of
    /// [`BlindedElement::from_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, REQUEST_LEN)?;
        let request = Self {
            blinded: BlindedElement::from_bytes(reader.take(32)?)?,
            nonce_hash: reader.array()?,
        };
        reader.finish()?;
        Ok(request)
    }
}

/// Evaluator → holder (`spec/06-flow-a.md` §6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// The epoch whose keys evaluated and signed.
    pub epoch: Epoch,
    /// `Z = t⁻¹·B`.
    pub evaluated: EvaluatedElement,
    /// DLEQ proof against the tweaked key `T`; stays with the holder.
    pub proof: Proof,
    /// Expiry, in seconds of the deployment's clock.
    pub expiry: u64,
    /// Ed25519 signature over `(realm, epoch, B, Z, H(nonce), expiry)`.
    pub signature: Signature,
}

impl Evaluation {
    /// `epoch:4 || Z || proof || expiry:8 || signature`, 172 bytes.
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
    /// [`Error::InvalidLength`] unless exactly 172 bytes; the element and scalar errors of
    /// the fields.
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

/// Holder → relying party: the attested assertion (`spec/06-flow-a.md` §6.5). It carries
/// neither the proof nor the tweaked key, which would identify the subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assertion {
    /// The epoch of the evaluation.
    pub epoch: Epoch,
    /// The holder's blind `r` (nonzero); the relying party recomputes `B = r·P` with it.
    pub r: Blind,
    /// `B`, as signed.
    pub blinded: BlindedElement,
    /// `Z`, as signed.
    pub evaluated: EvaluatedElement,
    /// `H(nonce)`, as signed.
    pub nonce_hash: [u8; 32],
    /// Expiry, as signed.
    pub expiry: u64,
    /// The evaluator's signature.
    pub signature: Signature,
}

impl Assertion {
    /// `epoch:4 || r || B || Z || H(nonce) || expiry:8 || signature`, 204 bytes.
    pub fn to_bytes(&self) -> [u8; ASSERTION_LEN] {
        let r = self.r.to_bytes();
        concat(&[
            &self.epoch.to_be_bytes(),
            r.as_ref(),
            self.blinded.as_bytes(),
            self.evaluated.as_bytes(),
            &self.nonce_hash,
            &self.expiry.to_be_bytes(),
            &self.signature.to_bytes(),
        ])
    }

    /// Decodes an assertion strictly: exact length, canonical nonzero `r`, canonical
    /// non-identity `B` and `Z`.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 204 bytes; [`Error::NonCanonicalScalar`] or
    /// [`Error::ZeroScalar`] for a bad `r`; the element errors for a bad `B` or `Z`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, ASSERTION_LEN)?;
        let assertion = Self {
            epoch: reader.u32()?,
            r: Blind::from_bytes(reader.take(32)?)?,
            blinded: BlindedElement::from_bytes(reader.take(32)?)?,
            evaluated: EvaluatedElement::from_bytes(reader.take(32)?)?,
            nonce_hash: reader.array()?,
            expiry: reader.u64()?,
            signature: Signature::from_bytes(&reader.array()?),
        };
        reader.finish()?;
        Ok(assertion)
    }
}

/// The holder's state between [`Holder::request`] and [`Holder::finish`]. Secret (holds the
/// blind); never printed.
pub struct HolderState {
    r: Blind,
    blinded: BlindedElement,
    nonce_hash: [u8; 32],
}

impl fmt::Debug for HolderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HolderState(<redacted>)")
    }
}

/// The holder of flow A: knows its own authenticated subject and the published keys.
#[derive(Clone, Debug)]
pub struct Holder {
    published: PublishedKeys,
    subject_info: Vec<u8>,
}

impl Holder {
    /// A holder authenticated as `subject`, trusting `published`.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a subject over 65535 bytes.
    pub fn new(published: PublishedKeys, subject: &[u8]) -> Result<Self> {
        Ok(Self {
            published,
            subject_info: subject_info(subject)?,
        })
    }

    /// Step 2: blinds the relying party's service id and hashes its nonce
    /// (`spec/06-flow-a.md` §6.3).
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for an overlong service id, [`Error::RandomnessFailure`] for
    /// a broken RNG.
    pub fn request(
        &self,
        service_id: &[u8],
        nonce: &Nonce,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(HolderState, Request)> {
        let newest = self.published.newest()?;
        let (r, blinded) =
            PoprfClient::new(newest.flow_a).blind(&service_input(service_id)?, rng)?;
        let nonce_hash = nonce.hash();
        let request = Request {
            blinded,
            nonce_hash,
        };
        Ok((
            HolderState {
                r,
                blinded,
                nonce_hash,
            },
            request,
        ))
    }

    /// Step 4: verifies the DLEQ proof against `T = pk + m·G` for this holder's subject and
    /// the signature, both under the keys published for the evaluation's epoch, then builds
    /// the assertion to forward (`spec/06-flow-a.md` §6.5).
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`] when the epoch is not published; [`Error::VerifyError`] when
    /// the proof fails (an evaluation under any other key or subject: a tagging attempt);
    /// [`Error::BadSignature`] when the signature fails.
    pub fn finish(&self, state: HolderState, evaluation: &Evaluation) -> Result<Assertion> {
        let keys = self.published.get(evaluation.epoch)?;
        PoprfClient::new(keys.flow_a).verify(
            &self.subject_info,
            core::slice::from_ref(&state.blinded),
            core::slice::from_ref(&evaluation.evaluated),
            &evaluation.proof,
        )?;
        check_signature(
            &self.published,
            evaluation.epoch,
            &state.blinded,
            &evaluation.evaluated,
            &state.nonce_hash,
            evaluation.expiry,
            &evaluation.signature,
        )?;
        Ok(Assertion {
            epoch: evaluation.epoch,
            r: state.r.clone(),
            blinded: state.blinded,
            evaluated: evaluation.evaluated,
            nonce_hash: state.nonce_hash,
            expiry: evaluation.expiry,
            signature: evaluation.signature,
        })
    }
}

/// The evaluator of flow A. None of its functions takes a service id: it sees only `B` and
/// `H(nonce)`, plus the subject it authenticated itself.
#[derive(Clone, Debug)]
pub struct Evaluator {
    keys: EvaluatorKeys,
}

impl Evaluator {
    /// An evaluator answering with `keys` (one epoch).
    pub fn new(keys: EvaluatorKeys) -> Self {
        Self { keys }
    }

    /// Step 3: evaluates `request` for the authenticated `subject` and signs the result
    /// (`spec/06-flow-a.md` §6.4). `expiry` is absolute, in the deployment's seconds.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a subject over 65535 bytes, [`Error::InverseError`] when
    /// the tweak is zero (negligible), [`Error::RandomnessFailure`] for a broken RNG.
    pub fn evaluate(
        &self,
        subject: &[u8],
        request: &Request,
        expiry: u64,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Evaluation> {
        let info = subject_info(subject)?;
        let (evaluated, proof) = self
            .keys
            .flow_a()
            .blind_evaluate(&request.blinded, &info, rng)?;
        let epoch = self.keys.epoch();
        let message = signed_message(
            self.keys.realm(),
            epoch,
            &request.blinded,
            &evaluated,
            &request.nonce_hash,
            expiry,
        )?;
        Ok(Evaluation {
            epoch,
            evaluated,
            proof,
            expiry,
            signature: self.keys.signing().sign(&message),
        })
    }
}

/// The relying party of flow A: one service id, the published keys.
#[derive(Clone, Debug)]
pub struct RelyingParty {
    published: PublishedKeys,
    service_id: Vec<u8>,
    base: RistrettoPoint,
}

impl RelyingParty {
    /// A relying party for `service_id`, trusting `published`.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for an overlong service id, [`Error::InvalidInput`] when it
    /// hashes to the identity (negligible).
    pub fn new(published: PublishedKeys, service_id: &[u8]) -> Result<Self> {
        let base = hash_to_group(Mode::Poprf, &service_input(service_id)?)?;
        Ok(Self {
            published,
            service_id: service_id.to_vec(),
            base,
        })
    }

    /// The service id.
    pub fn service_id(&self) -> &[u8] {
        &self.service_id
    }

    /// Step 1: a fresh nonce for a new session. The application keeps it with the session
    /// and passes it to [`RelyingParty::verify`].
    pub fn challenge(&self, rng: &mut (impl CryptoRng + ?Sized)) -> Nonce {
        Nonce::generate(rng)
    }

    /// Step 5: checks an assertion for the session that issued `nonce`, at time `now`, and
    /// derives the pseudonym (`spec/06-flow-a.md` §6.6). The library reads no clock.
    ///
    /// Checks, in order: the epoch is published, the signature verifies, the nonce hash is
    /// this session's, `now < expiry`, and `B = r·P` for this service.
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`], [`Error::BadSignature`] (tampered or forged),
    /// [`Error::NonceMismatch`] (replayed into another session), [`Error::Expired`],
    /// [`Error::ServiceMismatch`] (made for another service).
    pub fn verify(&self, assertion: &Assertion, nonce: &Nonce, now: u64) -> Result<Pseudonym> {
        check_signature(
            &self.published,
            assertion.epoch,
            &assertion.blinded,
            &assertion.evaluated,
            &assertion.nonce_hash,
            assertion.expiry,
            &assertion.signature,
        )?;
        if !bool::from(assertion.nonce_hash.ct_eq(&nonce.hash())) {
            return Err(Error::NonceMismatch);
        }
        if now >= assertion.expiry {
            return Err(Error::Expired);
        }
        let recomputed = (assertion.r.0 * self.base).compress();
        if !bool::from(recomputed.as_bytes().ct_eq(assertion.blinded.as_bytes())) {
            return Err(Error::ServiceMismatch);
        }
        let unblinded = (assertion.r.0.invert() * assertion.evaluated.point).compress();
        pseudonym_from_element(&self.service_id, unblinded.as_bytes())
    }
}
