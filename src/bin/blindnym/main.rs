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

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use blindnym::curve25519_dalek::ristretto::CompressedRistretto;
use blindnym::curve25519_dalek::scalar::Scalar;
use blindnym::pseudonym::flow_b::{self, BatchResponse, BlindBatch};
use blindnym::pseudonym::{EvaluatorKeys, Pseudonym, PublishedKeys, RootSeed};
use blindnym::hazmat::{hash_to_group, random_scalar};
use blindnym::{BlindedElement, ELEMENT_LEN, MAX_BATCH, Mode};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng as _;
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

/// Derivations of a nation: 1.4·10^9 people × 10 services.
const NATION_DERIVATIONS: f64 = 1.4e10;

/// Runs a sample of a modelled nation's pairwise-pseudonym derivations and reports throughput
/// against the curve library's own floor.
#[derive(Parser, Debug)]
#[command(name = "blindnym", version, about, long_about = None)]
struct Args {
    /// Modelled population (subjects); generated while streaming, never stored.
    #[arg(long, default_value_t = 1_400_000_000)]
    population: u64,
    /// Services (POPRF domains) per subject.
    #[arg(long, default_value_t = 10)]
    services: u32,
    /// Elements per batch (one proof each), 1..=65535.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=MAX_BATCH as i64))]
    batch: u32,
    /// Seconds the whole run should take (floors, one-thread and all-thread phases).
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Threads of the "all cores" pool [default: every core].
    #[arg(long)]
    threads: Option<usize>,
    /// Cores to project the nation's wall time onto.
    #[arg(long, default_value_t = 64)]
    cores: u32,
    /// A run of a few seconds for CI (small population, 3 s).
    #[arg(long)]
    smoke: bool,
    /// Write the results as one JSON document to PATH, or to stdout (the table then goes to
    /// stderr) when PATH is omitted.
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "-")]
    json: Option<PathBuf>,
    /// Write an SVG chart of throughput against cores and batch size (adds a short batch-size
    /// sweep).
    #[arg(long, value_name = "PATH.svg")]
    chart: Option<PathBuf>,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

// ---------------------------------------------------------------------------------------------
// The modelled nation.

/// The realm and epoch of the modelled evaluator's keys.
const REALM: &[u8] = b"blindnym runner";
const EPOCH: u32 = 1;
/// Identifiers are 18 digits: a region-like prefix and 17 digits from a bijection of the index.
const ID_SPACE: u128 = 100_000_000_000_000_000;
/// Multiplier coprime to 10^17, so `index ↦ index·M mod 10^17` is a bijection.
const ID_MIX: u128 = 25_214_903_917;

/// The population, generated on demand from an index.
struct Nation {
    population: u64,
    domains: Vec<Vec<u8>>,
}

impl Nation {
    fn new(population: u64, services: u32) -> Self {
        let domains = (0..services)
            .map(|s| format!("service-{s:03}.example").into_bytes())
            .collect();
        Self {
            population,
            domains,
        }
    }

    /// The identifier of subject `index` (an 18-digit resident-number-like string).
    fn subject(&self, index: u64) -> Vec<u8> {
        let mixed = (u128::from(index) * ID_MIX) % ID_SPACE;
        format!("1{mixed:017}").into_bytes()
    }
}

/// Streams (subjects, domain) batches: `batch` consecutive subjects from a random start,
/// wrapping around the population, for each domain in turn.
struct Cursor {
    next_subject: u64,
    domain: usize,
}

impl Cursor {
    fn next(&mut self, nation: &Nation, batch: usize) -> (Vec<Vec<u8>>, usize) {
        let start = self.next_subject;
        // Generated on the pool like the stages (off the clock), so no core idles between
        // batches.
        let inputs = (0..batch as u64)
            .into_par_iter()
            .map(|j| nation.subject((start + j) % nation.population))
            .collect();
        let domain = self.domain;
        self.domain += 1;
        if self.domain == nation.domains.len() {
            self.domain = 0;
            self.next_subject = (start + batch as u64) % nation.population;
        }
        (inputs, domain)
    }
}

// ---------------------------------------------------------------------------------------------
// The flow: `pseudonym::flow_b`, each call taking and returning what crosses the wire.

/// One evaluator (per-epoch keys from a fresh root seed) and one data holder per domain, all
/// trusting the evaluator's published key set.
struct NationalFlow {
    evaluator: flow_b::Evaluator,
    holders: Vec<flow_b::DataHolder>,
}

impl NationalFlow {
    fn new(nation: &Nation, rng: &mut rand::rngs::ThreadRng) -> Result<Self, Error> {
        let root = RootSeed::generate(rng);
        let evaluator = flow_b::Evaluator::new(EvaluatorKeys::derive(&root, REALM, EPOCH)?);
        let published = PublishedKeys::derive(&root, REALM, &[EPOCH])?;
        let holders = nation
            .domains
            .iter()
            .map(|domain| flow_b::DataHolder::new(published.clone(), domain))
            .collect::<Result<_, _>>()?;
        Ok(Self { evaluator, holders })
    }

    /// Data holder: blind a batch; the request is the blinded elements' encodings.
    fn blind(
        &self,
        domain: usize,
        subjects: &[Vec<u8>],
        rng: &mut rand::rngs::ThreadRng,
    ) -> Result<(BlindBatch, Vec<[u8; ELEMENT_LEN]>), Error> {
        let batch = self.holders[domain].blind_batch(subjects, rng)?;
        let request = batch
            .blinded()
            .iter()
            .map(BlindedElement::to_bytes)
            .collect();
        Ok((batch, request))
    }

    /// Evaluator: decode the request, evaluate under the domain with one batched proof, encode.
    fn evaluate(
        &self,
        request: &[[u8; ELEMENT_LEN]],
        domain: &[u8],
        rng: &mut rand::rngs::ThreadRng,
    ) -> Result<Vec<u8>, Error> {
        let blinded = BlindedElement::from_bytes_batch(request)?;
        Ok(self
            .evaluator
            .evaluate_batch(domain, &blinded, rng)?
            .to_bytes()?)
    }

    /// Data holder: decode the response, verify the proof, unblind, finalize, map to pseudonyms.
    fn finalize(
        &self,
        domain: usize,
        batch: &BlindBatch,
        response: &[u8],
    ) -> Result<Vec<Pseudonym>, Error> {
        let response = BatchResponse::from_bytes(response)?;
        Ok(self.holders[domain].finalize_batch(batch, &response)?)
    }

    /// The evaluator's non-blind evaluation, for the verification sample.
    fn reference(&self, subject: &[u8], domain: &[u8]) -> Result<Pseudonym, Error> {
        Ok(self.evaluator.evaluate_direct(domain, subject)?)
    }
}

// ---------------------------------------------------------------------------------------------
// Measurement.

const STAGES: [&str; 3] = ["blind", "evaluate", "finalize"];

/// Time spent per stage and derivations completed, for one pool; and the time the raw curve
/// floor of each stage took on elements of the same batches, interleaved with them.
#[derive(Default, Clone)]
struct Tally {
    stage: [Duration; 3],
    floor: [Duration; 3],
    floor_elements: u64,
    derivations: u64,
    batches: u64,
    verified: u64,
    mismatches: u64,
}

impl Tally {
    /// Derivations per second of a stage.
    fn rate(&self, stage: usize) -> f64 {
        self.derivations as f64 / self.stage[stage].as_secs_f64().max(1e-12)
    }

    /// Elements per second of the raw curve floor of a stage.
    fn floor_rate(&self, stage: usize) -> f64 {
        self.floor_elements as f64 / self.floor[stage].as_secs_f64().max(1e-12)
    }

    /// Derivations per second of the whole flow (all stages back to back).
    fn flow_rate(&self) -> f64 {
        let total: Duration = self.stage.iter().sum();
        self.derivations as f64 / total.as_secs_f64().max(1e-12)
    }
}

/// Runs one batch of the flow on the current rayon pool into `tally`, verifying one random
/// element against the non-blind evaluation (outside the timed stages), and returns the time
/// each stage took. With `floors`, the batch is followed by a round of the raw curve floors on
/// its own elements (up to [`FLOOR_ELEMENTS`]), so stage and floor see the same machine load.
fn step(
    flow: &NationalFlow,
    nation: &Nation,
    cursor: &mut Cursor,
    batch: usize,
    floors: bool,
    tally: &mut Tally,
) -> Result<[Duration; 3], Error> {
    let mut rng = rand::rng();
    let (subjects, domain_index) = cursor.next(nation, batch);
    let domain = &nation.domains[domain_index];

    let mut took = [Duration::ZERO; 3];
    let t = Instant::now();
    let (pending, request) = flow.blind(domain_index, &subjects, &mut rng)?;
    took[0] = t.elapsed();

    let t = Instant::now();
    let response = flow.evaluate(&request, domain, &mut rng)?;
    took[1] = t.elapsed();

    let t = Instant::now();
    let outputs = flow.finalize(domain_index, &pending, &response)?;
    took[2] = t.elapsed();
    for (total, time) in tally.stage.iter_mut().zip(took) {
        *total += time;
    }

    if floors {
        // The floor works on the same framed inputs and wire elements, with fresh scalars in
        // place of the (private) blinds: its cost does not depend on their values.
        let n = batch.min(FLOOR_ELEMENTS);
        let inputs = subjects[..n]
            .iter()
            .map(|s| flow_b::identity_input(s).map(|framed| framed.to_vec()))
            .collect::<Result<Vec<_>, _>>()?;
        let blinds = (0..n)
            .map(|_| random_scalar(&mut rng))
            .collect::<Result<Vec<_>, _>>()?;
        let evaluated: Vec<[u8; ELEMENT_LEN]> = BatchResponse::from_bytes(&response)?.evaluated
            [..n]
            .iter()
            .map(|z| z.to_bytes())
            .collect();
        let elements = FloorInputs {
            inputs: &inputs,
            blinds: &blinds,
            request: &request[..n],
            response: &evaluated,
            key: &random_scalar(&mut rng)?,
        };
        for (stage, time) in tally.floor.iter_mut().enumerate() {
            *time += elements.time(stage);
        }
        tally.floor_elements += n as u64;
    }

    let i = (rng.next_u64() % batch as u64) as usize;
    if outputs[i] == flow.reference(&subjects[i], domain)? {
        tally.verified += 1;
    } else {
        tally.mismatches += 1;
    }
    tally.derivations += batch as u64;
    tally.batches += 1;
    Ok(took)
}

/// Most elements of a batch the interleaved floor round uses: the round covers the whole of a
/// batch up to this size, so floor and stages work in bursts of the same length.
const FLOOR_ELEMENTS: usize = 4096;

/// The elements of one batch that a floor round works on.
struct FloorInputs<'a> {
    inputs: &'a [Vec<u8>],
    blinds: &'a [Scalar],
    request: &'a [[u8; ELEMENT_LEN]],
    response: &'a [[u8; ELEMENT_LEN]],
    key: &'a Scalar,
}

impl FloorInputs<'_> {
    /// The time the raw curve floor of `stage` takes on these elements, one element at a time,
    /// spread over the current pool:
    /// * blind: RFC 9380 hash-to-group + scalar mul + encode;
    /// * evaluate: decode + constant-time variable-base scalar mul + encode;
    /// * finalize: decode + scalar inversion + scalar mul + encode + `Finalize` hash.
    fn time(&self, stage: usize) -> Duration {
        let decode = |bytes: &[u8; ELEMENT_LEN]| {
            CompressedRistretto(*bytes).decompress().unwrap_or_default()
        };
        let one = |i: usize| -> [u8; ELEMENT_LEN] {
            match stage {
                0 => {
                    let p = hash_to_group(Mode::Poprf, &self.inputs[i]).unwrap_or_default();
                    (self.blinds[i] * p).compress().to_bytes()
                }
                1 => (self.key * decode(&self.request[i])).compress().to_bytes(),
                _ => {
                    let n = (self.blinds[i].invert() * decode(&self.response[i])).compress();
                    let mut h = Sha512::new();
                    h.update((self.inputs[i].len() as u16).to_be_bytes());
                    h.update(&self.inputs[i]);
                    h.update((ELEMENT_LEN as u16).to_be_bytes());
                    h.update(n.as_bytes());
                    h.update(b"Finalize");
                    let digest: [u8; 64] = h.finalize().into();
                    let mut out = [0u8; ELEMENT_LEN];
                    out.copy_from_slice(&digest[..ELEMENT_LEN]);
                    out
                }
            }
        };
        let start = Instant::now();
        let out: Vec<[u8; ELEMENT_LEN]> = (0..self.inputs.len())
            .into_par_iter()
            .with_min_len(8)
            .map(one)
            .collect();
        std::hint::black_box(out);
        start.elapsed()
    }
}

// ---------------------------------------------------------------------------------------------
// Reporting.

fn human_duration(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else if seconds < 2.0 * 3600.0 {
        format!("{:.1} min", seconds / 60.0)
    } else if seconds < 3.0 * 86400.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.1} days", seconds / 86400.0)
    }
}

/// The all-thread speedup of one pair of batches (one on each pool, back to back): per stage,
/// then for the whole flow.
struct PairSpeedups([f64; 4]);

impl PairSpeedups {
    fn new(one: [Duration; 3], all: [Duration; 3]) -> Self {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-12);
        let total = |t: [Duration; 3]| t.iter().sum::<Duration>();
        Self([
            ratio(one[0], all[0]),
            ratio(one[1], all[1]),
            ratio(one[2], all[2]),
            ratio(total(one), total(all)),
        ])
    }
}

/// Median, 10th and 90th percentile (nearest rank) of column `index` over the pairs.
fn spread(pairs: &[PairSpeedups], index: usize) -> [f64; 3] {
    let mut values: Vec<f64> = pairs.iter().map(|p| p.0[index]).collect();
    values.sort_by(f64::total_cmp);
    let at = |q: f64| {
        values
            .get(((values.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    [at(0.5), at(0.1), at(0.9)]
}

/// `median [p10–p90]` of a spread.
fn spread_text([median, low, high]: [f64; 3]) -> String {
    format!("{median:.2} [{low:.2}–{high:.2}]")
}

/// The JSON form of a spread.
fn spread_json([median, p10, p90]: [f64; 3]) -> Value {
    json!({ "median": median, "p10": p10, "p90": p90 })
}

struct Report {
    threads: usize,
    cores: u32,
    batch: usize,
    population: u64,
    services: u32,
    one: Tally,
    all: Tally,
    pairs: Vec<PairSpeedups>,
    sweep: Vec<(usize, f64)>,
    elapsed: f64,
}

impl Report {
    fn stage_json(&self, stage: usize) -> Value {
        let (one, all) = (self.one.rate(stage), self.all.rate(stage));
        let floor_one = self.one.floor_rate(stage);
        let floor_all = self.all.floor_rate(stage);
        json!({
            "stage": STAGES[stage],
            "per_core_per_s": one,
            "all_cores_per_s": all,
            "floor_per_core_per_s": floor_one,
            "floor_all_cores_per_s": floor_all,
            "cost_vs_floor_one_thread": floor_one / one,
            "cost_vs_floor_all_threads": floor_all / all,
            "speedup": all / one,
            "speedup_per_pair": spread_json(spread(&self.pairs, stage)),
            "floor_speedup": floor_all / floor_one,
            "parallel_efficiency": all / one / self.threads as f64,
            "nation_wall_s_this_machine": NATION_DERIVATIONS / all,
            "nation_wall_s_on_cores": self.projected(stage),
            "nation_core_hours": NATION_DERIVATIONS / one / 3600.0,
        })
    }

    /// Wall seconds for the nation on `cores` cores: per-core rate × cores × the parallel
    /// efficiency measured here.
    fn projected(&self, stage: usize) -> f64 {
        let one = self.one.rate(stage);
        let efficiency = (self.all.rate(stage) / one / self.threads as f64).min(1.0);
        NATION_DERIVATIONS / (one * f64::from(self.cores) * efficiency)
    }

    fn json(&self) -> Value {
        json!({
            "flow": "B (POPRF: public info = domain, private input = framed subject id)",
            "suite": "ristretto255-SHA512",
            "threads": self.threads,
            "projection_cores": self.cores,
            "batch": self.batch,
            "population": self.population,
            "services": self.services,
            "nation_derivations": NATION_DERIVATIONS,
            "elapsed_s": self.elapsed,
            "derivations": { "one_thread": self.one.derivations, "all_threads": self.all.derivations },
            "verification": {
                "sampled": self.one.verified + self.all.verified + self.one.mismatches + self.all.mismatches,
                "mismatches": self.one.mismatches + self.all.mismatches,
            },
            "floor_elements": { "one_thread": self.one.floor_elements, "all_threads": self.all.floor_elements },
            "stages": (0..3).map(|s| self.stage_json(s)).collect::<Vec<_>>(),
            "flow_end_to_end": {
                "per_core_per_s": self.one.flow_rate(),
                "all_cores_per_s": self.all.flow_rate(),
                "parallel_efficiency": self.all.flow_rate() / self.one.flow_rate() / self.threads as f64,
                "speedup_per_pair": spread_json(spread(&self.pairs, 3)),
            },
            "pairs": self.pairs.len(),
            "batch_sweep_evaluate_all_cores_per_s": self.sweep.iter().map(|(b, r)| json!({"batch": b, "per_s": r})).collect::<Vec<_>>(),
        })
    }

    fn table(&self) -> String {
        let mut t = String::new();
        let n = self.threads;
        let _ = writeln!(
            t,
            "blindnym — flow B (POPRF, info = domain), batch {}, {} services, population {} \
             (streamed), {n} thread(s), {:.1} s",
            self.batch, self.services, self.population, self.elapsed
        );
        let _ = writeln!(
            t,
            "derivations: {} on 1 thread, {} on {n}; verification sample: {} checked, {} mismatches",
            self.one.derivations,
            self.all.derivations,
            self.one.verified + self.all.verified + self.one.mismatches + self.all.mismatches,
            self.one.mismatches + self.all.mismatches
        );
        let _ = writeln!(t);
        let _ = writeln!(
            t,
            "{:<10} {:>11} {:>11} {:>9} {:>9} {:>8} {:>18} {:>8} {:>7} {:>13} {:>13}",
            "stage",
            "/s 1 core",
            format!("/s {n} cores"),
            "x floor1",
            format!("x floor{n}"),
            "speedup",
            "per pair",
            "floor sp",
            "effic.",
            "nation here",
            format!("nation {}c", self.cores)
        );
        for (s, name) in STAGES.iter().enumerate() {
            let v = self.stage_json(s);
            let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
            let _ = writeln!(
                t,
                "{:<10} {:>11.0} {:>11.0} {:>9.3} {:>9.3} {:>7.2}x {:>18} {:>7.2}x {:>6.0}% {:>13} {:>13}",
                name,
                f("per_core_per_s"),
                f("all_cores_per_s"),
                f("cost_vs_floor_one_thread"),
                f("cost_vs_floor_all_threads"),
                f("speedup"),
                spread_text(spread(&self.pairs, s)),
                f("floor_speedup"),
                100.0 * f("parallel_efficiency"),
                human_duration(f("nation_wall_s_this_machine")),
                human_duration(f("nation_wall_s_on_cores")),
            );
        }
        let (one, all) = (self.one.flow_rate(), self.all.flow_rate());
        let _ = writeln!(
            t,
            "{:<10} {:>11.0} {:>11.0} {:>9} {:>9} {:>7.2}x {:>18} {:>8} {:>6.0}% {:>13} {:>13}",
            "whole flow",
            one,
            all,
            "",
            "",
            all / one,
            spread_text(spread(&self.pairs, 3)),
            "",
            100.0 * all / one / n as f64,
            human_duration(NATION_DERIVATIONS / all),
            human_duration(
                NATION_DERIVATIONS
                    / (one * f64::from(self.cores) * (all / one / n as f64).min(1.0))
            ),
        );
        let _ = writeln!(t);
        let floors: Vec<String> = STAGES
            .iter()
            .enumerate()
            .map(|(s, name)| {
                format!(
                    "{name} {:.0} | {:.0}",
                    self.one.floor_rate(s),
                    self.all.floor_rate(s)
                )
            })
            .collect();
        let _ = writeln!(
            t,
            "raw curve floors, interleaved with the batches (elements/s, 1 | {n} threads): {}",
            floors.join(", ")
        );
        let _ = writeln!(
            t,
            "x floor = stage cost per element / raw curve floor per element on the same thread \
             count (1.00 = the curve library's own limit); speedup = {n} threads over 1 on all \
             batches (per pair: median [10th–90th percentile] over the {} back-to-back pairs of \
             batches; floor sp: the floor's own, i.e. what the machine gave); effic. = speedup / {n}; nation = \
             {NATION_DERIVATIONS:.1e} derivations, here on {n} threads and projected on {} cores \
             at the measured efficiency; evaluator core-hours = {:.0}",
            self.pairs.len(),
            self.cores,
            NATION_DERIVATIONS / self.one.rate(1) / 3600.0
        );
        if !self.sweep.is_empty() {
            let sweep: Vec<String> = self
                .sweep
                .iter()
                .map(|(b, r)| format!("{b}: {r:.0}/s"))
                .collect();
            let _ = writeln!(
                t,
                "evaluate on {n} threads by batch size: {}",
                sweep.join(", ")
            );
        }
        t
    }

    /// An SVG with two panels: evaluator throughput against cores (measured at 1 and all
    /// threads, projected linearly with the measured efficiency up to `--cores`), and against
    /// batch size.
    fn svg(&self) -> String {
        let (w, h, pad) = (900.0, 380.0, 60.0);
        let panel_w = (w - 3.0 * pad) / 2.0;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        );
        let mut panel = |x0: f64,
                         title: &str,
                         xlabel: &str,
                         points: &[(f64, f64)],
                         dashed: &[(f64, f64)],
                         logx: bool| {
            let y0 = h - pad;
            let tx = |x: f64| if logx { x.max(1.0).log2() } else { x };
            let all: Vec<(f64, f64)> = points.iter().chain(dashed).copied().collect();
            let xmax = all.iter().map(|p| tx(p.0)).fold(1.0, f64::max);
            let xmin = 0.0;
            let ymax = all.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
            let px = |x: f64| x0 + (tx(x) - xmin) / (xmax - xmin).max(1e-9) * panel_w;
            let py = |y: f64| y0 - y / ymax * (h - 2.0 * pad);
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{title}</text>",
                x0,
                pad - 20.0
            );
            let _ = writeln!(
                s,
                "<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{}\" y2=\"{y0}\" stroke=\"black\"/>",
                x0 + panel_w
            );
            let _ = writeln!(
                s,
                "<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{}\" stroke=\"black\"/>",
                pad
            );
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{xlabel}</text>",
                x0 + panel_w / 2.0,
                h - 20.0
            );
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\">{:.0}/s</text>",
                x0 + 4.0,
                pad - 4.0,
                ymax
            );
            for (pts, style) in [(points, ""), (dashed, " stroke-dasharray=\"6 4\"")] {
                if pts.is_empty() {
                    continue;
                }
                let path: Vec<String> = pts
                    .iter()
                    .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                    .collect();
                let _ = writeln!(
                    s,
                    "<polyline fill=\"none\" stroke=\"steelblue\" stroke-width=\"2\"{style} points=\"{}\"/>",
                    path.join(" ")
                );
                for &(x, y) in pts {
                    let _ = writeln!(
                        s,
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"steelblue\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{x}: {y:.0}</text>",
                        px(x),
                        py(y),
                        px(x),
                        py(y) - 8.0
                    );
                }
            }
        };
        let one = self.one.rate(1);
        let all = self.all.rate(1);
        let efficiency = (all / one / self.threads as f64).min(1.0);
        let measured = [(1.0, one), (self.threads as f64, all)];
        let projected = [
            (self.threads as f64, all),
            (
                f64::from(self.cores),
                one * f64::from(self.cores) * efficiency,
            ),
        ];
        panel(
            pad,
            "evaluate + proof: derivations/s vs cores (dashed: projected)",
            "cores",
            &measured,
            &projected,
            false,
        );
        let sweep: Vec<(f64, f64)> = self.sweep.iter().map(|&(b, r)| (b as f64, r)).collect();
        panel(
            2.0 * pad + panel_w,
            &format!("evaluate + proof on {} threads vs batch size", self.threads),
            "batch size (log2)",
            &sweep,
            &[],
            true,
        );
        s.push_str("</svg>\n");
        s
    }
}

// ---------------------------------------------------------------------------------------------

fn pool(threads: usize) -> Result<ThreadPool, Error> {
    Ok(ThreadPoolBuilder::new().num_threads(threads).build()?)
}

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
            args.batch.min(256) as usize,
        )
    } else {
        (args.population, args.duration, args.batch as usize)
    };
    let population = population.max(1);
    let services = args.services.max(1);
    let duration = Duration::from_secs_f64(duration.max(0.5));
    let (one_pool, all_pool) = (pool(1)?, pool(threads)?);

    let mut rng = rand::rng();
    let nation = Nation::new(population, services);
    let flow = NationalFlow::new(&nation, &mut rng)?;
    let mut cursor = Cursor {
        next_subject: rng.next_u64() % population,
        domain: 0,
    };

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
            one_pool.install(|| step(&flow, &nation, &mut cursor, batch, true, &mut one))?;
        let all_took =
            all_pool.install(|| step(&flow, &nation, &mut cursor, batch, true, &mut all))?;
        progress.inc(2 * batch as u64);
        pairs.push(PairSpeedups::new(one_took, all_took));
    }

    let mut sweep = Vec::new();
    if args.chart.is_some() {
        let budget = Duration::from_millis(if args.smoke { 150 } else { 600 });
        for b in [1usize, 16, 64, 256, 1024, 4096] {
            progress.set_message(format!("sweep on {threads} threads, batch {b}"));
            let mut tally = Tally::default();
            let start = Instant::now();
            while tally.batches == 0 || start.elapsed() < budget {
                all_pool.install(|| step(&flow, &nation, &mut cursor, b, false, &mut tally))?;
                progress.inc(b as u64);
            }
            sweep.push((b, tally.rate(1)));
        }
    }
    progress.finish_and_clear();

    let report = Report {
        threads,
        cores: args.cores,
        batch,
        population,
        services,
        one,
        all,
        pairs,
        sweep,
        elapsed: started.elapsed().as_secs_f64(),
    };
    let table = report.table();
    match args.json.as_deref() {
        Some(path) if path.as_os_str() == "-" => {
            eprint!("{table}");
            println!("{}", serde_json::to_string_pretty(&report.json())?);
        }
        Some(path) => {
            print!("{table}");
            std::fs::write(path, serde_json::to_string_pretty(&report.json())? + "\n")?;
        }
        None => print!("{table}"),
    }
    if let Some(path) = &args.chart {
        std::fs::write(path, report.svg())?;
    }
    let ok = report.one.mismatches + report.all.mismatches == 0;
    if !ok {
        eprintln!("verification sample FAILED: blind results differ from the non-blind evaluation");
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("blindnym: {e}");
            ExitCode::FAILURE
        }
    }
}
