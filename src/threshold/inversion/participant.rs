//! One participant of one inversion run, as types (`spec/12-threshold.md` §12.6): [`deal`]
//! gives a [`DealtParticipant`], whose [`multiply`](DealtParticipant::multiply) consumes it
//! and gives a [`MultipliedParticipant`], whose [`finish`](MultipliedParticipant::finish)
//! gives the [`TweakShare`]. A participant publishes one masked product per round-one state,
//! or a colluder could solve two products for its key share (§12.6.3): here a second product
//! does not compile.
//!
//! ```compile_fail
//! use blindnym::threshold::inversion::{Dealing, DealtParticipant, PrivateShare};
//! fn twice(p: DealtParticipant, d: &[Dealing], s: &[PrivateShare], rng: &mut rand_chacha::ChaCha20Rng) {
//!     let _first = p.multiply(d, s, rng);
//!     let _second = p.multiply(d, s, rng); // `p` was moved by the first product
//! }
//! ```

use core::fmt;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::messages::{
    Dealing, MaskedProduct, PrivateShare, check_dealings, product_statement, uniform_scalar,
};
use super::record::TweakRecord;
use super::tweak_share::TweakShare;
use crate::dleq::{CompositeWeights, generate_proof, hedged_nonce};
use crate::error::{Error, Result};
use crate::poprf::info_scalar;
use crate::suite::Mode;
use crate::threshold::params::{evaluate_commitment, evaluate_polynomial, x_of};
use crate::threshold::share::{KeyShare, VerificationShares};

/// What round one gives a participant: its state for round two, the dealing to broadcast and
/// one private share per participant, itself included.
#[derive(Debug)]
pub struct Dealt {
    /// The participant, ready for round two.
    pub participant: DealtParticipant,
    /// Its public commitments, for every participant.
    pub dealing: Dealing,
    /// `(g_j(i), h_j(i))` for each participant `i`, sent to `i` alone.
    pub privates: Vec<PrivateShare>,
}

/// A participant after round one: it has dealt, and publishes one masked product.
pub struct DealtParticipant {
    share: KeyShare,
    public: VerificationShares,
    m: Scalar,
    participants: Vec<u16>,
    /// This participant's own dealing and its share to itself, drawn in round one: round two
    /// refuses any other, so its own contribution is fresh in every run whatever the transport
    /// replays (§12.6.3).
    own_dealing: Dealing,
    own_private: PrivateShare,
}

/// A participant after round two: it has published its product and waits for the record.
pub struct MultipliedParticipant {
    index: u16,
    public: VerificationShares,
    dealings: Vec<Dealing>,
    rho: Zeroizing<Scalar>,
}

impl fmt::Debug for DealtParticipant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DealtParticipant")
            .field("index", &self.share.index())
            .field("participants", &self.participants)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for MultipliedParticipant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultipliedParticipant")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// Round 1: participant `share.index()` deals its random polynomials for the run of
/// `participants` (at least `2t − 1`, increasing, itself among them) on the tweak of `info`.
///
/// # Errors
/// [`Error::UnknownEvaluator`] or [`Error::TooFewShares`] for a bad participant set or one
/// without this participant; [`Error::InputTooLong`] for an info over 65534 bytes.
pub fn deal(
    share: &KeyShare,
    public: &VerificationShares,
    info: &[u8],
    participants: &[u16],
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<Dealt> {
    let params = public.params();
    params.check_set(participants, params.inversion_quorum())?;
    let me = share.index();
    if !participants.contains(&me) {
        return Err(Error::UnknownEvaluator { index: me });
    }
    let t = usize::from(params.t());
    let g: Zeroizing<Vec<Scalar>> = Zeroizing::new((0..t).map(|_| uniform_scalar(rng)).collect());
    // h_j(0) = 0: the constant coefficient is zero and left out of the commitments.
    let mut h: Zeroizing<Vec<Scalar>> =
        Zeroizing::new((0..2 * t - 1).map(|_| uniform_scalar(rng)).collect());
    h[0] = Scalar::ZERO;
    let dealing = Dealing {
        dealer: me,
        g: g.iter().map(|c| c * RISTRETTO_BASEPOINT_TABLE).collect(),
        h: h[1..]
            .iter()
            .map(|c| c * RISTRETTO_BASEPOINT_TABLE)
            .collect(),
    };
    let privates: Vec<PrivateShare> = participants
        .iter()
        .map(|&recipient| PrivateShare {
            dealer: me,
            recipient,
            g: evaluate_polynomial(&g, &x_of(recipient)),
            h: evaluate_polynomial(&h, &x_of(recipient)),
        })
        .collect();
    let own_private = privates
        .iter()
        .find(|p| p.recipient == me)
        .cloned()
        .ok_or(Error::UnknownEvaluator { index: me })?;
    let participant = DealtParticipant {
        share: share.clone(),
        public: public.clone(),
        m: info_scalar(info)?,
        participants: participants.to_vec(),
        own_dealing: dealing.clone(),
        own_private,
    };
    Ok(Dealt {
        participant,
        dealing,
        privates,
    })
}

impl DealtParticipant {
    /// This participant's index.
    pub fn index(&self) -> u16 {
        self.share.index()
    }

    /// The participants of the run, increasing.
    pub fn participants(&self) -> &[u16] {
        &self.participants
    }

    /// Round 2: checks every dealing and the private share it sent here, then publishes the
    /// masked product with its proof. Consumes the round-one state: one product per run.
    ///
    /// # Errors
    /// [`Error::TweakMismatch`] when the dealing or private share under its own index is not
    /// the one it drew in round one; [`Error::BadDealing`] naming the dealer whose share does
    /// not match its commitments; [`Error::UnknownEvaluator`]/[`Error::TooFewShares`] for
    /// dealings or shares that do not match the participant set one for one;
    /// [`Error::RandomnessFailure`].
    pub fn multiply(
        self,
        dealings: &[Dealing],
        privates: &[PrivateShare],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(MultipliedParticipant, MaskedProduct)> {
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
        let multiplied = MultipliedParticipant {
            index: me,
            public: self.public,
            dealings: dealings.to_vec(),
            rho,
        };
        Ok((
            multiplied,
            MaskedProduct {
                index: me,
                w,
                proof,
            },
        ))
    }
}

impl MultipliedParticipant {
    /// This participant's index.
    pub fn index(&self) -> u16 {
        self.index
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
        let public = *keys.share(self.index)?;
        if &secret * RISTRETTO_BASEPOINT_TABLE != public.point {
            return Err(Error::TweakMismatch);
        }
        Ok(TweakShare::new(self.index, secret, public))
    }
}
