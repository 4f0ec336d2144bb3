//! Coordinating an inversion (`spec/12-threshold.md` §12.12.3): the library's sans-IO
//! [`Coordinator`] decides who is asked what, who is dropped and when to give up; this file
//! carries its steps to this evaluator's own participant and to the peers (concurrently, over
//! the asynchronous peer client: a coordination holds no thread while it waits) and keeps the
//! service's own policy: a renewal within
//! [`RENEW_SPACING`] of the last run returns that run's record.

use std::future::Future;
use std::sync::Arc;
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
        _ => PeerFault::Refused(None),
    }
}

impl ThresholdState {
    /// The record for `target`, running an inversion among this evaluator and every peer that
    /// answers when there is none yet (or when `renew` asks for a new one). One coordination
    /// at a time per evaluator.
    ///
    /// # Errors
    /// [`ServerError::Peers`] with fewer than `2t − 1` participants reachable or fewer than
    /// `t` that installed the record; as
    /// [`blindnym::threshold::inversion::TweakRecord::assemble`].
    pub async fn coordinate(self: &Arc<Self>, target: &Target, renew: bool) -> Result<Installed> {
        let mut last_runs = self.coordinated.lock().await;
        // Another request may have run it while this one waited; a renewal right after a run
        // gets that run's record (renewals replace every participant's share).
        if let Some(installed) = self.installed(target) {
            let recent = last_runs
                .get(target)
                .is_some_and(|at| at.elapsed() < RENEW_SPACING);
            if !renew || recent {
                return Ok(installed);
            }
        }
        let installed = self.run_inversion(target).await?;
        last_runs.retain(|_, at| at.elapsed() < RENEW_SPACING);
        last_runs.insert(target.clone(), Instant::now());
        Ok(installed)
    }

    /// Drives one coordination to its end.
    async fn run_inversion(self: &Arc<Self>, target: &Target) -> Result<Installed> {
        let (_, public) = self.key_of(target);
        let candidates = self.peers.indices_with(self.index);
        let mut coordinator = Coordinator::new(target.clone(), public, self.index, &candidates)?;
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
