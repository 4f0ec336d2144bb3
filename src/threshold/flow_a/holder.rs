//! The holder's side of flow A in threshold mode: combining answers, aggregating signatures,
//! migrations (`spec/12-threshold.md` §12.8).

use core::slice;

use crate::codec::{Reader, decodes_from_slice};
use crate::error::{Error, Result};
use crate::messages::EvaluatedElement;
use crate::pseudonym::Epoch;
use crate::pseudonym::attested::{
    Assertion, Holder, HolderState, MigrationAssertion, migration_message, signed_message,
};
use crate::pseudonym::session::grid_expiry;
use crate::suite::Mode;
use crate::threshold::answer::{ShareAnswer, ShareResponse, combine, majority_epoch, same_epoch};
use crate::threshold::inversion::TweakRecord;
use crate::threshold::params::MAX_EVALUATORS;
use crate::threshold::share::VerificationShares;
use crate::threshold::signing::{SignatureShare, SigningPublic, aggregate};

use super::*;

/// Holder → each chosen signer of the new epoch, for a migration: `t` answers under the old
/// epoch, and the new epoch's signing request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationSigningRequest {
    /// The old epoch.
    pub old_epoch: Epoch,
    /// `t` answers under the old epoch (from any of its evaluators).
    pub old_answers: Vec<ShareAnswer>,
    /// The new epoch's signing request.
    pub new: SigningRequest,
}

impl MigrationSigningRequest {
    /// `old_epoch:4 || count:2 || answer:100 * count || SigningRequest`.
    ///
    /// # Errors
    /// [`Error::ThresholdParams`] for more than 255 old answers; [`Error::BatchMismatch`] for
    /// an answer of other than one element; as [`SigningRequest::to_bytes`].
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let count = u16::try_from(self.old_answers.len())
            .ok()
            .filter(|c| *c <= MAX_EVALUATORS)
            .ok_or(Error::ThresholdParams)?;
        let mut out = self.old_epoch.to_be_bytes().to_vec();
        out.extend_from_slice(&count.to_be_bytes());
        for answer in &self.old_answers {
            if answer.evaluated.len() != 1 {
                return Err(Error::BatchMismatch {
                    left: 1,
                    right: answer.evaluated.len(),
                });
            }
            out.extend_from_slice(&answer.to_bytes()?);
        }
        out.extend_from_slice(&self.new.to_bytes()?);
        Ok(out)
    }

    /// Decodes strictly; the count is checked against the length before any answer is read.
    ///
    /// # Errors
    /// [`Error::TooFewShares`] for no old answers, [`Error::ThresholdParams`] for more than
    /// 255, [`Error::InvalidLength`]; each part's errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let old_epoch = reader.u32()?;
        let count = reader.u16()?;
        if count == 0 {
            return Err(Error::TooFewShares { have: 0, need: 1 });
        }
        if count > MAX_EVALUATORS {
            return Err(Error::ThresholdParams);
        }
        let answers_len = usize::from(count) * FLOW_A_ANSWER_LEN;
        if reader.remaining() < answers_len {
            return Err(Error::InvalidLength {
                expected: 6 + answers_len,
                actual: bytes.len(),
            });
        }
        let old_answers = (0..count)
            .map(|_| ShareAnswer::from_bytes(reader.take(FLOW_A_ANSWER_LEN)?))
            .collect::<Result<Vec<_>>>()?;
        let rest = reader.take(reader.remaining())?;
        Ok(Self {
            old_epoch,
            old_answers,
            new: SigningRequest::from_bytes(rest)?,
        })
    }
}

decodes_from_slice!(MigrationSigningRequest);

/// The holder's combination after round one: `Z` and the signing request for the chosen
/// signers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderCombination {
    /// The combined `Z = (k + m)⁻¹·B`.
    pub evaluated: EvaluatedElement,
    /// What to send to each chosen signer.
    pub request: SigningRequest,
    /// Evaluators whose answers were dropped (a failed proof, a wrong length, a repeated or
    /// unknown index, another epoch).
    pub rejected: Vec<u16>,
}

/// The holder's side of round one: checks the subject's tweak record against `shares` (the
/// verification shares of the epoch's flow A key) and its own subject, checks the answers in
/// the order given (dropping and naming bad ones), combines `t` and proposes the expiry
/// [`grid_expiry`]`(now)`.
///
/// # Errors
/// [`Error::UnknownEpoch`]/[`Error::StaleEpoch`] for an epoch not accepted at `now`,
/// [`Error::ThresholdParams`] when `shares` are not for that epoch's key; as
/// [`TweakRecord::check`]; [`Error::TooFewShares`] with fewer than `t` valid answers.
pub fn combine_evaluations(
    holder: &Holder,
    state: &HolderState,
    shares: &VerificationShares,
    record: &TweakRecord,
    evaluations: &[ShareEvaluation],
    now: u64,
) -> Result<HolderCombination> {
    let epoch = majority_epoch(evaluations.iter().map(|e| e.epoch))?;
    // An evaluation under another epoch is dropped and named, like a bad answer.
    let (evaluations, other_epoch): (Vec<&ShareEvaluation>, Vec<&ShareEvaluation>) =
        evaluations.iter().partition(|e| e.epoch == epoch);

    let keys = holder.keys().accept_epoch(epoch, now)?;
    if keys.attested != *shares.group_key() {
        return Err(Error::ThresholdParams);
    }
    let tweak_keys = record.check(shares, holder.subject_info())?;
    let request = Holder::request_of(state);
    let answers: Vec<ShareAnswer> = evaluations.iter().map(|e| e.answer.clone()).collect();
    let (evaluated, combined) = combine(
        Mode::Poprf,
        shares.params().t(),
        slice::from_ref(&request.blinded),
        &answers,
        false,
        |i| tweak_keys.share(i).copied(),
    )?;
    let chosen: Vec<&ShareEvaluation> = combined
        .used
        .iter()
        .filter_map(|i| evaluations.iter().find(|e| e.answer.index == *i).copied())
        .collect();
    let mut rejected = combined.rejected;
    rejected.extend(other_epoch.iter().map(|e| e.answer.index));
    Ok(HolderCombination {
        evaluated: evaluated.first().copied().ok_or(Error::EmptyBatch)?,
        request: SigningRequest {
            epoch,
            expiry: grid_expiry(now),
            answers: chosen.iter().map(|e| e.answer.clone()).collect(),
            commitments: chosen.iter().map(|e| e.commitment).collect(),
        },
        rejected,
    })
}

/// The holder's side of round two: aggregates the signature shares (naming a bad one),
/// checks the signature under the key set's signing key and builds the assertion, exactly as
/// with one evaluator.
///
/// # Errors
/// [`Error::BadSignatureShare`] naming a signer whose share fails; [`Error::ThresholdParams`]
/// when `signing` is not the epoch's published signing key; as
/// [`Holder::finish`](crate::pseudonym::attested::Holder::finish).
pub fn finish(
    holder: &Holder,
    state: HolderState,
    signing: &SigningPublic,
    combination: &HolderCombination,
    signature_shares: &[SignatureShare],
    now: u64,
) -> Result<Assertion> {
    let request = &combination.request;
    let blinded_request = Holder::request_of(&state);
    holder.finish_combined(state, request.epoch, request.expiry, now, |keys, realm| {
        if signing.verifying_key()? != keys.attested_signing {
            return Err(Error::ThresholdParams);
        }
        let message = signed_message(
            realm,
            request.epoch,
            &blinded_request.blinded,
            &combination.evaluated,
            &blinded_request.session,
            request.expiry,
        )?;
        let signature = aggregate(signing, &request.commitments, &message, signature_shares)?;
        Ok((combination.evaluated, signature))
    })
}

/// The holder's combination for a migration: both answers and the signing request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationCombination {
    /// `Z_old`, combined from the old epoch's answers.
    pub old_evaluated: EvaluatedElement,
    /// The new epoch's combination.
    pub new: HolderCombination,
    /// What to send to each chosen signer of the new epoch.
    pub request: MigrationSigningRequest,
}

/// The holder's side of round one of a migration (`spec/06-flow-a.md` §6.7): the old epoch's
/// answers checked against its record and shares (the epoch just before the current one, no
/// time limit), the new epoch's as in [`combine_evaluations`].
///
/// # Errors
/// [`Error::StaleEpoch`] unless the old epoch is the one just before the new, current one;
/// [`Error::ThresholdParams`] for shares not of those epochs' keys; as
/// [`combine_evaluations`] for either epoch.
#[allow(clippy::too_many_arguments)]
pub fn combine_migration(
    holder: &Holder,
    state: &HolderState,
    old_shares: &VerificationShares,
    old_record: &TweakRecord,
    old_responses: &[ShareResponse],
    new_shares: &VerificationShares,
    new_record: &TweakRecord,
    new_evaluations: &[ShareEvaluation],
    now: u64,
) -> Result<MigrationCombination> {
    let new = combine_evaluations(holder, state, new_shares, new_record, new_evaluations, now)?;
    let (old_epoch, answers, other_epoch) = same_epoch(old_responses)?;
    let (old_keys, _) = holder
        .keys()
        .accept_migration(old_epoch, new.request.epoch, now)?;
    if old_keys.attested != *old_shares.group_key() {
        return Err(Error::ThresholdParams);
    }
    let tweak_keys = old_record.check(old_shares, holder.subject_info())?;
    let request = Holder::request_of(state);
    let (old_evaluated, combined) = combine(
        Mode::Poprf,
        old_shares.params().t(),
        slice::from_ref(&request.blinded),
        &answers,
        false,
        |i| tweak_keys.share(i).copied(),
    )?;
    let old_answers: Vec<ShareAnswer> = combined
        .used
        .iter()
        .filter_map(|i| answers.iter().find(|a| a.index == *i).cloned())
        .collect();
    let mut new = new;
    new.rejected
        .extend(combined.rejected.iter().chain(&other_epoch));
    Ok(MigrationCombination {
        old_evaluated: old_evaluated.first().copied().ok_or(Error::EmptyBatch)?,
        request: MigrationSigningRequest {
            old_epoch,
            old_answers,
            new: new.request.clone(),
        },
        new,
    })
}

/// The holder's side of round two of a migration: aggregates the new epoch's signature
/// shares, checks the signature under the new epoch's key and builds the same
/// [`MigrationAssertion`] as with one evaluator.
///
/// # Errors
/// As [`finish`].
pub fn finish_migration(
    holder: &Holder,
    state: HolderState,
    signing: &SigningPublic,
    combination: &MigrationCombination,
    signature_shares: &[SignatureShare],
    now: u64,
) -> Result<MigrationAssertion> {
    let request = &combination.request;
    let own = Holder::request_of(&state);
    let epochs = (request.old_epoch, request.new.epoch);
    holder.finish_migration_combined(
        state,
        epochs,
        request.new.expiry,
        now,
        |(_, keys), realm| {
            if signing.verifying_key()? != keys.attested_signing {
                return Err(Error::ThresholdParams);
            }
            let message = migration_message(
                realm,
                epochs.0,
                epochs.1,
                &own.blinded,
                &combination.old_evaluated,
                &combination.new.evaluated,
                &own.session,
                request.new.expiry,
            )?;
            let signature = aggregate(
                signing,
                &request.new.commitments,
                &message,
                signature_shares,
            )?;
            Ok((
                combination.old_evaluated,
                combination.new.evaluated,
                signature,
            ))
        },
    )
}
