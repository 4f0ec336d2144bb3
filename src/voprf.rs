//! Verifiable mode, `modeVOPRF` (RFC 9497 §3.3.2): every evaluation carries a DLEQ proof that
//! it used the key behind the published `pkS`.

use core::slice;

use rand_core::CryptoRng;

use crate::blind::{blind_batch, blind_one};
use curve25519_dalek::scalar::Scalar;
use zeroize::Zeroizing;

use crate::dleq::{
    CompositeWeights, check_batch, generate_proof, hedged_nonce, only, verify_proof,
};
use crate::error::Result;
use crate::evaluate::{evaluate_direct, scale_and_weigh};
use crate::finalize::unblind_and_finalize;
use crate::group::{ELEMENT_LEN, SCALAR_LEN};
use crate::keys::{KeyPair, PublicKey};
use crate::messages::{Blind, BlindedElement, EvaluatedElement, Output, Proof};
use crate::suite::Mode;

/// The client of verifiable mode: knows the server's public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VoprfClient {
    public_key: PublicKey,
}

impl VoprfClient {
    /// `SetupVOPRFClient(identifier, pkS)` (RFC 9497 §3.2).
    pub fn new(public_key: PublicKey) -> Self {
        Self { public_key }
    }

    /// The public key evaluations are verified against.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// `Blind(input)` (RFC 9497 §3.3.2, identical to §3.3.1 under the VOPRF context).
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
        blind_one(Mode::Voprf, input, rng)
    }

    /// `Blind` for many inputs at once; blinds are drawn from `rng` in input order.
    ///
    /// # Errors
    /// As [`VoprfClient::blind`], for the first input that fails.
    pub fn blind_batch<I: AsRef<[u8]> + Sync>(
        &self,
        inputs: &[I],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(Vec<Blind>, Vec<BlindedElement>)> {
        blind_batch(Mode::Voprf, inputs, rng)
    }

    /// `VerifyProof(G, pkS, blinded, evaluated, proof)` (RFC 9497 §2.2.2) for a batch.
    ///
    /// # Errors
    /// [`Error::BatchMismatch`](crate::Error::BatchMismatch), [`Error::EmptyBatch`](crate::Error::EmptyBatch) or [`Error::BatchTooLarge`](crate::Error::BatchTooLarge) for mismatched, empty or oversized lists,
    /// [`Error::VerifyError`](crate::Error::VerifyError) when the proof does not verify.
    pub fn verify(
        &self,
        blinded: &[BlindedElement],
        evaluated: &[EvaluatedElement],
        proof: &Proof,
    ) -> Result<()> {
        verify_proof(Mode::Voprf, &self.public_key, blinded, evaluated, proof)
    }

    /// `Finalize(input, blind, evaluatedElement, blindedElement, pkS, proof)` (RFC 9497 §3.3.2).
    ///
    /// # Errors
    /// [`Error::VerifyError`](crate::Error::VerifyError) when the proof does not verify,
    /// [`Error::InputTooLong`](crate::Error::InputTooLong) for an input over 65534 bytes.
    pub fn finalize(
        &self,
        input: &[u8],
        blind: &Blind,
        evaluated: &EvaluatedElement,
        blinded: &BlindedElement,
        proof: &Proof,
    ) -> Result<Output> {
        let outputs = self.finalize_batch(
            slice::from_ref(&input),
            slice::from_ref(blind),
            slice::from_ref(evaluated),
            slice::from_ref(blinded),
            proof,
        )?;
        only(outputs)
    }

    /// `Finalize` for a batch covered by one proof: verifies the proof once, then unblinds
    /// with one shared scalar inversion.
    ///
    /// # Errors
    /// [`Error::BatchMismatch`](crate::Error::BatchMismatch), [`Error::EmptyBatch`](crate::Error::EmptyBatch) or [`Error::BatchTooLarge`](crate::Error::BatchTooLarge) when the lists differ in length, are
    /// empty or exceed 65535; otherwise as [`VoprfClient::finalize`].
    pub fn finalize_batch<I: AsRef<[u8]> + Sync>(
        &self,
        inputs: &[I],
        blinds: &[Blind],
        evaluated: &[EvaluatedElement],
        blinded: &[BlindedElement],
        proof: &Proof,
    ) -> Result<Vec<Output>> {
        check_batch(inputs.len(), blinded.len())?;
        self.verify(blinded, evaluated, proof)?;
        unblind_and_finalize(inputs, None, blinds, evaluated)
    }
}

/// The server of verifiable mode: holds `skS` and publishes `pkS`.
#[derive(Clone, Debug)]
pub struct VoprfServer {
    keys: KeyPair,
}

impl VoprfServer {
    /// `SetupVOPRFServer(identifier, skS)` (RFC 9497 §3.2).
    pub fn new(keys: KeyPair) -> Self {
        Self { keys }
    }

    /// A server with a fresh random key pair (`GenerateKeyPair`).
    ///
    /// # Errors
    /// [`Error::RandomnessFailure`](crate::Error::RandomnessFailure) for a broken RNG.
    pub fn generate(rng: &mut (impl CryptoRng + ?Sized)) -> Result<Self> {
        KeyPair::generate(rng).map(Self::new)
    }

    /// A server keyed by `DeriveKeyPair(seed, info)` under the VOPRF context (§3.2.1).
    ///
    /// # Errors
    /// As [`KeyPair::derive`].
    pub fn derive(seed: &[u8; SCALAR_LEN], info: &[u8]) -> Result<Self> {
        KeyPair::derive(Mode::Voprf, seed, info).map(Self::new)
    }

    /// The key pair.
    pub fn key_pair(&self) -> &KeyPair {
        &self.keys
    }

    /// The public key `pkS` clients verify against.
    pub fn public_key(&self) -> &PublicKey {
        self.keys.public()
    }

    /// `BlindEvaluate(skS, pkS, blindedElement)` (RFC 9497 §3.3.2).
    ///
    /// # Errors
    /// [`Error::RandomnessFailure`](crate::Error::RandomnessFailure) for a broken RNG.
    pub fn blind_evaluate(
        &self,
        blinded: &BlindedElement,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(EvaluatedElement, Proof)> {
        let (evaluated, proof) = self.blind_evaluate_batch(slice::from_ref(blinded), rng)?;
        Ok((only(evaluated)?, proof))
    }

    /// `BlindEvaluate` over a batch with one batched DLEQ proof (RFC 9497 §3.3.2, §2.2.1).
    ///
    /// # Errors
    /// [`Error::BatchMismatch`](crate::Error::BatchMismatch), [`Error::EmptyBatch`](crate::Error::EmptyBatch) or [`Error::BatchTooLarge`](crate::Error::BatchTooLarge) for an empty batch or one over 65535,
    /// [`Error::RandomnessFailure`](crate::Error::RandomnessFailure) for a broken RNG.
    pub fn blind_evaluate_batch(
        &self,
        blinded: &[BlindedElement],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(Vec<EvaluatedElement>, Proof)> {
        let b = self.public_key().bytes;
        self.evaluate_with(blinded, |k, m, z| {
            hedged_nonce(Mode::Voprf, rng, k, &b, m, z)
        })
    }

    /// [`VoprfServer::blind_evaluate_batch`] with the proof nonce `r` given (RFC 9497's test
    /// vectors); reached through `hazmat::voprf_blind_evaluate_with_nonce`.
    pub(crate) fn blind_evaluate_with_nonce(
        &self,
        blinded: &[BlindedElement],
        r: &Scalar,
    ) -> Result<(Vec<EvaluatedElement>, Proof)> {
        self.evaluate_with(blinded, |_, _, _| Ok(Zeroizing::new(*r)))
    }

    fn evaluate_with(
        &self,
        blinded: &[BlindedElement],
        nonce: impl FnOnce(&Scalar, &[u8; ELEMENT_LEN], &[u8; ELEMENT_LEN]) -> Result<Zeroizing<Scalar>>,
    ) -> Result<(Vec<EvaluatedElement>, Proof)> {
        check_batch(blinded.len(), blinded.len())?;
        let sk = &self.keys.secret().0;
        // The proof's C is the blinded list and its D the evaluated one.
        let composite = CompositeWeights::new(Mode::Voprf, &self.public_key().bytes);
        let (evaluated, weights) = scale_and_weigh(sk, blinded, |i, b, z| {
            composite.weight(i, &b.bytes, &z.bytes)
        })?;
        let proof = generate_proof(Mode::Voprf, sk, self.public_key(), &weights, blinded, nonce)?;
        Ok((evaluated, proof))
    }

    /// `Evaluate(skS, input)` (RFC 9497 §3.3.2): the PRF computed directly, without blinding.
    ///
    /// # Errors
    /// [`Error::InputTooLong`](crate::Error::InputTooLong) for an input over 65534 bytes,
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) when it hashes to the identity.
    pub fn evaluate(&self, input: &[u8]) -> Result<Output> {
        evaluate_direct(Mode::Voprf, &self.keys.secret().0, input, None)
    }
}
