//! The inversion's three messages (`spec/12-threshold.md` §12.6): a dealer's public
//! [`Dealing`], the [`PrivateShare`] it sends each participant over the authenticated channel,
//! and each participant's [`MaskedProduct`]; with the checks every party makes of a run's
//! dealings.

use core::fmt;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::codec::{Reader, decodes_from_slice};
use crate::error::{Error, Result};
use crate::group::{decode_element, decode_scalar};
use crate::keys::PublicKey;
use crate::messages::{BlindedElement, EvaluatedElement, PROOF_LEN, Proof};
use crate::threshold::params::Threshold;

/// Serialized size of a [`PrivateShare`].
pub const PRIVATE_SHARE_LEN: usize = 2 + 2 + 32 + 32;
/// Serialized size of a [`MaskedProduct`].
pub const MASKED_PRODUCT_LEN: usize = 2 + 32 + PROOF_LEN;

/// Dealer `j`'s public commitments: `g_{j,l}·G` for `l = 0..t−1` and `h_{j,l}·G` for
/// `l = 1..2t−2` (the constant term of `h_j` is zero and not sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dealing {
    pub(super) dealer: u16,
    pub(super) g: Vec<RistrettoPoint>,
    pub(super) h: Vec<RistrettoPoint>,
}

impl Dealing {
    /// The dealer's index.
    pub fn dealer(&self) -> u16 {
        self.dealer
    }

    /// The threshold `t` the dealing is for.
    pub fn t(&self) -> u16 {
        // g has t entries, checked when built or decoded.
        u16::try_from(self.g.len()).unwrap_or(u16::MAX)
    }

    /// `dealer:2 || t:2 || C_g[0..t] || C_h[1..2t−1]`, `4 + 32·(3t − 2)` bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 32 * (self.g.len() + self.h.len()));
        out.extend_from_slice(&self.dealer.to_be_bytes());
        out.extend_from_slice(&self.t().to_be_bytes());
        for point in self.g.iter().chain(&self.h) {
            out.extend_from_slice(point.compress().as_bytes());
        }
        out
    }

    /// Decodes a dealing strictly.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for dealer 0, [`Error::ThresholdParams`] for `t` outside
    /// `2..=255`, [`Error::InvalidLength`] when the length does not match `t`, the element
    /// errors (the identity included) for a commitment.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let dealer = reader.u16()?;
        if dealer == 0 {
            return Err(Error::UnknownEvaluator { index: dealer });
        }
        let t = reader.u16()?;
        Threshold::new(t, t)?;
        let t = usize::from(t);
        let expected = 4 + 32 * (3 * t - 2);
        if bytes.len() != expected {
            return Err(Error::InvalidLength {
                expected,
                actual: bytes.len(),
            });
        }
        let mut points = Vec::with_capacity(3 * t - 2);
        for _ in 0..3 * t - 2 {
            points.push(decode_element(reader.take(32)?)?);
        }
        reader.finish()?;
        let h = points.split_off(t);
        Ok(Self {
            dealer,
            g: points,
            h,
        })
    }
}

/// Dealer `j`'s private values for participant `i`: `g_j(i)` and `h_j(i)`. Secret: sent only
/// over the mutually authenticated channel between the two, zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PrivateShare {
    #[zeroize(skip)]
    pub(super) dealer: u16,
    #[zeroize(skip)]
    pub(super) recipient: u16,
    pub(super) g: Scalar,
    pub(super) h: Scalar,
}

impl PrivateShare {
    /// The dealer's index.
    pub fn dealer(&self) -> u16 {
        self.dealer
    }

    /// The recipient's index.
    pub fn recipient(&self) -> u16 {
        self.recipient
    }

    /// `dealer:2 || recipient:2 || g_j(i):32 || h_j(i):32`, zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; PRIVATE_SHARE_LEN]> {
        let mut out = Zeroizing::new([0u8; PRIVATE_SHARE_LEN]);
        out[..2].copy_from_slice(&self.dealer.to_be_bytes());
        out[2..4].copy_from_slice(&self.recipient.to_be_bytes());
        out[4..36].copy_from_slice(self.g.as_bytes());
        out[36..].copy_from_slice(self.h.as_bytes());
        out
    }

    /// Decodes a private share strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless 68 bytes, [`Error::UnknownEvaluator`] for index 0,
    /// [`Error::NonCanonicalScalar`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, PRIVATE_SHARE_LEN)?;
        let dealer = reader.u16()?;
        let recipient = reader.u16()?;
        for index in [dealer, recipient] {
            if index == 0 {
                return Err(Error::UnknownEvaluator { index });
            }
        }
        let share = Self {
            dealer,
            recipient,
            g: decode_scalar(reader.take(32)?)?,
            h: decode_scalar(reader.take(32)?)?,
        };
        reader.finish()?;
        Ok(share)
    }
}

impl fmt::Debug for PrivateShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateShare")
            .field("dealer", &self.dealer)
            .field("recipient", &self.recipient)
            .finish_non_exhaustive()
    }
}

/// Participant `i`'s masked product `w_i = ρ_i·(k_i + m) + z_i` and its DLEQ proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaskedProduct {
    /// The participant's index.
    pub index: u16,
    /// `w_i`.
    pub w: Scalar,
    /// Proof that `log_G R_i = log_{T_i}(w_i·G − Z'_i)`.
    pub proof: Proof,
}

impl MaskedProduct {
    /// `index:2 || w_i:32 || proof:64`, 98 bytes.
    pub fn to_bytes(&self) -> [u8; MASKED_PRODUCT_LEN] {
        let mut out = [0u8; MASKED_PRODUCT_LEN];
        out[..2].copy_from_slice(&self.index.to_be_bytes());
        out[2..34].copy_from_slice(self.w.as_bytes());
        out[34..].copy_from_slice(&self.proof.to_bytes());
        out
    }

    /// Decodes a masked product strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless 98 bytes, [`Error::UnknownEvaluator`] for index 0,
    /// [`Error::NonCanonicalScalar`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, MASKED_PRODUCT_LEN)?;
        let index = reader.u16()?;
        if index == 0 {
            return Err(Error::UnknownEvaluator { index });
        }
        let product = Self {
            index,
            w: decode_scalar(reader.take(32)?)?,
            proof: Proof::from_bytes(reader.take(PROOF_LEN)?)?,
        };
        reader.finish()?;
        Ok(product)
    }
}

decodes_from_slice!(Dealing, PrivateShare, MaskedProduct);

/// A uniformly random scalar (wide reduction of 64 bytes): Shamir privacy wants uniform
/// coefficients.
pub(super) fn uniform_scalar(rng: &mut (impl CryptoRng + ?Sized)) -> Scalar {
    let mut wide = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(wide.as_mut());
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// The DLEQ statement of a masked product: key `R_i`, `C = [T_i]`, `D = [w_i·G − Z'_i]`.
pub(super) fn product_statement(
    r: RistrettoPoint,
    t_i: RistrettoPoint,
    d: RistrettoPoint,
) -> (PublicKey, [BlindedElement; 1], [EvaluatedElement; 1]) {
    (
        PublicKey::from_point(r),
        [BlindedElement::from_point(t_i)],
        [EvaluatedElement::from_point(d)],
    )
}

/// Checks the dealings of one run: one per participant, in the participants' order, each for
/// threshold `t`.
pub(super) fn check_dealings(
    params: Threshold,
    participants: &[u16],
    dealings: &[Dealing],
) -> Result<()> {
    params.check_set(participants, params.inversion_quorum())?;
    if dealings.len() != participants.len() {
        return Err(Error::TooFewShares {
            have: dealings.len(),
            need: participants.len(),
        });
    }
    for (dealing, &expected) in dealings.iter().zip(participants) {
        if dealing.dealer != expected {
            return Err(Error::UnknownEvaluator {
                index: dealing.dealer,
            });
        }
        if dealing.g.len() != usize::from(params.t()) {
            return Err(Error::BadDealing {
                dealer: dealing.dealer,
            });
        }
    }
    Ok(())
}
