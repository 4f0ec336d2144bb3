//! Budgets and quotas that survive restarts (`spec/04-keys.md` §4.3, `spec/07-flow-b.md` §7.4):
//! an embedded SQLite database by default, or PostgreSQL when several replicas of one
//! evaluator share the counts (`postgres`). Every charge is one conditional upsert,
//! all or none, so concurrent requests — on one replica or several — never overspend and a
//! refused charge spends nothing (a request refused for its quota has already spent the key's
//! budget, as §7.4 orders it).

mod postgres;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use blindnym::pseudonym::bulk::{CallerId, Quota};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Result, ServerError};
use postgres::Postgres;

/// One counter: a key's budget or a caller's quota in a domain.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter<'a> {
    /// The evaluations of one epoch key (`epoch-E/role`).
    Budget(&'a str),
    /// The evaluations of one caller in one domain.
    Quota(&'a [u8], &'a [u8]),
}

#[derive(Debug)]
enum Backend {
    Sqlite(Mutex<Connection>),
    Postgres(Postgres),
}

/// The evaluator's persistent counters.
#[derive(Debug)]
pub struct Store {
    backend: Backend,
    quota_limit: u64,
    nonces_spent: AtomicU64,
}

/// Expired nonces are forgotten once every this many spent.
pub(crate) const PRUNE_EVERY: u64 = 256;

pub(crate) fn as_i64(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| ServerError::Store(format!("count {value} too large")))
}

impl Store {
    /// Opens (or creates) the SQLite database at `path`; each caller may do `quota_limit`
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
                 PRIMARY KEY (caller, domain));
             CREATE TABLE IF NOT EXISTS nonces (
                 caller BLOB NOT NULL, nonce BLOB NOT NULL, expires INTEGER NOT NULL,
                 PRIMARY KEY (caller, nonce));
             CREATE INDEX IF NOT EXISTS nonces_expires ON nonces (expires);",
        )?;
        Ok(Self {
            backend: Backend::Sqlite(Mutex::new(connection)),
            quota_limit,
            nonces_spent: AtomicU64::new(0),
        })
    }

    /// Connects to the PostgreSQL database of `url` (a libpq connection string or URL),
    /// shared by every replica of this evaluator, and creates its tables if missing.
    ///
    /// # Errors
    /// [`ServerError::Store`] when the database cannot be reached or migrated.
    pub fn open_postgres(url: &str, quota_limit: u64) -> Result<Self> {
        Ok(Self {
            backend: Backend::Postgres(Postgres::connect(url)?),
            quota_limit,
            nonces_spent: AtomicU64::new(0),
        })
    }

    fn sqlite<T>(
        connection: &Mutex<Connection>,
        f: impl FnOnce(&Connection) -> Result<T>,
    ) -> Result<T> {
        let connection = connection
            .lock()
            .map_err(|_| ServerError::Store("connection lock poisoned".into()))?;
        f(&connection)
    }

    /// Adds `count` to `counter` if the sum stays within `limit`; `Ok(false)` when it would not.
    fn add(&self, counter: Counter<'_>, count: u64, limit: u64) -> Result<bool> {
        let (count, limit) = (as_i64(count)?, as_i64(limit)?);
        match &self.backend {
            Backend::Postgres(pg) => pg.add(counter, count, limit),
            Backend::Sqlite(connection) => Self::sqlite(connection, |c| {
                let changed = match counter {
                    Counter::Budget(key) => c.execute(
                        "INSERT INTO budgets (key, used) SELECT ?1, ?2 WHERE ?2 <= ?3
                         ON CONFLICT (key) DO UPDATE SET used = used + excluded.used
                         WHERE used + excluded.used <= ?3",
                        params![key, count, limit],
                    )?,
                    Counter::Quota(caller, domain) => c.execute(
                        "INSERT INTO quotas (caller, domain, used) SELECT ?1, ?2, ?3 WHERE ?3 <= ?4
                         ON CONFLICT (caller, domain) DO UPDATE SET used = used + excluded.used
                         WHERE used + excluded.used <= ?4",
                        params![caller, domain, count, limit],
                    )?,
                };
                Ok(changed == 1)
            }),
        }
    }

    fn used(&self, counter: Counter<'_>) -> Result<u64> {
        let used = match &self.backend {
            Backend::Postgres(pg) => pg.used(counter)?,
            Backend::Sqlite(connection) => Self::sqlite(connection, |c| {
                let row = match counter {
                    Counter::Budget(key) => c
                        .query_row(
                            "SELECT used FROM budgets WHERE key = ?1",
                            params![key],
                            |r| r.get(0),
                        )
                        .optional()?,
                    Counter::Quota(caller, domain) => c
                        .query_row(
                            "SELECT used FROM quotas WHERE caller = ?1 AND domain = ?2",
                            params![caller, domain],
                            |r| r.get(0),
                        )
                        .optional()?,
                };
                Ok(row.unwrap_or(0i64))
            })?,
        };
        u64::try_from(used).map_err(|_| ServerError::Store(format!("negative count {used}")))
    }

    /// Charges `count` evaluations to `key`'s budget of `limit`, all or none.
    ///
    /// # Errors
    /// `Protocol(BudgetExhausted)` when fewer than `count` remain; [`ServerError::Store`].
    pub fn charge_budget(&self, key: &str, limit: u64, count: u64) -> Result<()> {
        if self.add(Counter::Budget(key), count, limit)? {
            Ok(())
        } else {
            Err(ServerError::Protocol(blindnym::Error::BudgetExhausted))
        }
    }

    /// Spends a request signature's `nonce` of `caller` (its public key), remembered until
    /// `expires` (seconds): `false` when this evaluator — any replica sharing the store — has
    /// already accepted it (`spec/12-threshold.md` §12.12.6). Nonces expired before `now`
    /// are forgotten along the way.
    ///
    /// # Errors
    /// [`ServerError::Store`].
    pub fn spend_nonce(&self, caller: &[u8], nonce: &[u8], expires: u64, now: u64) -> Result<bool> {
        let prune = self
            .nonces_spent
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PRUNE_EVERY);
        let (expires, now) = (as_i64(expires)?, as_i64(now)?);
        match &self.backend {
            Backend::Postgres(pg) => pg.spend_nonce(caller, nonce, expires, now, prune),
            Backend::Sqlite(connection) => Self::sqlite(connection, |c| {
                if prune {
                    c.execute("DELETE FROM nonces WHERE expires < ?1", params![now])?;
                }
                let changed = c.execute(
                    "INSERT INTO nonces (caller, nonce, expires) VALUES (?1, ?2, ?3)
                     ON CONFLICT (caller, nonce) DO NOTHING",
                    params![caller, nonce, expires],
                )?;
                Ok(changed == 1)
            }),
        }
    }

    /// Evaluations `key` has spent.
    ///
    /// # Errors
    /// [`ServerError::Store`].
    pub fn budget_used(&self, key: &str) -> Result<u64> {
        self.used(Counter::Budget(key))
    }

    /// Evaluations `caller` has spent in `domain`.
    ///
    /// # Errors
    /// [`ServerError::Store`].
    pub fn quota_used(&self, caller: &[u8], domain: &[u8]) -> Result<u64> {
        self.used(Counter::Quota(caller, domain))
    }

    fn charge_quota(&self, caller: &[u8], domain: &[u8], count: u64) -> Result<()> {
        self.charge_quota_within(caller, domain, count, self.quota_limit)
    }

    fn charge_quota_within(
        &self,
        caller: &[u8],
        domain: &[u8],
        count: u64,
        limit: u64,
    ) -> Result<()> {
        if self.add(Counter::Quota(caller, domain), count, limit)? {
            Ok(())
        } else {
            Err(ServerError::Protocol(blindnym::Error::QuotaExceeded))
        }
    }
}

/// A store failure refuses the request; it is reported as a spent quota rather than
/// evaluated unaccounted.
fn as_quota_refusal(result: Result<()>) -> blindnym::Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(ServerError::Protocol(e)) => Err(e),
        Err(_) => Err(blindnym::Error::QuotaExceeded),
    }
}

impl Quota for Store {
    fn charge(&self, caller: &CallerId, domain: &[u8], count: u64) -> blindnym::Result<()> {
        as_quota_refusal(self.charge_quota(caller.as_bytes(), domain, count))
    }
}

/// One threshold evaluator's part of a caller's quota: the configured quota is the caller's
/// across the whole set, and each of the `n` evaluators, which sees `t` of every `n`
/// evaluations of an honest caller that spreads its batches, allows `⌈quota·t/n⌉` (spec
/// §12.7, review M5). A caller sending its batches to disjoint subsets gets no more.
#[derive(Debug, Clone)]
pub struct ShareOfQuota {
    /// The store.
    pub store: SharedStore,
    /// This evaluator's limit per caller and domain.
    pub limit: u64,
}

impl Quota for ShareOfQuota {
    fn charge(&self, caller: &CallerId, domain: &[u8], count: u64) -> blindnym::Result<()> {
        as_quota_refusal(self.store.0.charge_quota_within(
            caller.as_bytes(),
            domain,
            count,
            self.limit,
        ))
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
