//! The shape shared by every secret scalar (keys, blinds): zeroized on drop, compared in
//! constant time, never printed.

/// Declares a secret nonzero scalar newtype.
macro_rules! secret_scalar_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name(pub(crate) curve25519_dalek::scalar::Scalar);

        impl $name {
            /// Decodes a serialized secret scalar (RFC 9497 `DeserializeScalar`, nonzero).
            ///
            /// # Errors
            /// [`Error::InvalidLength`](crate::Error::InvalidLength) unless exactly 32 bytes,
            /// [`Error::NonCanonicalScalar`](crate::Error::NonCanonicalScalar) for a value at
            /// or above the group order, [`Error::ZeroScalar`](crate::Error::ZeroScalar) for 0.
            pub fn from_bytes(bytes: &[u8]) -> $crate::error::Result<Self> {
                $crate::group::decode_nonzero_scalar(bytes).map(Self)
            }

            /// The 32-byte encoding (`SerializeScalar`), in a buffer zeroized on drop.
            pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; $crate::group::SCALAR_LEN]> {
                zeroize::Zeroizing::new(self.0.to_bytes())
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                zeroize::Zeroize::zeroize(&mut self.0);
            }
        }

        impl zeroize::ZeroizeOnDrop for $name {}

        impl subtle::ConstantTimeEq for $name {
            fn ct_eq(&self, other: &Self) -> subtle::Choice {
                subtle::ConstantTimeEq::ct_eq(&self.0, &other.0)
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                subtle::ConstantTimeEq::ct_eq(self, other).into()
            }
        }

        impl Eq for $name {}

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
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

pub(crate) use secret_scalar_type;
