//! Flow H's holder: the request and response, the holder's state and its per-service key
//! (`spec/05-flow-h.md` §5.3–5.4).

use core::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::codec::{Reader, concat, push_field};
use crate::error::{Error, Result};
use crate::messages::{Blind, BlindedElement, EvaluatedElement, Output, PROOF_LEN, Proof};
use crate::pseudonym::context;
use crate::pseudonym::ids::ServiceId;
use crate::pseudonym::key_schedule::{Epoch, EpochPublicKeys};
use crate::pseudonym::key_set::VerifiedKeySet;
use crate::pseudonym::session::{Challenge, ChannelBinding};
use crate::pseudonym::text::Pseudonym;
use crate::voprf::VoprfClient;

use super::*;

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
