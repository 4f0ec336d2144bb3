//! The coordinator of an inversion, sans-IO (`spec/12-threshold.md` §12.12.3), in the manner
//! of quinn-proto's connection: [`Coordinator::poll`] says what to send to whom, the caller
//! carries the bytes and hands each participant's answer back with
//! [`Coordinator::on_dealing`], [`on_product`](Coordinator::on_product) and
//! [`on_finished`](Coordinator::on_finished). It owns the rules that make a run robust: at most
//! [`MAX_ATTEMPTS`] runs; a participant that fails round one, round two or is named by the
//! record's assembly is dropped and the run starts again while `2t − 1` remain; a record counts
//! once `t` participants have installed it. The evaluator service and the in-process driver
//! ([`run_in_one_process`](super::run_in_one_process)) run this same code.
//!
//! Blame policy: the coordinator believes its own checks only. Its own round two naming a
//! dealer (`BadDealing`) drops that dealer; a product that fails its proof (`BadProduct`, from
//! [`TweakRecord::assemble`]) drops its sender; any other participant's failure or refusal
//! drops that participant, whatever it says of others, so no participant can have another
//! dropped by its word alone. The coordinator itself is never dropped.

use std::collections::BTreeMap;

use rand_core::CryptoRng;

use super::messages::{Dealing, MaskedProduct};
use super::record::TweakRecord;
use super::wire::{DealRequest, FinishRequest, ProductRequest, RunId, RunScope, Target};
use crate::error::{Error, Result};
use crate::threshold::share::VerificationShares;

/// The most runs one coordination starts before it gives up.
pub const MAX_ATTEMPTS: u8 = 4;

/// Why a participant gave no usable answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerFault {
    /// No answer: unreachable, timed out, or an answer that was not a message.
    Unreachable,
    /// The participant refused; the library error when it is known (the coordinator's own
    /// participant, or an in-process one), `None` for a remote refusal.
    Refused(Option<Error>),
}

/// What the coordinator wants done next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Send round one to each of `to` (the coordinator included) and report each dealing.
    Deal {
        /// The request, the same for every participant.
        request: DealRequest,
        /// The participants, increasing.
        to: Vec<u16>,
    },
    /// Send round two to each of `to` and report each masked product.
    Multiply {
        /// The request, the same for every participant.
        request: ProductRequest,
        /// The participants, increasing.
        to: Vec<u16>,
    },
    /// Send round three to each of `to` and report whether each installed its share.
    Finish {
        /// The request, the same for every participant.
        request: FinishRequest,
        /// The participants, increasing.
        to: Vec<u16>,
    },
    /// The run is done: at least `t` participants installed their share under this record.
    Done(TweakRecord),
    /// The coordination failed: [`Error::TooFewShares`] when too few participants remain or
    /// installed the record, or the error of an assembly that blamed no one.
    Failed(Error),
}

/// Where the coordination is.
#[derive(Debug)]
enum Phase {
    /// A new run is to start.
    Start,
    Dealing {
        run: RunId,
        answers: BTreeMap<u16, core::result::Result<Dealing, PeerFault>>,
    },
    Multiplying {
        run: RunId,
        dealings: Vec<Dealing>,
        answers: BTreeMap<u16, core::result::Result<MaskedProduct, PeerFault>>,
    },
    Finishing {
        record: TweakRecord,
        answers: BTreeMap<u16, core::result::Result<(), PeerFault>>,
    },
    Over,
}

/// One coordination of the inversion for one [`Target`].
#[derive(Debug)]
pub struct Coordinator {
    scope: RunScope,
    target: Target,
    info: Vec<u8>,
    public: VerificationShares,
    me: u16,
    participants: Vec<u16>,
    attempts: u8,
    phase: Phase,
}

impl Coordinator {
    /// A coordination by evaluator `me` of the inversion on `target` under `public` (the key
    /// shares of `scope`'s epoch), among `candidates` (the evaluators it may ask, itself
    /// included or not: it is added).
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a domain over 255 bytes; [`Error::UnknownEvaluator`] for
    /// `me` or a candidate outside `1..=n`.
    pub fn new(
        scope: RunScope,
        target: Target,
        public: &VerificationShares,
        me: u16,
        candidates: &[u16],
    ) -> Result<Self> {
        let info = target.info()?;
        let params = public.params();
        let mut participants: Vec<u16> = candidates.iter().copied().chain([me]).collect();
        participants.sort_unstable();
        participants.dedup();
        for &index in &participants {
            params.check_index(index)?;
        }
        Ok(Self {
            scope,
            target,
            info,
            public: public.clone(),
            me,
            participants,
            attempts: 0,
            phase: Phase::Start,
        })
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The tweak's public info ([`Target::info`]).
    pub fn info(&self) -> &[u8] {
        &self.info
    }

    /// The participants still in the coordination, increasing.
    pub fn participants(&self) -> &[u16] {
        &self.participants
    }

    /// The next step, or `None` while answers to the last one are outstanding (or after
    /// [`Step::Done`] or [`Step::Failed`] was returned). `rng` draws each run's identifier.
    pub fn poll(&mut self, rng: &mut (impl CryptoRng + ?Sized)) -> Option<Step> {
        loop {
            match core::mem::replace(&mut self.phase, Phase::Over) {
                Phase::Over => return None,
                Phase::Start => return Some(self.start(rng)),
                Phase::Dealing { run, answers } => {
                    if answers.len() < self.participants.len() {
                        self.phase = Phase::Dealing { run, answers };
                        return None;
                    }
                    let failed: Vec<u16> = answers
                        .iter()
                        .filter(|(_, a)| a.is_err())
                        .map(|(i, _)| *i)
                        .collect();
                    if !failed.is_empty() {
                        self.drop_participants(&failed);
                        self.phase = Phase::Start;
                        continue;
                    }
                    let dealings: Vec<Dealing> =
                        answers.into_values().filter_map(|a| a.ok()).collect();
                    let request = ProductRequest {
                        run,
                        dealings: dealings.clone(),
                    };
                    self.phase = Phase::Multiplying {
                        run,
                        dealings,
                        answers: BTreeMap::new(),
                    };
                    return Some(Step::Multiply {
                        request,
                        to: self.participants.clone(),
                    });
                }
                Phase::Multiplying {
                    run,
                    dealings,
                    answers,
                } => {
                    if answers.len() < self.participants.len() {
                        self.phase = Phase::Multiplying {
                            run,
                            dealings,
                            answers,
                        };
                        return None;
                    }
                    match self.assemble(dealings, answers) {
                        Ok(record) => {
                            let request = FinishRequest {
                                run,
                                record: record.clone(),
                            };
                            self.phase = Phase::Finishing {
                                record,
                                answers: BTreeMap::new(),
                            };
                            return Some(Step::Finish {
                                request,
                                to: self.participants.clone(),
                            });
                        }
                        Err(Some(error)) => return Some(Step::Failed(error)),
                        Err(None) => {
                            self.phase = Phase::Start;
                            continue;
                        }
                    }
                }
                Phase::Finishing { record, answers } => {
                    if answers.len() < self.participants.len() {
                        self.phase = Phase::Finishing { record, answers };
                        return None;
                    }
                    let installed = answers.values().filter(|a| a.is_ok()).count();
                    let need = usize::from(self.public.params().t());
                    if installed < need {
                        return Some(Step::Failed(Error::TooFewShares {
                            have: installed,
                            need,
                        }));
                    }
                    return Some(Step::Done(record));
                }
            }
        }
    }

    /// Participant `index`'s answer to round one. A dealing under another dealer's index is
    /// that participant's fault.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for an index the step was not sent to or that answered
    /// already; [`Error::Malformed`] when no round one is outstanding.
    pub fn on_dealing(
        &mut self,
        index: u16,
        answer: core::result::Result<Dealing, PeerFault>,
    ) -> Result<()> {
        let answer = answer.and_then(|dealing| {
            if dealing.dealer() == index {
                Ok(dealing)
            } else {
                Err(PeerFault::Refused(Some(Error::UnknownEvaluator {
                    index: dealing.dealer(),
                })))
            }
        });
        match &mut self.phase {
            Phase::Dealing { answers, .. } => record(&self.participants, answers, index, answer),
            _ => Err(Error::Malformed),
        }
    }

    /// Participant `index`'s answer to round two. A product under another index is that
    /// participant's fault.
    ///
    /// # Errors
    /// As [`Coordinator::on_dealing`].
    pub fn on_product(
        &mut self,
        index: u16,
        answer: core::result::Result<MaskedProduct, PeerFault>,
    ) -> Result<()> {
        let answer = answer.and_then(|product| {
            if product.index == index {
                Ok(product)
            } else {
                Err(PeerFault::Refused(Some(Error::UnknownEvaluator {
                    index: product.index,
                })))
            }
        });
        match &mut self.phase {
            Phase::Multiplying { answers, .. } => {
                record(&self.participants, answers, index, answer)
            }
            _ => Err(Error::Malformed),
        }
    }

    /// Participant `index`'s answer to round three: whether it installed its share.
    ///
    /// # Errors
    /// As [`Coordinator::on_dealing`].
    pub fn on_finished(
        &mut self,
        index: u16,
        answer: core::result::Result<(), PeerFault>,
    ) -> Result<()> {
        match &mut self.phase {
            Phase::Finishing { answers, .. } => record(&self.participants, answers, index, answer),
            _ => Err(Error::Malformed),
        }
    }

    /// Starts a run, or fails when attempts or participants ran out.
    fn start(&mut self, rng: &mut (impl CryptoRng + ?Sized)) -> Step {
        let need = self.public.params().inversion_quorum();
        if self.attempts >= MAX_ATTEMPTS || self.participants.len() < need {
            return Step::Failed(Error::TooFewShares {
                have: self.participants.len(),
                need,
            });
        }
        self.attempts += 1;
        let mut run = [0u8; 16];
        rng.fill_bytes(&mut run);
        self.phase = Phase::Dealing {
            run,
            answers: BTreeMap::new(),
        };
        Step::Deal {
            request: DealRequest {
                run,
                scope: self.scope,
                target: self.target.clone(),
                participants: self.participants.clone(),
            },
            to: self.participants.clone(),
        }
    }

    /// Round two's answers into a record; `Err(None)` when participants were dropped and the
    /// run starts again, `Err(Some(e))` when the coordination fails.
    fn assemble(
        &mut self,
        dealings: Vec<Dealing>,
        answers: BTreeMap<u16, core::result::Result<MaskedProduct, PeerFault>>,
    ) -> core::result::Result<TweakRecord, Option<Error>> {
        let mut blamed = Vec::new();
        let mut products = Vec::with_capacity(answers.len());
        // The dealer the coordinator's own round two names, if any.
        let confirmed = match answers.get(&self.me) {
            Some(Err(PeerFault::Refused(Some(Error::BadDealing { dealer })))) => Some(*dealer),
            _ => None,
        };
        for (index, answer) in answers {
            match answer {
                Ok(product) => products.push(product),
                // Its own check, believed: the dealer goes.
                Err(PeerFault::Refused(Some(Error::BadDealing { dealer }))) if index == self.me => {
                    blamed.push(dealer);
                }
                // Another participant naming the dealer the coordinator's own check named is
                // a victim of that dealer, not at fault (review M1): it stays.
                Err(PeerFault::Refused(Some(Error::BadDealing { dealer })))
                    if confirmed == Some(dealer) => {}
                Err(_) => blamed.push(index),
            }
        }
        match TweakRecord::assemble(&self.public, &self.info, dealings, &products) {
            Ok((record, _)) => Ok(record),
            Err(Error::BadProduct { evaluator }) => {
                blamed.push(evaluator);
                self.drop_participants(&blamed);
                Err(None)
            }
            Err(_) if !blamed.is_empty() => {
                self.drop_participants(&blamed);
                Err(None)
            }
            Err(error) => Err(Some(error)),
        }
    }

    /// Leaves `out` out of the next run (never the coordinator itself).
    fn drop_participants(&mut self, out: &[u16]) {
        let me = self.me;
        self.participants.retain(|i| *i == me || !out.contains(i));
    }
}

/// Keeps `index`'s answer if the step was sent to it and it has not answered yet.
fn record<T>(
    participants: &[u16],
    answers: &mut BTreeMap<u16, core::result::Result<T, PeerFault>>,
    index: u16,
    answer: core::result::Result<T, PeerFault>,
) -> Result<()> {
    if !participants.contains(&index) || answers.contains_key(&index) {
        return Err(Error::UnknownEvaluator { index });
    }
    answers.insert(index, answer);
    Ok(())
}
