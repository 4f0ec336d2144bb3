//! Flow A's evaluator for one epoch (`spec/06-flow-a.md` §6.3).

use ed25519_dalek::Signer;
use rand_core::CryptoRng;

use crate::error::{Error, Result};
use crate::messages::{EvaluatedElement, Proof};
use crate::pseudonym::budget::EvaluationBudget;
use crate::pseudonym::ids::SubjectId;
use crate::pseudonym::key_schedule::AttestedKey;
use crate::pseudonym::session::grid_expiry;

use super::*;

/// The evaluator of flow A for one epoch. None of its functions takes a service id: it sees
/// only `B` and the session hash, plus the subject it authenticated itself.
#[derive(Debug)]
pub struct Evaluator {
    key: AttestedKey,
    budget: EvaluationBudget,
}

impl Evaluator {
    /// An evaluator answering with `key`, counting against `budget`.
    pub fn new(key: AttestedKey, budget: EvaluationBudget) -> Self {
        Self { key, budget }
    }

    /// The key's budget.
    pub fn budget(&self) -> &EvaluationBudget {
        &self.budget
    }

    fn answer(
        &self,
        subject: &SubjectId,
        request: &Request,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(EvaluatedElement, Proof)> {
        self.budget.charge(1)?;
        self.key
            .server
            .blind_evaluate(&request.blinded, &subject_info(subject)?, rng)
    }

    /// Step 3: evaluates `request` for the authenticated `subject` at time `now` and signs
    /// the result; the expiry is [`grid_expiry`]`(now)` (`spec/06-flow-a.md` §6.4).
    ///
    /// # Errors
    /// [`Error::BudgetExhausted`] when the key's budget is spent, [`Error::InverseError`]
    /// when the tweak is zero (negligible), [`Error::RandomnessFailure`] for a broken RNG.
    pub fn evaluate(
        &self,
        subject: &SubjectId,
        request: &Request,
        now: u64,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Evaluation> {
        let (evaluated, proof) = self.answer(subject, request, rng)?;
        let expiry = grid_expiry(now);
        let message = signed_message(
            &self.key.realm,
            self.key.epoch,
            &request.blinded,
            &evaluated,
            &request.session,
            expiry,
        )?;
        Ok(Evaluation {
            epoch: self.key.epoch,
            evaluated,
            proof,
            expiry,
            signature: self.key.signing.sign(&message),
        })
    }

    /// A migration: answers `request` under `previous` (the old epoch's evaluator) and this
    /// one, signed once by this epoch's key (`spec/06-flow-a.md` §6.7). Each key's budget is
    /// charged.
    ///
    /// # Errors
    /// [`Error::StaleEpoch`] unless `previous` is this realm's epoch just before this one;
    /// as [`Evaluator::evaluate`], for either key.
    pub fn evaluate_migration(
        &self,
        previous: &Evaluator,
        subject: &SubjectId,
        request: &Request,
        now: u64,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<MigrationEvaluation> {
        if previous.key.epoch.checked_add(1) != Some(self.key.epoch)
            || previous.key.realm != self.key.realm
        {
            return Err(Error::StaleEpoch {
                epoch: previous.key.epoch,
            });
        }
        let (old_z, old_proof) = previous.answer(subject, request, rng)?;
        let (new_z, new_proof) = self.answer(subject, request, rng)?;
        let expiry = grid_expiry(now);
        let message = migration_message(
            &self.key.realm,
            previous.key.epoch,
            self.key.epoch,
            &request.blinded,
            &old_z,
            &new_z,
            &request.session,
            expiry,
        )?;
        let signature = self.key.signing.sign(&message);
        Ok(MigrationEvaluation {
            old: Evaluation {
                epoch: previous.key.epoch,
                evaluated: old_z,
                proof: old_proof,
                expiry,
                signature,
            },
            new: Evaluation {
                epoch: self.key.epoch,
                evaluated: new_z,
                proof: new_proof,
                expiry,
                signature,
            },
        })
    }
}
