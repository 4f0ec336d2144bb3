//! The shared inversion per tweak (`spec/12-threshold.md` §12.6): from shares `k_i` of `k` and
//! a public tweak `m`, the participants compute shares `s_i` of `(k + m)⁻¹` without anyone
//! learning `k + m` (Bar-Ilan and Beaver, 1989), and leave a [`TweakRecord`] from which anyone
//! holding the verification shares checks the result and derives every `S_i = s_i·G`.
//!
//! 1. Each participant `j` deals a random `g_j` of degree `t − 1` and `h_j` of degree
//!    `2t − 2` with `h_j(0) = 0`, with Feldman commitments ([`Dealing`]), and sends
//!    `(g_j(i), h_j(i))` to each participant `i` privately ([`PrivateShare`]).
//! 2. Each `i` checks what it received, sets `ρ_i = Σ g_j(i)`, `z_i = Σ h_j(i)`, and publishes
//!    `w_i = ρ_i·(k_i + m) + z_i` with a DLEQ proof `log_G R_i = log_{T_i}(w_i·G − Z'_i)`
//!    ([`MaskedProduct`]).
//! 3. Any `2t − 1` checked products interpolate `w = ρ·(k + m)`; `s_i = w⁻¹·ρ_i`.

use core::fmt;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::answer::{ShareAnswer, check_answer, prove_scaled};
use super::params::{
    MAX_EVALUATORS, Threshold, evaluate_commitment, evaluate_polynomial, interpolate_scalars, x_of,
};
use super::share::{KeyShare, VerificationShares};
use crate::dleq::{CompositeWeights, generate_proof, hedged_nonce, verify_proof};
use crate::error::{Error, Result};
use crate::group::{decode_element, decode_scalar};
use crate::keys::PublicKey;
use crate::messages::{BlindedElement, EvaluatedElement, PROOF_LEN, Proof};
use crate::poprf::info_scalar;
use crate::pseudonym::encoding::{Reader, decodes_from_slice};
use crate::suite::Mode;

/// Serialized size of a [`PrivateShare`].
pub const PRIVATE_SHARE_LEN: usize = 2 + 2 + 32 + 32;
/// Serialized size of a [`MaskedProduct`].
pub const MASKED_PRODUCT_LEN: usize = 2 + 32 + PROOF_LEN;

/// A uniformly random scalar (wide reduction of 64 bytes): Shamir privacy wants uniform
/// coefficients.
fn uniform_scalar(rng: &mut (impl CryptoRng + ?Sized)) -> Scalar {
    let mut wide = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(wide.as_mut());
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// Dealer `j`'s public commitments: `g_{j,l}·G` for `l = 0..t−1` and `h_{j,l}·G` for
/// `l = 1..2t−2` (the constant term of `h_j` is zero and not sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dealing {
    dealer: u16,
    g: Vec<RistrettoPoint>,
    h: Vec<RistrettoPoint>,
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
    dealer: u16,
    #[zeroize(skip)]
    recipient: u16,
    g: Scalar,
    h: Scalar,
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

/// The DLEQ statement of a masked product: key `R_i`, `C = [T_i]`, `D = [w_i·G − Z'_i]`.
fn product_statement(
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
fn check_dealings(params: Threshold, participants: &[u16], dealings: &[Dealing]) -> Result<()> {
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

/// One participant of one inversion run.
pub struct InversionParticipant {
    share: KeyShare,
    public: VerificationShares,
    m: Scalar,
    participants: Vec<u16>,
    /// This participant's own dealing and its share to itself, drawn in round one: round two
    /// refuses any other, so its own contribution is fresh in every run whatever the transport
    /// replays (§12.6.3).
    own_dealing: Dealing,
    own_private: PrivateShare,
    dealings: Vec<Dealing>,
    rho: Zeroizing<Scalar>,
}

impl fmt::Debug for InversionParticipant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InversionParticipant")
            .field("index", &self.share.index())
            .field("participants", &self.participants)
            .finish_non_exhaustive()
    }
}

/// Round 1: participant `share.index()` deals its random polynomials for the run of
/// `participants` (at least `2t − 1`, increasing, itself among them) on the tweak of `info`.
/// Returns the dealing to broadcast and one private share per participant, itself included.
///
/// # Errors
/// [`Error::UnknownEvaluator`] or [`Error::TooFewShares`] for a bad participant set or one
/// without this participant; [`Error::InputTooLong`] for an info over 65534 bytes.
pub fn deal_round(
    share: &KeyShare,
    public: &VerificationShares,
    info: &[u8],
    participants: &[u16],
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(InversionParticipant, Dealing, Vec<PrivateShare>)> {
    let params = public.params();
    params.check_set(participants, params.inversion_quorum())?;
    if !participants.contains(&share.index()) {
        return Err(Error::UnknownEvaluator {
            index: share.index(),
        });
    }
    let t = usize::from(params.t());
    let g: Zeroizing<Vec<Scalar>> = Zeroizing::new((0..t).map(|_| uniform_scalar(rng)).collect());
    // h_j(0) = 0: the constant coefficient is zero and left out of the commitments.
    let mut h: Zeroizing<Vec<Scalar>> =
        Zeroizing::new((0..2 * t - 1).map(|_| uniform_scalar(rng)).collect());
    h[0] = Scalar::ZERO;
    let dealing = Dealing {
        dealer: share.index(),
        g: g.iter().map(|c| c * RISTRETTO_BASEPOINT_TABLE).collect(),
        h: h[1..]
            .iter()
            .map(|c| c * RISTRETTO_BASEPOINT_TABLE)
            .collect(),
    };
    let privates: Vec<PrivateShare> = participants
        .iter()
        .map(|&recipient| PrivateShare {
            dealer: share.index(),
            recipient,
            g: evaluate_polynomial(&g, &x_of(recipient)),
            h: evaluate_polynomial(&h, &x_of(recipient)),
        })
        .collect();
    let own_private = privates
        .iter()
        .find(|p: &&PrivateShare| p.recipient == share.index())
        .cloned()
        .ok_or(Error::UnknownEvaluator {
            index: share.index(),
        })?;
    let participant = InversionParticipant {
        share: share.clone(),
        public: public.clone(),
        m: info_scalar(info)?,
        participants: participants.to_vec(),
        own_dealing: dealing.clone(),
        own_private,
        dealings: Vec::new(),
        rho: Zeroizing::new(Scalar::ZERO),
    };
    Ok((participant, dealing, privates))
}

impl InversionParticipant {
    /// This participant's index.
    pub fn index(&self) -> u16 {
        self.share.index()
    }

    /// Round 2: checks every dealing and the private share it sent here, then publishes the
    /// masked product with its proof.
    ///
    /// # Errors
    /// [`Error::Replayed`] on a second call (a participant publishes one product per round-one
    /// state, or a colluder could solve for its key share); [`Error::TweakMismatch`] when the
    /// dealing or private share under its own index is not the one it drew in round one; [`Error::BadDealing`] naming the
    /// dealer whose share does not match its commitments; [`Error::UnknownEvaluator`]/
    /// [`Error::TooFewShares`] for dealings or shares that do not match the participant set
    /// one for one; [`Error::RandomnessFailure`].
    pub fn product_round(
        &mut self,
        dealings: &[Dealing],
        privates: &[PrivateShare],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<MaskedProduct> {
        // One product per round-one state: a second product over dealings that differ only in
        // a colluder's own dealing would give it `k_i + m` (§12.6.3).
        if !self.dealings.is_empty() {
            return Err(Error::Replayed);
        }
        let params = self.public.params();
        check_dealings(params, &self.participants, dealings)?;
        if privates.len() != dealings.len() {
            return Err(Error::TooFewShares {
                have: privates.len(),
                need: dealings.len(),
            });
        }
        let me = self.index();
        let x = x_of(me);
        let (mut rho, mut z) = (Zeroizing::new(Scalar::ZERO), Zeroizing::new(Scalar::ZERO));
        for (dealing, private) in dealings.iter().zip(privates) {
            if private.dealer != dealing.dealer || private.recipient != me {
                return Err(Error::UnknownEvaluator {
                    index: private.dealer,
                });
            }
            // Its own contribution must be the one it drew for this run (§12.6.3): a replayed
            // one would let a colluder solve two products for k_i.
            if dealing.dealer == me {
                let same_share =
                    private.g.ct_eq(&self.own_private.g) & private.h.ct_eq(&self.own_private.h);
                if *dealing != self.own_dealing || !bool::from(same_share) {
                    return Err(Error::TweakMismatch);
                }
            }
            let g_ok =
                &private.g * RISTRETTO_BASEPOINT_TABLE == evaluate_commitment(&dealing.g, 0, &x);
            let h_ok =
                &private.h * RISTRETTO_BASEPOINT_TABLE == evaluate_commitment(&dealing.h, 1, &x);
            if !(g_ok && h_ok) {
                return Err(Error::BadDealing {
                    dealer: dealing.dealer,
                });
            }
            *rho += private.g;
            *z += private.h;
        }
        let tweaked = Zeroizing::new(self.share.secret() + self.m);
        let w = *rho * *tweaked + *z;
        let r = &*rho * RISTRETTO_BASEPOINT_TABLE;
        let t_i = self.public.share(me)?.point + &self.m * RISTRETTO_BASEPOINT_TABLE;
        let d = *rho * t_i;
        let (key, c, d) = product_statement(r, t_i, d);
        let weight =
            CompositeWeights::new(Mode::Poprf, &key.bytes).weight(0, &c[0].bytes, &d[0].bytes)?;
        let b = key.bytes;
        let proof = generate_proof(Mode::Poprf, &rho, &key, &[weight], &c, |k, m, z| {
            hedged_nonce(Mode::Poprf, rng, k, &b, m, z)
        })?;
        self.dealings = dealings.to_vec();
        self.rho = rho;
        Ok(MaskedProduct {
            index: me,
            w,
            proof,
        })
    }

    /// Round 3: checks the record against the dealings this participant saw and takes its
    /// share `s_i = w⁻¹·ρ_i` of `(k + m)⁻¹`.
    ///
    /// # Errors
    /// [`Error::TweakMismatch`] for a record of another run or tweak; as
    /// [`TweakRecord::check`].
    pub fn finish(self, record: &TweakRecord, info: &[u8]) -> Result<TweakShare> {
        if record.dealings != self.dealings {
            return Err(Error::TweakMismatch);
        }
        let keys = record.check(&self.public, info)?;
        let secret = *self.rho * record.w.invert();
        let public = *keys.share(self.index())?;
        if &secret * RISTRETTO_BASEPOINT_TABLE != public.point {
            return Err(Error::TweakMismatch);
        }
        Ok(TweakShare {
            index: self.index(),
            secret,
            public,
        })
    }
}

/// The public transcript of one inversion: the tweak, every dealing and `2t − 1` checked
/// masked products with their proofs, and the opened `w`. Anyone holding the verification
/// shares checks it and derives every `S_i` ([`TweakRecord::check`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TweakRecord {
    t: u16,
    m: Scalar,
    dealings: Vec<Dealing>,
    products: Vec<MaskedProduct>,
    w: Scalar,
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

/// Runs a whole inversion with every participant in this one process, and returns the record
/// and each participant's share in the order of `shares`. For tests, benchmarks and a
/// dealer's migration ceremony (which held every share anyway): in a deployment each
/// participant runs its own rounds — [`deal_round`], [`InversionParticipant::product_round`],
/// [`InversionParticipant::finish`] — and the service carries the messages.
///
/// # Errors
/// As the three rounds and [`TweakRecord::assemble`].
pub fn run_in_one_process(
    shares: &[&KeyShare],
    public: &VerificationShares,
    info: &[u8],
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(TweakRecord, Vec<TweakShare>)> {
    let indices: Vec<u16> = shares.iter().map(|s| s.index()).collect();
    let (mut participants, mut dealings, mut sent) = (Vec::new(), Vec::new(), Vec::new());
    for share in shares {
        let (participant, dealing, privates) = deal_round(share, public, info, &indices, rng)?;
        participants.push(participant);
        dealings.push(dealing);
        sent.push(privates);
    }
    let mut products = Vec::with_capacity(participants.len());
    for participant in &mut participants {
        let to = participant.index();
        let mine = sent
            .iter()
            .map(|from| {
                from.iter()
                    .find(|p| p.recipient == to)
                    .cloned()
                    .ok_or(Error::UnknownEvaluator { index: to })
            })
            .collect::<Result<Vec<_>>>()?;
        products.push(participant.product_round(&dealings, &mine, rng)?);
    }
    let (record, _) = TweakRecord::assemble(public, info, dealings, &products)?;
    let tweak_shares = participants
        .into_iter()
        .map(|p| p.finish(&record, info))
        .collect::<Result<Vec<_>>>()?;
    Ok((record, tweak_shares))
}
