//! This evaluator's part, as a participant, in the inversion runs its peers coordinate
//! (`spec/12-threshold.md` §12.6, §12.12.2): one state per run, bound to the coordinator that
//! dealt it out and to the run's identifier, capped in number and in lifetime. A run moves
//! from dealt to multiplied once; a second product, or a finish before the product, is
//! `Replayed`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use blindnym::threshold::inversion::{
    DealRequest, Dealing, DealtParticipant, MaskedProduct, MultipliedParticipant, PrivateShare,
    RunId, Target, TweakRecord, TweakShare, deal,
};
use blindnym::threshold::{KeyShare, VerificationShares};

use crate::error::{Result, ServerError};

/// How long a participant keeps the state of an unfinished run.
const RUN_LIFETIME: Duration = Duration::from_secs(120);
/// The most unfinished runs a participant keeps at once.
const MAX_RUNS: usize = 64;
/// The most unfinished runs a participant keeps for any one coordinator.
const MAX_RUNS_PER_COORDINATOR: usize = 16;

/// Where one run stands at this participant.
enum RunState {
    /// Round one is done: it publishes one product.
    Dealt(DealtParticipant),
    /// Round two is done: it waits for the record.
    Multiplied(MultipliedParticipant),
    /// Its product failed (or is being made): nothing more is done in this run.
    Spent,
}

/// A participant's state in one run.
struct Run {
    /// The evaluator that dealt this run out: only it moves the run on.
    coordinator: u16,
    target: Target,
    info: Vec<u8>,
    participants: Vec<u16>,
    /// Its private shares to each participant, fetched by each over the peer channel.
    privates: Vec<PrivateShare>,
    state: RunState,
    started: Instant,
}

fn unknown_run() -> ServerError {
    ServerError::Protocol(blindnym::Error::TweakMismatch)
}

/// The runs under way at this participant, by coordinator and run: a peer that learns
/// another coordinator's run id and deals it first takes a run of its own, not that one
/// (review L5).
#[derive(Default)]
pub(crate) struct Runs {
    runs: Mutex<HashMap<(u16, RunId), Run>>,
}

impl Runs {
    fn lock(&self) -> Result<MutexGuard<'_, HashMap<(u16, RunId), Run>>> {
        self.runs
            .lock()
            .map_err(|_| ServerError::Store("run table lock poisoned".into()))
    }

    /// Round one for `coordinator`: deals with `share` for the run and keeps its state.
    ///
    /// # Errors
    /// `Protocol(Replayed)` for a run it already dealt in; [`ServerError::Peers`] when it
    /// keeps too many unfinished runs; as [`deal`].
    pub(crate) fn deal(
        &self,
        request: &DealRequest,
        coordinator: u16,
        share: &KeyShare,
        public: &VerificationShares,
    ) -> Result<Dealing> {
        let info = request.target.info()?;
        // The table's refusals come before the work of dealing, and hold again after it.
        let refusal = |runs: &mut HashMap<(u16, RunId), Run>| {
            runs.retain(|_, run| run.started.elapsed() < RUN_LIFETIME);
            if runs.contains_key(&(coordinator, request.run)) {
                return Err(ServerError::Protocol(blindnym::Error::Replayed));
            }
            let of_coordinator = runs
                .values()
                .filter(|r| r.coordinator == coordinator)
                .count();
            if runs.len() >= MAX_RUNS || of_coordinator >= MAX_RUNS_PER_COORDINATOR {
                return Err(ServerError::Peers(
                    "too many inversion runs under way".into(),
                ));
            }
            Ok(())
        };
        refusal(&mut *self.lock()?)?;
        let dealt = deal(
            share,
            public,
            &info,
            &request.participants,
            &mut rand::rng(),
        )?;
        let mut runs = self.lock()?;
        refusal(&mut runs)?;
        runs.insert(
            (coordinator, request.run),
            Run {
                coordinator,
                target: request.target.clone(),
                info,
                participants: request.participants.clone(),
                privates: dealt.privates,
                state: RunState::Dealt(dealt.participant),
                started: Instant::now(),
            },
        );
        Ok(dealt.dealing)
    }

    /// Round one's private share from this participant to `recipient` in `coordinator`'s
    /// `run`.
    ///
    /// # Errors
    /// `Protocol(UnknownEvaluator)` for a recipient outside the run, `Protocol(TweakMismatch)`
    /// for an unknown run.
    pub(crate) fn private_share(
        &self,
        coordinator: u16,
        run: &RunId,
        recipient: u16,
    ) -> Result<PrivateShare> {
        let runs = self.lock()?;
        let run = runs.get(&(coordinator, *run)).ok_or_else(unknown_run)?;
        run.privates
            .iter()
            .find(|p| p.recipient() == recipient)
            .cloned()
            .ok_or(ServerError::Protocol(blindnym::Error::UnknownEvaluator {
                index: recipient,
            }))
    }

    /// The participants of `run`, for the coordinator that dealt it.
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)` for an unknown run or another coordinator.
    pub(crate) fn participants(&self, run: &RunId, coordinator: u16) -> Result<Vec<u16>> {
        let runs = self.lock()?;
        runs.get(&(coordinator, *run))
            .map(|run| run.participants.clone())
            .ok_or_else(unknown_run)
    }

    /// Round two: the masked product over `dealings` and the private shares this participant
    /// received, once per run.
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)` for an unknown run or another coordinator;
    /// `Protocol(Replayed)` for a second product; as [`DealtParticipant::multiply`].
    pub(crate) fn multiply(
        &self,
        run: &RunId,
        coordinator: u16,
        dealings: &[Dealing],
        privates: &[PrivateShare],
    ) -> Result<MaskedProduct> {
        let mut runs = self.lock()?;
        let run = runs.get_mut(&(coordinator, *run)).ok_or_else(unknown_run)?;
        let RunState::Dealt(participant) = core::mem::replace(&mut run.state, RunState::Spent)
        else {
            return Err(ServerError::Protocol(blindnym::Error::Replayed));
        };
        let (multiplied, product) = participant.multiply(dealings, privates, &mut rand::rng())?;
        run.state = RunState::Multiplied(multiplied);
        Ok(product)
    }

    /// Round three: ends the run and takes this participant's tweak share under `record`.
    ///
    /// # Errors
    /// `Protocol(TweakMismatch)` for an unknown run or another coordinator;
    /// `Protocol(Replayed)` for a run without a product; as
    /// [`MultipliedParticipant::finish`].
    pub(crate) fn finish(
        &self,
        run: &RunId,
        coordinator: u16,
        record: &TweakRecord,
    ) -> Result<(Target, TweakShare)> {
        let run = {
            let mut runs = self.lock()?;
            runs.remove(&(coordinator, *run)).ok_or_else(unknown_run)?
        };
        let RunState::Multiplied(participant) = run.state else {
            return Err(ServerError::Protocol(blindnym::Error::Replayed));
        };
        let share = participant.finish(record, &run.info)?;
        Ok((run.target, share))
    }
}
