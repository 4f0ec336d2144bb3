//! Coordinating an inversion (`spec/12-threshold.md` §12.12.3): the library's sans-IO
//! [`Coordinator`] decides who is asked what, who is dropped and when to give up; this file
//! carries its steps to this evaluator's own participant and to the peers (concurrently, over
//! the asynchronous peer client: a coordination holds no thread while it waits) and keeps the
//! service's own policy: one coordination at a time per target (not per evaluator), at most
//! [`MAX_WAITING`] requests waiting, and a renewal within [`RENEW_SPACING`] of the last run
//! returns that run's record without waiting.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use blindnym::threshold::inversion::{Coordinator, PeerFault, Step, Target};

use super::{Installed, ThresholdState};
use crate::error::{Result, ServerError};
use crate::kit::blocking;

/// A renewal of a tweak within this time of its last run gets the current record.
const RENEW_SPACING: Duration = Duration::from_secs(10);

/// How a participant's failure reaches the coordinator: a peer that gave no answer is
/// unreachable; a refusal is known exactly only from this evaluator's own participant.
fn fault(error: ServerError, local: bool) -> PeerFault {
    match error {
        ServerError::Peers(_) => PeerFault::Unreachable,
        ServerError::Protocol(e) if local => PeerFault::Refused(Some(e)),
        // A remote participant's accusation of a dealer: the library's coordinator weighs it
        // against its own check (review M1).
        ServerError::Protocol(e @ blindnym::Error::BadDealing { .. }) => {
            PeerFault::Refused(Some(e))
        }
        _ => PeerFault::Refused(None),
    }
}

/// The most requests waiting for a coordination at once, all targets together: more are
/// answered `503` at once rather than queued (review L3).
const MAX_WAITING: usize = 64;

/// The coordinations under way: one lock per target, so a slow run for one domain or subject
/// holds up no other (review L3), and when each target last ran.
#[derive(Debug, Default)]
pub(crate) struct Coordinations {
    locks: std::sync::Mutex<HashMap<Target, Arc<tokio::sync::Mutex<()>>>>,
    last_runs: std::sync::Mutex<HashMap<Target, Instant>>,
    waiting: AtomicUsize,
}

/// One waiter counted while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn poisoned() -> ServerError {
    ServerError::Store("coordination table lock poisoned".into())
}

impl Coordinations {
    fn recent(&self, target: &Target) -> Result<bool> {
        Ok(self
            .last_runs
            .lock()
            .map_err(|_| poisoned())?
            .get(target)
            .is_some_and(|at| at.elapsed() < RENEW_SPACING))
    }

    fn ran(&self, target: &Target) -> Result<()> {
        let mut last_runs = self.last_runs.lock().map_err(|_| poisoned())?;
        last_runs.retain(|_, at| at.elapsed() < RENEW_SPACING);
        last_runs.insert(target.clone(), Instant::now());
        Ok(())
    }

    fn lock_of(&self, target: &Target) -> Result<Arc<tokio::sync::Mutex<()>>> {
        let mut locks = self.locks.lock().map_err(|_| poisoned())?;
        // Locks nobody holds or waits for are dropped as new ones are made.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        Ok(locks.entry(target.clone()).or_default().clone())
    }
}

impl ThresholdState {
    /// The record for `target`, running an inversion among this evaluator and every peer that
    /// answers when there is none yet (or when `renew` asks for a new one). One coordination
    /// at a time per target; at most `MAX_WAITING` requests wait for one.
    ///
    /// # Errors
    /// [`ServerError::Peers`] with fewer than `2t − 1` participants reachable, fewer than `t`
    /// that installed the record, or too many requests waiting; as
    /// [`blindnym::threshold::inversion::TweakRecord::assemble`].
    pub async fn coordinate(self: &Arc<Self>, target: &Target, renew: bool) -> Result<Installed> {
        let coordinations = &self.coordinations;
        // A renewal right after a run gets that run's record, before any lock is taken
        // (renewals replace every participant's share).
        let current = |renew: bool| -> Result<Option<Installed>> {
            match self.installed(target) {
                Some(installed) if !renew || coordinations.recent(target)? => Ok(Some(installed)),
                _ => Ok(None),
            }
        };
        if let Some(installed) = current(renew)? {
            return Ok(installed);
        }
        let _waiting = Waiting(&coordinations.waiting);
        if coordinations.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
            return Err(ServerError::Peers(
                "too many inversions waiting at this coordinator".into(),
            ));
        }
        let lock = coordinations.lock_of(target)?;
        let _held = lock.lock().await;
        // Another request may have run it while this one waited.
        if let Some(installed) = current(renew)? {
            return Ok(installed);
        }
        let installed = self.run_inversion(target).await?;
        coordinations.ran(target)?;
        Ok(installed)
    }

    /// Drives one coordination to its end.
    async fn run_inversion(self: &Arc<Self>, target: &Target) -> Result<Installed> {
        let (_, public) = self.key_of(target);
        let candidates = self.peers.indices_with(self.index);
        let mut coordinator =
            Coordinator::new(self.scope, target.clone(), public, self.index, &candidates)?;
        let me = self.index;
        loop {
            let step = coordinator.poll(&mut rand::rng());
            match step {
                Some(Step::Deal { request, to }) => {
                    let request = Arc::new(request);
                    let answers = self
                        .each(&to, move |this, index| {
                            let request = request.clone();
                            async move {
                                if index == me {
                                    blocking(move || this.deal(&request, me)).await
                                } else {
                                    this.peers.deal(index, &request).await
                                }
                            }
                        })
                        .await;
                    for (index, answer) in answers {
                        coordinator.on_dealing(index, answer.map_err(|e| fault(e, index == me)))?;
                    }
                }
                Some(Step::Multiply { request, to }) => {
                    let request = Arc::new(request);
                    let answers = self
                        .each(&to, move |this, index| {
                            let request = request.clone();
                            async move {
                                if index == me {
                                    this.product((*request).clone(), me).await
                                } else {
                                    this.peers.product(index, &request).await
                                }
                            }
                        })
                        .await;
                    for (index, answer) in answers {
                        coordinator.on_product(index, answer.map_err(|e| fault(e, index == me)))?;
                    }
                }
                Some(Step::Finish { request, to }) => {
                    let request = Arc::new(request);
                    let answers = self
                        .each(&to, move |this, index| {
                            let request = request.clone();
                            async move {
                                if index == me {
                                    blocking(move || this.finish(&request, me)).await
                                } else {
                                    this.peers.finish(index, &request).await
                                }
                            }
                        })
                        .await;
                    for (index, answer) in answers {
                        coordinator
                            .on_finished(index, answer.map_err(|e| fault(e, index == me)))?;
                    }
                }
                Some(Step::Done(record)) => return Ok(Installed::of(&record)),
                Some(Step::Failed(blindnym::Error::TooFewShares { have, need })) => {
                    return Err(ServerError::Peers(format!(
                        "an inversion needs {need} evaluators; {have} took part"
                    )));
                }
                Some(Step::Failed(error)) => return Err(error.into()),
                Some(_) => return Err(ServerError::Peers("unknown coordinator step".into())),
                None => return Err(ServerError::Peers("the coordination stopped".into())),
            }
        }
    }

    /// Runs `f` for every participant at once (one task each) and returns each result with
    /// its participant.
    async fn each<T, F, Fut>(self: &Arc<Self>, participants: &[u16], f: F) -> Vec<(u16, Result<T>)>
    where
        T: Send + 'static,
        F: Fn(Arc<Self>, u16) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let mut tasks = tokio::task::JoinSet::new();
        for &index in participants {
            let call = f(self.clone(), index);
            tasks.spawn(async move { (index, call.await) });
        }
        let mut results = Vec::with_capacity(participants.len());
        while let Some(joined) = tasks.join_next().await {
            // A task that panicked leaves its participant unanswered: answered below.
            if let Ok(result) = joined {
                results.push(result);
            }
        }
        for &index in participants {
            if !results.iter().any(|(i, _)| *i == index) {
                results.push((
                    index,
                    Err(ServerError::Peers("a participant's task failed".into())),
                ));
            }
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// L3: a coordination holding one target's lock (across its network rounds) leaves every
    /// other target's free; the same target's lock is the one shared.
    #[test]
    fn one_targets_coordination_holds_up_no_other() {
        let coordinations = Coordinations::default();
        let (a, b) = (
            Target::domain(b"a").expect("target"),
            Target::domain(b"b").expect("target"),
        );
        let lock_a = coordinations.lock_of(&a).expect("lock");
        let _held = lock_a.try_lock().expect("free");
        assert!(
            coordinations.lock_of(&a).expect("lock").try_lock().is_err(),
            "the same target waits"
        );
        assert!(
            coordinations.lock_of(&b).expect("lock").try_lock().is_ok(),
            "another target does not"
        );
        coordinations.ran(&a).expect("ran");
        assert!(coordinations.recent(&a).expect("recent"));
        assert!(!coordinations.recent(&b).expect("recent"));
    }
}
