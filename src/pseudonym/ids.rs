//! Canonical subject and service identifiers (`spec/08-encodings.md` §8.3).
//!
//! Both sides of a flow must frame the same bytes, so identifiers are types that only hold
//! the canonical form: a holder whose subject differs from the evaluator's by a space gets
//! [`Error::NonCanonicalId`] up front, not a proof failure that reads like tagging.

use core::fmt;

use crate::error::{Error, Result};

/// The longest identifier, in bytes.
pub const MAX_ID_LEN: usize = 255;

/// Checks the shared rules: 1..=255 bytes, every byte accepted by `allowed`.
fn canonical(id: &str, allowed: impl Fn(u8) -> bool) -> Result<Vec<u8>> {
    let bytes = id.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_ID_LEN || !bytes.iter().all(|&b| allowed(b)) {
        return Err(Error::NonCanonicalId);
    }
    Ok(bytes.to_vec())
}

/// The subject an evaluator authenticated (flow A's public info): 1 to 255 bytes of printable
/// ASCII without spaces (`0x21..=0x7e`), compared byte for byte. Personal data: never printed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SubjectId(Vec<u8>);

impl SubjectId {
    /// The subject id `id`.
    ///
    /// # Errors
    /// [`Error::NonCanonicalId`] when empty, longer than 255 bytes, or holding a byte outside
    /// `0x21..=0x7e` (spaces, control characters, non-ASCII).
    pub fn new(id: &str) -> Result<Self> {
        canonical(id, |b| b.is_ascii_graphic()).map(Self)
    }

    /// The canonical bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubjectId(<redacted>)")
    }
}

/// A relying party's service id: the ASCII serialisation of its origin, lower case
/// (`https://shop.example`, `shop.example:8443`): 1 to 255 bytes of `a-z 0-9 . - : / _`.
///
/// A holder must build it from the **authenticated origin of its own channel** (the
/// browser's origin, the TLS server name it verified), never from a message the relying
/// party sent: that is what stops a phishing party from relaying another party's challenge
/// (`spec/06-flow-a.md` §6.2). Public.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServiceId(Vec<u8>);

impl ServiceId {
    /// The service id of the authenticated origin `origin`.
    ///
    /// # Errors
    /// [`Error::NonCanonicalId`] when empty, longer than 255 bytes, or holding a byte outside
    /// `a-z 0-9 . - : / _` (upper case included: lower-case it first).
    pub fn from_origin(origin: &str) -> Result<Self> {
        canonical(origin, |b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b".-:/_".contains(&b)
        })
        .map(Self)
    }

    /// The canonical bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceId({})", String::from_utf8_lossy(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_forms() {
        assert!(SubjectId::new("110101199003070000").is_ok());
        for bad in ["", " alice", "alice ", "al ice", "ålice", "a\n"] {
            assert_eq!(SubjectId::new(bad), Err(Error::NonCanonicalId), "{bad:?}");
        }
        assert_eq!(SubjectId::new(&"x".repeat(256)), Err(Error::NonCanonicalId));
        assert!(ServiceId::from_origin("https://shop.example:8443").is_ok());
        for bad in ["", "Shop.example", "shop example", "shop.example\0"] {
            assert_eq!(
                ServiceId::from_origin(bad),
                Err(Error::NonCanonicalId),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn subject_never_prints() {
        let subject = SubjectId::new("110101199003070000").unwrap();
        assert!(!format!("{subject:?}").contains("1101"));
    }
}
