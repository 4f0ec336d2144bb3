//! Flow B in threshold mode (`spec/12-threshold.md` §12.7): one shared inversion per
//! (domain, epoch) gives each evaluator a share `s_i` of `(k + m)⁻¹`; batches are then
//! answered as in flow H, and the data holder checks the tweak record and every share proof,
//! combines and finalizes. Pseudonyms equal the single evaluator's.

use std::collections::HashMap;

use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;

use super::answer::{Selection, ShareResponse, same_epoch, select};
use super::inversion::{TweakRecord, TweakShare};
use super::share::VerificationShares;
use crate::error::{Error, Result};
use crate::pseudonym::budget::EvaluationBudget;
use crate::pseudonym::bulk::{BatchRequest, BlindBatch, CallerId, DataHolder, Policy, Quota};
use crate::pseudonym::{Epoch, Pseudonym};
use crate::suite::Mode;

/// The largest `t` whose answers are combined and unblinded in one constant-time
/// multiscalar multiplication per element (measured: 25% faster at `t = 2`, 6% at `t = 4`,
/// 2% slower at `t = 5`).
const FUSED_MAX_T: usize = 4;

/// One evaluator of flow B in threshold mode: its tweak shares per domain for one epoch, with
/// the same policy, budget and quota checks as the single evaluator.
pub struct BulkShareEvaluator {
    epoch: Epoch,
    index: u16,
    shares: VerificationShares,
    tweaks: HashMap<Vec<u8>, TweakShare>,
    policy: Box<dyn Policy>,
    quota: Box<dyn Quota>,
    budget: EvaluationBudget,
}

impl core::fmt::Debug for BulkShareEvaluator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BulkShareEvaluator")
            .field("epoch", &self.epoch)
            .field("index", &self.index)
            .field("domains", &self.tweaks.len())
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl BulkShareEvaluator {
    /// Evaluator `index` for `epoch`, with no domains yet; `shares` are the verification
    /// shares of the epoch's flow B key, which records are checked against.
    pub fn new(
        epoch: Epoch,
        index: u16,
        shares: VerificationShares,
        policy: impl Policy + 'static,
        quota: impl Quota + 'static,
        budget: EvaluationBudget,
    ) -> Self {
        Self {
            epoch,
            index,
            shares,
            tweaks: HashMap::new(),
            policy: Box::new(policy),
            quota: Box::new(quota),
            budget,
        }
    }

    /// Installs the share of `(k + m)⁻¹` this evaluator took from the inversion for `domain`,
    /// after checking the run's record (as flow A's evaluators do).
    ///
    /// # Errors
    /// As [`TweakRecord::check`]; [`Error::TweakMismatch`] when `share` is not this
    /// evaluator's share under the record; [`Error::InputTooLong`] for an overlong domain.
    pub fn install(
        &mut self,
        domain: &[u8],
        share: TweakShare,
        record: &TweakRecord,
    ) -> Result<()> {
        let keys = record.check(&self.shares, &crate::pseudonym::bulk::domain_info(domain)?)?;
        if share.index() != self.index || keys.share(share.index())? != share.public() {
            return Err(Error::TweakMismatch);
        }
        self.tweaks.insert(domain.to_vec(), share);
        Ok(())
    }

    /// Answers a batch: policy, budget, quota (in that order, as the single evaluator), then
    /// `s_i·B_j` with one proof against `S_i`.
    ///
    /// # Errors
    /// [`Error::Unauthorized`], [`Error::BudgetExhausted`], [`Error::QuotaExceeded`];
    /// [`Error::TweakMismatch`] for a domain without an inversion yet;
    /// [`Error::RandomnessFailure`].
    pub fn evaluate_batch(
        &self,
        caller: &CallerId,
        request: &BatchRequest,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<ShareResponse> {
        if !self.policy.allows(caller, request.domain()) {
            return Err(Error::Unauthorized);
        }
        let tweak = self
            .tweaks
            .get(request.domain())
            .ok_or(Error::TweakMismatch)?;
        let count = u64::try_from(request.blinded().len()).map_err(|_| Error::BatchTooLarge {
            len: request.blinded().len(),
        })?;
        self.budget.charge(count)?;
        self.quota.charge(caller, request.domain(), count)?;
        Ok(ShareResponse {
            epoch: self.epoch,
            answer: tweak.answer(request.blinded(), rng)?,
        })
    }
}

/// The data holder's side: checks the domain's tweak record against `shares` (the
/// verification shares of the epoch's published flow B key), checks each answer against the
/// record's `S_i` (dropping and naming bad ones), combines `t` and finalizes the batch.
///
/// # Errors
/// [`Error::UnknownEpoch`]/[`Error::StaleEpoch`], [`Error::ThresholdParams`] when `shares`
/// are not for that epoch's key; the errors of [`TweakRecord::check`];
/// [`Error::TooFewShares`] with fewer than `t` valid answers.
pub fn finalize_batch(
    holder: &DataHolder,
    batch: &BlindBatch,
    shares: &VerificationShares,
    record: &TweakRecord,
    responses: &[ShareResponse],
    now: u64,
) -> Result<(Vec<Pseudonym>, Selection)> {
    let (epoch, answers, other_epoch) = same_epoch(responses)?;
    let mut combined = None;
    let pseudonyms = holder.finalize_combined(batch, epoch, now, |keys, info, blinded| {
        if keys.bulk != *shares.group_key() {
            return Err(Error::ThresholdParams);
        }
        let tweak_keys = record.check(shares, info)?;
        let selected = select(
            Mode::Poprf,
            shares.params().t(),
            blinded,
            &answers,
            false,
            |i| tweak_keys.share(i).copied(),
        )?;
        let mut selection = selected.selection.clone();
        selection.rejected.extend(&other_epoch);
        combined = Some(selection);
        // Up to FUSED_MAX_T answers, one constant-time multiscalar multiplication per element
        // (λ_i·r⁻¹) beats a public combination followed by the unblinding; past it, the
        // constant-time table costs more than it saves (`benches/threshold.rs`).
        if selected.answers.len() <= FUSED_MAX_T {
            let elements = selected.elements().into_iter().map(<[_]>::to_vec).collect();
            Ok((selected.lambdas.clone(), elements))
        } else {
            Ok((vec![Scalar::ONE], vec![selected.combine(blinded.len())?]))
        }
    })?;
    Ok((pseudonyms, combined.ok_or(Error::EmptyBatch)?))
}
