//! Flow A logins between their two rounds (`spec/12-threshold.md` §12.8, §12.12): the subject
//! round one authenticated and the signer's state, its FROST nonces, used once by the same
//! subject within [`SIGNER_LIFETIME`], then gone.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use blindnym::pseudonym::SubjectId;
use blindnym::threshold::flow_a::SignerState;
use blindnym::threshold::inversion::RunId;
use rand::RngExt as _;

use crate::error::{Result, ServerError};

/// How long a flow A signer keeps its state between the two rounds.
pub(crate) const SIGNER_LIFETIME: Duration = Duration::from_secs(120);
/// The most flow A logins between their two rounds at once.
const MAX_SIGNERS: usize = 4096;

/// One login between its rounds.
struct PendingSigner {
    subject: SubjectId,
    state: SignerState,
    started: Instant,
}

/// The logins between their rounds, by session.
#[derive(Default)]
pub(crate) struct Signers {
    pending: Mutex<HashMap<RunId, PendingSigner>>,
}

impl Signers {
    fn lock(&self) -> Result<MutexGuard<'_, HashMap<RunId, PendingSigner>>> {
        self.pending
            .lock()
            .map_err(|_| ServerError::Store("signer table lock poisoned".into()))
    }

    /// Keeps `state` for `subject` under a new session, which round two must name.
    ///
    /// # Errors
    /// [`ServerError::Peers`] with too many logins between their rounds.
    pub(crate) fn open(&self, subject: &SubjectId, state: SignerState) -> Result<RunId> {
        let session: RunId = rand::rng().random();
        let mut pending = self.lock()?;
        pending.retain(|_, p| p.started.elapsed() < SIGNER_LIFETIME);
        if pending.len() >= MAX_SIGNERS {
            return Err(ServerError::Peers(
                "too many logins between their rounds".into(),
            ));
        }
        pending.insert(
            session,
            PendingSigner {
                subject: subject.clone(),
                state,
                started: Instant::now(),
            },
        );
        Ok(session)
    }

    /// Takes the state of `session` for `subject`, once.
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)` for an unknown or expired session, or one of another subject
    /// (left in place for its owner).
    pub(crate) fn take(&self, subject: &SubjectId, session: &RunId) -> Result<SignerState> {
        let mut pending = self.lock()?;
        match pending.get(session) {
            Some(p) if p.subject == *subject && p.started.elapsed() < SIGNER_LIFETIME => {}
            _ => return Err(ServerError::Protocol(blindnym::Error::TweakMismatch)),
        }
        pending
            .remove(session)
            .map(|p| p.state)
            .ok_or(ServerError::Protocol(blindnym::Error::TweakMismatch))
    }
}
