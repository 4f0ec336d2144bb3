//! Coordinating an inversion (`spec/12-threshold.md` §12.12.3): the library's sans-IO
//! [`Coordinator`] decides who is asked what, who is dropped and when to give up; this file
//! carries its steps to this evaluator's own participant and to the peers (one thread each,
//! over the peer API) and keeps the service's own policy: a renewal within
//! [`RENEW_SPACING`] of the last run returns that run's record.

use std::time::{Duration, Instant};

use blindnym::threshold::inversion::{Coordinator, PeerFault, Step, Target};

use super::{Installed, ThresholdState};
use crate::error::{Result, ServerError};

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
    /// answers when there is none yet (or when `renew` asks for a new one).
    ///
    /// # Errors
    /// [`ServerError::Peers`] with fewer than `2t − 1` participants reachable or fewer than
    /// `t` that installed the record; as [`blindnym::threshold::inversion::TweakRecord::assemble`].
    pub fn coordinate(&self, target: &Target, renew: bool) -> Result<Installed> {
        let mut last_runs = self
            .coordinated
            .lock()
            .map_err(|_| ServerError::Store("coordinator lock poisoned".into()))?;
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
        let installed = self.run_inversion(target)?;
        last_runs.retain(|_, at| at.elapsed() < RENEW_SPACING);
        last_runs.insert(target.clone(), Instant::now());
        Ok(installed)
    }

    /// Drives one coordination to its end.
    fn run_inversion(&self, target: &Target) -> Result<Installed> {
        let (_, public) = self.key_of(target);
        let candidates = self.peers.indices_with(self.index);
        let mut coordinator = Coordinator::new(target.clone(), public, self.index, &candidates)?;
        let mut rng = rand::rng();
        while let Some(step) = coordinator.poll(&mut rng) {
            match step {
                Step::Deal { request, to } => {
                    for (index, answer) in self.each(&to, |index| {
                        if index == self.index {
                            self.deal(&request, self.index)
                        } else {
                            self.peers.deal(index, &request)
                        }
                    }) {
                        let local = index == self.index;
                        coordinator.on_dealing(index, answer.map_err(|e| fault(e, local)))?;
                    }
                }
                Step::Multiply { request, to } => {
                    for (index, answer) in self.each(&to, |index| {
                        if index == self.index {
                            self.product(&request, self.index)
                        } else {
                            self.peers.product(index, &request)
                        }
                    }) {
                        let local = index == self.index;
                        coordinator.on_product(index, answer.map_err(|e| fault(e, local)))?;
                    }
                }
                Step::Finish { request, to } => {
                    for (index, answer) in self.each(&to, |index| {
                        if index == self.index {
                            self.finish(&request, self.index)
                        } else {
                            self.peers.finish(index, &request)
                        }
                    }) {
                        let local = index == self.index;
                        coordinator.on_finished(index, answer.map_err(|e| fault(e, local)))?;
                    }
                }
                Step::Done(record) => return Ok(Installed::of(&record)),
                Step::Failed(blindnym::Error::TooFewShares { have, need }) => {
                    return Err(ServerError::Peers(format!(
                        "an inversion needs {need} evaluators; {have} took part"
                    )));
                }
                Step::Failed(error) => return Err(error.into()),
                _ => return Err(ServerError::Peers("unknown coordinator step".into())),
            }
        }
        Err(ServerError::Peers("the coordination stopped".into()))
    }

    /// Runs `f` for every participant at once (one thread each) and returns the results in
    /// participant order.
    fn each<T: Send>(
        &self,
        participants: &[u16],
        f: impl Fn(u16) -> Result<T> + Sync,
    ) -> Vec<(u16, Result<T>)> {
        let f = &f;
        std::thread::scope(|scope| {
            let handles: Vec<_> = participants
                .iter()
                .map(|&index| (index, scope.spawn(move || f(index))))
                .collect();
            handles
                .into_iter()
                .map(|(index, handle)| {
                    let result = handle.join().unwrap_or_else(|_| {
                        Err(ServerError::Peers("a participant's thread failed".into()))
                    });
                    (index, result)
                })
                .collect()
        })
    }
}
