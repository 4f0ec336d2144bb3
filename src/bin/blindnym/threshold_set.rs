//! `blindnym pseudonymise` against a threshold set (`spec/12-threshold.md` §12.7, §12.12):
//! the domain's tweak record, checked and followed when renewed, and each batch asked of the
//! evaluators in order until `t` answers verify.

use std::time::Duration;

use blindnym::pseudonym::Pseudonym;
use blindnym::pseudonym::bulk::DataHolder;
use blindnym::threshold::flow_b::finalize_batch;
use blindnym::threshold::inversion::TweakRecord;
use blindnym::threshold::{ShareResponse, VerificationShares};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::evaluators::{Failure, Signing, exchange, now, with_retries};

/// The evaluators of a threshold set, with the domain's record their answers are made under.
pub struct ThresholdSet {
    pub(crate) agent: ureq::Agent,
    pub(crate) urls: Vec<String>,
    pub(crate) signing: Signing,
    pub(crate) retries: u32,
    pub(crate) domain: Vec<u8>,
    pub(crate) shares: VerificationShares,
    pub(crate) record: Option<Record>,
    /// Batches asked so far (the first evaluator asked rotates with it).
    pub(crate) batches: usize,
}

/// A record and the digest evaluators name it by.
pub(crate) struct Record {
    record: TweakRecord,
    digest: String,
}

impl ThresholdSet {
    /// Asks the evaluators, in order, for the domain's record (`renew`: for a new inversion).
    pub(crate) fn fetch_record(&mut self, renew: bool) -> Result<(), Error> {
        let path = if renew {
            "/v1/threshold/flow-b/tweak/renew"
        } else {
            "/v1/threshold/flow-b/tweak"
        };
        let bytes = with_retries(self.retries, || {
            let mut last = Failure::Retry("no evaluator".into());
            for url in &self.urls {
                match exchange(self.signing.post(
                    &self.agent,
                    &format!("{url}{path}"),
                    None,
                    None,
                    &self.domain,
                )) {
                    Ok(bytes) => return Ok(bytes),
                    Err(failure) => last = failure,
                }
            }
            Err(last)
        })?;
        let record = TweakRecord::from_bytes(&bytes)?;
        // Checked now against the published shares, and again with every batch.
        record.check(
            &self.shares,
            &blindnym::pseudonym::bulk::domain_info(&self.domain)?,
        )?;
        self.record = Some(Record {
            record,
            digest: hex::encode(Sha256::digest(&bytes)),
        });
        Ok(())
    }

    /// One batch: asks the evaluators in order until `t` answers verify, retrying with
    /// backoff while fewer than `t` answer; fetches the record again when evaluators hold
    /// another one (a restarted set, a renewed inversion).
    pub(crate) fn batch(
        &mut self,
        holder: &DataHolder,
        blinded: &blindnym::pseudonym::bulk::BlindBatch,
        body: &[u8],
    ) -> Result<Vec<Pseudonym>, Error> {
        let t = usize::from(self.shares.params().t());
        self.batches = self.batches.wrapping_add(1);
        let mut delay = Duration::from_millis(100);
        let mut last = String::new();
        for _ in 0..self.retries.max(1) {
            let Some(current) = &self.record else {
                return Err("no tweak record".into());
            };
            let (mut responses, mut conflicts) = (Vec::new(), 0usize);
            let (mut refused, mut retryable) = (None, false);
            // Each batch starts one evaluator further on, so every evaluator answers about
            // t/n of the batches and per-evaluator quotas sized `Q·t/n` still give `Q`
            // (spec §12.7, review M5).
            let start = self.batches % self.urls.len().max(1);
            let order = (0..self.urls.len()).map(|step| (start + step) % self.urls.len());
            for (position, url) in order.map(|p| (p, &self.urls[p])) {
                let answer = exchange(self.signing.post(
                    &self.agent,
                    &format!("{url}/v1/threshold/flow-b/evaluate"),
                    Some(&current.digest),
                    None,
                    body,
                ));
                match answer {
                    // The URLs are in index order: an answer claiming another evaluator's
                    // index is dropped and its sender named (spec §12.5, review L1), so it
                    // cannot crowd out that evaluator's genuine answer.
                    Ok(bytes) => match ShareResponse::from_bytes(&bytes) {
                        Ok(response) if usize::from(response.answer.index) == position + 1 => {
                            responses.push(response);
                        }
                        Ok(response) => {
                            last = format!(
                                "{url} (evaluator {}) answered as evaluator {}: dropped",
                                position + 1,
                                response.answer.index
                            );
                        }
                        Err(e) => last = format!("{url}: {e}"),
                    },
                    Err(Failure::Refused { code, .. }) if code == "TweakMismatch" => {
                        conflicts += 1;
                    }
                    Err(Failure::Retry(reason)) => {
                        retryable = true;
                        last = format!("{url}: {reason}");
                    }
                    // One evaluator's refusal does not stop the batch while others may serve
                    // (a lying or misconfigured evaluator is one of n).
                    Err(failure) => refused = Some(failure),
                }
                if responses.len() >= t {
                    // A bad answer is dropped and named; with fewer than t left, ask the next.
                    match finalize_batch(
                        holder,
                        blinded,
                        &self.shares,
                        &current.record,
                        &responses,
                        now(),
                    ) {
                        Ok((pseudonyms, _)) => return Ok(pseudonyms),
                        Err(blindnym::Error::TooFewShares { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            // Every evaluator that did not answer refused: that is the run's answer.
            if !retryable
                && conflicts == 0
                && let Some(refusal) = refused
            {
                return Err(refusal.into_error());
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(5));
            if conflicts > 0 {
                // Some evaluators answer under another record: take the current one, and
                // ask for a new inversion if that changes nothing.
                let before = current.digest.clone();
                self.fetch_record(false)?;
                if self.record.as_ref().is_some_and(|r| r.digest == before)
                    && responses.len() + conflicts >= t
                {
                    self.fetch_record(true)?;
                }
            }
        }
        Err(format!(
            "fewer than {t} evaluators answered after {} attempts: {last}",
            self.retries
        )
        .into())
    }
}
