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
/// The most logins of one subject between their rounds: a further one evicts that subject's
/// oldest, so one subject cannot fill the table for everyone else (review L2).
pub(crate) const MAX_SIGNERS_PER_SUBJECT: usize = 8;

/// One login between its rounds.
struct PendingSigner<S> {
    subject: SubjectId,
    state: S,
    started: Instant,
}

/// The logins between their rounds, by session (`S`: the signer's state; a stand-in in tests).
pub(crate) struct Signers<S = SignerState> {
    pending: Mutex<HashMap<RunId, PendingSigner<S>>>,
}

impl<S> Default for Signers<S> {
    fn default() -> Self {
        Self {
            pending: Mutex::new(HashMap::new()),
        }
    }
}

impl<S> Signers<S> {
    fn lock(&self) -> Result<MutexGuard<'_, HashMap<RunId, PendingSigner<S>>>> {
        self.pending
            .lock()
            .map_err(|_| ServerError::Store("signer table lock poisoned".into()))
    }

    /// Keeps `state` for `subject` under a new session, which round two must name.
    ///
    /// # Errors
    /// [`ServerError::Peers`] with too many logins between their rounds.
    pub(crate) fn open(&self, subject: &SubjectId, state: S) -> Result<RunId> {
        let session: RunId = rand::rng().random();
        let mut pending = self.lock()?;
        pending.retain(|_, p| p.started.elapsed() < SIGNER_LIFETIME);
        let mut own: Vec<(Instant, RunId)> = pending
            .iter()
            .filter(|(_, p)| p.subject == *subject)
            .map(|(session, p)| (p.started, *session))
            .collect();
        if own.len() >= MAX_SIGNERS_PER_SUBJECT {
            own.sort();
            for (_, oldest) in &own[..=own.len() - MAX_SIGNERS_PER_SUBJECT] {
                pending.remove(oldest);
            }
        }
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
    pub(crate) fn take(&self, subject: &SubjectId, session: &RunId) -> Result<S> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// L2: one subject opening the whole table's worth of sessions keeps only its newest
    /// [`MAX_SIGNERS_PER_SUBJECT`]; another subject's round one still opens, and the first
    /// subject's newest session still signs.
    #[test]
    fn one_subject_cannot_fill_the_signer_table() {
        let signers = Signers::<u32>::default();
        let (a, b) = (
            SubjectId::new("a").expect("subject"),
            SubjectId::new("b").expect("subject"),
        );
        let mut sessions = Vec::new();
        for n in 0..u32::try_from(MAX_SIGNERS).expect("fits") {
            sessions.push(signers.open(&a, n).expect("open"));
        }
        assert_eq!(signers.lock().expect("lock").len(), MAX_SIGNERS_PER_SUBJECT);
        let theirs = signers.open(&b, 7).expect("another subject's login opens");
        assert_eq!(signers.take(&b, &theirs).expect("take"), 7);
        let newest = sessions.last().expect("sessions");
        assert_eq!(
            signers.take(&a, newest).expect("take"),
            u32::try_from(MAX_SIGNERS - 1).expect("fits")
        );
        assert!(
            signers.take(&a, &sessions[0]).is_err(),
            "the oldest was evicted"
        );
    }
}
