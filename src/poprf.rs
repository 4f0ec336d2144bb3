//! Partially oblivious mode, `modePOPRF` (RFC 9497 §3.3.3): a public `info` both parties
//! know tweaks the key to `t = skS + HashToScalar("Info" || len || info)`; evaluations are
//! proven against the tweaked key `T = t·G = pkS + m·G`.

use core::slice;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::blind::{blind_batch, blind_one};
use crate::dleq::{
    CompositeWeights, check_batch, generate_proof, hedged_nonce, only, verify_proof,
};
use crate::error::{Error, Result};
use crate::evaluate::{evaluate_direct, scale_and_weigh};
use crate::finalize::unblind_and_finalize;
use crate::group::{SCALAR_LEN, hash_to_scalar, input_len_prefix};
use crate::keys::{KeyPair, PublicKey};
use crate::messages::{Blind, BlindedElement, EvaluatedElement, Output, Proof};
use crate::suite::Mode;

/// `m = HashToScalar("Info" || I2OSP(len(info), 2) || info)` under the POPRF context.
///
/// # Errors
/// [`Error::InputTooLong`] for an info over 65534 bytes.
pub(crate) fn info_scalar(info: &[u8]) -> Result<Scalar> {
    hash_to_scalar(Mode::Poprf, &[b"Info", &input_len_prefix(info)?, info])
}

/// The tweaked public key `T = pkS + m·G` for `info`, as the client computes it in `Blind`
/// (RFC 9497 §3.3.3).
///
/// # Errors
/// [`Error::InputTooLong`] for an info over 65534 bytes, [`Error::InvalidInput`] when the
/// tweaked key is the identity.
pub fn tweaked_public_key(public_key: &PublicKey, info: &[u8]) -> Result<PublicKey> {
    let point: RistrettoPoint = &info_scalar(info)? * RISTRETTO_BASEPOINT_TABLE + public_key.point;
    if point.is_identity() {
        return Err(Error::InvalidInput);
    }
    Ok(PublicKey::from_point(point))
}

/// The client of partially oblivious mode: knows the server's public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoprfClient {
    public_key: PublicKey,
}

impl PoprfClient {
    /// `SetupPOPRFClient(identifier, pkS)` (RFC 9497 §3.2).
    pub fn new(public_key: PublicKey) -> Self {
        Self { public_key }
    }

    /// The (untweaked) public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The tweaked key `T` for `info` that proofs are verified against.
    ///
    /// # Errors
    /// As [`tweaked_public_key`].
    pub fn tweaked_key(&self, info: &[u8]) -> Result<PublicKey> {
        tweaked_public_key(&self.public_key, info)
    }

    /// The blinding half of `Blind(input, info, pkS)` (RFC 9497 §3.3.3). The tweaked-key half
    /// runs in [`PoprfClient::finalize`] (or [`PoprfClient::tweaked_key`]), which fails with
    /// the same `InvalidInput` the RFC's `Blind` would.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for an input over 65534 bytes, [`Error::InvalidInput`] when
    /// it hashes to the identity, [`Error::RandomnessFailure`] for a broken RNG.
    pub fn blind(
        &self,
        input: &[u8],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(Blind, BlindedElement)> {
        blind_one(Mode::Poprf, input, rng)
    }

    /// `Blind` for many inputs at once; blinds are drawn from `rng` in input order.
    ///
    /// # Errors
    /// As [`PoprfClient::blind`], for the first input that fails.
    pub fn blind_batch<I: AsRef<[u8]> + Sync>(
        &self,
        inputs: &[I],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(Vec<Blind>, Vec<BlindedElement>)> {
        blind_batch(Mode::Poprf, inputs, rng)
    }

    /// `VerifyProof(G, T, evaluated, blinded, proof)` (RFC 9497 §3.3.3: note the swapped
    /// lists) against the tweaked key for `info`.
    ///
    /// # Errors
    /// As [`tweaked_public_key`]; [`Error::BatchMismatch`], [`Error::EmptyBatch`] or [`Error::BatchTooLarge`] for mismatched, empty or oversized
    /// lists; [`Error::VerifyError`] when the proof does not verify.
    pub fn verify(
        &self,
        info: &[u8],
        blinded: &[BlindedElement],
        evaluated: &[EvaluatedElement],
        proof: &Proof,
    ) -> Result<()> {
        let tweaked = self.tweaked_key(info)?;
        verify_proof(Mode::Poprf, &tweaked, evaluated, blinded, proof)
    }

    /// `Finalize(input, blind, evaluatedElement, blindedElement, proof, info, tweakedKey)`
    /// (RFC 9497 §3.3.3).
    ///
    /// # Errors
    /// As [`PoprfClient::verify`]; [`Error::InputTooLong`] for an input over 65534 bytes.
    pub fn finalize(
        &self,
        input: &[u8],
        info: &[u8],
        blind: &Blind,
        evaluated: &EvaluatedElement,
        blinded: &BlindedElement,
        proof: &Proof,
    ) -> Result<Output> {
        only(self.finalize_batch(
            slice::from_ref(&input),
            info,
            slice::from_ref(blind),
            slice::from_ref(evaluated),
            slice::from_ref(blinded),
            proof,
        )?)
    }

    /// `Finalize` for a batch under one `info` and one proof.
    ///
    /// # Errors
    /// [`Error::BatchMismatch`], [`Error::EmptyBatch`] or [`Error::BatchTooLarge`] when the lists differ in length, are empty or exceed 65535;
    /// otherwise as [`PoprfClient::finalize`].
    pub fn finalize_batch<I: AsRef<[u8]> + Sync>(
        &self,
        inputs: &[I],
        info: &[u8],
        blinds: &[Blind],
        evaluated: &[EvaluatedElement],
        blinded: &[BlindedElement],
        proof: &Proof,
    ) -> Result<Vec<Output>> {
        check_batch(inputs.len(), blinded.len())?;
        self.verify(info, blinded, evaluated, proof)?;
        unblind_and_finalize(inputs, Some(info), blinds, evaluated)
    }
}

/// The server of partially oblivious mode: holds `skS` and publishes `pkS`.
#[derive(Clone, Debug)]
pub struct PoprfServer {
    keys: KeyPair,
}

impl PoprfServer {
    /// `SetupPOPRFServer(identifier, skS)` (RFC 9497 §3.2).
    pub fn new(keys: KeyPair) -> Self {
        Self { keys }
    }

    /// A server with a fresh random key pair (`GenerateKeyPair`).
    ///
    /// # Errors
    /// [`Error::RandomnessFailure`] for a broken RNG.
    pub fn generate(rng: &mut (impl CryptoRng + ?Sized)) -> Result<Self> {
        KeyPair::generate(rng).map(Self::new)
    }

    /// A server keyed by `DeriveKeyPair(seed, info)` under the POPRF context (§3.2.1).
    ///
    /// # Errors
    /// As [`KeyPair::derive`].
    pub fn derive(seed: &[u8; SCALAR_LEN], info: &[u8]) -> Result<Self> {
        KeyPair::derive(Mode::Poprf, seed, info).map(Self::new)
    }

    /// The key pair.
    pub fn key_pair(&self) -> &KeyPair {
        &self.keys
    }

    /// The untweaked public key `pkS`.
    pub fn public_key(&self) -> &PublicKey {
        self.keys.public()
    }

    /// The tweaked secret `t = skS + m` (RFC 9497 §3.3.3).
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for an info over 65534 bytes, [`Error::InverseError`] when
    /// `t = 0` (the client knows `skS`; the key should be replaced).
    fn tweak(&self, info: &[u8]) -> Result<Zeroizing<Scalar>> {
        let t = Zeroizing::new(self.keys.secret().0 + info_scalar(info)?);
        if bool::from(t.ct_eq(&Scalar::ZERO)) {
            return Err(Error::InverseError);
        }
        Ok(t)
    }

    /// `BlindEvaluate(skS, blindedElement, info)` (RFC 9497 §3.3.3).
    ///
    /// # Errors
    /// As [`PoprfServer::blind_evaluate_batch`].
    pub fn blind_evaluate(
        &self,
        blinded: &BlindedElement,
        info: &[u8],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(EvaluatedElement, Proof)> {
        let (evaluated, proof) = self.blind_evaluate_batch(slice::from_ref(blinded), info, rng)?;
        Ok((only(evaluated)?, proof))
    }

    /// `BlindEvaluate` over a batch under one `info`, with one batched DLEQ proof.
    ///
    /// # Errors
    /// [`Error::BatchMismatch`], [`Error::EmptyBatch`] or [`Error::BatchTooLarge`] for an empty batch or one over 65535, [`Error::InputTooLong`]
    /// for an info over 65534 bytes, [`Error::InverseError`] when `skS + m = 0`,
    /// [`Error::RandomnessFailure`] for a broken RNG.
    pub fn blind_evaluate_batch(
        &self,
        blinded: &[BlindedElement],
        info: &[u8],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(Vec<EvaluatedElement>, Proof)> {
        self.evaluate_with(blinded, info, |k, b, m, z| {
            hedged_nonce(Mode::Poprf, rng, k, b, m, z)
        })
    }

    /// [`PoprfServer::blind_evaluate_batch`] with the proof nonce `r` given (RFC 9497's test
    /// vectors); reached through `hazmat::poprf_blind_evaluate_with_nonce`.
    pub(crate) fn blind_evaluate_with_nonce(
        &self,
        blinded: &[BlindedElement],
        info: &[u8],
        r: &Scalar,
    ) -> Result<(Vec<EvaluatedElement>, Proof)> {
        self.evaluate_with(blinded, info, |_, _, _, _| Ok(Zeroizing::new(*r)))
    }

    fn evaluate_with(
        &self,
        blinded: &[BlindedElement],
        info: &[u8],
        nonce: impl FnOnce(
            &Scalar,
            &[u8; crate::group::ELEMENT_LEN],
            &[u8; crate::group::ELEMENT_LEN],
            &[u8; crate::group::ELEMENT_LEN],
        ) -> Result<Zeroizing<Scalar>>,
    ) -> Result<(Vec<EvaluatedElement>, Proof)> {
        check_batch(blinded.len(), blinded.len())?;
        let t = self.tweak(info)?;
        let tweaked = PublicKey::from_point(&*t * RISTRETTO_BASEPOINT_TABLE);
        let t_inverse = Zeroizing::new(t.invert());
        // The proof runs the other way (t·Z_i = B_i): its C is the evaluated list, its D
        // the blinded one.
        let composite = CompositeWeights::new(Mode::Poprf, &tweaked.bytes);
        let (evaluated, weights) = scale_and_weigh(&t_inverse, blinded, |i, b, z| {
            composite.weight(i, &z.bytes, &b.bytes)
        })?;
        let b = tweaked.bytes;
        let proof = generate_proof(
            Mode::Poprf,
            &t,
            &tweaked,
            &weights,
            &evaluated,
            |k, m, z| nonce(k, &b, m, z),
        )?;
        Ok((evaluated, proof))
    }

    /// `Evaluate(skS, input, info)` (RFC 9497 §3.3.3): the PRF computed directly.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for an input or info over 65534 bytes,
    /// [`Error::InvalidInput`] when the input hashes to the identity,
    /// [`Error::InverseError`] when `skS + m = 0`.
    pub fn evaluate(&self, input: &[u8], info: &[u8]) -> Result<Output> {
        let t = self.tweak(info)?;
        let t_inverse = Zeroizing::new(t.invert());
        evaluate_direct(Mode::Poprf, &t_inverse, input, Some(info))
    }
}
