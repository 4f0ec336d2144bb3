//! Measurement: per-stage tallies, one timed batch of the flow with its floor round, and the
//! per-pair speedups with their percentile spread.

use std::ops::{Index, IndexMut};
use std::time::{Duration, Instant};

use blindnym::hazmat::floor::{Floor, Stage};
use blindnym::pseudonym::bulk::{self, BatchResponse};
use blindnym::{BlindedElement, ELEMENT_LEN, EvaluatedElement, Mode};
use rand::RngExt as _;
use serde::{Serialize, Serializer};

use crate::Error;
use crate::nation::{Cursor, Nation, NationalFlow};

/// Most elements of a batch the interleaved floor round uses: the round covers the whole of a
/// batch up to this size, so floor and stages work in bursts of the same length.
const FLOOR_ELEMENTS: usize = 4096;

/// One value per protocol stage.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct PerStage<T> {
    /// The value for [`Stage::Blind`].
    blind: T,
    /// The value for [`Stage::Evaluate`].
    evaluate: T,
    /// The value for [`Stage::Finalize`].
    finalize: T,
}

impl<T> PerStage<T> {
    /// The values `f(stage)` for every stage.
    pub fn from_fn(mut f: impl FnMut(Stage) -> T) -> Self {
        Self {
            blind: f(Stage::Blind),
            evaluate: f(Stage::Evaluate),
            finalize: f(Stage::Finalize),
        }
    }

    /// The stages and their values, in protocol order.
    pub fn iter(&self) -> impl Iterator<Item = (Stage, &T)> {
        Stage::ALL
            .into_iter()
            .map(move |stage| (stage, &self[stage]))
    }
}

impl<T> Index<Stage> for PerStage<T> {
    type Output = T;

    fn index(&self, stage: Stage) -> &T {
        match stage {
            Stage::Blind => &self.blind,
            Stage::Evaluate => &self.evaluate,
            Stage::Finalize => &self.finalize,
        }
    }
}

impl<T> IndexMut<Stage> for PerStage<T> {
    fn index_mut(&mut self, stage: Stage) -> &mut T {
        match stage {
            Stage::Blind => &mut self.blind,
            Stage::Evaluate => &mut self.evaluate,
            Stage::Finalize => &mut self.finalize,
        }
    }
}

/// Serialized as a list in protocol order.
impl<T: Serialize> Serialize for PerStage<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(|(_, value)| value))
    }
}

/// `count` per second of `time` (a zero time counts as a picosecond).
fn per_second(count: u64, time: Duration) -> f64 {
    // u64 → f64 is exact below 2^53, far beyond any count here.
    count as f64 / time.as_secs_f64().max(1e-12)
}

/// Time spent per stage and derivations completed, for one pool; and the time the raw curve
/// floor of each stage took on elements of the same batches, interleaved with them.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Time in each stage of the flow.
    pub stage: PerStage<Duration>,
    /// Time in each stage's floor round.
    pub floor: PerStage<Duration>,
    /// Elements the floor rounds worked on (each round runs every stage on them).
    pub floor_elements: u64,
    /// Derivations completed (subjects × domains).
    pub derivations: u64,
    /// Batches completed.
    pub batches: u64,
    /// Sampled outputs equal to the non-blind evaluation.
    pub verified: u64,
    /// Sampled outputs that differ from it.
    pub mismatches: u64,
}

impl Tally {
    /// Derivations per second of a stage.
    pub fn rate(&self, stage: Stage) -> f64 {
        per_second(self.derivations, self.stage[stage])
    }

    /// Elements per second of the raw curve floor of a stage.
    pub fn floor_rate(&self, stage: Stage) -> f64 {
        per_second(self.floor_elements, self.floor[stage])
    }

    /// Derivations per second of the whole flow (all stages back to back).
    pub fn flow_rate(&self) -> f64 {
        per_second(self.derivations, self.stage.iter().map(|(_, t)| *t).sum())
    }
}

/// Runs one batch of the flow on the current rayon pool into `tally`, verifying one random
/// element against the non-blind evaluation (outside the timed stages), and returns the time
/// each stage took. With `floors`, the batch is followed by a round of the raw curve floors on
/// its own elements (up to [`FLOOR_ELEMENTS`]), so stage and floor see the same machine load.
pub fn step(
    flow: &mut NationalFlow,
    nation: &Nation,
    cursor: &mut Cursor,
    batch: usize,
    floors: bool,
    tally: &mut Tally,
) -> Result<PerStage<Duration>, Error> {
    let mut rng = rand::rng();
    let count = u64::try_from(batch)?;
    let (subjects, domain_index) = cursor.next(nation, count);
    let domain = nation.domain(domain_index)?;
    // The batch and the verification sample's one direct evaluation; rotation is off the clock.
    flow.rotate_if_needed(count + 1)?;
    let flow = &*flow;

    let mut took = PerStage::<Duration>::default();
    let t = Instant::now();
    let (pending, request, request_bytes) = flow.blind(domain_index, &subjects, &mut rng)?;
    took[Stage::Blind] = t.elapsed();

    let t = Instant::now();
    let response = flow.evaluate(&request_bytes, &mut rng)?;
    took[Stage::Evaluate] = t.elapsed();

    let t = Instant::now();
    let outputs = flow.finalize(domain_index, &pending, &response)?;
    took[Stage::Finalize] = t.elapsed();
    for (stage, time) in took.iter() {
        tally.stage[stage] += *time;
    }

    if floors {
        // The floor works on the same framed inputs and wire elements (with throwaway scalars
        // in place of the private blinds and key: its cost does not depend on their values).
        let inputs = subjects
            .iter()
            .take(FLOOR_ELEMENTS)
            .map(|s| bulk::identity_input(s))
            .collect::<Result<Vec<_>, _>>()?;
        let evaluated: Vec<[u8; ELEMENT_LEN]> = BatchResponse::from_bytes(&response)?
            .evaluated
            .iter()
            .take(FLOOR_ELEMENTS)
            .map(EvaluatedElement::to_bytes)
            .collect();
        let encodings: Vec<[u8; ELEMENT_LEN]> = request
            .blinded()
            .iter()
            .take(FLOOR_ELEMENTS)
            .map(BlindedElement::to_bytes)
            .collect();
        let floor = Floor::new(Mode::Poprf, &inputs, &encodings, &evaluated, &mut rng)?;
        for stage in Stage::ALL {
            let t = Instant::now();
            floor.run(stage);
            tally.floor[stage] += t.elapsed();
        }
        tally.floor_elements += u64::try_from(floor.len())?;
    }

    let i = rng.random_range(0..subjects.len().min(outputs.len()).max(1));
    match (outputs.get(i), subjects.get(i)) {
        (Some(output), Some(subject)) if *output == flow.reference(subject, domain)? => {
            tally.verified += 1;
        }
        _ => tally.mismatches += 1,
    }
    tally.derivations += count;
    tally.batches += 1;
    Ok(took)
}

/// The all-thread speedup of one pair of batches (one on each pool, back to back).
#[derive(Debug, Clone, Copy)]
pub struct PairSpeedups {
    /// One-thread time over all-thread time, per stage.
    pub stages: PerStage<f64>,
    /// The same for the whole flow (all stages summed).
    pub flow: f64,
}

impl PairSpeedups {
    /// The speedups of a pair from each pool's stage times.
    pub fn new(one: &PerStage<Duration>, all: &PerStage<Duration>) -> Self {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-12);
        let total = |t: &PerStage<Duration>| t.iter().map(|(_, d)| *d).sum::<Duration>();
        Self {
            stages: PerStage::from_fn(|stage| ratio(one[stage], all[stage])),
            flow: ratio(total(one), total(all)),
        }
    }
}

/// Median and 10th and 90th percentiles (nearest rank) of a sample; NaN when it is empty.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// The median.
    pub median: f64,
    /// The 10th percentile.
    pub p10: f64,
    /// The 90th percentile.
    pub p90: f64,
}

impl Spread {
    /// The spread of `values`.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut values: Vec<f64> = values.into_iter().collect();
        values.sort_by(f64::total_cmp);
        // Nearest rank: index round((n − 1) · percent / 100), halves rounding up.
        let at = |percent: usize| {
            let rank = (values.len().saturating_sub(1) * percent + 50) / 100;
            values.get(rank).copied().unwrap_or(f64::NAN)
        };
        Self {
            median: at(50),
            p10: at(10),
            p90: at(90),
        }
    }
}

impl std::fmt::Display for Spread {
    /// `median [p10–p90]`, two decimals.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2} [{:.2}–{:.2}]", self.median, self.p10, self.p90)
    }
}
