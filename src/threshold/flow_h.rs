//! Flow H in threshold mode (`spec/12-threshold.md` §12.5): plain threshold 2HashDH. Each
//! evaluator answers with its share of the VOPRF key and the RFC 9497 proof against its
//! verification share; the holder checks each proof, combines `t` answers by Lagrange
//! interpolation and runs the ordinary VOPRF Finalize. The service key and pseudonym equal
//! the single evaluator's.

use core::slice;

use rand_core::CryptoRng;

use super::answer::{Selection, ShareResponse, combine, prove_scaled, same_epoch};
use super::share::{KeyShare, VerificationShares};
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::pseudonym::Epoch;
use crate::pseudonym::budget::EvaluationBudget;
use crate::pseudonym::holder_derived::{Holder, HolderState, Request, ServiceKey};
use crate::suite::Mode;

/// One evaluator of flow H in threshold mode: its share of one epoch's VOPRF key.
#[derive(Debug)]
pub struct ShareEvaluator {
    epoch: Epoch,
    share: KeyShare,
    public: PublicKey,
    budget: EvaluationBudget,
}

impl ShareEvaluator {
    /// An evaluator answering with `share` for `epoch`, counting against `budget` (each share
    /// counts on its own: every evaluator enforces the key's budget).
    pub fn new(epoch: Epoch, share: KeyShare, budget: EvaluationBudget) -> Self {
        let public = share.verification_share();
        Self {
            epoch,
            share,
            public,
            budget,
        }
    }

    /// The key share's budget.
    pub fn budget(&self) -> &EvaluationBudget {
        &self.budget
    }

    /// Answers `k_i·B` with the VOPRF proof against `K_i`.
    ///
    /// # Errors
    /// [`Error::BudgetExhausted`], [`Error::RandomnessFailure`].
    pub fn evaluate(
        &self,
        request: &Request,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<ShareResponse> {
        self.budget.charge(1)?;
        let answer = prove_scaled(
            Mode::Voprf,
            self.share.index(),
            self.share.secret(),
            &self.public,
            slice::from_ref(&request.blinded),
            rng,
        )?;
        Ok(ShareResponse {
            epoch: self.epoch,
            answer,
        })
    }
}

/// The holder's side: checks the answers (in the order given, dropping and naming bad ones),
/// combines `t` of them and derives the per-service key. `shares` must be the verification
/// shares of the epoch's published flow H key.
///
/// # Errors
/// [`Error::UnknownEpoch`]/[`Error::StaleEpoch`] when the epoch most answers are under is not
/// accepted at `now` (answers under other epochs are dropped and named),
/// [`Error::ThresholdParams`] when `shares` are not for that epoch's key,
/// [`Error::TooFewShares`] with fewer than `t` valid answers.
pub fn finalize(
    holder: &Holder,
    state: HolderState,
    shares: &VerificationShares,
    responses: &[ShareResponse],
    now: u64,
) -> Result<(ServiceKey, Selection)> {
    finalize_under(holder, state, shares, responses, now, false)
}

/// For a migration (`spec/05-flow-h.md` §5.6): like [`finalize`] for answers the holder asked
/// of the previous epoch's evaluators, which must be the epoch just before the current one
/// (no time limit), as [`Holder::finalize_previous`] does with one evaluator.
///
/// # Errors
/// As [`finalize`]; [`Error::StaleEpoch`] for any other epoch.
pub fn finalize_previous(
    holder: &Holder,
    state: HolderState,
    shares: &VerificationShares,
    responses: &[ShareResponse],
    now: u64,
) -> Result<(ServiceKey, Selection)> {
    finalize_under(holder, state, shares, responses, now, true)
}

fn finalize_under(
    holder: &Holder,
    state: HolderState,
    shares: &VerificationShares,
    responses: &[ShareResponse],
    now: u64,
    previous: bool,
) -> Result<(ServiceKey, Selection)> {
    let (epoch, answers, other_epoch) = same_epoch(responses)?;
    let mut combined = None;
    let key = holder.finalize_combined(state, epoch, now, previous, |keys, blinded| {
        if keys.holder_derived != *shares.group_key() {
            return Err(Error::ThresholdParams);
        }
        let (evaluated, mut selection) = combine(
            Mode::Voprf,
            shares.params().t(),
            slice::from_ref(blinded),
            &answers,
            false,
            |i| shares.share(i).copied(),
        )?;
        selection.rejected.extend(&other_epoch);
        combined = Some(selection);
        evaluated.first().copied().ok_or(Error::EmptyBatch)
    })?;
    Ok((key, combined.ok_or(Error::EmptyBatch)?))
}
