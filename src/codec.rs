//! The one strict codec at the bottom of the crate (`spec/08-encodings.md` §8.1, §8.3):
//! length-prefixed framing, a bounds-checked [`Reader`] over untrusted bytes that refuses
//! trailing bytes, and the [`Codec`] trait the wire messages implement, whose encoding cannot
//! fail because every value is checked when it is built or decoded.
//!
//! Every variable-length value that enters a hash, a key derivation or an OPRF input is
//! written as `I2OSP(len, 2) || bytes`, so two different tuples never frame to the same bytes.

use crate::error::{Error, Result};
use crate::group::exact;

/// The longest single framed field: a `u16` length prefix (`spec/08-encodings.md` §8.1).
pub const MAX_FIELD_LEN: usize = u16::MAX as usize;

/// A message with one canonical encoding: [`Codec::encode`] cannot fail, [`Codec::read`]
/// decodes strictly from a [`Reader`], and [`Codec::decode`] refuses trailing bytes
/// (in the manner of rustls's `msgs::codec`).
// Only the threshold wire messages implement it so far.
#[cfg_attr(not(feature = "threshold"), allow(dead_code))]
pub(crate) trait Codec: Sized {
    /// Appends the encoding to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// Reads one value.
    ///
    /// # Errors
    /// The value's own decoding errors; [`Error::InvalidLength`] when bytes run out.
    fn read(reader: &mut Reader<'_>) -> Result<Self>;

    /// The encoding.
    fn encoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes exactly one value from `bytes`.
    ///
    /// # Errors
    /// As [`Codec::read`]; [`Error::InvalidLength`] for trailing bytes.
    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let value = Self::read(&mut reader)?;
        reader.finish()?;
        Ok(value)
    }
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
