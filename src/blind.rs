//! The client's first step shared by all modes: `Blind` (RFC 9497 §3.3.1).

use rand_core::CryptoRng;

use crate::error::Result;
use crate::group::{hash_to_group, input_len_prefix, random_scalar};
use crate::messages::{Blind, BlindedElement};
use crate::parallel::{doubled_and_encoded, half};
use crate::suite::Mode;

/// `Blind(input)` for one input: a fresh blind, then `blind·HashToGroup(input)`.
///
/// # Errors
/// [`Error::InputTooLong`](crate::Error::InputTooLong) for an input over 65534 bytes,
/// [`Error::InvalidInput`](crate::Error::InvalidInput) when it hashes to the identity,
/// [`Error::RandomnessFailure`](crate::Error::RandomnessFailure) when the RNG is broken.
pub(crate) fn blind_one(
    mode: Mode,
    input: &[u8],
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(Blind, BlindedElement)> {
    input_len_prefix(input)?;
    let blind = Blind(random_scalar(rng)?);
    let element = BlindedElement::from_point(blind.0 * hash_to_group(mode, input)?);
    Ok((blind, element))
}

/// `Blind` for a batch of inputs (RFC 9497 §3.3.1): blinds are drawn from `rng` in input
/// order, so a replaying test RNG reproduces the RFC vectors; hashing and multiplication run
/// in parallel.
///
/// # Errors
/// [`Error::InputTooLong`] for an input over 65534 bytes, [`Error::InvalidInput`] when one
/// hashes to the identity, [`Error::RandomnessFailure`] when the RNG is broken.
pub(crate) fn blind_batch<I: AsRef<[u8]> + Sync>(
    mode: Mode,
    inputs: &[I],
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(Vec<Blind>, Vec<BlindedElement>)> {
    let blinds = inputs
        .iter()
        .map(|input| {
            input_len_prefix(input.as_ref())?;
            random_scalar(rng).map(Blind)
        })
        .collect::<Result<Vec<_>>>()?;
    // Hashing, multiplication and encoding in one parallel pass over chunks.
    let blinded = doubled_and_encoded(
        inputs.len(),
        |i| Ok(half(&blinds[i].0) * hash_to_group(mode, inputs[i].as_ref())?),
        |_, h, bytes| {
            Ok(BlindedElement {
                point: h + h,
                bytes,
            })
        },
    )?;
    Ok((blinds, blinded))
}
