//! The command line.

use std::path::PathBuf;

use blindnym::MAX_BATCH;
use blindnym::pseudonym::DEFAULT_EVALUATION_BUDGET;
use clap::{Parser, Subcommand};

use crate::pseudonymise::PseudonymiseArgs;

/// Runs a sample of a modelled nation's pairwise-pseudonym derivations and reports throughput
/// against the curve library's own floor.
#[derive(Parser, Debug)]
#[command(name = "blindnym", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Args {
    /// Without a command: the national-scale runner (the flags below).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Modelled population (subjects); generated while streaming, never stored.
    #[arg(long, default_value_t = 1_400_000_000)]
    pub population: u64,
    /// Services (POPRF domains) per subject.
    #[arg(long, default_value_t = 10)]
    pub services: u32,
    /// Elements per batch (one proof each), 1..=65535.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=max_batch()))]
    pub batch: u32,
    /// Seconds the whole run should take (floors, one-thread and all-thread phases).
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// Threads of the "all cores" pool [default: every core].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Cores to project the nation's wall time onto.
    #[arg(long, default_value_t = 64)]
    pub cores: u32,
    /// Evaluations each epoch key may do before the evaluator rotates to the next epoch
    /// (the key's budget, `spec/04-keys.md` §4.3) [default: 2^40].
    #[arg(long, default_value_t = DEFAULT_EVALUATION_BUDGET)]
    pub epoch_budget: u64,
    /// Also measure threshold mode `T/N` (e.g. `2/3`) against the single evaluator in the same
    /// run, on one thread: share answers, the data holder's combine and the inversion
    /// (`spec/12-threshold.md`).
    #[arg(long, value_name = "T/N", value_parser = crate::threshold::parse)]
    pub threshold: Option<blindnym::threshold::Threshold>,
    /// A run of a few seconds for CI (small population, 3 s).
    #[arg(long)]
    pub smoke: bool,
    /// Write the results as one JSON document to PATH, or to stdout (the table then goes to
    /// stderr) when PATH is omitted.
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "-")]
    pub json: Option<PathBuf>,
    /// Write an SVG chart of throughput against cores and batch size (adds a short batch-size
    /// sweep).
    #[arg(long, value_name = "PATH.svg")]
    pub chart: Option<PathBuf>,
}

/// [`MAX_BATCH`] as the `i64` bound clap's range takes.
fn max_batch() -> i64 {
    i64::try_from(MAX_BATCH).unwrap_or(i64::MAX)
}

/// What else `blindnym` does besides the runner.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Pseudonymise one column of a CSV or JSON Lines register through an evaluator service,
    /// verifying every proof; resumes after a crash from the last completed batch.
    Pseudonymise(PseudonymiseArgs),
    /// Make a caller's request key (mode 0600) and print its public key for the evaluators'
    /// `[[callers]]`.
    Keygen(crate::keygen::KeygenArgs),
    /// The key-set signer's command (on the signer's machine): sign the epochs an evaluator
    /// exported, with those of the previous set, under the next sequence number.
    SignKeySet(crate::sign_key_set::SignKeySetArgs),
    /// Make the key-set signer's Ed25519 key pair on a PKCS#11 token (never extractable) and
    /// print its verifying key, the anchor to pin.
    HsmKey(crate::pkcs11::HsmKeyArgs),
}
