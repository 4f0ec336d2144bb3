//! Base mode, `modeOPRF` (RFC 9497 §3.3.1): no proof, no verifiability.

use rand_core::CryptoRng;

use crate::blind::{blind_batch, blind_one};
use crate::error::Result;
use crate::evaluate::{evaluate_direct, scale_batch};
use crate::finalize::{unblind_and_finalize, unblind_and_finalize_one};
use crate::group::SCALAR_LEN;
use crate::keys::{KeyPair, SecretKey};
use crate::messages::{Blind, BlindedElement, EvaluatedElement, Output};
use crate::suite::Mode;

/// The client of base mode. It holds no key (base mode has no proof to verify): what it must
/// remember between [`OprfClient::blind`] and [`OprfClient::finalize`] is the returned
/// [`Blind`]. Its methods take `&self` like those of [`VoprfClient`](crate::VoprfClient) and
/// [`PoprfClient`](crate::PoprfClient), so code moves between modes unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OprfClient;

impl OprfClient {
    /// `SetupOPRFClient(identifier)` (RFC 9497 §3.2).
    pub fn new() -> Self {
        Self
    }

    /// `Blind(input)` (RFC 9497 §3.3.1).
    ///
    /// # Errors
    /// [`Error::InputTooLong`](crate::Error::InputTooLong) for an input over 65534 bytes,
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) when it hashes to the identity,
    /// [`Error::RandomnessFailure`](crate::Error::RandomnessFailure) for a broken RNG.
    pub fn blind(
        &self,
        input: &[u8],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(Blind, BlindedElement)> {
        blind_one(Mode::Oprf, input, rng)
    }

    /// `Blind` for many inputs at once; blinds are drawn from `rng` in input order.
    ///
    /// # Errors
    /// As [`OprfClient::blind`], for the first input that fails.
    pub fn blind_batch<I: AsRef<[u8]> + Sync>(
        &self,
        inputs: &[I],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(Vec<Blind>, Vec<BlindedElement>)> {
        blind_batch(Mode::Oprf, inputs, rng)
    }

    /// `Finalize(input, blind, evaluatedElement)` (RFC 9497 §3.3.1).
    ///
    /// # Errors
    /// [`Error::InputTooLong`](crate::Error::InputTooLong) for an input over 65534 bytes.
    pub fn finalize(
        &self,
        input: &[u8],
        blind: &Blind,
        evaluated: &EvaluatedElement,
    ) -> Result<Output> {
        unblind_and_finalize_one(input, None, blind, evaluated)
    }

    /// `Finalize` for a batch, with one shared scalar inversion.
    ///
    /// # Errors
    /// [`Error::BatchMismatch`](crate::Error::BatchMismatch), [`Error::EmptyBatch`](crate::Error::EmptyBatch) or [`Error::BatchTooLarge`](crate::Error::BatchTooLarge) when the lists differ in length, are
    /// empty or exceed 65535; [`Error::InputTooLong`](crate::Error::InputTooLong) as in
    /// `finalize`.
    pub fn finalize_batch<I: AsRef<[u8]> + Sync>(
        &self,
        inputs: &[I],
        blinds: &[Blind],
        evaluated: &[EvaluatedElement],
    ) -> Result<Vec<Output>> {
        unblind_and_finalize(inputs, None, blinds, evaluated)
    }
}

/// The server of base mode: holds `skS`.
#[derive(Clone, Debug)]
pub struct OprfServer {
    key: SecretKey,
}

impl OprfServer {
    /// A server with the given key.
    pub fn new(key: SecretKey) -> Self {
        Self { key }
    }

    /// A server with a fresh random key (`GenerateKeyPair`).
    ///
    /// # Errors
    /// [`Error::RandomnessFailure`](crate::Error::RandomnessFailure) for a broken RNG.
    pub fn generate(rng: &mut (impl CryptoRng + ?Sized)) -> Result<Self> {
        SecretKey::generate(rng).map(Self::new)
    }

    /// A server keyed by `DeriveKeyPair(seed, info)` under the OPRF context (RFC 9497 §3.2.1).
    ///
    /// # Errors
    /// As [`KeyPair::derive`].
    pub fn derive(seed: &[u8; SCALAR_LEN], info: &[u8]) -> Result<Self> {
        Ok(Self::new(
            KeyPair::derive(Mode::Oprf, seed, info)?.secret().clone(),
        ))
    }

    /// The server's secret key.
    pub fn secret_key(&self) -> &SecretKey {
        &self.key
    }

    /// `BlindEvaluate(skS, blindedElement)` (RFC 9497 §3.3.1); constant-time in `skS`.
    pub fn blind_evaluate(&self, blinded: &BlindedElement) -> EvaluatedElement {
        EvaluatedElement::from_point(self.key.0 * blinded.point)
    }

    /// `BlindEvaluate` over a batch, in parallel, with batched encoding.
    pub fn blind_evaluate_batch(&self, blinded: &[BlindedElement]) -> Vec<EvaluatedElement> {
        scale_batch(&self.key.0, blinded)
    }

    /// `Evaluate(skS, input)` (RFC 9497 §3.3.1): the PRF computed directly, without blinding.
    ///
    /// # Errors
    /// [`Error::InputTooLong`](crate::Error::InputTooLong) for an input over 65534 bytes,
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) when it hashes to the identity.
    pub fn evaluate(&self, input: &[u8]) -> Result<Output> {
        evaluate_direct(Mode::Oprf, &self.key.0, input, None)
    }
}
