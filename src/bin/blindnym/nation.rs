//! The modelled nation: a population generated from indices, streamed batch by batch, and the
//! flow B parties that pseudonymise it (`pseudonym::flow_b`, every message crossing as bytes).

use blindnym::pseudonym::flow_b::{self, BatchResponse, BlindBatch};
use blindnym::pseudonym::{EvaluatorKeys, Pseudonym, PublishedKeys, RootSeed};
use blindnym::{BlindedElement, ELEMENT_LEN};
use rand::rngs::ThreadRng;
use rayon::prelude::*;

use crate::Error;

/// The realm of the modelled evaluator's keys.
const REALM: &[u8] = b"blindnym runner";
/// The epoch of the modelled evaluator's keys.
const EPOCH: u32 = 1;
/// Identifiers are 18 digits: a region-like prefix and 17 digits from a bijection of the index.
const ID_SPACE: u128 = 100_000_000_000_000_000;
/// Multiplier coprime to 10^17, so `index ↦ index·M mod 10^17` is a bijection.
const ID_MIX: u128 = 25_214_903_917;

/// The population, generated on demand from an index.
#[derive(Debug)]
pub struct Nation {
    /// Subjects, at least one.
    population: u64,
    /// The services' domains (POPRF public info), one per service.
    domains: Vec<Vec<u8>>,
}

impl Nation {
    /// A nation of `population` subjects (at least one) and `services` domains.
    pub fn new(population: u64, services: u32) -> Self {
        let domains = (0..services)
            .map(|s| format!("service-{s:03}.example").into_bytes())
            .collect();
        Self {
            population: population.max(1),
            domains,
        }
    }

    /// The identifier of subject `index` (an 18-digit resident-number-like string).
    fn subject(&self, index: u64) -> Vec<u8> {
        let mixed = (u128::from(index) * ID_MIX) % ID_SPACE;
        format!("1{mixed:017}").into_bytes()
    }

    /// The domain of service `index`.
    pub fn domain(&self, index: usize) -> Result<&[u8], Error> {
        self.domains
            .get(index)
            .map(Vec::as_slice)
            .ok_or_else(|| "no such service".into())
    }

    /// `(start + offset) mod population`, without overflow.
    fn wrap(&self, start: u64, offset: u64) -> u64 {
        let offset = offset % self.population;
        let room = self.population - start % self.population;
        if offset < room {
            start % self.population + offset
        } else {
            offset - room
        }
    }
}

/// Streams (subjects, domain) batches: `batch` consecutive subjects from a random start,
/// wrapping around the population, for each domain in turn.
#[derive(Debug)]
pub struct Cursor {
    /// The first subject of the next batch.
    next_subject: u64,
    /// The domain of the next batch.
    domain: usize,
}

impl Cursor {
    /// A cursor starting at subject `start` (taken modulo the population), first domain.
    pub fn new(nation: &Nation, start: u64) -> Self {
        Self {
            next_subject: nation.wrap(start, 0),
            domain: 0,
        }
    }

    /// The next batch of `batch` subjects and the index of its domain.
    pub fn next(&mut self, nation: &Nation, batch: u64) -> (Vec<Vec<u8>>, usize) {
        let start = self.next_subject;
        // Generated on the pool like the stages (off the clock), so no core idles between
        // batches.
        let inputs = (0..batch)
            .into_par_iter()
            .map(|j| nation.subject(nation.wrap(start, j)))
            .collect();
        let domain = self.domain;
        self.domain += 1;
        if self.domain >= nation.domains.len() {
            self.domain = 0;
            self.next_subject = nation.wrap(start, batch);
        }
        (inputs, domain)
    }
}

/// One evaluator (per-epoch keys from a fresh root seed) and one data holder per domain, all
/// trusting the evaluator's published key set.
#[derive(Debug)]
pub struct NationalFlow {
    /// The evaluator, holding the epoch's keys.
    evaluator: flow_b::Evaluator,
    /// One data holder per domain, in the nation's domain order.
    holders: Vec<flow_b::DataHolder>,
}

impl NationalFlow {
    /// The parties for `nation`'s domains, under keys from a fresh root seed.
    pub fn new(nation: &Nation, rng: &mut ThreadRng) -> Result<Self, Error> {
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

    /// The data holder of domain `index`.
    fn holder(&self, index: usize) -> Result<&flow_b::DataHolder, Error> {
        self.holders
            .get(index)
            .ok_or_else(|| "no such data holder".into())
    }

    /// Data holder: blind a batch; the request is the blinded elements' encodings.
    pub fn blind(
        &self,
        domain: usize,
        subjects: &[Vec<u8>],
        rng: &mut ThreadRng,
    ) -> Result<(BlindBatch, Vec<[u8; ELEMENT_LEN]>), Error> {
        let batch = self.holder(domain)?.blind_batch(subjects, rng)?;
        let request = batch
            .blinded()
            .iter()
            .map(BlindedElement::to_bytes)
            .collect();
        Ok((batch, request))
    }

    /// Evaluator: decode the request, evaluate under the domain with one batched proof, encode.
    pub fn evaluate(
        &self,
        request: &[[u8; ELEMENT_LEN]],
        domain: &[u8],
        rng: &mut ThreadRng,
    ) -> Result<Vec<u8>, Error> {
        let blinded = BlindedElement::from_bytes_batch(request)?;
        Ok(self
            .evaluator
            .evaluate_batch(domain, &blinded, rng)?
            .to_bytes()?)
    }

    /// Data holder: decode the response, verify the proof, unblind, finalize, map to pseudonyms.
    pub fn finalize(
        &self,
        domain: usize,
        batch: &BlindBatch,
        response: &[u8],
    ) -> Result<Vec<Pseudonym>, Error> {
        let response = BatchResponse::from_bytes(response)?;
        Ok(self.holder(domain)?.finalize_batch(batch, &response)?)
    }

    /// The evaluator's non-blind evaluation, for the verification sample.
    pub fn reference(&self, subject: &[u8], domain: &[u8]) -> Result<Pseudonym, Error> {
        Ok(self.evaluator.evaluate_direct(domain, subject)?)
    }
}
