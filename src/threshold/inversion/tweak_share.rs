//! An evaluator's share `s_i` of `(k + m)⁻¹` for one tweak (`spec/12-threshold.md` §12.6,
//! §12.7): what round three of an inversion gives, and what flows A and B answer with.

use core::fmt;

use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::keys::PublicKey;
use crate::messages::BlindedElement;
use crate::suite::Mode;
use crate::threshold::answer::{ShareAnswer, prove_scaled};
use crate::threshold::share::KeyShare;

/// Evaluator `i`'s share `s_i` of `(k + m)⁻¹` for one tweak, and `S_i = s_i·G`. Secret:
/// zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TweakShare {
    #[zeroize(skip)]
    index: u16,
    secret: Scalar,
    #[zeroize(skip)]
    public: PublicKey,
}

impl TweakShare {
    pub(super) fn new(index: u16, secret: Scalar, public: PublicKey) -> Self {
        Self {
            index,
            secret,
            public,
        }
    }

    /// The evaluator's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// `S_i`.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Answers a batch under the tweak: `s_i·B_j` with the batched DLEQ proof against `S_i`
    /// in the POPRF context (`spec/12-threshold.md` §12.7).
    ///
    /// # Errors
    /// [`Error::EmptyBatch`], [`Error::BatchTooLarge`], [`Error::RandomnessFailure`].
    pub fn answer(
        &self,
        blinded: &[BlindedElement],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<ShareAnswer> {
        prove_scaled(
            Mode::Poprf,
            self.index,
            &self.secret,
            &self.public,
            blinded,
            rng,
        )
    }

    /// The saved form `index:2 || s_i:32`, zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 34]> {
        let mut out = Zeroizing::new([0u8; 34]);
        out[..2].copy_from_slice(&self.index.to_be_bytes());
        out[2..].copy_from_slice(self.secret.as_bytes());
        out
    }

    /// Restores a saved tweak share.
    ///
    /// # Errors
    /// [`Error::InvalidLength`], [`Error::UnknownEvaluator`] for index 0,
    /// [`Error::NonCanonicalScalar`], [`Error::ZeroScalar`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let share = KeyShare::from_bytes(bytes)?;
        Ok(Self {
            index: share.index(),
            secret: *share.secret(),
            public: share.verification_share(),
        })
    }
}

impl fmt::Debug for TweakShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TweakShare")
            .field("index", &self.index)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}
