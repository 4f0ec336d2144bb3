//! The modelled nation: a population generated from indices, streamed batch by batch, and the
//! flow B parties that pseudonymise it (`pseudonym::bulk`, every message crossing as bytes),
//! with the evaluator rotating to a new epoch whenever its key's budget runs out.

use blindnym::pseudonym::bulk::{
    self, BatchRequest, BatchResponse, BlindBatch, CallerId, Grants, MemoryQuota,
};
use blindnym::pseudonym::{
    EpochPublicKeys, EvaluationBudget, KeyRatchet, KeySet, KeySetSigner, KeySetVerifier, Pseudonym,
    RootSeed, VerifiedKeySet,
};
use rand::rngs::ThreadRng;
use rayon::prelude::*;

use crate::Error;

/// The realm of the modelled evaluator's keys.
const REALM: &[u8] = b"blindnym runner";
/// The modelled clock at the first epoch, and the seconds between epochs in the model.
const CLOCK_START: u64 = 1_800_000_000;
const EPOCH_SPACING: u64 = 3_600;
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

/// The modelled deployment: a key ratchet and a key-set signer, the current epoch's bulk
/// evaluator serving one caller (the national data holder) for every domain, and one data
/// holder per domain trusting the signed key set. When the evaluator's budget cannot cover
/// the next batch, the ratchet advances and a new key set is published.
#[derive(Debug)]
pub struct NationalFlow {
    /// The forward-secure ratchet (its root seed is dropped after the first epoch).
    ratchet: KeyRatchet,
    /// The long-term key that signs key sets.
    signer: KeySetSigner,
    /// What the data holders accepted last (sequence and digest).
    verifier: KeySetVerifier,
    /// Evaluations each epoch key may do.
    epoch_budget: u64,
    /// The modelled clock: the current epoch's start.
    now: u64,
    /// The caller every domain is granted to.
    caller: CallerId,
    /// The domains, for the policy of each new evaluator.
    domains: Vec<Vec<u8>>,
    /// The evaluator of the current epoch.
    evaluator: bulk::Evaluator,
    /// One data holder per domain, in the nation's domain order.
    holders: Vec<bulk::DataHolder>,
    /// Epochs used so far (the first included).
    epochs_used: u32,
    /// The public keys of the epoch published last.
    previous: Option<EpochPublicKeys>,
}

impl NationalFlow {
    /// The parties for `nation`'s domains, under keys from a fresh root seed, each epoch key
    /// allowed `epoch_budget` evaluations.
    pub fn new(nation: &Nation, epoch_budget: u64, rng: &mut ThreadRng) -> Result<Self, Error> {
        let ratchet = KeyRatchet::new(&RootSeed::generate(rng), REALM, 1)?;
        let signer = KeySetSigner::generate(rng);
        let verifier = KeySetVerifier::new(signer.verifying_key(), REALM);
        let caller = CallerId::new(b"national statistics office");
        let mut flow = Self {
            evaluator: Self::evaluator(&ratchet, &caller, &nation.domains, epoch_budget)?,
            ratchet,
            signer,
            verifier,
            epoch_budget,
            now: CLOCK_START,
            caller,
            domains: nation.domains.clone(),
            holders: Vec::new(),
            epochs_used: 1,
            previous: None,
        };
        flow.publish()?;
        Ok(flow)
    }

    /// The current epoch's evaluator, granting `caller` every domain without a quota.
    fn evaluator(
        ratchet: &KeyRatchet,
        caller: &CallerId,
        domains: &[Vec<u8>],
        budget: u64,
    ) -> Result<bulk::Evaluator, Error> {
        let grants = domains
            .iter()
            .fold(Grants::new(), |g, d| g.allow(caller, d));
        Ok(bulk::Evaluator::new(
            ratchet.keys()?.bulk(),
            grants,
            MemoryQuota::new(u64::MAX),
            EvaluationBudget::new(budget),
        ))
    }

    /// Signs a key set with the current epoch (after the previous one, still in its
    /// transition window) and hands the verified set to new data holders.
    fn publish(&mut self) -> Result<(), Error> {
        let current = self.ratchet.keys()?.public(self.now);
        let epochs: Vec<EpochPublicKeys> = self.previous.into_iter().chain([current]).collect();
        // A window as long as a key set may have (92 days) from the simulated now: the
        // clock moves on only when the next epoch's set is published.
        let start = self.now.saturating_sub(60).max(CLOCK_START);
        let set = KeySet::new(
            REALM,
            u64::from(self.ratchet.epoch()),
            start,
            start + blindnym::pseudonym::key_set::MAX_WINDOW_S,
            epochs,
        )?;
        let verified: VerifiedKeySet = self.verifier.accept(&self.signer.sign(set), self.now)?;
        self.holders = self
            .domains
            .iter()
            .map(|domain| bulk::DataHolder::new(verified.clone(), domain))
            .collect::<Result<_, _>>()?;
        self.previous = Some(current);
        Ok(())
    }

    /// Moves to the next epoch when the current key cannot cover `count` more evaluations.
    pub fn rotate_if_needed(&mut self, count: u64) -> Result<(), Error> {
        let budget = self.evaluator.budget();
        if budget.used().saturating_add(count) <= budget.limit() {
            return Ok(());
        }
        self.ratchet.advance()?;
        self.now += EPOCH_SPACING;
        self.evaluator = Self::evaluator(
            &self.ratchet,
            &self.caller,
            &self.domains,
            self.epoch_budget,
        )?;
        self.publish()?;
        self.epochs_used += 1;
        Ok(())
    }

    /// Epochs used so far.
    pub fn epochs_used(&self) -> u32 {
        self.epochs_used
    }

    /// The data holder of domain `index`.
    fn holder(&self, index: usize) -> Result<&bulk::DataHolder, Error> {
        self.holders
            .get(index)
            .ok_or_else(|| "no such data holder".into())
    }

    /// Data holder: blind a batch; the request is what crosses the wire.
    pub fn blind(
        &self,
        domain: usize,
        subjects: &[Vec<u8>],
        rng: &mut ThreadRng,
    ) -> Result<(BlindBatch, BatchRequest, Vec<u8>), Error> {
        let (batch, request) = self.holder(domain)?.blind_batch(subjects, rng)?;
        let bytes = request.to_bytes();
        Ok((batch, request, bytes))
    }

    /// Evaluator: decode the request, check the caller, evaluate under the domain with one
    /// batched proof, encode.
    pub fn evaluate(&self, request: &[u8], rng: &mut ThreadRng) -> Result<Vec<u8>, Error> {
        let request = BatchRequest::from_bytes(request)?;
        Ok(self
            .evaluator
            .evaluate_batch(&self.caller, &request, rng)?
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
        Ok(self
            .holder(domain)?
            .finalize_batch(batch, &response, self.now)?)
    }

    /// The evaluator's non-blind evaluation, for the verification sample.
    pub fn reference(&self, subject: &[u8], domain: &[u8]) -> Result<Pseudonym, Error> {
        Ok(self.evaluator.evaluate_direct(domain, subject)?)
    }
}
