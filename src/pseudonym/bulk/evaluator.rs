//! Flow B's evaluator with its caller ids, policy and quota (`spec/07-flow-b.md` §7.4).

use core::fmt;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use rand_core::CryptoRng;

use crate::error::{Error, Result};
use crate::pseudonym::budget::EvaluationBudget;
use crate::pseudonym::key_schedule::BulkKey;
use crate::pseudonym::text::Pseudonym;

use super::*;

/// Who asks the flow B evaluator for an evaluation, as the service authenticated it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CallerId(Vec<u8>);

impl CallerId {
    /// The caller named `name`.
    pub fn new(name: &[u8]) -> Self {
        Self(name.to_vec())
    }

    /// The name.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Which callers may evaluate for which domains (`spec/07-flow-b.md` §7.4).
pub trait Policy: Send + Sync {
    /// Whether `caller` may evaluate for `domain`.
    fn allows(&self, caller: &CallerId, domain: &[u8]) -> bool;
}

/// How many evaluations each caller may still have (`spec/07-flow-b.md` §7.4). A service
/// backs it with its database so the count survives restarts and spans the fleet.
pub trait Quota: Send + Sync {
    /// Spends `count` evaluations of `caller` in `domain`, all or none.
    ///
    /// # Errors
    /// [`Error::QuotaExceeded`] when fewer than `count` remain.
    fn charge(&self, caller: &CallerId, domain: &[u8], count: u64) -> Result<()>;
}

/// A fixed [`Policy`]: a list of (caller, domain) grants.
#[derive(Clone, Debug, Default)]
pub struct Grants(HashMap<CallerId, HashSet<Vec<u8>>>);

impl Grants {
    /// No grants.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also lets `caller` evaluate for `domain`.
    pub fn allow(mut self, caller: &CallerId, domain: &[u8]) -> Self {
        self.0
            .entry(caller.clone())
            .or_default()
            .insert(domain.to_vec());
        self
    }

    /// Whether any caller may evaluate for `domain` (a threshold participant runs inversions
    /// only for domains it serves).
    pub fn serves(&self, domain: &[u8]) -> bool {
        self.0.values().any(|domains| domains.contains(domain))
    }
}

impl Policy for Grants {
    fn allows(&self, caller: &CallerId, domain: &[u8]) -> bool {
        self.0
            .get(caller)
            .is_some_and(|domains| domains.contains(domain))
    }
}

/// An in-memory [`Quota`]: the same limit for every (caller, domain), for one process.
#[derive(Debug)]
pub struct MemoryQuota {
    limit: u64,
    used: Mutex<HashMap<(CallerId, Vec<u8>), u64>>,
}

impl MemoryQuota {
    /// `limit` evaluations per caller and domain (size it to the register).
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: Mutex::new(HashMap::new()),
        }
    }
}

impl Quota for MemoryQuota {
    fn charge(&self, caller: &CallerId, domain: &[u8], count: u64) -> Result<()> {
        // A poisoned lock only means another thread panicked between two statements here.
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let spent = used.entry((caller.clone(), domain.to_vec())).or_insert(0);
        match spent.checked_add(count) {
            Some(total) if total <= self.limit => {
                *spent = total;
                Ok(())
            }
            _ => Err(Error::QuotaExceeded),
        }
    }
}

/// The evaluator of flow B for one epoch: sees callers, domains and blinded elements only.
pub struct Evaluator {
    key: BulkKey,
    policy: Box<dyn Policy>,
    quota: Box<dyn Quota>,
    budget: EvaluationBudget,
}

impl Evaluator {
    /// An evaluator answering with `key` the callers `policy` allows, within `quota` and the
    /// key's `budget`.
    pub fn new(
        key: BulkKey,
        policy: impl Policy + 'static,
        quota: impl Quota + 'static,
        budget: EvaluationBudget,
    ) -> Self {
        Self {
            key,
            policy: Box::new(policy),
            quota: Box::new(quota),
            budget,
        }
    }

    /// The key's budget.
    pub fn budget(&self) -> &EvaluationBudget {
        &self.budget
    }

    /// Evaluates a whole batch for `caller` under the domain tweak with one batched proof
    /// (`spec/07-flow-b.md` §7.3 step 2, §7.4). Checks, in order: the policy, the key's
    /// budget, the caller's quota; each refusal is its own error and evaluates nothing. The
    /// budget is charged before the quota, so a refusal never spends a caller's quota
    /// (a quota refusal does spend budget: the budget may overcount, never undercount).
    ///
    /// # Errors
    /// [`Error::Unauthorized`], [`Error::BudgetExhausted`], [`Error::QuotaExceeded`];
    /// [`Error::InverseError`] when the tweak is zero (negligible),
    /// [`Error::RandomnessFailure`] for a broken RNG.
    pub fn evaluate_batch(
        &self,
        caller: &CallerId,
        request: &BatchRequest,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<BatchResponse> {
        if !self.policy.allows(caller, &request.domain) {
            return Err(Error::Unauthorized);
        }
        let count = u64::from(batch_count(request.blinded.len())?);
        self.budget.charge(count)?;
        self.quota.charge(caller, &request.domain, count)?;
        let (evaluated, proof) = self.key.server.blind_evaluate_batch(
            &request.blinded,
            &domain_info(&request.domain)?,
            rng,
        )?;
        Ok(BatchResponse {
            epoch: self.key.epoch,
            evaluated,
            proof,
        })
    }

    /// The pseudonym of `identity` in `domain` computed directly with the key, without
    /// blinding (RFC 9497 `Evaluate`), for spot checks of a batch run by the evaluator's own
    /// operator. It bypasses policy and quota, so it is never exposed to callers; it counts
    /// against the budget.
    ///
    /// # Errors
    /// [`Error::BudgetExhausted`]; [`Error::InputTooLong`] for an overlong identity or
    /// domain; [`Error::InvalidInput`]/[`Error::InverseError`] (negligible).
    pub fn evaluate_direct(&self, domain: &[u8], identity: &[u8]) -> Result<Pseudonym> {
        self.budget.charge(1)?;
        let output = self
            .key
            .server
            .evaluate(&identity_input(identity)?, &domain_info(domain)?)?;
        Ok(pseudonym_from_output(&output))
    }
}

impl fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evaluator")
            .field("key", &self.key)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}
