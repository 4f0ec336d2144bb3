//! The blindnym runner: a sample of a modelled nation's bulk pseudonymisation, end to end.
//!
//! Flow B of the design brief through the crate's own pseudonym layer (`pseudonym::flow_b`,
//! `spec/07-flow-b.md`): a data holder blinds subject identifiers, the evaluator evaluates each
//! batch under the domain's public info (POPRF) with one batched DLEQ proof, and the data
//! holder verifies, finalizes and maps the outputs to pseudonyms. Every message crosses as
//! bytes. The population is generated from indices while it streams, batch by batch, so memory
//! stays bounded whatever its size. A sample of pseudonyms is checked against the evaluator's
//! non-blind evaluation.
//!
//! It measures, in the same run: the raw curve floor of each side; every stage on a one-thread
//! rayon pool and on an all-thread pool; and projects the wall time of a nation's derivations.
//! `cargo run --release --features cli` runs the default ~30 s sample; `--smoke` a few seconds.

mod args;
mod chart;
mod evaluators;
mod keygen;
mod measure;
mod nation;
mod pkcs11;
mod progress;
mod pseudonymise;
mod report;
mod sign_key_set;
mod table;
mod threshold;
mod threshold_set;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use blindnym::hazmat::floor::Stage;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rand::RngExt as _;
use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::args::Args;
use crate::measure::{PairSpeedups, Tally, step};
use crate::nation::{Cursor, Nation, NationalFlow};
use crate::report::{Measurements, Report};

/// Any error of a run.
type Error = Box<dyn std::error::Error + Send + Sync>;

/// Batch sizes of the `--chart` sweep.
const SWEEP_BATCHES: [usize; 6] = [1, 16, 64, 256, 1024, 4096];

/// A rayon pool of `threads` threads.
fn pool(threads: usize) -> Result<ThreadPool, Error> {
    Ok(ThreadPoolBuilder::new().num_threads(threads).build()?)
}

/// Runs the measurement `args` ask for and prints the report; `Ok(false)` when the
/// verification sample found a mismatch.
fn run(args: &Args) -> Result<bool, Error> {
    let started = Instant::now();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let (population, duration, batch) = if args.smoke {
        (
            args.population.min(100_000),
            args.duration.min(3.0),
            args.batch.min(256),
        )
    } else {
        (args.population, args.duration, args.batch)
    };
    let (batch, batch_count) = (usize::try_from(batch)?, u64::from(batch));
    // A batch and its one verification sample must fit one key's budget.
    let largest = if args.chart.is_some() {
        SWEEP_BATCHES
            .iter()
            .copied()
            .max()
            .unwrap_or(batch)
            .max(batch)
    } else {
        batch
    };
    if args.epoch_budget <= u64::try_from(largest)? {
        return Err(format!(
            "--epoch-budget {} must exceed the largest batch ({largest})",
            args.epoch_budget
        )
        .into());
    }
    let population = population.max(1);
    let services = args.services.max(1);
    let duration = Duration::try_from_secs_f64(duration.max(0.5))?;
    let (one_pool, all_pool) = (pool(1)?, pool(threads)?);

    let mut rng = rand::rng();
    let nation = Nation::new(population, services);
    let mut flow = NationalFlow::new(&nation, args.epoch_budget, &mut rng)?;
    let mut cursor = Cursor::new(&nation, rng.random_range(0..population));

    let progress = ProgressBar::new_spinner();
    progress.set_style(ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {msg}: {pos} derivations ({per_sec})",
    )?);
    progress.enable_steady_tick(Duration::from_millis(120));

    // Batches alternate between the one-thread and the all-thread pool, so both see the same
    // background load (on a shared machine the clock a core gets drifts within seconds); a
    // pool's sleeping threads wake in well under a millisecond, against tens of milliseconds
    // per batch.
    progress.set_message(format!(
        "flow and floors, 1 and {threads} threads alternating"
    ));
    let (mut one, mut all) = (Tally::default(), Tally::default());
    let mut pairs = Vec::new();
    let start = Instant::now();
    while one.batches == 0 || start.elapsed() < duration {
        let one_took =
            one_pool.install(|| step(&mut flow, &nation, &mut cursor, batch, true, &mut one))?;
        let all_took =
            all_pool.install(|| step(&mut flow, &nation, &mut cursor, batch, true, &mut all))?;
        progress.inc(2 * batch_count);
        pairs.push(PairSpeedups::new(&one_took, &all_took));
    }

    let mut sweep = Vec::new();
    if args.chart.is_some() {
        let budget = Duration::from_millis(if args.smoke { 150 } else { 600 });
        for b in SWEEP_BATCHES {
            progress.set_message(format!("sweep on {threads} threads, batch {b}"));
            let mut tally = Tally::default();
            let start = Instant::now();
            while tally.batches == 0 || start.elapsed() < budget {
                all_pool.install(|| step(&mut flow, &nation, &mut cursor, b, false, &mut tally))?;
                progress.inc(u64::try_from(b)?);
            }
            sweep.push((b, tally.rate(Stage::Evaluate)));
        }
    }
    let threshold = match args.threshold {
        Some(params) => {
            progress.set_message(format!(
                "threshold {}/{} against the single evaluator, 1 thread",
                params.t(),
                params.n()
            ));
            let budget = duration / 3;
            Some(one_pool.install(|| threshold::measure(params, batch, budget))?)
        }
        None => None,
    };
    progress.finish_and_clear();

    let mut report = Report::new(&Measurements {
        threads: u32::try_from(threads)?,
        cores: args.cores,
        batch,
        population,
        services,
        one,
        all,
        pairs,
        sweep,
        elapsed_s: started.elapsed().as_secs_f64(),
        epoch_budget: args.epoch_budget,
        epochs_used: flow.epochs_used(),
    });
    report.threshold = threshold;
    let mut table = table::render(&report);
    if let Some(threshold) = &report.threshold {
        table.push_str(&threshold::render(threshold));
    }
    match args.json.as_deref() {
        Some(path) if path.as_os_str() == "-" => {
            eprint!("{table}");
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Some(path) => {
            print!("{table}");
            std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
        }
        None => print!("{table}"),
    }
    if let Some(path) = &args.chart {
        std::fs::write(path, chart::render(&report)?)?;
    }
    let ok = report.verification.mismatches == 0
        && report.threshold.as_ref().is_none_or(|t| t.mismatches == 0);
    if !ok {
        eprintln!("verification sample FAILED: blind results differ from the non-blind evaluation");
    }
    Ok(ok)
}

/// Parses the command line and runs: exit 0, 2 on a verification mismatch, 1 on an error.
fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(args::Command::Keygen(keygen)) = &args.command {
        return match keygen::run(keygen) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("blindnym keygen: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(args::Command::SignKeySet(sign)) = &args.command {
        return match sign_key_set::run(sign) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("blindnym sign-key-set: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(args::Command::HsmKey(hsm_key)) = &args.command {
        return match pkcs11::run(hsm_key) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("blindnym hsm-key: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(args::Command::Pseudonymise(pseudonymise)) = &args.command {
        return match pseudonymise::run(pseudonymise) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("blindnym pseudonymise: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("blindnym: {e}");
            ExitCode::FAILURE
        }
    }
}
