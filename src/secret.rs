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

/// Declares a secret fixed-length byte string (an OPRF output, a seed, a credential):
/// zeroized on drop, compared in constant time, never printed, decoded from exactly `$len`
/// bytes. With `random`, it also gets `generate` (filled in place from a CSPRNG, so no copy
/// is left on the stack) and `expose_bytes` (a zeroizing copy, for the owner's backup).
macro_rules! secret_bytes_type {
    ($(#[$meta:meta])* $name:ident, $len:expr) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name(pub(crate) [u8; $len]);

        impl $name {
            /// Wraps exactly the right number of secret bytes.
            ///
            /// # Errors
            /// [`Error::InvalidLength`](crate::Error::InvalidLength) for any other length.
            pub fn from_bytes(bytes: &[u8]) -> $crate::error::Result<Self> {
                $crate::group::exact::<{ $len }>(bytes).map(Self)
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
                subtle::ConstantTimeEq::ct_eq(&self.0[..], &other.0[..])
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
    };
    ($(#[$meta:meta])* $name:ident, $len:expr, random) => {
        $crate::secret::secret_bytes_type!($(#[$meta])* $name, $len);

        impl $name {
            /// Fresh secret bytes from `rng`.
            pub fn generate(rng: &mut (impl rand_core::CryptoRng + ?Sized)) -> Self {
                let mut secret = Self([0u8; $len]);
                rng.fill_bytes(&mut secret.0);
                secret
            }

            /// A copy of the secret bytes, for the owner's sealed backup. Handle with care.
            pub fn expose_bytes(&self) -> zeroize::Zeroizing<[u8; $len]> {
                zeroize::Zeroizing::new(self.0)
            }
        }
    };
}

pub(crate) use secret_bytes_type;
