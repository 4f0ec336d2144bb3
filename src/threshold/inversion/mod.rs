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
//!
//! The rooms: [`messages`](Dealing) (the three round messages), the participant's typestate
//! ([`deal`] → [`DealtParticipant`] → [`MultipliedParticipant`] → [`TweakShare`]), the public
//! [`TweakRecord`], the peer wire ([`DealRequest`], [`ProductRequest`], [`FinishRequest`] on a
//! typed [`Target`]) and the sans-IO [`Coordinator`] with its retry and blame rules, which the
//! evaluator service and [`run_in_one_process`] both drive.

mod coordinator;
mod messages;
mod participant;
mod record;
mod tweak_share;
mod wire;

use std::collections::BTreeMap;

use rand_core::CryptoRng;

pub use coordinator::{Coordinator, MAX_ATTEMPTS, PeerFault, Step};
pub use messages::{Dealing, MASKED_PRODUCT_LEN, MaskedProduct, PRIVATE_SHARE_LEN, PrivateShare};
pub use participant::{Dealt, DealtParticipant, MultipliedParticipant, deal};
pub use record::{TweakKeys, TweakRecord};
pub use tweak_share::TweakShare;
pub use wire::{DealRequest, FinishRequest, ProductRequest, RunId, RunScope, Target};

use crate::error::{Error, Result};
use crate::threshold::share::{KeyShare, VerificationShares};

/// Runs a whole inversion on `target` with every participant in this one process, driving the
/// same [`Coordinator`] the evaluator service drives (the first share's holder coordinates),
/// and returns the record and each participant's share in the order of `shares`. For tests,
/// benchmarks and a dealer's migration ceremony (which held every share anyway): in a
/// deployment each participant runs its own rounds and the service carries the messages.
///
/// # Errors
/// As the three rounds and [`TweakRecord::assemble`]; [`Error::TooFewShares`] when the
/// coordinator gives up.
pub fn run_in_one_process(
    shares: &[&KeyShare],
    public: &VerificationShares,
    target: &Target,
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(TweakRecord, Vec<TweakShare>)> {
    let indices: Vec<u16> = shares.iter().map(|s| s.index()).collect();
    let me = *indices.first().ok_or(Error::TooFewShares {
        have: 0,
        need: public.params().inversion_quorum(),
    })?;
    let share_of = |index: u16| {
        shares
            .iter()
            .find(|s| s.index() == index)
            .ok_or(Error::UnknownEvaluator { index })
    };
    // Every participant is here, under one epoch: the scope has no one to tell apart.
    let scope = RunScope::new(0, b"");
    let mut coordinator = Coordinator::new(scope, target.clone(), public, me, &indices)?;
    let info = coordinator.info().to_vec();
    let mut dealt: BTreeMap<u16, Dealt> = BTreeMap::new();
    let mut multiplied = BTreeMap::new();
    let mut installed = BTreeMap::new();
    let refused = |e: Error| coordinator::PeerFault::Refused(Some(e));
    while let Some(step) = coordinator.poll(rng) {
        match step {
            Step::Deal { request, to } => {
                dealt.clear();
                for index in to {
                    let answer = share_of(index)
                        .and_then(|share| deal(share, public, &info, &request.participants, rng))
                        .map(|d| {
                            let dealing = d.dealing.clone();
                            dealt.insert(index, d);
                            dealing
                        });
                    coordinator.on_dealing(index, answer.map_err(refused))?;
                }
            }
            Step::Multiply { request, to } => {
                // Each participant's private shares, one from every dealer in order.
                let mut privates: BTreeMap<u16, Vec<PrivateShare>> = BTreeMap::new();
                for d in dealt.values() {
                    for private in &d.privates {
                        privates
                            .entry(private.recipient())
                            .or_default()
                            .push(private.clone());
                    }
                }
                for index in to {
                    let answer = dealt
                        .remove(&index)
                        .ok_or(Error::UnknownEvaluator { index })
                        .and_then(|d| {
                            let mine = privates.remove(&index).unwrap_or_default();
                            d.participant.multiply(&request.dealings, &mine, rng)
                        })
                        .map(|(participant, product)| {
                            multiplied.insert(index, participant);
                            product
                        });
                    coordinator.on_product(index, answer.map_err(refused))?;
                }
            }
            Step::Finish { request, to } => {
                for index in to {
                    let answer = multiplied
                        .remove(&index)
                        .ok_or(Error::UnknownEvaluator { index })
                        .and_then(|p: MultipliedParticipant| p.finish(&request.record, &info))
                        .map(|share| {
                            installed.insert(index, share);
                        });
                    coordinator.on_finished(index, answer.map_err(refused))?;
                }
            }
            Step::Done(record) => {
                let tweak_shares = indices
                    .iter()
                    .map(|i| {
                        installed
                            .remove(i)
                            .ok_or(Error::UnknownEvaluator { index: *i })
                    })
                    .collect::<Result<Vec<_>>>()?;
                return Ok((record, tweak_shares));
            }
            Step::Failed(error) => return Err(error),
        }
    }
    Err(Error::TooFewShares {
        have: 0,
        need: public.params().inversion_quorum(),
    })
}
