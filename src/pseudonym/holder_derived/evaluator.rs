//! Flow H's evaluator for one epoch (`spec/05-flow-h.md` §5.3).

use rand_core::CryptoRng;

use crate::error::Result;
use crate::pseudonym::budget::EvaluationBudget;
use crate::pseudonym::key_schedule::HolderDerivedKey;

use super::*;

/// The evaluator of flow H. Its API takes only blinded elements: it never receives the
/// credential or the service id.
#[derive(Debug)]
pub struct Evaluator {
    key: HolderDerivedKey,
    budget: EvaluationBudget,
}

impl Evaluator {
    /// An evaluator answering with `key`, counting against `budget`.
    pub fn new(key: HolderDerivedKey, budget: EvaluationBudget) -> Self {
        Self { key, budget }
    }

    /// The key's budget.
    pub fn budget(&self) -> &EvaluationBudget {
        &self.budget
    }

    /// Evaluates a request with a DLEQ proof (`spec/05-flow-h.md` §5.3 step 2).
    ///
    /// # Errors
    /// [`Error::BudgetExhausted`](crate::Error::BudgetExhausted) when the key's budget is spent,
    /// [`Error::RandomnessFailure`](crate::Error::RandomnessFailure) for a broken RNG.
    pub fn evaluate(
        &self,
        request: &Request,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Response> {
        self.budget.charge(1)?;
        let (evaluated, proof) = self.key.server.blind_evaluate(&request.blinded, rng)?;
        Ok(Response {
            epoch: self.key.epoch,
            evaluated,
            proof,
        })
    }
}
