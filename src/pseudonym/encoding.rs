//! Length-prefixed framing, context strings and a strict byte reader
//! (`spec/08-encodings.md` §8.1–§8.3).
//!
//! Every variable-length value that enters a hash, a key derivation or an OPRF input is
//! written as `I2OSP(len, 2) || bytes`, so two different tuples never frame to the same bytes.

use crate::error::{Error, Result};
use crate::group::exact;

/// The longest single framed field: a `u16` length prefix (`spec/08-encodings.md` §8.1).
pub const MAX_FIELD_LEN: usize = u16::MAX as usize;

/// Context strings, one per purpose (`spec/08-encodings.md` §8.2). Each is used with exactly
/// one construction and never reused for another. Version 2: every v1 construction changed
/// (sessions bound to channels, key-bound flow H pseudonyms, signed key sets).
pub mod context {
    /// Tag framed first into the flow H private input.
    pub const FLOW_H_INPUT: &str = "blindnym v2 flow-H input";
    /// `blake3::derive_key` context turning a flow H OPRF output into the Ed25519 seed of the
    /// holder's per-service key.
    pub const FLOW_H_SIGNING_KEY: &str = "blindnym v2 flow-H service signing key";
    /// `blake3::derive_key` context mapping `(service id, verifying key)` to a flow H
    /// pseudonym.
    pub const FLOW_H_PSEUDONYM: &str = "blindnym v2 pseudonym flow-H";
    /// Prefix of the message a flow H holder signs to log in.
    pub const FLOW_H_LOGIN: &str = "blindnym v2 flow-H login signature";
    /// Tag framed first into the flow A private input (the service id).
    pub const FLOW_A_SERVICE: &str = "blindnym v2 flow-A service";
    /// Tag framed first into the flow A public info (the subject).
    pub const FLOW_A_SUBJECT: &str = "blindnym v2 flow-A subject";
    /// `blake3::derive_key` context of the session hash `H(nonce, channel binding)`.
    pub const SESSION: &str = "blindnym v2 session";
    /// Prefix of the message the evaluator signs in flow A.
    pub const FLOW_A_SIGNATURE: &str = "blindnym v2 flow-A evaluation signature";
    /// Prefix of the message the evaluator signs for a flow A migration (two epochs).
    pub const FLOW_A_MIGRATION_SIGNATURE: &str = "blindnym v2 flow-A migration signature";
    /// `blake3::derive_key` context mapping `(service id, N)` to a flow A pseudonym.
    pub const FLOW_A_PSEUDONYM: &str = "blindnym v2 pseudonym flow-A";
    /// Tag framed first into each flow B private input (an identity).
    pub const FLOW_B_IDENTITY: &str = "blindnym v2 flow-B identity";
    /// Tag framed first into the flow B public info (the domain).
    pub const FLOW_B_DOMAIN: &str = "blindnym v2 flow-B domain";
    /// `blake3::derive_key` context mapping a flow B OPRF output to a pseudonym.
    pub const FLOW_B_PSEUDONYM: &str = "blindnym v2 pseudonym flow-B";
    /// `blake3::derive_key` context of the pseudonym text checksum. Still v1: the text form
    /// (`bn1-`) did not change.
    pub const TEXT_CHECKSUM: &str = "blindnym v1 pseudonym text checksum";
    /// HKDF-SHA512 salt of the first link of the key ratchet.
    pub const KEY_SCHEDULE_SALT: &str = "blindnym v2 key schedule";
    /// HKDF-SHA512 salt of a ratchet step (chain key of epoch e + 1 from that of epoch e).
    pub const KEY_RATCHET: &str = "blindnym v2 key ratchet";
    /// Prefix of the message the long-term key-set key signs.
    pub const KEY_SET_SIGNATURE: &str = "blindnym v2 key set signature";
    /// `blake3::derive_key` context of a signed key set's digest (its transparency-log leaf).
    pub const KEY_SET_DIGEST: &str = "blindnym v2 key set digest";
}

/// `TryFrom<&[u8]>` for message types, through their strict `from_bytes` (the calling
/// module names `Error` and `Result`).
macro_rules! decodes_from_slice {
    ($($t:ty),*) => {$(
        impl TryFrom<&[u8]> for $t {
            type Error = Error;
            fn try_from(bytes: &[u8]) -> Result<Self> {
                Self::from_bytes(bytes)
            }
        }
    )*};
}

pub(crate) use decodes_from_slice;

/// Appends `I2OSP(len(field), 2) || field` to `out`.
///
/// # Errors
/// [`Error::InputTooLong`] when `field` is longer than [`MAX_FIELD_LEN`].
pub(crate) fn push_field(out: &mut Vec<u8>, field: &[u8]) -> Result<()> {
    let len = u16::try_from(field.len()).map_err(|_| Error::InputTooLong)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
    Ok(())
}

/// The framing of a tuple: each field length-prefixed, in order (`spec/08-encodings.md` §8.1).
///
/// # Errors
/// [`Error::InputTooLong`] when any field is longer than 65535 bytes.
pub fn frame(fields: &[&[u8]]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(fields.iter().map(|f| f.len() + 2).sum());
    for field in fields {
        push_field(&mut out, field)?;
    }
    Ok(out)
}

/// `blake3::derive_key(context, frame(fields))` without building the framed buffer.
///
/// # Errors
/// [`Error::InputTooLong`] when any field is longer than 65535 bytes.
pub(crate) fn derive_key(context: &str, fields: &[&[u8]]) -> Result<[u8; 32]> {
    let mut hasher = blake3::Hasher::new_derive_key(context);
    for field in fields {
        let len = u16::try_from(field.len()).map_err(|_| Error::InputTooLong)?;
        hasher.update(&len.to_be_bytes());
        hasher.update(field);
    }
    Ok(*hasher.finalize().as_bytes())
}

/// The concatenation of `parts` in a fixed-size array (fixed-length message encodings).
/// Callers pass parts whose lengths sum to `N`; excess is cut and a shortfall left zero.
pub(crate) fn concat<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut out = [0u8; N];
    for (dst, src) in out.iter_mut().zip(parts.iter().flat_map(|p| p.iter())) {
        *dst = *src;
    }
    out
}

/// A strict cursor over untrusted bytes: every read is bounds-checked and [`Reader::finish`]
/// rejects trailing bytes.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    total: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self {
            rest: bytes,
            total: bytes.len(),
        }
    }

    /// A reader for a fixed-size message: the whole length is checked first, so a short or
    /// long message reports the message's size, not the offset of the field it broke.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless `bytes` is exactly `len` long.
    pub(crate) fn exact(bytes: &'a [u8], len: usize) -> Result<Self> {
        if bytes.len() != len {
            return Err(Error::InvalidLength {
                expected: len,
                actual: bytes.len(),
            });
        }
        Ok(Self::new(bytes))
    }

    /// The next `n` bytes.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] when fewer remain.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.rest.len() {
            return Err(Error::InvalidLength {
                expected: self.total - self.rest.len() + n,
                actual: self.total,
            });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] when fewer remain.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        exact::<N>(self.take(N)?)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A `u16`-length-prefixed field.
    pub(crate) fn field(&mut self) -> Result<&'a [u8]> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// The length of the whole buffer.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Succeeds only when every byte was consumed.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for trailing bytes.
    pub(crate) fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidLength {
                expected: self.total - self.rest.len(),
                actual: self.total,
            })
        }
    }
}

/// The tail `count:2 || Z_1 || … || Z_count || proof:64` of a proven batch answer, after a
/// fixed header of `header` bytes already read from `reader`: the count is checked against
/// the total length before any element is decoded; elements decode in parallel.
///
/// # Errors
/// [`Error::EmptyBatch`] for a zero count, [`Error::InvalidLength`] when the length does not
/// match it; the element and scalar errors.
pub(crate) fn read_proven_batch(
    reader: &mut Reader<'_>,
    header: usize,
) -> Result<(
    Vec<crate::messages::EvaluatedElement>,
    crate::messages::Proof,
)> {
    use crate::messages::{EvaluatedElement, PROOF_LEN, Proof};
    let count = usize::from(reader.u16()?);
    if count == 0 {
        return Err(Error::EmptyBatch);
    }
    let expected = header + 2 + 32 * count + PROOF_LEN;
    if reader.total() != expected {
        return Err(Error::InvalidLength {
            expected,
            actual: reader.total(),
        });
    }
    // Decoding dominates an answer's cost: collect the encodings, decode in parallel.
    let encodings = reader
        .take(32 * count)?
        .chunks_exact(32)
        .map(crate::group::exact::<32>)
        .collect::<Result<Vec<_>>>()?;
    let evaluated = EvaluatedElement::from_bytes_batch(&encodings)?;
    let proof = Proof::from_bytes(reader.take(PROOF_LEN)?)?;
    Ok((evaluated, proof))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_is_injective_on_splits() {
        let a = frame(&[b"ab", b"c"]).unwrap();
        let b = frame(&[b"a", b"bc"]).unwrap();
        assert_ne!(a, b);
        assert_ne!(
            derive_key("t", &[b"ab", b"c"]).unwrap(),
            derive_key("t", &[b"a", b"bc"]).unwrap()
        );
    }

    #[test]
    fn oversize_field_is_rejected() {
        let big = vec![0u8; MAX_FIELD_LEN + 1];
        assert_eq!(frame(&[&big]), Err(Error::InputTooLong));
        assert_eq!(derive_key("t", &[&big]), Err(Error::InputTooLong));
        assert!(frame(&[&big[1..]]).is_ok());
    }

    #[test]
    fn reader_rejects_short_and_trailing() {
        let mut r = Reader::new(&[0, 2, 7]);
        assert!(r.field().is_err());
        let mut r = Reader::new(&[0, 1, 7, 9]);
        assert_eq!(r.field().unwrap(), &[7]);
        assert!(r.finish().is_err());
    }
}
