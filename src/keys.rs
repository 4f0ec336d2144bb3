//! Server key pairs: generation, `DeriveKeyPair` and serialization (RFC 9497 §3.2).

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use crate::element::element_type;
use crate::error::{Error, Result};
use crate::group::{SCALAR_LEN, hash_to_scalar_dst, input_len_prefix, random_scalar};
use crate::secret::secret_scalar_type;
use crate::suite::Mode;

secret_scalar_type!(
    /// A server's private key `skS`: a nonzero scalar. Zeroized on drop; never printed.
    SecretKey
);

impl SecretKey {
    /// `GenerateKeyPair()`'s secret half (RFC 9497 §3.2): a uniform nonzero scalar.
    ///
    /// # Errors
    /// [`Error::RandomnessFailure`] when the RNG is broken.
    pub fn generate(rng: &mut (impl CryptoRng + ?Sized)) -> Result<Self> {
        random_scalar(rng).map(Self)
    }

    /// The matching public key `pkS = skS·G`, by constant-time fixed-base multiplication.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_point(&self.0 * RISTRETTO_BASEPOINT_TABLE)
    }
}

element_type!(
    /// A server's public key `pkS` (or a POPRF tweaked key): a non-identity group element.
    PublicKey
);

/// A secret key with its public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPair {
    secret: SecretKey,
    public: PublicKey,
}

impl KeyPair {
    /// `GenerateKeyPair()` (RFC 9497 §3.2).
    ///
    /// # Errors
    /// [`Error::RandomnessFailure`] when the RNG is broken.
    pub fn generate(rng: &mut (impl CryptoRng + ?Sized)) -> Result<Self> {
        Ok(Self::from_secret(SecretKey::generate(rng)?))
    }

    /// `DeriveKeyPair(seed, info)` under `mode`'s context string (RFC 9497 §3.2.1).
    ///
    /// # Errors
    /// [`Error::InputTooLong`] when `info` is longer than 65534 bytes,
    /// [`Error::DeriveKeyPair`] when 256 counters all hash to zero (negligible).
    pub fn derive(mode: Mode, seed: &[u8; SCALAR_LEN], info: &[u8]) -> Result<Self> {
        let info_len = input_len_prefix(info)?;
        let dst = &mode.dsts().derive_key_pair;
        for counter in 0..=255u8 {
            let sk = hash_to_scalar_dst(&[seed, &info_len, info, &[counter]], dst)?;
            if !bool::from(sk.ct_eq(&Scalar::ZERO)) {
                return Ok(Self::from_secret(SecretKey(sk)));
            }
        }
        Err(Error::DeriveKeyPair)
    }

    /// Pairs a secret key with its public key.
    pub fn from_secret(secret: SecretKey) -> Self {
        let public = secret.public_key();
        Self { secret, public }
    }

    /// The secret half.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }
}
