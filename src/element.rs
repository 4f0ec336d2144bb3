//! The shape shared by every public group-element message: the decoded point together with
//! its canonical 32-byte encoding, so transcripts never re-encode.

use curve25519_dalek::ristretto::RistrettoPoint;

use crate::group::ELEMENT_LEN;

/// A group element that carries its canonical encoding; every [`element_type`] is one, so
/// DLEQ transcripts (RFC 9497 §2.2) read encodings without compressing again.
pub(crate) trait Encoded {
    /// The decoded element.
    fn point(&self) -> &RistrettoPoint;
    /// Its canonical 32-byte encoding.
    fn encoding(&self) -> &[u8; ELEMENT_LEN];
}

/// Declares a public, non-identity group element type with decoding that follows RFC 9497
/// `DeserializeElement` (§4.1).
macro_rules! element_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            pub(crate) point: curve25519_dalek::ristretto::RistrettoPoint,
            pub(crate) bytes: [u8; $crate::group::ELEMENT_LEN],
        }

        impl $name {
            /// Wraps a point, computing its encoding. Callers guarantee it is not the identity.
            #[allow(dead_code)]
            pub(crate) fn from_point(point: curve25519_dalek::ristretto::RistrettoPoint) -> Self {
                Self {
                    bytes: point.compress().to_bytes(),
                    point,
                }
            }

            /// Decodes a received element (RFC 9497 `DeserializeElement`, §4.1).
            ///
            /// # Errors
            /// [`Error::InvalidLength`](crate::Error::InvalidLength) unless exactly 32 bytes,
            /// [`Error::NonCanonicalElement`](crate::Error::NonCanonicalElement) for a
            /// non-canonical or invalid encoding,
            /// [`Error::IdentityElement`](crate::Error::IdentityElement) for the identity.
            pub fn from_bytes(bytes: &[u8]) -> $crate::error::Result<Self> {
                let point = $crate::group::decode_element(bytes)?;
                let mut array = [0u8; $crate::group::ELEMENT_LEN];
                array.copy_from_slice(bytes);
                Ok(Self {
                    point,
                    bytes: array,
                })
            }

            /// Decodes a batch of received elements, in parallel with the `parallel` feature,
            /// keeping input order.
            ///
            /// # Errors
            /// As [`Self::from_bytes`], for the first element that fails.
            pub fn from_bytes_batch(
                encodings: &[[u8; $crate::group::ELEMENT_LEN]],
            ) -> $crate::error::Result<::std::vec::Vec<Self>> {
                $crate::parallel::map_indices(encodings.len(), |i| {
                    Ok(Self {
                        point: $crate::group::decode_element(&encodings[i])?,
                        bytes: encodings[i],
                    })
                })
            }

            /// The 32-byte canonical encoding (RFC 9496 §4.3.2).
            pub fn to_bytes(&self) -> [u8; $crate::group::ELEMENT_LEN] {
                self.bytes
            }

            /// The 32-byte canonical encoding, borrowed.
            pub fn as_bytes(&self) -> &[u8; $crate::group::ELEMENT_LEN] {
                &self.bytes
            }

            /// The group element.
            pub fn as_point(&self) -> &curve25519_dalek::ristretto::RistrettoPoint {
                &self.point
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, concat!(stringify!($name), "("))?;
                for byte in self.bytes {
                    write!(f, "{byte:02x}")?;
                }
                write!(f, ")")
            }
        }

        impl $crate::element::Encoded for $name {
            fn point(&self) -> &curve25519_dalek::ristretto::RistrettoPoint {
                &self.point
            }
            fn encoding(&self) -> &[u8; $crate::group::ELEMENT_LEN] {
                &self.bytes
            }
        }

        impl TryFrom<&[u8]> for $name {
            type Error = $crate::error::Error;
            fn try_from(bytes: &[u8]) -> $crate::error::Result<Self> {
                Self::from_bytes(bytes)
            }
        }
    };
}

pub(crate) use element_type;
