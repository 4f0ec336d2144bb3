//! The ristretto255 group of RFC 9497 §4.1: hashing, serialization and random scalars.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::suite::Mode;
use crate::xmd::expand_64;

/// Serialized element size `Ne` (RFC 9497 §4.1).
pub const ELEMENT_LEN: usize = 32;
/// Serialized scalar size `Ns` (RFC 9497 §4.1).
pub const SCALAR_LEN: usize = 32;
/// `I2OSP(Ne, 2)`: the length prefix of every serialized element in the protocol's hashes.
#[allow(
    clippy::cast_possible_truncation,
    reason = "32 fits in a u16, asserted below"
)]
pub(crate) const ELEMENT_LEN_PREFIX: [u8; 2] = (ELEMENT_LEN as u16).to_be_bytes();
const _: () = assert!(ELEMENT_LEN <= u16::MAX as usize);
/// Hash output size `Nh` and so the OPRF output size (RFC 9497 §4.1).
pub const OUTPUT_LEN: usize = 64;
/// The longest private input or public info accepted: RFC 9497 §5.1 says inputs "MUST be
/// smaller than 2^16 - 1 bytes".
pub const MAX_INPUT_LEN: usize = 65534;

/// Checks that `bytes` has exactly `N` bytes and returns them as an array: the first step of
/// every fixed-length decoder.
///
/// # Errors
/// [`Error::InvalidLength`] when the length differs (short input or trailing bytes).
pub(crate) fn exact<const N: usize>(bytes: &[u8]) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| Error::InvalidLength {
        expected: N,
        actual: bytes.len(),
    })
}

/// `I2OSP(len(bytes), 2)` for an RFC 9497 private input or info.
///
/// # Errors
/// [`Error::InputTooLong`] when `bytes` is longer than [`MAX_INPUT_LEN`].
pub(crate) fn input_len_prefix(bytes: &[u8]) -> Result<[u8; 2]> {
    if bytes.len() > MAX_INPUT_LEN {
        return Err(Error::InputTooLong);
    }
    let len = u16::try_from(bytes.len()).map_err(|_| Error::InputTooLong)?;
    Ok(len.to_be_bytes())
}

/// `HashToGroup(input)` under the mode's DST (RFC 9497 §4.1, RFC 9380 Appendix B), failing on
/// the identity as `Blind` and `Evaluate` require (§3.3.1).
///
/// # Errors
/// [`Error::InvalidInput`] when the input hashes to the identity (negligible probability).
pub fn hash_to_group(mode: Mode, input: &[u8]) -> Result<RistrettoPoint> {
    let uniform = expand_64(&[input], &mode.dsts().hash_to_group)?;
    let point = RistrettoPoint::from_uniform_bytes(&uniform);
    if point.is_identity() {
        return Err(Error::InvalidInput);
    }
    Ok(point)
}

/// `HashToScalar(msg, DST)`: 64 bytes of `expand_message_xmd` read little-endian and reduced
/// modulo the group order (RFC 9497 §4.1). `msg` is the concatenation of `parts`.
///
/// # Errors
/// None with the crate's fixed DSTs; the `Result` carries [`crate::xmd::expand_message_xmd`]'s.
pub(crate) fn hash_to_scalar_dst(parts: &[&[u8]], dst: &[u8]) -> Result<Scalar> {
    let uniform = expand_64(parts, dst)?;
    Ok(Scalar::from_bytes_mod_order_wide(&uniform))
}

/// `HashToScalar(msg)` with the mode's default DST `"HashToScalar-" || contextString`.
///
/// # Errors
/// As [`hash_to_scalar_dst`].
pub(crate) fn hash_to_scalar(mode: Mode, parts: &[&[u8]]) -> Result<Scalar> {
    hash_to_scalar_dst(parts, &mode.dsts().hash_to_scalar)
}

/// `DeserializeElement` (RFC 9497 §4.1): RFC 9496 §4.3.1 `Decode` of exactly 32 bytes, then
/// the identity check.
///
/// # Errors
/// [`Error::InvalidLength`] for any length but 32, [`Error::NonCanonicalElement`] for a
/// non-canonical or invalid encoding, [`Error::IdentityElement`] for the identity.
pub fn decode_element(bytes: &[u8]) -> Result<RistrettoPoint> {
    let array = exact::<ELEMENT_LEN>(bytes)?;
    let point = CompressedRistretto(array)
        .decompress()
        .ok_or(Error::NonCanonicalElement)?;
    if point.is_identity() {
        return Err(Error::IdentityElement);
    }
    Ok(point)
}

/// `DeserializeScalar` (RFC 9497 §4.1): exactly 32 little-endian bytes of a value below the
/// group order. Zero is accepted, as the RFC says.
///
/// # Errors
/// [`Error::InvalidLength`] for any length but 32, [`Error::NonCanonicalScalar`] for a value
/// at or above the group order.
pub fn decode_scalar(bytes: &[u8]) -> Result<Scalar> {
    let array = exact::<SCALAR_LEN>(bytes)?;
    Option::from(Scalar::from_canonical_bytes(array)).ok_or(Error::NonCanonicalScalar)
}

/// Like [`decode_scalar`] but for secret scalars that must be nonzero (keys, blinds); the
/// zero test runs in constant time.
///
/// # Errors
/// As [`decode_scalar`], plus [`Error::ZeroScalar`].
pub(crate) fn decode_nonzero_scalar(bytes: &[u8]) -> Result<Scalar> {
    let scalar = decode_scalar(bytes)?;
    if bool::from(scalar.ct_eq(&Scalar::ZERO)) {
        return Err(Error::ZeroScalar);
    }
    Ok(scalar)
}

/// `RandomScalar()` (RFC 9497 §4.7.1, errata 8392/8393): a uniform scalar in `[1, order - 1]`.
///
/// Reads 32 bytes and clears the top four bits. Because `order - 2^252 < 2^126`, RFC 9497
/// §4.7.1 allows skipping the rejection test for the resulting 252-bit value; zero is
/// rejected and redrawn. A test RNG that yields a vector's 32 scalar bytes therefore
/// reproduces that scalar exactly.
///
/// # Errors
/// [`Error::RandomnessFailure`] when 64 draws in a row are all zero: the RNG is broken.
pub fn random_scalar(rng: &mut (impl CryptoRng + ?Sized)) -> Result<Scalar> {
    for _ in 0..64 {
        let mut bytes = [0u8; SCALAR_LEN];
        rng.fill_bytes(&mut bytes);
        bytes[31] &= 0x0f;
        // A 252-bit value is always below the order, so this never fails to decode.
        let scalar = Scalar::from_bytes_mod_order(bytes);
        bytes.zeroize();
        if !bool::from(scalar.ct_eq(&Scalar::ZERO)) {
            return Ok(scalar);
        }
    }
    Err(Error::RandomnessFailure)
}
