//! The client's last step shared by all modes (RFC 9497 §3.3): unblinding and the
//! `Finalize` hash.

use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};
use zeroize::Zeroize;

use crate::dleq::check_batch;
use crate::error::Result;
use crate::group::{ELEMENT_LEN, ELEMENT_LEN_PREFIX, input_len_prefix};
use crate::messages::{Blind, EvaluatedElement, Output};
use crate::parallel::{doubled_and_encoded, half};

/// The `Finalize` hash `Hash(len||input [|| len||info] || len||element || "Finalize")`
/// (RFC 9497 §3.3.1, §3.3.3), over an already unblinded element's encoding; `info` is
/// `Some` in POPRF mode only.
///
/// # Errors
/// [`Error::InputTooLong`](crate::Error::InputTooLong) when `input` or `info` is longer than
/// 65534 bytes.
pub fn finalize_hash(
    input: &[u8],
    info: Option<&[u8]>,
    element: &[u8; ELEMENT_LEN],
) -> Result<Output> {
    let mut h = Sha512::new();
    h.update(input_len_prefix(input)?);
    h.update(input);
    if let Some(info) = info {
        h.update(input_len_prefix(info)?);
        h.update(info);
    }
    h.update(ELEMENT_LEN_PREFIX);
    h.update(element);
    h.update(b"Finalize");
    Ok(Output(h.finalize().into()))
}

/// Unblinds and finalizes a batch: `N_i = blind_i⁻¹·Z_i`, then the `Finalize` hash of each.
/// One batched inversion serves every blind (`Scalar::invert_batch_alloc`).
///
/// # Errors
/// [`Error::BatchMismatch`], [`Error::EmptyBatch`] or [`Error::BatchTooLarge`] when the lists differ in length or are empty, [`Error::InputTooLong`]
/// for an input or info over 65534 bytes.
pub(crate) fn unblind_and_finalize<I: AsRef<[u8]> + Sync>(
    inputs: &[I],
    info: Option<&[u8]>,
    blinds: &[Blind],
    evaluated: &[EvaluatedElement],
) -> Result<Vec<Output>> {
    check_batch(inputs.len(), blinds.len())?;
    check_batch(inputs.len(), evaluated.len())?;
    let mut inverses: Vec<Scalar> = blinds.iter().map(|b| b.0).collect();
    Scalar::invert_batch_alloc(&mut inverses);
    // Unblinding, encoding and the `Finalize` hash in one parallel pass over chunks.
    let outputs = doubled_and_encoded(
        inputs.len(),
        |i| Ok(half(&inverses[i]) * evaluated[i].point),
        |i, _, unblinded| finalize_hash(inputs[i].as_ref(), info, &unblinded),
    );
    inverses.zeroize();
    outputs
}

/// `Finalize` for one element: `blind⁻¹·evaluated`, then the `Finalize` hash.
///
/// # Errors
/// [`Error::InputTooLong`](crate::Error::InputTooLong) for an input or info over 65534 bytes.
pub(crate) fn unblind_and_finalize_one(
    input: &[u8],
    info: Option<&[u8]>,
    blind: &Blind,
    evaluated: &EvaluatedElement,
) -> Result<Output> {
    let unblinded = (blind.0.invert() * evaluated.point).compress();
    finalize_hash(input, info, unblinded.as_bytes())
}

/// Threshold mode's fused last step (`spec/12-threshold.md` §12.7): from `t` checked answers
/// `Z_{i,j}` and their Lagrange coefficients `λ_i`, `N_j = Σ_i (λ_i·blind_j⁻¹)·Z_{i,j}` in one
/// constant-time multiscalar multiplication per element (the blinds are secret), then the
/// `Finalize` hash. Equal to combining `Z_j = Σ λ_i·Z_{i,j}` and then
/// [`unblind_and_finalize`], one scalar multiplication and one encoding cheaper per element.
///
/// # Errors
/// [`Error::BatchMismatch`](crate::Error::BatchMismatch) or [`Error::EmptyBatch`](crate::Error::EmptyBatch)
/// when the lists differ in length or are empty, [`Error::InputTooLong`](crate::Error::InputTooLong).
#[cfg(feature = "threshold")]
pub(crate) fn combine_unblind_and_finalize<I: AsRef<[u8]> + Sync>(
    inputs: &[I],
    info: Option<&[u8]>,
    blinds: &[Blind],
    lambdas: &[Scalar],
    answers: &[Vec<EvaluatedElement>],
) -> Result<Vec<Output>> {
    use curve25519_dalek::ristretto::RistrettoPoint;
    use curve25519_dalek::traits::MultiscalarMul;
    check_batch(inputs.len(), blinds.len())?;
    check_batch(lambdas.len(), answers.len())?;
    for answer in answers {
        check_batch(inputs.len(), answer.len())?;
    }
    let mut inverses: Vec<Scalar> = blinds.iter().map(|b| b.0).collect();
    Scalar::invert_batch_alloc(&mut inverses);
    // λ_i/2 once; each element's scalars λ_i·blind⁻¹/2 are as secret as the blind.
    let halves: Vec<Scalar> = lambdas.iter().map(half).collect();
    let outputs = doubled_and_encoded(
        inputs.len(),
        |j| {
            let mut scalars: Vec<Scalar> = halves.iter().map(|l| l * inverses[j]).collect();
            let point =
                RistrettoPoint::multiscalar_mul(&scalars, answers.iter().map(|a| a[j].point));
            scalars.zeroize();
            Ok(point)
        },
        |j, _, unblinded| finalize_hash(inputs[j].as_ref(), info, &unblinded),
    );
    inverses.zeroize();
    outputs
}
