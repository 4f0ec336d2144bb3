//! The crate's one error type.

use core::fmt;

/// Everything that can go wrong in blindnym.
///
/// Decoders never panic on untrusted bytes: every malformed input maps to one of these
/// variants. The RFC 9497 error names (§5.3) are given on each variant where one applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// A byte string had the wrong length (RFC 9497 `DeserializeError`), trailing bytes
    /// included.
    InvalidLength {
        /// The length the decoder expects.
        expected: usize,
        /// The length it was given.
        actual: usize,
    },
    /// A group element encoding is not a canonical ristretto255 encoding (RFC 9496 §4.3.1).
    NonCanonicalElement,
    /// A received group element is the identity, which RFC 9497 `DeserializeElement` rejects.
    IdentityElement,
    /// A scalar encoding is not canonical: its value is the group order or larger.
    NonCanonicalScalar,
    /// A secret scalar (key or blind) was zero where the protocol needs it nonzero.
    ZeroScalar,
    /// An input, info or other length-prefixed field is longer than 65534 bytes: RFC 9497
    /// §5.1 requires inputs shorter than 2^16 - 1 bytes.
    InputTooLong,
    /// `HashToGroup(input)` or the POPRF tweaked key is the identity
    /// (RFC 9497 `InvalidInputError`).
    InvalidInput,
    /// The POPRF tweak `skS + m` is zero (RFC 9497 `InverseError`); the key should be replaced.
    InverseError,
    /// `DeriveKeyPair` found no nonzero scalar in 256 tries (RFC 9497 `DeriveKeyPairError`).
    DeriveKeyPair,
    /// A DLEQ proof did not verify (RFC 9497 `VerifyError`).
    VerifyError,
    /// A batch was empty, longer than 65535 elements, or its parallel lists differ in length.
    BatchSize,
    /// A textual form (pseudonym, key id) is malformed or its checksum does not match.
    InvalidText,
    /// An Ed25519 signature did not verify.
    BadSignature,
    /// An assertion carries a nonce other than the one the relying party issued.
    NonceMismatch,
    /// An assertion has expired.
    Expired,
    /// An assertion was made for another service: the recomputed blinded element differs.
    ServiceMismatch,
    /// No key is published for the requested epoch.
    UnknownEpoch,
    /// The random number generator returned only zero scalars: it is broken.
    RandomnessFailure,
    /// A structured message (published key set, flow message) has a wrong magic or version,
    /// an empty list, or entries out of order or duplicated (`spec/04-keys.md` §4.5).
    Malformed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidLength { expected, actual } => {
                write!(f, "wrong length: expected {expected} bytes, got {actual}")
            }
            Error::NonCanonicalElement => f.write_str("non-canonical ristretto255 encoding"),
            Error::IdentityElement => f.write_str("group element is the identity"),
            Error::NonCanonicalScalar => {
                f.write_str("scalar is not reduced modulo the group order")
            }
            Error::ZeroScalar => f.write_str("scalar is zero"),
            Error::InputTooLong => f.write_str("input longer than 65534 bytes"),
            Error::InvalidInput => f.write_str("input hashes to the identity element"),
            Error::InverseError => f.write_str("POPRF tweak is not invertible"),
            Error::DeriveKeyPair => f.write_str("key derivation found no nonzero scalar"),
            Error::VerifyError => f.write_str("DLEQ proof verification failed"),
            Error::BatchSize => f.write_str("batch is empty, too large, or its lists differ"),
            Error::InvalidText => f.write_str("malformed text encoding"),
            Error::BadSignature => f.write_str("signature verification failed"),
            Error::NonceMismatch => f.write_str("assertion nonce does not match"),
            Error::Expired => f.write_str("assertion has expired"),
            Error::ServiceMismatch => f.write_str("assertion was made for another service"),
            Error::UnknownEpoch => f.write_str("no key published for this epoch"),
            Error::RandomnessFailure => f.write_str("random number generator failed"),
            Error::Malformed => f.write_str("malformed message: bad magic, version or order"),
        }
    }
}

impl core::error::Error for Error {}

/// Shorthand for results whose error is [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
