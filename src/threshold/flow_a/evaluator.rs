//! One evaluator of flow A in threshold mode: the share answer and its FROST signature share
//! (`spec/12-threshold.md` §12.8).

use core::fmt;
use core::slice;
use std::collections::HashMap;

use rand_core::CryptoRng;

use crate::error::{Error, Result};
use crate::messages::{BlindedElement, EvaluatedElement};
use crate::pseudonym::attested::{Request, migration_message, signed_message, subject_info};
use crate::pseudonym::budget::EvaluationBudget;
use crate::pseudonym::session::check_expiry;
use crate::pseudonym::{Epoch, SubjectId};
use crate::suite::Mode;
use crate::threshold::answer::{ShareAnswer, ShareResponse, combine};
use crate::threshold::inversion::{TweakKeys, TweakRecord, TweakShare};
use crate::threshold::share::VerificationShares;
use crate::threshold::signing::{SignatureShare, SigningNonces, SigningShare, commit, sign};

use super::*;

/// A signer's state between its two rounds. Secret (the nonces): never printed.
pub struct SignerState {
    nonces: SigningNonces,
    request: Request,
    /// The subject round one authenticated: round two signs for it and no other.
    subject: SubjectId,
    epoch: Epoch,
    /// The subject's tweak keys round one answered under: round two checks the answers
    /// against these, so a record replaced between the rounds neither breaks the login nor
    /// blames an honest signer (review M2).
    keys: TweakKeys,
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
                keys: tweak.keys.clone(),
            },
            ShareEvaluation {
                epoch: self.epoch,
                answer,
                commitment,
            },
        ))
    }

    /// Round two: checks every answer of the signing request against the tweak keys of the
    /// record round one answered under, for the subject round one authenticated (both kept
    /// in `state`: round two takes no subject), recombines `Z` itself, checks the expiry on its own clock, and signs
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
        self.check_signers(request)?;
        let z = combine_strict(&state.keys, &state.request.blinded, &request.answers)?;
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
