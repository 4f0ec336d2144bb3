//! The inversion coordinator driven without IO (`spec/12-threshold.md` §12.12.3): scripted
//! participants that drop out, deal badly, send a wrong product, blame others or never install,
//! and the coordinator's answer to each — who it drops, when it restarts, when it gives up.

use std::collections::BTreeMap;

use blindnym::Error;
use blindnym::curve25519_dalek::Scalar;
use blindnym::threshold::EvaluatorShares;
use blindnym::threshold::inversion::{
    Coordinator, Dealt, MAX_ATTEMPTS, MultipliedParticipant, PeerFault, PrivateShare, RunScope,
    Step, Target, TweakRecord, deal,
};

use crate::common::seeded;
use crate::support::dealt;

const DOMAIN: &[u8] = b"tax-register";

fn scope() -> RunScope {
    RunScope::new(1, b"test realm")
}

/// How a scripted participant misbehaves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Never answers round one.
    SilentInRoundOne,
    /// Does not answer round one of the given run (1, 2, …) only.
    SilentInRun(usize),
    /// Sends the coordinator (participant 1) a private share that fails its commitments.
    BadPrivateShareToCoordinator,
    /// Withholds its private shares (or sends every recipient one that fails its
    /// commitments): every honest participant's round two names it.
    BadPrivateShareToEveryone,
    /// Publishes a product whose `w` is off by one.
    WrongProduct,
    /// Refuses round two claiming that `dealer` dealt badly.
    Blames(u16),
    /// Never answers round three.
    SilentInRoundThree,
    /// Answers round one under another index.
    DealsUnderIndex(u16),
}

/// What a scripted run ended with, every run's participants, and who was left at the end.
struct Outcome {
    result: Result<TweakRecord, Error>,
    runs: Vec<Vec<u16>>,
    left: Vec<u16>,
}

/// Drives one coordination by participant 1 among all `n`, with `faults` applied at every run.
fn drive(t: u16, n: u16, faults: &[(u16, Fault)]) -> Outcome {
    let (evaluators, public) = dealt(t, n);
    let faults: BTreeMap<u16, Fault> = faults.iter().copied().collect();
    let share_of = |i: u16| &evaluators[usize::from(i) - 1];
    let target = Target::domain(DOMAIN).unwrap();
    let all: Vec<u16> = (1..=n).collect();
    let mut coordinator = Coordinator::new(scope(), target, &public.bulk, 1, &all).unwrap();
    let info = coordinator.info().to_vec();
    let mut rng = seeded(200);
    let (mut dealt_by, mut multiplied): (
        BTreeMap<u16, Dealt>,
        BTreeMap<u16, MultipliedParticipant>,
    ) = (BTreeMap::new(), BTreeMap::new());
    let mut runs = Vec::new();
    let fault = |i: u16| faults.get(&i).copied();
    loop {
        let Some(step) = coordinator.poll(&mut rng) else {
            panic!("the driver answered everything: the coordinator must have a next step");
        };
        match step {
            Step::Deal { request, to } => {
                runs.push(to.clone());
                dealt_by.clear();
                for i in to {
                    let answer = match fault(i) {
                        Some(Fault::SilentInRoundOne) => Err(PeerFault::Unreachable),
                        Some(Fault::SilentInRun(run)) if run == runs.len() => {
                            Err(PeerFault::Unreachable)
                        }
                        _ => {
                            let share: &EvaluatorShares = share_of(i);
                            let d = deal(
                                &share.bulk,
                                &public.bulk,
                                &info,
                                &request.participants,
                                &mut rng,
                            )
                            .unwrap();
                            let mut dealing = d.dealing.clone();
                            if let Some(Fault::DealsUnderIndex(other)) = fault(i) {
                                // Re-encode the same commitments under another dealer index.
                                let mut bytes = dealing.to_bytes();
                                bytes[..2].copy_from_slice(&other.to_be_bytes());
                                dealing =
                                    blindnym::threshold::inversion::Dealing::from_bytes(&bytes)
                                        .unwrap();
                            }
                            dealt_by.insert(i, d);
                            Ok(dealing)
                        }
                    };
                    coordinator.on_dealing(i, answer).unwrap();
                }
            }
            Step::Multiply { request, to } => {
                let mut inbox: BTreeMap<u16, Vec<PrivateShare>> = BTreeMap::new();
                for (&dealer, d) in &dealt_by {
                    for private in &d.privates {
                        let mut private = private.clone();
                        if (fault(dealer) == Some(Fault::BadPrivateShareToCoordinator)
                            && private.recipient() == 1)
                            || fault(dealer) == Some(Fault::BadPrivateShareToEveryone)
                        {
                            let mut bytes = private.to_bytes().to_vec();
                            bytes[4] ^= 1;
                            private = PrivateShare::from_bytes(&bytes).unwrap();
                        }
                        inbox.entry(private.recipient()).or_default().push(private);
                    }
                }
                for i in to {
                    let d = dealt_by.remove(&i).unwrap();
                    let mine = inbox.remove(&i).unwrap_or_default();
                    let answer = match fault(i) {
                        Some(Fault::Blames(dealer)) => {
                            Err(PeerFault::Refused(Some(Error::BadDealing { dealer })))
                        }
                        _ => match d.participant.multiply(&request.dealings, &mine, &mut rng) {
                            Ok((p, mut product)) => {
                                if fault(i) == Some(Fault::WrongProduct) {
                                    product.w += Scalar::ONE;
                                }
                                multiplied.insert(i, p);
                                Ok(product)
                            }
                            Err(e) => Err(PeerFault::Refused(Some(e))),
                        },
                    };
                    coordinator.on_product(i, answer).unwrap();
                }
            }
            Step::Finish { request, to } => {
                for i in to {
                    let answer = match (fault(i), multiplied.remove(&i)) {
                        (Some(Fault::SilentInRoundThree), _) | (_, None) => {
                            Err(PeerFault::Unreachable)
                        }
                        (_, Some(p)) => p
                            .finish(&request.record, &info)
                            .map(drop)
                            .map_err(|e| PeerFault::Refused(Some(e))),
                    };
                    coordinator.on_finished(i, answer).unwrap();
                }
            }
            Step::Done(record) => {
                return Outcome {
                    result: Ok(record),
                    runs,
                    left: coordinator.participants().to_vec(),
                };
            }
            Step::Failed(error) => {
                return Outcome {
                    result: Err(error),
                    runs,
                    left: coordinator.participants().to_vec(),
                };
            }
            _ => unreachable!("no other step"),
        }
    }
}

#[test]
fn an_honest_set_finishes_in_one_run() {
    let outcome = drive(2, 4, &[]);
    let record = outcome.result.unwrap();
    assert_eq!(outcome.runs, vec![vec![1, 2, 3, 4]]);
    assert_eq!(record.participants(), vec![1, 2, 3, 4]);
}

#[test]
fn a_participant_silent_in_round_one_is_dropped_and_the_run_restarts() {
    let outcome = drive(2, 4, &[(3, Fault::SilentInRoundOne)]);
    assert!(outcome.result.is_ok());
    assert_eq!(outcome.runs, vec![vec![1, 2, 3, 4], vec![1, 2, 4]]);
}

#[test]
fn a_dealing_under_another_index_is_its_senders_fault() {
    let outcome = drive(2, 4, &[(2, Fault::DealsUnderIndex(4))]);
    assert!(outcome.result.is_ok());
    assert_eq!(outcome.runs, vec![vec![1, 2, 3, 4], vec![1, 3, 4]]);
}

#[test]
fn a_dealer_the_coordinators_own_check_blames_is_dropped() {
    // With no spare participant, the coordinator's own round two names dealer 3: 3 goes, and
    // two are too few for another run.
    let outcome = drive(2, 3, &[(3, Fault::BadPrivateShareToCoordinator)]);
    assert_eq!(outcome.left, vec![1, 2]);
    assert_eq!(
        outcome.result.err(),
        Some(Error::TooFewShares { have: 2, need: 3 })
    );
    // With a spare, the record is assembled from the others' products and nobody is dropped.
    let outcome = drive(2, 4, &[(4, Fault::BadPrivateShareToCoordinator)]);
    assert!(outcome.result.is_ok());
    assert_eq!(outcome.runs.len(), 1);
}

/// Review M1: a dealer that withholds its private shares from everyone makes every honest
/// participant name it. The coordinator's own round two names it too, so it goes and the
/// honest reporters stay: the next run, without it, finishes.
#[test]
fn a_dealer_everyone_names_goes_and_its_victims_stay() {
    let outcome = drive(2, 4, &[(4, Fault::BadPrivateShareToEveryone)]);
    assert_eq!(outcome.runs, vec![vec![1, 2, 3, 4], vec![1, 2, 3]]);
    assert_eq!(outcome.left, vec![1, 2, 3]);
    assert_eq!(outcome.result.unwrap().participants(), vec![1, 2, 3]);
}

#[test]
fn a_wrong_product_is_left_out_and_with_no_spare_the_run_restarts_without_it() {
    // n = 4, quorum 3: the wrong product is left out of the record, no restart.
    let outcome = drive(2, 4, &[(2, Fault::WrongProduct)]);
    let record = outcome.result.unwrap();
    assert_eq!(outcome.runs, vec![vec![1, 2, 3, 4]]);
    assert_eq!(record.participants(), vec![1, 2, 3, 4]);
    // n = 3, quorum 3: assembly names it, the run restarts with two, and the coordination
    // fails for too few.
    let outcome = drive(2, 3, &[(2, Fault::WrongProduct)]);
    assert_eq!(outcome.runs, vec![vec![1, 2, 3]]);
    assert_eq!(
        outcome.result.err(),
        Some(Error::TooFewShares { have: 2, need: 3 })
    );
}

#[test]
fn a_participants_word_against_another_drops_only_itself() {
    // Participant 3 claims that 2 dealt badly: only the coordinator's own checks are believed,
    // so 3 goes and 2 stays.
    let outcome = drive(2, 3, &[(3, Fault::Blames(2))]);
    assert_eq!(outcome.left, vec![1, 2]);
    assert!(outcome.result.is_err());
    // A coordinator is never dropped, whoever blames it.
    let outcome = drive(2, 4, &[(2, Fault::Blames(1)), (3, Fault::Blames(1))]);
    assert_eq!(outcome.left, vec![1, 4]);
}

#[test]
fn too_few_installs_fail_the_coordination() {
    let outcome = drive(
        3,
        5,
        &[
            (2, Fault::SilentInRoundThree),
            (3, Fault::SilentInRoundThree),
            (4, Fault::SilentInRoundThree),
        ],
    );
    assert_eq!(
        outcome.result.err(),
        Some(Error::TooFewShares { have: 2, need: 3 })
    );
}

#[test]
fn the_coordinator_gives_up_after_its_attempts() {
    // One participant silent in each run: runs 1 to 4 each lose one, and no fifth is started
    // although a quorum (3 of t = 2) is still there.
    let faults: Vec<(u16, Fault)> = (2..=6)
        .map(|i| (i, Fault::SilentInRun(usize::from(i) - 1)))
        .collect();
    let outcome = drive(2, 9, &faults);
    assert_eq!(outcome.runs.len(), usize::from(MAX_ATTEMPTS));
    assert_eq!(outcome.left, vec![1, 6, 7, 8, 9]);
    assert_eq!(
        outcome.result.err(),
        Some(Error::TooFewShares { have: 5, need: 3 })
    );
}

#[test]
fn answers_out_of_turn_or_twice_are_refused() {
    let (_, public) = dealt(2, 3);
    let mut coordinator = Coordinator::new(
        scope(),
        Target::domain(DOMAIN).unwrap(),
        &public.bulk,
        1,
        &[1, 2, 3],
    )
    .unwrap();
    // Nothing sent yet.
    assert_eq!(coordinator.on_finished(2, Ok(())), Err(Error::Malformed));
    let mut rng = seeded(201);
    let Some(Step::Deal { to, .. }) = coordinator.poll(&mut rng) else {
        panic!("round one first");
    };
    assert_eq!(to, vec![1, 2, 3]);
    // Waiting on answers: no step.
    assert!(coordinator.poll(&mut rng).is_none());
    assert_eq!(
        coordinator.on_dealing(7, Err(PeerFault::Unreachable)),
        Err(Error::UnknownEvaluator { index: 7 })
    );
    coordinator
        .on_dealing(2, Err(PeerFault::Unreachable))
        .unwrap();
    assert_eq!(
        coordinator.on_dealing(2, Err(PeerFault::Unreachable)),
        Err(Error::UnknownEvaluator { index: 2 })
    );
    assert_eq!(
        Coordinator::new(
            scope(),
            Target::domain(DOMAIN).unwrap(),
            &public.bulk,
            1,
            &[1, 9]
        )
        .err(),
        Some(Error::UnknownEvaluator { index: 9 })
    );
}
