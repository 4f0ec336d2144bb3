//! The public record of one inversion (`spec/12-threshold.md` §12.6.4): [`TweakRecord`], what
//! anyone holding the verification shares checks, and [`TweakKeys`], the public shares
//! `S_i` of `(k + m)⁻¹` it yields.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use subtle::ConstantTimeEq;

use super::messages::{
    Dealing, MASKED_PRODUCT_LEN, MaskedProduct, check_dealings, product_statement,
};
use crate::codec::{Reader, decodes_from_slice};
use crate::dleq::verify_proof;
use crate::error::{Error, Result};
use crate::group::decode_scalar;
use crate::keys::PublicKey;
use crate::messages::BlindedElement;
use crate::poprf::info_scalar;
use crate::suite::Mode;
use crate::threshold::answer::{ShareAnswer, check_answer};
use crate::threshold::params::{
    MAX_EVALUATORS, Threshold, evaluate_commitment, interpolate_scalars, x_of,
};
use crate::threshold::share::VerificationShares;

/// The dealings summed coefficient by coefficient: commitments to `Σ g_j` and `Σ h_j`.
struct Aggregate {
    g: Vec<RistrettoPoint>,
    h: Vec<RistrettoPoint>,
}

impl Aggregate {
    fn new(t: usize, dealings: &[Dealing]) -> Self {
        let mut g = vec![RistrettoPoint::default(); t];
        let mut h = vec![RistrettoPoint::default(); 2 * t - 2];
        for dealing in dealings {
            g.iter_mut().zip(&dealing.g).for_each(|(sum, c)| *sum += c);
            h.iter_mut().zip(&dealing.h).for_each(|(sum, c)| *sum += c);
        }
        Self { g, h }
    }

    /// `R_i = ρ_i·G`.
    fn r(&self, index: u16) -> RistrettoPoint {
        evaluate_commitment(&self.g, 0, &x_of(index))
    }

    /// `Z'_i = z_i·G`.
    fn z(&self, index: u16) -> RistrettoPoint {
        evaluate_commitment(&self.h, 1, &x_of(index))
    }
}

/// The public transcript of one inversion: the tweak, every dealing and `2t − 1` checked
/// masked products with their proofs, and the opened `w`. Anyone holding the verification
/// shares checks it and derives every `S_i` ([`TweakRecord::check`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TweakRecord {
    t: u16,
    m: Scalar,
    pub(super) dealings: Vec<Dealing>,
    products: Vec<MaskedProduct>,
    pub(super) w: Scalar,
}

/// The public shares `S_i = s_i·G` of `(k + m)⁻¹` for one tweak, one per participant of the
/// inversion: what a client checks share answers against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TweakKeys {
    params: Threshold,
    shares: Vec<(u16, PublicKey)>,
}

impl TweakKeys {
    /// `(t, n)`.
    pub fn params(&self) -> Threshold {
        self.params
    }

    /// `S_index`.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for an evaluator that did not take part in the inversion.
    pub fn share(&self, index: u16) -> Result<&PublicKey> {
        self.shares
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, key)| key)
            .ok_or(Error::UnknownEvaluator { index })
    }

    /// Checks one evaluator's answer under this tweak against its `S_i`.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for an evaluator outside the inversion,
    /// [`Error::BatchMismatch`] for a length other than the batch's, [`Error::BadShare`]
    /// naming the evaluator when the proof fails.
    pub fn check_answer(&self, blinded: &[BlindedElement], answer: &ShareAnswer) -> Result<()> {
        check_answer(Mode::Poprf, self.share(answer.index)?, blinded, answer)
    }

    /// The evaluators that hold a share of this tweak's inverse.
    pub fn participants(&self) -> Vec<u16> {
        self.shares.iter().map(|(i, _)| *i).collect()
    }
}

impl TweakRecord {
    /// Assembles the record of a run (any party: a participant or the client). Checks each
    /// product in the order given, drops and names each one whose proof fails, and keeps the
    /// first `2t − 1` valid ones.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for a product from a non-participant or a repeated one;
    /// [`Error::BadProduct`] naming the first participant whose product fails when fewer
    /// than `2t − 1` valid ones remain (the run restarts without it), [`Error::TooFewShares`]
    /// with fewer than `2t − 1` products; as [`TweakRecord::check`].
    pub fn assemble(
        public: &VerificationShares,
        info: &[u8],
        dealings: Vec<Dealing>,
        products: &[MaskedProduct],
    ) -> Result<(Self, Vec<u16>)> {
        let params = public.params();
        let participants: Vec<u16> = dealings.iter().map(|d| d.dealer).collect();
        check_dealings(params, &participants, &dealings)?;
        let m = info_scalar(info)?;
        let aggregate = Aggregate::new(usize::from(params.t()), &dealings);
        let need = params.inversion_quorum();
        let (mut kept, mut rejected) = (Vec::with_capacity(need), Vec::new());
        for product in products {
            if kept.len() == need {
                break;
            }
            if !participants.contains(&product.index)
                || kept
                    .iter()
                    .any(|p: &MaskedProduct| p.index == product.index)
            {
                return Err(Error::UnknownEvaluator {
                    index: product.index,
                });
            }
            match check_product(public, &aggregate, &m, product) {
                Ok(()) => kept.push(*product),
                Err(Error::BadProduct { evaluator }) => rejected.push(evaluator),
                Err(other) => return Err(other),
            }
        }
        if kept.len() < need {
            if let Some(&evaluator) = rejected.first() {
                return Err(Error::BadProduct { evaluator });
            }
            return Err(Error::TooFewShares {
                have: kept.len(),
                need,
            });
        }
        kept.sort_by_key(|p| p.index);
        let w = open(&kept)?;
        Ok((
            Self {
                t: params.t(),
                m,
                dealings,
                products: kept,
                w,
            },
            rejected,
        ))
    }

    /// Checks the record for the tweak of `info` under `public` and derives `S_i` for every
    /// participant (`spec/12-threshold.md` §12.6.4).
    ///
    /// # Errors
    /// [`Error::TweakMismatch`] for another tweak or a `w` that the products do not open to;
    /// [`Error::BadProduct`] naming a participant whose product fails;
    /// [`Error::InverseError`] when `w = 0` (`k = −m`: replace the key).
    pub fn check(&self, public: &VerificationShares, info: &[u8]) -> Result<TweakKeys> {
        let params = public.params();
        if self.t != params.t() || !bool::from(self.m.ct_eq(&info_scalar(info)?)) {
            return Err(Error::TweakMismatch);
        }
        let participants: Vec<u16> = self.dealings.iter().map(|d| d.dealer).collect();
        check_dealings(params, &participants, &self.dealings)?;
        let indices: Vec<u16> = self.products.iter().map(|p| p.index).collect();
        params.check_set(&indices, params.inversion_quorum())?;
        if indices.len() != params.inversion_quorum()
            || indices.iter().any(|i| !participants.contains(i))
        {
            return Err(Error::TweakMismatch);
        }
        let aggregate = Aggregate::new(usize::from(params.t()), &self.dealings);
        for product in &self.products {
            check_product(public, &aggregate, &self.m, product)?;
        }
        if open(&self.products)? != self.w {
            return Err(Error::TweakMismatch);
        }
        let w_inverse = self.w.invert();
        let shares = participants
            .iter()
            .map(|&i| (i, PublicKey::from_point(w_inverse * aggregate.r(i))))
            .collect();
        Ok(TweakKeys { params, shares })
    }

    /// The participants of the run.
    pub fn participants(&self) -> Vec<u16> {
        self.dealings.iter().map(|d| d.dealer).collect()
    }

    /// `t:2 || m:32 || w:32 || dealers:2 || dealing* || products:2 || product*` (each
    /// dealing `4 + 32·(3t − 2)` bytes, each product 98).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.t.to_be_bytes());
        out.extend_from_slice(self.m.as_bytes());
        out.extend_from_slice(self.w.as_bytes());
        let dealers = u16::try_from(self.dealings.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&dealers.to_be_bytes());
        for dealing in &self.dealings {
            out.extend_from_slice(&dealing.to_bytes());
        }
        let products = u16::try_from(self.products.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&products.to_be_bytes());
        for product in &self.products {
            out.extend_from_slice(&product.to_bytes());
        }
        out
    }

    /// Decodes a record strictly: counts are checked against the length before any element
    /// is decoded. The contents are checked by [`TweakRecord::check`].
    ///
    /// # Errors
    /// [`Error::ThresholdParams`] for a bad `t` or more than 255 dealings;
    /// [`Error::TooFewShares`] for fewer than `2t − 1` dealings or other than `2t − 1`
    /// products;
    /// [`Error::InvalidLength`] when the length does not match the counts; the errors of [`Dealing::from_bytes`] and
    /// [`MaskedProduct::from_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let t = reader.u16()?;
        Threshold::new(t, t)?;
        let m = decode_scalar(reader.take(32)?)?;
        let w = decode_scalar(reader.take(32)?)?;
        let dealing_len = 4 + 32 * (3 * usize::from(t) - 2);
        let quorum = 2 * usize::from(t) - 1;
        let dealers = usize::from(reader.u16()?);
        if dealers > usize::from(MAX_EVALUATORS) {
            return Err(Error::ThresholdParams);
        }
        if dealers < quorum {
            return Err(Error::TooFewShares {
                have: dealers,
                need: quorum,
            });
        }
        let fixed = 2 + 64 + 2 + dealers * dealing_len + 2;
        if bytes.len() < fixed {
            return Err(Error::InvalidLength {
                expected: fixed,
                actual: bytes.len(),
            });
        }
        let mut dealings = Vec::with_capacity(dealers);
        for _ in 0..dealers {
            let dealing = Dealing::from_bytes(reader.take(dealing_len)?)?;
            if dealing.t() != t {
                return Err(Error::ThresholdParams);
            }
            dealings.push(dealing);
        }
        let count = usize::from(reader.u16()?);
        if count != quorum {
            return Err(Error::TooFewShares {
                have: count,
                need: quorum,
            });
        }
        let expected = fixed + count * MASKED_PRODUCT_LEN;
        if bytes.len() != expected {
            return Err(Error::InvalidLength {
                expected,
                actual: bytes.len(),
            });
        }
        let mut products = Vec::with_capacity(count);
        for _ in 0..count {
            products.push(MaskedProduct::from_bytes(reader.take(MASKED_PRODUCT_LEN)?)?);
        }
        reader.finish()?;
        Ok(Self {
            t,
            m,
            dealings,
            products,
            w,
        })
    }
}

decodes_from_slice!(TweakRecord);

/// Checks one masked product against the aggregate commitments and the verification share.
fn check_product(
    public: &VerificationShares,
    aggregate: &Aggregate,
    m: &Scalar,
    product: &MaskedProduct,
) -> Result<()> {
    let index = product.index;
    let t_i = public.share(index)?.point + m * RISTRETTO_BASEPOINT_TABLE;
    let d = &product.w * RISTRETTO_BASEPOINT_TABLE - aggregate.z(index);
    let (key, c, d) = product_statement(aggregate.r(index), t_i, d);
    verify_proof(Mode::Poprf, &key, &c, &d, &product.proof).map_err(|error| match error {
        Error::VerifyError => Error::BadProduct { evaluator: index },
        other => other,
    })
}

/// `w` interpolated at zero from `2t − 1` products.
fn open(products: &[MaskedProduct]) -> Result<Scalar> {
    let indices: Vec<u16> = products.iter().map(|p| p.index).collect();
    let values: Vec<Scalar> = products.iter().map(|p| p.w).collect();
    let w = interpolate_scalars(&indices, &values)?;
    if w == Scalar::ZERO {
        return Err(Error::InverseError);
    }
    Ok(w)
}
