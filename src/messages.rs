//! The protocol's messages and client-side values (RFC 9497 §3.3): blinds, blinded and
//! evaluated elements, proofs and outputs.

use core::fmt;

use curve25519_dalek::scalar::Scalar;

use crate::element::element_type;
use crate::error::{Error, Result};
use crate::group::exact;
use crate::group::{OUTPUT_LEN, SCALAR_LEN, decode_scalar};
use crate::secret::{secret_bytes_type, secret_scalar_type};

secret_scalar_type!(
    /// The client's blinding scalar `blind` (RFC 9497 §3.3.1). Secret: whoever holds it and
    /// the blinded element can recover the input's group element. Zeroized on drop.
    Blind
);

element_type!(
    /// `blindedElement = blind·HashToGroup(input)`, sent from client to server.
    BlindedElement
);

element_type!(
    /// The server's answer: `skS·blindedElement` (OPRF, VOPRF) or
    /// `(skS + m)⁻¹·blindedElement` (POPRF). RFC 9497 Appendix A calls it `EvaluationElement`.
    EvaluatedElement
);

/// Serialized proof size: `SerializeScalar(c) || SerializeScalar(s)` (RFC 9497 §2.2.1).
pub const PROOF_LEN: usize = 2 * SCALAR_LEN;

/// A DLEQ proof `(c, s)` (RFC 9497 §2.2). Public.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    pub(crate) c: Scalar,
    pub(crate) s: Scalar,
}

impl Proof {
    /// Decodes a 64-byte proof; both scalars must be canonical (zero is allowed, as RFC 9497
    /// `DeserializeScalar` allows it).
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 64 bytes, [`Error::NonCanonicalScalar`] when
    /// either half is at or above the group order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let array = exact::<PROOF_LEN>(bytes)?;
        let (c, s) = array.split_at(SCALAR_LEN);
        Ok(Self {
            c: decode_scalar(c)?,
            s: decode_scalar(s)?,
        })
    }

    /// The 64-byte encoding `c || s`.
    pub fn to_bytes(&self) -> [u8; PROOF_LEN] {
        let mut out = [0u8; PROOF_LEN];
        out[..SCALAR_LEN].copy_from_slice(self.c.as_bytes());
        out[SCALAR_LEN..].copy_from_slice(self.s.as_bytes());
        out
    }
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proof(")?;
        for byte in self.to_bytes() {
            write!(f, "{byte:02x}")?;
        }
        write!(f, ")")
    }
}

impl TryFrom<&[u8]> for Proof {
    type Error = Error;
    fn try_from(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes(bytes)
    }
}

secret_bytes_type!(
    /// The 64-byte PRF output `Finalize` returns (RFC 9497 §3.3). Treated as secret: it is the
    /// material pseudonyms are made from. Zeroized on drop, compared in constant time, never
    /// printed.
    Output,
    OUTPUT_LEN
);

impl Output {
    /// The output bytes.
    pub fn as_bytes(&self) -> &[u8; OUTPUT_LEN] {
        &self.0
    }
}
