//! The server's core shared by all modes: multiplying blinded elements by a secret scalar.

use core::convert::Infallible;

use curve25519_dalek::scalar::Scalar;

use crate::finalize::half;
use crate::messages::{BlindedElement, EvaluatedElement};
use crate::parallel::doubled_and_encoded;

/// `k·B_i` for every blinded element, in parallel, with batched encoding. Each multiplication
/// is curve25519-dalek's constant-time variable-base multiplication, so `k` may be secret.
pub(crate) fn scale_batch(k: &Scalar, blinded: &[BlindedElement]) -> Vec<EvaluatedElement> {
    let half_k = half(k);
    let Ok(evaluated) = doubled_and_encoded::<_, Infallible, _, _>(
        blinded.len(),
        |i| Ok(half_k * blinded[i].point),
        |_, h, bytes| {
            Ok(EvaluatedElement {
                point: h + h,
                bytes,
            })
        },
    );
    evaluated
}
