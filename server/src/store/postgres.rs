//! The PostgreSQL store, for several replicas of one evaluator that share one set of budgets
//! and quotas. The synchronous `postgres` client runs on its own threads (it drives a runtime
//! of its own, which must not sit inside the service's), and callers hand it jobs over a
//! channel: a few connections, each owned by one thread.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use ::postgres::{Client, NoTls};

use super::Counter;
use crate::error::{Result, ServerError};

/// Connections to the database (each on its own thread).
const CONNECTIONS: usize = 4;

/// One request to a connection thread.
type Job = Box<dyn FnOnce(&mut Client) + Send>;

/// A handle on the connection threads.
#[derive(Debug)]
pub(crate) struct Postgres {
    jobs: Mutex<Sender<Job>>,
}

fn store_error(e: impl std::fmt::Display) -> ServerError {
    ServerError::Store(format!("postgres: {e}"))
}

const SCHEMA: &str = "
    SELECT pg_advisory_xact_lock(72626964);
    CREATE TABLE IF NOT EXISTS blindnym_budgets (
        key TEXT PRIMARY KEY, used BIGINT NOT NULL CHECK (used >= 0));
    CREATE TABLE IF NOT EXISTS blindnym_quotas (
        caller BYTEA NOT NULL, domain BYTEA NOT NULL, used BIGINT NOT NULL CHECK (used >= 0),
        PRIMARY KEY (caller, domain));
    CREATE TABLE IF NOT EXISTS blindnym_nonces (
        caller BYTEA NOT NULL, nonce BYTEA NOT NULL, expires BIGINT NOT NULL,
        PRIMARY KEY (caller, nonce));
    CREATE INDEX IF NOT EXISTS blindnym_nonces_expires ON blindnym_nonces (expires);";

impl Postgres {
    /// Connects [`CONNECTIONS`] clients to `url` and creates the tables (under an advisory
    /// lock, so replicas starting together do not race).
    pub(crate) fn connect(url: &str) -> Result<Self> {
        let (jobs, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..CONNECTIONS {
            let (url, receiver) = (url.to_owned(), receiver.clone());
            let (ready, started) = channel::<Result<()>>();
            std::thread::Builder::new()
                .name(format!("blindnym-postgres-{n}"))
                .spawn(move || connection_thread(&url, &receiver, &ready))
                .map_err(store_error)?;
            started.recv().map_err(store_error)??;
        }
        Ok(Self {
            jobs: Mutex::new(jobs),
        })
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = channel();
        let job: Job = Box::new(move |client| {
            let _ = reply.send(f(client));
        });
        self.jobs
            .lock()
            .map_err(|_| ServerError::Store("postgres job queue poisoned".into()))?
            .send(job)
            .map_err(store_error)?;
        answer.recv().map_err(store_error)?
    }

    /// Adds `count` to `counter` if the sum stays within `limit`, in one statement.
    pub(crate) fn add(&self, counter: Counter<'_>, count: i64, limit: i64) -> Result<bool> {
        let changed = match counter {
            Counter::Budget(key) => {
                let key = key.to_owned();
                self.run(move |c| {
                    c.execute(
                        "INSERT INTO blindnym_budgets (key, used)
                         SELECT $1::text, $2::bigint WHERE $2::bigint <= $3::bigint
                         ON CONFLICT (key) DO UPDATE
                         SET used = blindnym_budgets.used + excluded.used
                         WHERE blindnym_budgets.used + excluded.used <= $3::bigint",
                        &[&key, &count, &limit],
                    )
                    .map_err(store_error)
                })?
            }
            Counter::Quota(caller, domain) => {
                let (caller, domain) = (caller.to_vec(), domain.to_vec());
                self.run(move |c| {
                    c.execute(
                        "INSERT INTO blindnym_quotas (caller, domain, used)
                         SELECT $1::bytea, $2::bytea, $3::bigint WHERE $3::bigint <= $4::bigint
                         ON CONFLICT (caller, domain) DO UPDATE
                         SET used = blindnym_quotas.used + excluded.used
                         WHERE blindnym_quotas.used + excluded.used <= $4::bigint",
                        &[&caller, &domain, &count, &limit],
                    )
                    .map_err(store_error)
                })?
            }
        };
        Ok(changed == 1)
    }

    /// Records `nonce` of `caller` until `expires`; `false` when it was already recorded.
    /// Every [`super::PRUNE_EVERY`]th call first forgets nonces expired before `now`.
    pub(crate) fn spend_nonce(
        &self,
        caller: &[u8],
        nonce: &[u8],
        expires: i64,
        now: i64,
        prune: bool,
    ) -> Result<bool> {
        let (caller, nonce) = (caller.to_vec(), nonce.to_vec());
        self.run(move |c| {
            if prune {
                c.execute("DELETE FROM blindnym_nonces WHERE expires < $1", &[&now])
                    .map_err(store_error)?;
            }
            c.execute(
                "INSERT INTO blindnym_nonces (caller, nonce, expires) VALUES ($1, $2, $3)
                 ON CONFLICT (caller, nonce) DO NOTHING",
                &[&caller, &nonce, &expires],
            )
            .map(|changed| changed == 1)
            .map_err(store_error)
        })
    }

    /// The count of `counter` (0 when never charged).
    pub(crate) fn used(&self, counter: Counter<'_>) -> Result<i64> {
        let row = match counter {
            Counter::Budget(key) => {
                let key = key.to_owned();
                self.run(move |c| {
                    c.query_opt("SELECT used FROM blindnym_budgets WHERE key = $1", &[&key])
                        .map_err(store_error)
                })?
            }
            Counter::Quota(caller, domain) => {
                let (caller, domain) = (caller.to_vec(), domain.to_vec());
                self.run(move |c| {
                    c.query_opt(
                        "SELECT used FROM blindnym_quotas WHERE caller = $1 AND domain = $2",
                        &[&caller, &domain],
                    )
                    .map_err(store_error)
                })?
            }
        };
        row.map_or(Ok(0), |r| r.try_get(0).map_err(store_error))
    }
}

fn connection_thread(url: &str, receiver: &Mutex<Receiver<Job>>, ready: &Sender<Result<()>>) {
    let mut client = match Client::connect(url, NoTls).and_then(|mut c| {
        c.batch_execute(&format!("BEGIN; {SCHEMA} COMMIT;"))?;
        Ok(c)
    }) {
        Ok(client) => client,
        Err(e) => {
            let _ = ready.send(Err(store_error(e)));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    loop {
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => {
                // A connection the server closed is opened again before the next job.
                if client.is_closed()
                    && let Ok(fresh) = Client::connect(url, NoTls)
                {
                    client = fresh;
                }
                job(&mut client);
            }
            // Every sender is gone: the store was dropped.
            Err(_) => return,
        }
    }
}
