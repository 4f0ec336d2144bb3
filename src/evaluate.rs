//! The server's core shared by all modes: multiplying blinded elements by a secret scalar,
//! and the non-blind `Evaluate`.

use core::convert::Infallible;

use curve25519_dalek::scalar::Scalar;
use zeroize::Zeroizing;

use crate::error::Result;
use crate::finalize::finalize_hash;
use crate::group::hash_to_group;
use crate::messages::{BlindedElement, EvaluatedElement, Output};
use crate::parallel::{doubled_and_encoded, half};
use crate::suite::Mode;

/// `k·B_i` for every blinded element, in parallel, with batched encoding. Each multiplication
/// is curve25519-dalek's constant-time variable-base multiplication, so `k` may be secret.
pub(crate) fn scale_batch(k: &Scalar, blinded: &[BlindedElement]) -> Vec<EvaluatedElement> {
    let Ok(evaluated) = scale_with::<_, Infallible>(k, blinded, |_, evaluated| Ok(evaluated));
    evaluated
}

/// [`scale_batch`] that also computes each pair's DLEQ composite weight
/// `weigh(i, B_i, k·B_i)` in the same parallel pass (RFC 9497 §2.2.1), so a proven batch
/// costs one pass over the elements and then the composite sum.
///
/// # Errors
/// The first error of `weigh`.
pub(crate) fn scale_and_weigh<W>(
    k: &Scalar,
    blinded: &[BlindedElement],
    weigh: W,
) -> Result<(Vec<EvaluatedElement>, Vec<Scalar>)>
where
    W: Fn(usize, &BlindedElement, &EvaluatedElement) -> Result<Scalar> + Sync + Send,
{
    let pairs = scale_with(k, blinded, |i, evaluated| {
        let weight = weigh(i, &blinded[i], &evaluated)?;
        Ok((evaluated, weight))
    })?;
    Ok(pairs.into_iter().unzip())
}

/// `then(i, k·B_i)` for every blinded element, in order, in one parallel pass.
fn scale_with<T, E>(
    k: &Scalar,
    blinded: &[BlindedElement],
    then: impl Fn(usize, EvaluatedElement) -> core::result::Result<T, E> + Sync + Send,
) -> core::result::Result<Vec<T>, E>
where
    T: Send,
    E: Send,
{
    // Half the secret key is as secret as the key.
    let half_k = Zeroizing::new(half(k));
    doubled_and_encoded(
        blinded.len(),
        |i| Ok(*half_k * blinded[i].point),
        |i, h, bytes| {
            then(
                i,
                EvaluatedElement {
                    point: h + h,
                    bytes,
                },
            )
        },
    )
}

/// `Evaluate` (RFC 9497 §3.3.1, §3.3.3): the PRF computed directly as `Finalize` would after
/// unblinding, with `k = skS` (OPRF, VOPRF) or `k = (skS + m)⁻¹` (POPRF, with `info`).
///
/// # Errors
/// [`Error::InputTooLong`](crate::Error::InputTooLong) for an input or info over 65534
/// bytes, [`Error::InvalidInput`](crate::Error::InvalidInput) when the input hashes to the
/// identity.
pub(crate) fn evaluate_direct(
    mode: Mode,
    k: &Scalar,
    input: &[u8],
    info: Option<&[u8]>,
) -> Result<Output> {
    let element = (k * hash_to_group(mode, input)?).compress();
    finalize_hash(input, info, element.as_bytes())
}
