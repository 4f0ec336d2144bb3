//! Flow A in threshold mode (`spec/12-threshold.md` §12.8). One shared inversion per
//! (subject, epoch) gives each evaluator a share of `(k + m)⁻¹` for that subject. A login is
//! two round trips:
//!
//! 1. The holder sends its [`Request`] to `t` or more evaluators; each (having authenticated
//!    the subject itself) answers `s_i·B` with its proof and FROST commitments
//!    ([`ShareEvaluation`]).
//! 2. The holder checks the answers against the subject's tweak record, combines `Z`, and
//!    sends the chosen `t` answers and commitments with the expiry ([`SigningRequest`]). Each
//!    signer checks the answers against its own copy of the record, recombines `Z` itself,
//!    rebuilds the single evaluator's signed message and signs its FROST share.
//! 3. The holder aggregates one Ed25519 signature and forwards the same [`Assertion`] as with
//!    one evaluator: the relying party's code does not change.

use core::fmt;
use core::slice;
use std::collections::HashMap;

use rand_core::CryptoRng;

use super::answer::{ShareAnswer, ShareResponse, combine, majority_epoch, same_epoch};
use super::inversion::{TweakKeys, TweakRecord, TweakShare};
use super::params::MAX_EVALUATORS;
use super::share::VerificationShares;
use super::signing::{
    SignatureShare, SignerCommitment, SigningNonces, SigningPublic, SigningShare, aggregate,
    commit, sign,
};
use crate::codec::{Reader, decodes_from_slice};
use crate::error::{Error, Result};
use crate::messages::{BlindedElement, EvaluatedElement, PROOF_LEN};
use crate::pseudonym::attested::{
    Assertion, Holder, HolderState, MigrationAssertion, Request, migration_message, signed_message,
    subject_info,
};
use crate::pseudonym::budget::EvaluationBudget;
use crate::pseudonym::session::{check_expiry, grid_expiry};
use crate::pseudonym::{Epoch, SubjectId};
use crate::suite::Mode;

/// Evaluator → holder, round one: the share answer and the FROST commitments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareEvaluation {
    /// The epoch whose key shares answered.
    pub epoch: Epoch,
    /// `s_i·B` with its proof against `S_i`.
    pub answer: ShareAnswer,
    /// FROST round-one commitments of this evaluator.
    pub commitment: SignerCommitment,
}

/// Holder → each chosen signer, round two: the expiry, and the `t` answers and commitments
/// of the signers, in the same order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningRequest {
    /// The epoch.
    pub epoch: Epoch,
    /// Absolute expiry on the public grid.
    pub expiry: u64,
    /// The chosen signers' answers.
    pub answers: Vec<ShareAnswer>,
    /// The chosen signers' commitments.
    pub commitments: Vec<SignerCommitment>,
}

/// The size of a flow A share answer: one element (`index:2 || 1:2 || Z:32 || proof:64`).
pub const FLOW_A_ANSWER_LEN: usize = 2 + 2 + 32 + PROOF_LEN;

/// `answer:100 || len:2 || commitment` of one signer.
fn write_entry(
    out: &mut Vec<u8>,
    answer: &ShareAnswer,
    commitment: &SignerCommitment,
) -> Result<()> {
    if answer.evaluated.len() != 1 {
        return Err(Error::BatchMismatch {
            left: 1,
            right: answer.evaluated.len(),
        });
    }
    out.extend_from_slice(&answer.to_bytes()?);
    let commitment = commitment.to_bytes()?;
    let len = u16::try_from(commitment.len()).map_err(|_| Error::InputTooLong)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&commitment);
    Ok(())
}

/// Reads one signer's entry strictly: a one-element answer, then commitments of the same
/// signer.
fn read_entry(reader: &mut Reader<'_>) -> Result<(ShareAnswer, SignerCommitment)> {
    let answer = ShareAnswer::from_bytes(reader.take(FLOW_A_ANSWER_LEN)?)?;
    let len = usize::from(reader.u16()?);
    let commitment = SignerCommitment::from_bytes(reader.take(len)?)?;
    if commitment.index != answer.index {
        return Err(Error::UnknownEvaluator {
            index: commitment.index,
        });
    }
    Ok((answer, commitment))
}

impl ShareEvaluation {
    /// `epoch:4 || answer:100 || len:2 || commitment` (`spec/12-threshold.md` §12.8).
    ///
    /// # Errors
    /// [`Error::BatchMismatch`] for an answer of other than one element; [`Error::Malformed`]
    /// if FROST cannot encode the commitments.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = self.epoch.to_be_bytes().to_vec();
        write_entry(&mut out, &self.answer, &self.commitment)?;
        Ok(out)
    }

    /// Decodes strictly: one element, commitments of the answering evaluator, no trailing
    /// bytes.
    ///
    /// # Errors
    /// [`Error::InvalidLength`], the answer's and commitments' errors,
    /// [`Error::UnknownEvaluator`] when the two name different evaluators.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let epoch = reader.u32()?;
        let (answer, commitment) = read_entry(&mut reader)?;
        reader.finish()?;
        Ok(Self {
            epoch,
            answer,
            commitment,
        })
    }
}

impl SigningRequest {
    /// `epoch:4 || expiry:8 || count:2 || (answer:100 || len:2 || commitment)*count`.
    ///
    /// # Errors
    /// [`Error::BatchMismatch`] when the answers and commitments differ in number or an
    /// answer is not one element; [`Error::ThresholdParams`] for more than 255 signers;
    /// [`Error::Malformed`] if FROST cannot encode commitments.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        if self.answers.len() != self.commitments.len() {
            return Err(Error::BatchMismatch {
                left: self.answers.len(),
                right: self.commitments.len(),
            });
        }
        let count = u16::try_from(self.answers.len())
            .ok()
            .filter(|c| *c <= MAX_EVALUATORS)
            .ok_or(Error::ThresholdParams)?;
        let mut out = self.epoch.to_be_bytes().to_vec();
        out.extend_from_slice(&self.expiry.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        for (answer, commitment) in self.answers.iter().zip(&self.commitments) {
            write_entry(&mut out, answer, commitment)?;
        }
        Ok(out)
    }

    /// Decodes strictly; the count is checked before any entry is read.
    ///
    /// # Errors
    /// [`Error::TooFewShares`] for no signers, [`Error::ThresholdParams`] for more than 255,
    /// [`Error::InvalidLength`], and each entry's errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let epoch = reader.u32()?;
        let expiry = reader.u64()?;
        let count = reader.u16()?;
        if count == 0 {
            return Err(Error::TooFewShares { have: 0, need: 1 });
        }
        if count > MAX_EVALUATORS {
            return Err(Error::ThresholdParams);
        }
        let minimum = 14 + usize::from(count) * (FLOW_A_ANSWER_LEN + 2);
        if bytes.len() < minimum {
            return Err(Error::InvalidLength {
                expected: minimum,
                actual: bytes.len(),
            });
        }
        let (mut answers, mut commitments) = (Vec::new(), Vec::new());
        for _ in 0..count {
            let (answer, commitment) = read_entry(&mut reader)?;
            answers.push(answer);
            commitments.push(commitment);
        }
        reader.finish()?;
        Ok(Self {
            epoch,
            expiry,
            answers,
            commitments,
        })
    }
}

decodes_from_slice!(ShareEvaluation, SigningRequest);

/// A signer's state between its two rounds. Secret (the nonces): never printed.
pub struct SignerState {
    nonces: SigningNonces,
    request: Request,
    /// The subject round one authenticated: round two signs for it and no other.
    subject: SubjectId,
    epoch: Epoch,
}

impl fmt::Debug for SignerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerState").finish_non_exhaustive()
    }
}

/// The tweak of one subject at one evaluator: its share and the checked public shares.
struct SubjectTweak {
    share: TweakShare,
    keys: TweakKeys,
    record: TweakRecord,
}

/// One evaluator of flow A in threshold mode, for one epoch.
pub struct AttestedShareEvaluator {
    realm: Vec<u8>,
    epoch: Epoch,
    shares: VerificationShares,
    signing: SigningShare,
    budget: EvaluationBudget,
    subjects: HashMap<Vec<u8>, SubjectTweak>,
}

impl fmt::Debug for AttestedShareEvaluator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttestedShareEvaluator")
            .field("epoch", &self.epoch)
            .field("index", &self.signing.index())
            .field("subjects", &self.subjects.len())
            .finish_non_exhaustive()
    }
}

impl AttestedShareEvaluator {
    /// An evaluator of `realm` and `epoch` holding `signing` and checking records against
    /// `shares` (the verification shares of the epoch's flow A key).
    pub fn new(
        realm: &[u8],
        epoch: Epoch,
        shares: VerificationShares,
        signing: SigningShare,
        budget: EvaluationBudget,
    ) -> Self {
        Self {
            realm: realm.to_vec(),
            epoch,
            shares,
            signing,
            budget,
            subjects: HashMap::new(),
        }
    }

    /// The evaluator's index.
    pub fn index(&self) -> u16 {
        self.signing.index()
    }

    /// Installs the result of `subject`'s inversion: this evaluator's share and the record,
    /// which is checked here.
    ///
    /// # Errors
    /// As [`TweakRecord::check`]; [`Error::TweakMismatch`] when `share` is not this
    /// evaluator's share under the record.
    pub fn install(
        &mut self,
        subject: &SubjectId,
        share: TweakShare,
        record: &TweakRecord,
    ) -> Result<()> {
        let keys = record.check(&self.shares, &subject_info(subject)?)?;
        if share.index() != self.index() || keys.share(share.index())? != share.public() {
            return Err(Error::TweakMismatch);
        }
        self.subjects.insert(
            subject.as_bytes().to_vec(),
            SubjectTweak {
                share,
                keys,
                record: record.clone(),
            },
        );
        Ok(())
    }

    /// The subject's tweak record, for the holder (who checks it itself).
    pub fn record(&self, subject: &SubjectId) -> Option<&TweakRecord> {
        self.subjects.get(subject.as_bytes()).map(|s| &s.record)
    }

    fn tweak(&self, subject: &SubjectId) -> Result<&SubjectTweak> {
        self.subjects
            .get(subject.as_bytes())
            .ok_or(Error::TweakMismatch)
    }

    /// Round one for the authenticated `subject`: the share answer and fresh FROST
    /// commitments.
    ///
    /// # Errors
    /// [`Error::TweakMismatch`] for a subject without an inversion in this epoch,
    /// [`Error::BudgetExhausted`], [`Error::RandomnessFailure`].
    pub fn evaluate(
        &self,
        subject: &SubjectId,
        request: &Request,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(SignerState, ShareEvaluation)> {
        let tweak = self.tweak(subject)?;
        self.budget.charge(1)?;
        let answer = tweak.share.answer(slice::from_ref(&request.blinded), rng)?;
        let (nonces, commitment) = commit(&self.signing, rng);
        Ok((
            SignerState {
                nonces,
                request: *request,
                subject: subject.clone(),
                epoch: self.epoch,
            },
            ShareEvaluation {
                epoch: self.epoch,
                answer,
                commitment,
            },
        ))
    }

    /// Round two: checks every answer of the signing request against this evaluator's copy
    /// of the record of the subject that round one authenticated (kept in `state`: round two
    /// takes no subject), recombines `Z` itself, checks the expiry on its own clock, and signs
    /// its FROST share of the single evaluator's message.
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`] for another epoch; [`Error::UnknownEvaluator`] when the
    /// answers and commitments do not name the same signers or omit this one;
    /// [`Error::BadShare`] naming a signer whose answer fails; [`Error::OffGridExpiry`] or
    /// [`Error::Expired`]; [`Error::TooFewShares`] for fewer than `t` signers.
    pub fn sign(
        &self,
        state: SignerState,
        request: &SigningRequest,
        now: u64,
    ) -> Result<SignatureShare> {
        if request.epoch != self.epoch || state.epoch != self.epoch {
            return Err(Error::UnknownEpoch {
                epoch: request.epoch,
            });
        }
        let tweak = self.tweak(&state.subject)?;
        self.check_signers(request)?;
        let z = combine_strict(&tweak.keys, &state.request.blinded, &request.answers)?;
        check_expiry(request.expiry, now)?;
        let message = signed_message(
            &self.realm,
            self.epoch,
            &state.request.blinded,
            &z,
            &state.request.session,
            request.expiry,
        )?;
        sign(&self.signing, state.nonces, &request.commitments, &message)
    }
}

impl AttestedShareEvaluator {
    /// The answers and commitments name the same signers, this one among them.
    fn check_signers(&self, request: &SigningRequest) -> Result<()> {
        let signers: Vec<u16> = request.commitments.iter().map(|c| c.index).collect();
        let answered: Vec<u16> = request.answers.iter().map(|a| a.index).collect();
        if signers != answered || !signers.contains(&self.index()) {
            return Err(Error::UnknownEvaluator {
                index: self.index(),
            });
        }
        Ok(())
    }

    /// A migration's answer under this (old) epoch for the authenticated `subject`: the share
    /// answer alone, since the new epoch's evaluators sign (`spec/06-flow-a.md` §6.7).
    ///
    /// # Errors
    /// As [`AttestedShareEvaluator::evaluate`].
    pub fn answer(
        &self,
        subject: &SubjectId,
        request: &Request,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<ShareResponse> {
        let tweak = self.tweak(subject)?;
        self.budget.charge(1)?;
        Ok(ShareResponse {
            epoch: self.epoch,
            answer: tweak.share.answer(slice::from_ref(&request.blinded), rng)?,
        })
    }

    /// Round two of a migration, by a signer of the new epoch: checks the old epoch's answers
    /// against `previous`'s record for the subject (this evaluator's own state of the epoch
    /// before) and the new ones against its own, recombines both, and signs its FROST share of
    /// the single evaluator's migration message (`spec/06-flow-a.md` §6.7).
    ///
    /// # Errors
    /// [`Error::StaleEpoch`] unless `previous` is this realm's epoch just before this one;
    /// [`Error::UnknownEpoch`] for a request under other epochs; [`Error::TweakMismatch`]
    /// when either epoch has no tweak for the subject; as [`AttestedShareEvaluator::sign`]
    /// for either epoch's answers.
    pub fn sign_migration(
        &self,
        previous: &AttestedShareEvaluator,
        state: SignerState,
        request: &MigrationSigningRequest,
        now: u64,
    ) -> Result<SignatureShare> {
        let subject = &state.subject;
        if state.epoch != self.epoch {
            return Err(Error::UnknownEpoch { epoch: state.epoch });
        }
        if previous.epoch.checked_add(1) != Some(self.epoch) || previous.realm != self.realm {
            return Err(Error::StaleEpoch {
                epoch: previous.epoch,
            });
        }
        if request.old_epoch != previous.epoch {
            return Err(Error::UnknownEpoch {
                epoch: request.old_epoch,
            });
        }
        if request.new.epoch != self.epoch {
            return Err(Error::UnknownEpoch {
                epoch: request.new.epoch,
            });
        }
        self.check_signers(&request.new)?;
        let blinded = &state.request.blinded;
        let z_old = combine_strict(
            &previous.tweak(subject)?.keys,
            blinded,
            &request.old_answers,
        )?;
        let z_new = combine_strict(&self.tweak(subject)?.keys, blinded, &request.new.answers)?;
        check_expiry(request.new.expiry, now)?;
        let message = migration_message(
            &self.realm,
            previous.epoch,
            self.epoch,
            blinded,
            &z_old,
            &z_new,
            &state.request.session,
            request.new.expiry,
        )?;
        sign(
            &self.signing,
            state.nonces,
            &request.new.commitments,
            &message,
        )
    }
}

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

/// Combines exactly the answers given, each of which must verify: a signer signs only a `Z`
/// it has checked in full.
fn combine_strict(
    keys: &TweakKeys,
    blinded: &BlindedElement,
    answers: &[ShareAnswer],
) -> Result<EvaluatedElement> {
    let t = keys.params().t();
    if let Some(extra) = answers.get(usize::from(t)) {
        return Err(Error::UnknownEvaluator { index: extra.index });
    }
    if answers.len() < usize::from(t) {
        return Err(Error::TooFewShares {
            have: answers.len(),
            need: usize::from(t),
        });
    }
    let (evaluated, _) = combine(
        Mode::Poprf,
        t,
        slice::from_ref(blinded),
        answers,
        true,
        |i| keys.share(i).copied(),
    )?;
    evaluated.first().copied().ok_or(Error::EmptyBatch)
}

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
