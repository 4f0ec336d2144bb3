//! The evaluation budget of one key (`spec/04-keys.md` §4.3).
//!
//! Every evaluation answers a Diffie–Hellman query under the key; RFC 9497 §7.2.3 puts the
//! cost of `Q` queries at about `log2(Q)/2` bits of the group's 126-bit security. The budget
//! counts evaluations and refuses past its limit, which forces rotation to the next epoch.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// The default limit: 2^40 evaluations per key, leaving about 106 bits of security
/// (`spec/04-keys.md` §4.3) and room for 78 passes over a nation's 1.4·10^10 derivations.
pub const DEFAULT_EVALUATION_BUDGET: u64 = 1 << 40;

/// Counts a key's evaluations against a limit. Shared by every thread that evaluates under
/// the key; a service persists [`EvaluationBudget::used`] and restores it with
/// [`EvaluationBudget::with_used`], so a restart does not reset the count.
#[derive(Debug)]
pub struct EvaluationBudget {
    limit: u64,
    used: AtomicU64,
}

impl EvaluationBudget {
    /// A fresh budget of `limit` evaluations.
    pub fn new(limit: u64) -> Self {
        Self::with_used(limit, 0)
    }

    /// A budget of `limit` of which `used` are spent (restored from storage).
    pub fn with_used(limit: u64, used: u64) -> Self {
        Self {
            limit,
            used: AtomicU64::new(used),
        }
    }

    /// Evaluations spent so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Spends `count` evaluations, all or none.
    ///
    /// # Errors
    /// [`Error::BudgetExhausted`] when fewer than `count` remain.
    pub fn charge(&self, count: u64) -> Result<()> {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(count).filter(|&total| total <= self.limit)
            })
            .map(drop)
            .map_err(|_| Error::BudgetExhausted)
    }
}

impl Default for EvaluationBudget {
    fn default() -> Self {
        Self::new(DEFAULT_EVALUATION_BUDGET)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_at_the_limit_and_charges_all_or_nothing() {
        let budget = EvaluationBudget::new(10);
        assert_eq!(budget.charge(7), Ok(()));
        assert_eq!(budget.charge(4), Err(Error::BudgetExhausted));
        assert_eq!(budget.used(), 7);
        assert_eq!(budget.charge(3), Ok(()));
        assert_eq!(budget.charge(1), Err(Error::BudgetExhausted));
        assert_eq!(
            EvaluationBudget::with_used(5, 5).charge(1),
            Err(Error::BudgetExhausted)
        );
        assert_eq!(EvaluationBudget::new(u64::MAX).charge(u64::MAX), Ok(()));
    }
}
