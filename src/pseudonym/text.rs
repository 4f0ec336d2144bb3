//! The pseudonym value and its text form (`spec/08-encodings.md` §8.4).

use core::fmt;
use core::hash::{Hash, Hasher};
use core::str::FromStr;

use subtle::{Choice, ConstantTimeEq};

use super::context;
use crate::error::{Error, Result};
use crate::group::exact;

/// Length of a pseudonym in bytes.
pub const PSEUDONYM_LEN: usize = 32;

/// The versioned prefix of the text form.
pub const TEXT_PREFIX: &str = "bn1-";

/// The base32 alphabet of the text form (the bech32 alphabet: no `1`, `b`, `i`, `o`).
const ALPHABET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Payload characters: 256 bits in 5-bit groups, the last one padded with 4 zero bits.
const PAYLOAD_CHARS: usize = 52;
/// Checksum characters from blake3 (20 bits).
const HASH_CHARS: usize = 4;
/// Total length of the text form: prefix, payload, 4 hash characters and 1 parity character.
pub const TEXT_LEN: usize = TEXT_PREFIX.len() + PAYLOAD_CHARS + HASH_CHARS + 1;

/// A pairwise pseudonym: 32 bytes, stable for one (subject, service) or (identity, domain).
///
/// Equality runs in constant time. The text form (`Display`/`FromStr`) is
/// `bn1-` + 52 payload characters + 4 blake3 checksum characters + 1 parity character
/// (`spec/08-encodings.md` §8.4).
#[derive(Clone, Copy)]
pub struct Pseudonym([u8; PSEUDONYM_LEN]);

impl Pseudonym {
    /// Wraps 32 bytes.
    pub const fn from_array(bytes: [u8; PSEUDONYM_LEN]) -> Self {
        Self(bytes)
    }

    /// Decodes exactly 32 bytes.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        exact::<PSEUDONYM_LEN>(bytes).map(Self)
    }

    /// The 32 bytes.
    pub const fn to_bytes(&self) -> [u8; PSEUDONYM_LEN] {
        self.0
    }

    /// The 32 bytes, borrowed.
    pub const fn as_bytes(&self) -> &[u8; PSEUDONYM_LEN] {
        &self.0
    }

    /// The text form (`spec/08-encodings.md` §8.4).
    pub fn to_text(&self) -> String {
        let mut symbols = [0u8; PAYLOAD_CHARS + HASH_CHARS + 1];
        let (payload, check) = symbols.split_at_mut(PAYLOAD_CHARS);
        to_symbols(&self.0, payload);
        let hash = checksum_symbols(&self.0);
        check[..HASH_CHARS].copy_from_slice(&hash);
        let parity = payload.iter().chain(hash.iter()).fold(0, |acc, s| acc ^ s);
        check[HASH_CHARS] = parity;
        let mut text = String::with_capacity(TEXT_LEN);
        text.push_str(TEXT_PREFIX);
        text.extend(
            symbols
                .iter()
                .map(|&s| char::from(ALPHABET[usize::from(s & 31)])),
        );
        text
    }

    /// Parses the text form, rejecting anything but the exact canonical form.
    ///
    /// # Errors
    /// [`Error::InvalidText`] for a wrong prefix or length, a character outside the
    /// lower-case alphabet, nonzero padding bits or a checksum mismatch.
    pub fn parse(text: &str) -> Result<Self> {
        let body = text.strip_prefix(TEXT_PREFIX).ok_or(Error::InvalidText)?;
        let body: &[u8; PAYLOAD_CHARS + HASH_CHARS + 1] =
            body.as_bytes().try_into().map_err(|_| Error::InvalidText)?;
        let mut symbols = [0u8; PAYLOAD_CHARS + HASH_CHARS + 1];
        for (symbol, &c) in symbols.iter_mut().zip(body.iter()) {
            *symbol = symbol_of(c).ok_or(Error::InvalidText)?;
        }
        let (payload, check) = symbols.split_at(PAYLOAD_CHARS);
        let bytes = from_symbols(payload).ok_or(Error::InvalidText)?;
        // The parity symbol covers every symbol as written, so any one substitution shows.
        let parity = symbols.iter().fold(0, |acc, s| acc ^ s);
        let hash_ok = check.get(..HASH_CHARS) == Some(checksum_symbols(&bytes).as_slice());
        if parity != 0 || !hash_ok {
            return Err(Error::InvalidText);
        }
        Ok(Self(bytes))
    }
}

/// The index of a character in [`ALPHABET`].
fn symbol_of(c: u8) -> Option<u8> {
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|i| u8::try_from(i).ok())
}

/// Splits 32 bytes into 52 five-bit symbols, most significant bits first.
#[allow(
    clippy::cast_possible_truncation,
    reason = "each symbol is masked to 5 bits"
)]
fn to_symbols(bytes: &[u8; PSEUDONYM_LEN], out: &mut [u8]) {
    let mut acc: u16 = 0;
    let mut bits = 0;
    let mut symbols = out.iter_mut();
    for &byte in bytes {
        acc = (acc << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            if let Some(s) = symbols.next() {
                *s = ((acc >> bits) & 31) as u8;
            }
        }
    }
    if let Some(s) = symbols.next() {
        *s = ((acc << (5 - bits)) & 31) as u8;
    }
}

/// Joins 52 symbols back into 32 bytes; `None` when the 4 padding bits are not zero.
#[allow(
    clippy::cast_possible_truncation,
    reason = "each byte keeps the low 8 bits of the accumulator; the bits above were emitted"
)]
fn from_symbols(symbols: &[u8]) -> Option<[u8; PSEUDONYM_LEN]> {
    let mut out = [0u8; PSEUDONYM_LEN];
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut bytes = out.iter_mut();
    for &s in symbols {
        acc = ((acc << 5) | u32::from(s)) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *bytes.next()? = (acc >> bits) as u8;
        }
    }
    (bytes.next().is_none() && acc & ((1 << bits) - 1) == 0).then_some(out)
}

/// The four blake3 checksum symbols over prefix and payload.
#[allow(
    clippy::cast_possible_truncation,
    reason = "each symbol is masked to 5 bits"
)]
fn checksum_symbols(bytes: &[u8; PSEUDONYM_LEN]) -> [u8; HASH_CHARS] {
    let mut hasher = blake3::Hasher::new_derive_key(context::TEXT_CHECKSUM);
    hasher.update(TEXT_PREFIX.as_bytes());
    hasher.update(bytes);
    let h = hasher.finalize();
    let h = h.as_bytes();
    let word = u32::from_be_bytes([h[0], h[1], h[2], 0]) >> 12;
    [
        ((word >> 15) & 31) as u8,
        ((word >> 10) & 31) as u8,
        ((word >> 5) & 31) as u8,
        (word & 31) as u8,
    ]
}

impl ConstantTimeEq for Pseudonym {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for Pseudonym {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Pseudonym {}

impl Hash for Pseudonym {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pseudonym({self})")
    }
}

impl FromStr for Pseudonym {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

impl TryFrom<&[u8]> for Pseudonym {
    type Error = Error;
    fn try_from(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_roundtrip_and_shape() {
        for seed in 0u8..=255 {
            let p = Pseudonym([seed.wrapping_mul(37); 32]);
            let text = p.to_text();
            assert_eq!(text.len(), TEXT_LEN);
            assert_eq!(Pseudonym::parse(&text).unwrap(), p);
        }
    }

    #[test]
    fn nonzero_padding_is_rejected() {
        // Change the last payload symbol only in its padding bits, then fix up both
        // checksums: the parser must still refuse it as non-canonical.
        let p = Pseudonym([0u8; 32]);
        let mut symbols: Vec<u8> = p.to_text()[4..]
            .bytes()
            .map(|c| symbol_of(c).unwrap())
            .collect();
        symbols[PAYLOAD_CHARS - 1] ^= 1;
        let parity = symbols[..PAYLOAD_CHARS + HASH_CHARS]
            .iter()
            .fold(0, |a, s| a ^ s);
        symbols[PAYLOAD_CHARS + HASH_CHARS] = parity;
        let text: String = TEXT_PREFIX
            .chars()
            .chain(
                symbols
                    .iter()
                    .map(|&s| char::from(ALPHABET[usize::from(s)])),
            )
            .collect();
        assert_eq!(Pseudonym::parse(&text), Err(Error::InvalidText));
    }

    #[test]
    fn malformed_text_is_rejected() {
        let good = Pseudonym([7u8; 32]).to_text();
        for bad in [
            String::new(),
            "bn1-".into(),
            good.to_uppercase(),
            good.replacen("bn1-", "bn2-", 1),
            format!("{good}q"),
            good[..good.len() - 1].to_string(),
            format!("bn1-é{}", &good[6..]),
        ] {
            assert_eq!(Pseudonym::parse(&bad), Err(Error::InvalidText), "{bad}");
        }
    }
}
