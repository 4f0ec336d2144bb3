//! `--threshold T/N`: threshold mode measured against the single evaluator in the same run,
//! on one thread (`spec/12-threshold.md`). Flow B batches alternate between the single
//! evaluator and `t` share evaluators under a dealer split of the same key, so both see the
//! same machine; the pseudonyms of every batch must be equal.

use std::time::{Duration, Instant};

use blindnym::pseudonym::bulk::{self, CallerId, DataHolder, Grants, MemoryQuota};
use blindnym::pseudonym::{
    EvaluationBudget, KeyRatchet, KeySet, KeySetSigner, KeySetVerifier, RootSeed,
};
use blindnym::threshold::inversion::{Target, run_in_one_process};
use blindnym::threshold::{KeyShare, ShareResponse, Threshold, deal_epoch, flow_b};
use serde::Serialize;

use crate::Error;

const REALM: &[u8] = b"blindnym runner threshold";
const DOMAIN: &[u8] = b"service-000.example";
const NOW: u64 = 1_800_000_000;

/// Parses `T/N`.
///
/// # Errors
/// A message naming the accepted form.
pub fn parse(text: &str) -> Result<Threshold, String> {
    let (t, n) = text.split_once('/').ok_or("expected T/N, e.g. 2/3")?;
    let t = t.trim().parse::<u16>().map_err(|e| format!("T: {e}"))?;
    let n = n.trim().parse::<u16>().map_err(|e| format!("N: {e}"))?;
    let params = Threshold::new(t, n).map_err(|e| format!("{t}/{n}: {e}"))?;
    if params.inversion_quorum() > usize::from(n) {
        return Err(format!(
            "{t}/{n}: flow B's inversion needs 2t − 1 = {} evaluators, more than n",
            params.inversion_quorum()
        ));
    }
    Ok(params)
}

/// The threshold figures of a run: times per batch and their ratios to the single evaluator.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdReport {
    /// `t`.
    pub t: u16,
    /// `n`.
    pub n: u16,
    /// Batch pairs measured.
    pub batches: u64,
    /// One evaluator's share answer per batch, over the single evaluator's answer (target 1.0).
    pub share_vs_single_evaluate: f64,
    /// The data holder's verify + combine + finalize of `t` answers, over verify + finalize of
    /// the single evaluator's answer.
    pub combine_vs_single_finalize: f64,
    /// The data holder's extra cost per element, microseconds.
    pub combine_overhead_us_per_element: f64,
    /// One inversion (per domain and epoch) divided by its `2t − 1` participants, milliseconds.
    pub inversion_ms_per_participant: f64,
    /// The same, over one single-evaluator element evaluation.
    pub inversion_vs_single_element: f64,
    /// Batches whose threshold pseudonyms differed from the single evaluator's (must be 0).
    pub mismatches: u64,
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Measures for about `duration`, batch size `batch`, on the calling (one-thread) pool.
///
/// # Errors
/// Any protocol error (none is expected).
pub fn measure(
    params: Threshold,
    batch: usize,
    duration: Duration,
) -> Result<ThresholdReport, Error> {
    // The calling pool's own thread-local RNG.
    let rng = &mut rand::rng();
    let ratchet = KeyRatchet::new(&RootSeed::generate(rng), REALM, 1)?;
    let keys = ratchet.keys()?;
    let signer = KeySetSigner::generate(rng);
    let set = KeySet::new(REALM, 1, NOW, NOW + 86_400, vec![keys.public(NOW)])?;
    let verified =
        KeySetVerifier::new(signer.verifying_key(), REALM).accept(&signer.sign(set), NOW)?;
    let (evaluators, public) = deal_epoch(&keys, params, rng)?;
    let shares: Vec<&KeyShare> = evaluators.iter().map(|e| &e.bulk).collect();
    let quorum: Vec<&KeyShare> = shares[..params.inversion_quorum()].to_vec();

    let inversion_start = Instant::now();
    let (record, tweak_shares) =
        run_in_one_process(&quorum, &public.bulk, &Target::domain(DOMAIN)?, rng)?;
    let inversion = seconds(inversion_start.elapsed());

    let caller = CallerId::new(b"runner");
    let single = bulk::Evaluator::new(
        keys.bulk(),
        Grants::new().allow(&caller, DOMAIN),
        MemoryQuota::new(u64::MAX),
        EvaluationBudget::new(u64::MAX),
    );
    let holder = DataHolder::new(verified, DOMAIN)?;
    let identities: Vec<Vec<u8>> = (0..batch)
        .map(|i| format!("1{i:017}").into_bytes())
        .collect();
    let t = usize::from(params.t());
    let (mut single_eval, mut share_eval, mut single_fin, mut threshold_fin) = (0.0, 0.0, 0.0, 0.0);
    let (mut batches, mut mismatches) = (0u64, 0u64);
    let start = Instant::now();
    while batches == 0 || start.elapsed() < duration {
        let (batch_state, request) = holder.blind_batch(&identities, rng)?;
        // The order alternates batch by batch, so neither side always runs on a warmer cache.
        let single_first = batches % 2 == 0;
        let mut response = None;
        let mut answers = Vec::with_capacity(t);
        for turn in 0..2 {
            if (turn == 0) == single_first {
                let clock = Instant::now();
                response = Some(single.evaluate_batch(&caller, &request, rng)?);
                single_eval += seconds(clock.elapsed());
            } else {
                for (i, share) in tweak_shares[..t].iter().enumerate() {
                    let clock = Instant::now();
                    let answer = share.answer(request.blinded(), rng)?;
                    // The ratio is per evaluator: the first evaluator's answer is timed.
                    if i == 0 {
                        share_eval += seconds(clock.elapsed());
                    }
                    answers.push(ShareResponse {
                        epoch: keys.epoch(),
                        answer,
                    });
                }
            }
        }
        let response = response.ok_or("no single-evaluator response")?;
        let (mut expected, mut got) = (None, None);
        for turn in 0..2 {
            let clock = Instant::now();
            if (turn == 0) == single_first {
                expected = Some(holder.finalize_batch(&batch_state, &response, NOW)?);
                single_fin += seconds(clock.elapsed());
            } else {
                let (pseudonyms, _) = flow_b::finalize_batch(
                    &holder,
                    &batch_state,
                    &public.bulk,
                    &record,
                    &answers,
                    NOW,
                )?;
                got = Some(pseudonyms);
                threshold_fin += seconds(clock.elapsed());
            }
        }
        if got != expected {
            mismatches += 1;
        }
        batches += 1;
    }
    let elements = f64::from(u32::try_from(batch)?) * f64::from(u32::try_from(batches)?);
    let single_per_element = single_eval / elements;
    let per_participant = inversion / f64::from(u32::try_from(params.inversion_quorum())?);
    Ok(ThresholdReport {
        t: params.t(),
        n: params.n(),
        batches,
        share_vs_single_evaluate: share_eval / single_eval,
        combine_vs_single_finalize: threshold_fin / single_fin,
        combine_overhead_us_per_element: (threshold_fin - single_fin) / elements * 1e6,
        inversion_ms_per_participant: per_participant * 1e3,
        inversion_vs_single_element: per_participant / single_per_element,
        mismatches,
    })
}

/// The report's lines for the terminal.
pub fn render(report: &ThresholdReport) -> String {
    format!(
        "threshold {t}/{n} (flow B, 1 thread, {batches} batch pairs, {mismatches} mismatches):\n  \
         share answer / single evaluate   {share:.3}\n  \
         combine+finalize / finalize      {combine:.3} (+{overhead:.1} µs per element)\n  \
         inversion per participant        {inversion:.2} ms ({ratio:.1}x one single evaluation)\n",
        t = report.t,
        n = report.n,
        batches = report.batches,
        mismatches = report.mismatches,
        share = report.share_vs_single_evaluate,
        combine = report.combine_vs_single_finalize,
        overhead = report.combine_overhead_us_per_element,
        inversion = report.inversion_ms_per_participant,
        ratio = report.inversion_vs_single_element,
    )
}
