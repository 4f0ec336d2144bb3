//! The report: every figure of a run, computed once from the tallies, serialized as the JSON
//! document and read by the table and the chart.

use blindnym::hazmat::floor::Stage;
use serde::Serialize;

use crate::measure::{PairSpeedups, PerStage, Spread, Tally};

/// Derivations of a nation: 1.4·10^9 people × 10 services.
pub const NATION_DERIVATIONS: f64 = 1.4e10;

/// What a run measured, and the settings it ran under.
#[derive(Debug, Clone)]
pub struct Measurements {
    /// Threads of the all-thread pool.
    pub threads: u32,
    /// Cores the nation's wall time is projected onto.
    pub cores: u32,
    /// Elements per batch.
    pub batch: usize,
    /// Modelled population.
    pub population: u64,
    /// Services per subject.
    pub services: u32,
    /// The one-thread pool's tally.
    pub one: Tally,
    /// The all-thread pool's tally.
    pub all: Tally,
    /// The speedup of each back-to-back pair of batches.
    pub pairs: Vec<PairSpeedups>,
    /// Evaluate's derivations per second on all threads, by batch size.
    pub sweep: Vec<(usize, f64)>,
    /// Wall seconds of the whole run.
    pub elapsed_s: f64,
    /// Evaluations each epoch key may do.
    pub epoch_budget: u64,
    /// Epochs the run went through.
    pub epochs_used: u32,
}

/// A value on the one-thread pool and on the all-thread pool.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PerPool<T> {
    /// On one thread.
    pub one_thread: T,
    /// On all threads.
    pub all_threads: T,
}

/// The verification sample: one element per batch against the non-blind evaluation.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Verification {
    /// Elements checked.
    pub sampled: u64,
    /// Elements that differed.
    pub mismatches: u64,
}

/// How one throughput scales from one thread to all, and what that makes of a nation.
#[derive(Debug, Clone, Copy)]
struct Scaling {
    /// All-thread rate over one-thread rate.
    speedup: f64,
    /// Speedup per thread.
    efficiency: f64,
    /// Wall seconds of the nation on this machine's threads.
    nation_here_s: f64,
    /// Wall seconds of the nation on the projection cores: per-core rate × cores × the
    /// measured efficiency (at most 1).
    nation_on_cores_s: f64,
}

impl Scaling {
    /// The scaling of rates `one` and `all` (per second) on `threads` threads, projected on
    /// `cores` cores.
    fn new(one: f64, all: f64, threads: u32, cores: u32) -> Self {
        let speedup = all / one;
        let efficiency = speedup / f64::from(threads);
        Self {
            speedup,
            efficiency,
            nation_here_s: NATION_DERIVATIONS / all,
            nation_on_cores_s: NATION_DERIVATIONS / (one * f64::from(cores) * efficiency.min(1.0)),
        }
    }
}

/// The figures of one stage.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    /// The stage's name.
    pub stage: &'static str,
    /// Derivations per second on one thread.
    pub per_core_per_s: f64,
    /// Derivations per second on all threads.
    pub all_cores_per_s: f64,
    /// Floor elements per second on one thread.
    pub floor_per_core_per_s: f64,
    /// Floor elements per second on all threads.
    pub floor_all_cores_per_s: f64,
    /// Cost per element over the floor's, on one thread.
    pub cost_vs_floor_one_thread: f64,
    /// Cost per element over the floor's, on all threads.
    pub cost_vs_floor_all_threads: f64,
    /// All threads over one, over all batches.
    pub speedup: f64,
    /// The speedup's spread over the back-to-back pairs of batches.
    pub speedup_per_pair: Spread,
    /// The floor's own all-thread speedup.
    pub floor_speedup: f64,
    /// Speedup per thread.
    pub parallel_efficiency: f64,
    /// Wall seconds of the nation's derivations on this machine's threads.
    pub nation_wall_s_this_machine: f64,
    /// Wall seconds of the nation's derivations projected on the projection cores.
    pub nation_wall_s_on_cores: f64,
    /// Core-hours of the nation's derivations at the one-thread rate.
    pub nation_core_hours: f64,
}

/// The figures of the whole flow (all stages back to back).
#[derive(Debug, Clone, Serialize)]
pub struct FlowReport {
    /// Derivations per second on one thread.
    pub per_core_per_s: f64,
    /// Derivations per second on all threads.
    pub all_cores_per_s: f64,
    /// Speedup per thread.
    pub parallel_efficiency: f64,
    /// The speedup's spread over the back-to-back pairs of batches.
    pub speedup_per_pair: Spread,
    /// All threads over one, over all batches (table only).
    #[serde(skip)]
    pub speedup: f64,
    /// Wall seconds of the nation on this machine's threads (table only).
    #[serde(skip)]
    pub nation_wall_s_this_machine: f64,
    /// Wall seconds of the nation projected on the projection cores (table only).
    #[serde(skip)]
    pub nation_wall_s_on_cores: f64,
}

/// Evaluate's all-thread throughput at one batch size.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SweepPoint {
    /// Elements per batch.
    pub batch: usize,
    /// Derivations per second.
    pub per_s: f64,
}

/// The report of a run; its serialization is the `--json` document.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The flow measured.
    pub flow: &'static str,
    /// The OPRF suite.
    pub suite: &'static str,
    /// Threads of the all-thread pool.
    pub threads: u32,
    /// Cores the nation is projected onto.
    pub projection_cores: u32,
    /// Elements per batch.
    pub batch: usize,
    /// Modelled population.
    pub population: u64,
    /// Services per subject.
    pub services: u32,
    /// Derivations of the modelled nation.
    pub nation_derivations: f64,
    /// Wall seconds of the whole run.
    pub elapsed_s: f64,
    /// Derivations completed on each pool.
    pub derivations: PerPool<u64>,
    /// The verification sample.
    pub verification: Verification,
    /// Elements the floor rounds worked on, on each pool.
    pub floor_elements: PerPool<u64>,
    /// The figures of each stage, in protocol order.
    pub stages: PerStage<StageReport>,
    /// The figures of the whole flow.
    pub flow_end_to_end: FlowReport,
    /// Back-to-back pairs of batches.
    pub pairs: usize,
    /// Evaluate's all-thread throughput by batch size (with `--chart`).
    pub batch_sweep_evaluate_all_cores_per_s: Vec<SweepPoint>,
    /// Key rotation: the per-key budget, the epochs this run used, and the epochs a nation's
    /// derivations need at that budget (`spec/04-keys.md` §4.3).
    pub keys: KeysReport,
    /// Threshold mode against the single evaluator (with `--threshold`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<crate::threshold::ThresholdReport>,
}

/// Key rotation figures.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct KeysReport {
    /// Evaluations each epoch key may do.
    pub epoch_budget: u64,
    /// Epochs this run went through.
    pub epochs_used: u32,
    /// Epochs the nation's derivations need at this budget.
    pub nation_epochs_needed: f64,
}

impl Report {
    /// The report of a run.
    pub fn new(run: &Measurements) -> Self {
        let (one, all) = (&run.one, &run.all);
        let scaling = |one, all| Scaling::new(one, all, run.threads, run.cores);
        let stage = |stage: Stage| {
            let (rate_one, rate_all) = (one.rate(stage), all.rate(stage));
            let (floor_one, floor_all) = (one.floor_rate(stage), all.floor_rate(stage));
            let scaled = scaling(rate_one, rate_all);
            StageReport {
                stage: stage.name(),
                per_core_per_s: rate_one,
                all_cores_per_s: rate_all,
                floor_per_core_per_s: floor_one,
                floor_all_cores_per_s: floor_all,
                cost_vs_floor_one_thread: floor_one / rate_one,
                cost_vs_floor_all_threads: floor_all / rate_all,
                speedup: scaled.speedup,
                speedup_per_pair: Spread::of(run.pairs.iter().map(|p| p.stages[stage])),
                floor_speedup: floor_all / floor_one,
                parallel_efficiency: scaled.efficiency,
                nation_wall_s_this_machine: scaled.nation_here_s,
                nation_wall_s_on_cores: scaled.nation_on_cores_s,
                nation_core_hours: NATION_DERIVATIONS / rate_one / 3600.0,
            }
        };
        let (flow_one, flow_all) = (one.flow_rate(), all.flow_rate());
        let flow = scaling(flow_one, flow_all);
        Self {
            flow: "B (POPRF: public info = domain, private input = framed subject id)",
            suite: "ristretto255-SHA512",
            threads: run.threads,
            projection_cores: run.cores,
            batch: run.batch,
            population: run.population,
            services: run.services,
            nation_derivations: NATION_DERIVATIONS,
            elapsed_s: run.elapsed_s,
            derivations: PerPool {
                one_thread: one.derivations,
                all_threads: all.derivations,
            },
            verification: Verification {
                sampled: one.verified + all.verified + one.mismatches + all.mismatches,
                mismatches: one.mismatches + all.mismatches,
            },
            floor_elements: PerPool {
                one_thread: one.floor_elements,
                all_threads: all.floor_elements,
            },
            stages: PerStage::from_fn(stage),
            flow_end_to_end: FlowReport {
                per_core_per_s: flow_one,
                all_cores_per_s: flow_all,
                parallel_efficiency: flow.efficiency,
                speedup_per_pair: Spread::of(run.pairs.iter().map(|p| p.flow)),
                speedup: flow.speedup,
                nation_wall_s_this_machine: flow.nation_here_s,
                nation_wall_s_on_cores: flow.nation_on_cores_s,
            },
            pairs: run.pairs.len(),
            keys: KeysReport {
                epoch_budget: run.epoch_budget,
                epochs_used: run.epochs_used,
                // u64 → f64 is exact enough here: a budget is a count of evaluations.
                nation_epochs_needed: (NATION_DERIVATIONS / run.epoch_budget.max(1) as f64).ceil(),
            },
            batch_sweep_evaluate_all_cores_per_s: run
                .sweep
                .iter()
                .map(|&(batch, per_s)| SweepPoint { batch, per_s })
                .collect(),
            threshold: None,
        }
    }
}
