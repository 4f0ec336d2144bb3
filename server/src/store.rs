//! Budgets and quotas that survive restarts: an embedded SQLite database (`spec/04-keys.md`
//! §4.3, `spec/07-flow-b.md` §7.4). Every charge is one conditional `UPDATE`, all or none, so
//! concurrent requests never overspend and a refused charge spends nothing (a request refused
//! for its quota has already spent the key's budget, as §7.4 orders it).

use std::path::Path;
use std::sync::Mutex;

use blindnym::pseudonym::bulk::{CallerId, Quota};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Result, ServerError};

/// The evaluator's persistent counters.
#[derive(Debug)]
pub struct Store {
    connection: Mutex<Connection>,
    quota_limit: u64,
}

fn as_i64(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| ServerError::Store(format!("count {value} too large")))
}

impl Store {
    /// Opens (or creates) the database at `path`; each caller may do `quota_limit`
    /// evaluations per domain.
    ///
    /// # Errors
    /// [`ServerError::Store`] when the database cannot be opened or migrated.
    pub fn open(path: &Path, quota_limit: u64) -> Result<Self> {
        let connection = Connection::open(path)?;
        connection.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS budgets (key TEXT PRIMARY KEY, used INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS quotas (
                 caller BLOB NOT NULL, domain BLOB NOT NULL, used INTEGER NOT NULL,
                 PRIMARY KEY (caller, domain));",
        )?;
        Ok(Self {
            connection: Mutex::new(connection),
            quota_limit,
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let connection = self
            .connection
            .lock()
            .map_err(|_| ServerError::Store("connection lock poisoned".into()))?;
        f(&connection)
    }

    /// Charges `count` evaluations to `key`'s budget of `limit`, all or none.
    ///
    /// # Errors
    /// `Protocol(BudgetExhausted)` when fewer than `count` remain; [`ServerError::Store`].
    pub fn charge_budget(&self, key: &str, limit: u64, count: u64) -> Result<()> {
        let (limit, count) = (as_i64(limit)?, as_i64(count)?);
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO budgets (key, used) VALUES (?1, 0)",
                params![key],
            )?;
            let changed = c.execute(
                "UPDATE budgets SET used = used + ?2 WHERE key = ?1 AND used + ?2 <= ?3",
                params![key, count, limit],
            )?;
            if changed == 1 {
                Ok(())
            } else {
                Err(ServerError::Protocol(blindnym::Error::BudgetExhausted))
            }
        })
    }

    /// Evaluations `key` has spent.
    ///
    /// # Errors
    /// [`ServerError::Store`].
    pub fn budget_used(&self, key: &str) -> Result<u64> {
        self.with(|c| {
            let used: Option<i64> = c
                .query_row(
                    "SELECT used FROM budgets WHERE key = ?1",
                    params![key],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(used.and_then(|u| u64::try_from(u).ok()).unwrap_or(0))
        })
    }

    /// Evaluations `caller` has spent in `domain`.
    ///
    /// # Errors
    /// [`ServerError::Store`].
    pub fn quota_used(&self, caller: &[u8], domain: &[u8]) -> Result<u64> {
        self.with(|c| {
            let used: Option<i64> = c
                .query_row(
                    "SELECT used FROM quotas WHERE caller = ?1 AND domain = ?2",
                    params![caller, domain],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(used.and_then(|u| u64::try_from(u).ok()).unwrap_or(0))
        })
    }

    fn charge_quota(&self, caller: &[u8], domain: &[u8], count: u64) -> Result<()> {
        let (limit, count) = (as_i64(self.quota_limit)?, as_i64(count)?);
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO quotas (caller, domain, used) VALUES (?1, ?2, 0)",
                params![caller, domain],
            )?;
            let changed = c.execute(
                "UPDATE quotas SET used = used + ?3 WHERE caller = ?1 AND domain = ?2 AND used + ?3 <= ?4",
                params![caller, domain, count, limit],
            )?;
            if changed == 1 {
                Ok(())
            } else {
                Err(ServerError::Protocol(blindnym::Error::QuotaExceeded))
            }
        })
    }
}

impl Quota for Store {
    fn charge(&self, caller: &CallerId, domain: &[u8], count: u64) -> blindnym::Result<()> {
        match self.charge_quota(caller.as_bytes(), domain, count) {
            Ok(()) => Ok(()),
            Err(ServerError::Protocol(e)) => Err(e),
            // A store failure refuses the request; it is reported as a spent quota rather
            // than evaluated unaccounted.
            Err(_) => Err(blindnym::Error::QuotaExceeded),
        }
    }
}

/// A shared handle, so the flow B evaluator and the handlers use one store.
#[derive(Debug, Clone)]
pub struct SharedStore(pub std::sync::Arc<Store>);

impl Quota for SharedStore {
    fn charge(&self, caller: &CallerId, domain: &[u8], count: u64) -> blindnym::Result<()> {
        self.0.charge(caller, domain, count)
    }
}
