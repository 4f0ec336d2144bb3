//! Flow B: bulk pseudonymisation of a register for one domain over the POPRF, public info =
//! domain (`spec/07-flow-b.md`).
//!
//! The [`DataHolder`] blinds a batch of identities into a [`BatchRequest`]; the [`Evaluator`]
//! checks that the caller may use the domain ([`Policy`]) and has quota left ([`Quota`]),
//! evaluates the whole batch under the domain tweak with one batched DLEQ proof, and the data
//! holder verifies, finalizes and maps each output to a pseudonym. The evaluator never sees
//! identities; the data holder cannot compute another domain's pseudonyms without it; and
//! nobody the policy does not name can use the evaluator to re-identify a domain.

use core::fmt;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::budget::EvaluationBudget;
use super::context;
use super::key_schedule::{BulkKey, Epoch};
use super::key_set::VerifiedKeySet;
use super::text::Pseudonym;
use crate::codec::{Reader, decodes_from_slice, frame, push_field, read_proven_batch};
use crate::dleq::batch_len;
use crate::error::{Error, Result};
use crate::group::exact;
use crate::messages::{Blind, BlindedElement, EvaluatedElement, Output, PROOF_LEN, Proof};
use crate::poprf::PoprfClient;

/// The longest domain name, in bytes.
pub const MAX_DOMAIN_LEN: usize = 255;

/// The flow B private input `frame("blindnym v2 flow-B identity", identity)`.
///
/// # Errors
/// [`Error::InputTooLong`] for an identity over 65535 bytes.
pub fn identity_input(identity: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    frame(&[context::FLOW_B_IDENTITY.as_bytes(), identity]).map(Zeroizing::new)
}

/// The flow B public info `frame("blindnym v2 flow-B domain", domain)`.
///
/// # Errors
/// [`Error::InputTooLong`] for a domain over [`MAX_DOMAIN_LEN`] bytes.
pub fn domain_info(domain: &[u8]) -> Result<Vec<u8>> {
    if domain.len() > MAX_DOMAIN_LEN {
        return Err(Error::InputTooLong);
    }
    frame(&[context::FLOW_B_DOMAIN.as_bytes(), domain])
}

/// Maps a flow B OPRF output to a pseudonym:
/// `blake3.derive_key("blindnym v2 pseudonym flow-B", output)` (`spec/07-flow-b.md` §7.5).
pub fn pseudonym_from_output(output: &Output) -> Pseudonym {
    Pseudonym::from_array(blake3::derive_key(
        context::FLOW_B_PSEUDONYM,
        output.as_bytes(),
    ))
}

/// The count of a batch, checked against `1..=MAX_BATCH`.
///
/// # Errors
/// [`Error::EmptyBatch`], [`Error::BatchTooLarge`].
fn batch_count(len: usize) -> Result<u16> {
    batch_len(len)?;
    u16::try_from(len).map_err(|_| Error::BatchTooLarge { len })
}

/// Data holder → evaluator: the domain and the blinded elements (`spec/07-flow-b.md` §7.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRequest {
    domain: Vec<u8>,
    blinded: Vec<BlindedElement>,
}

impl BatchRequest {
    /// A request for `domain`.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a domain over [`MAX_DOMAIN_LEN`] bytes,
    /// [`Error::EmptyBatch`] or [`Error::BatchTooLarge`] for an empty batch or one over 65535.
    pub fn new(domain: &[u8], blinded: Vec<BlindedElement>) -> Result<Self> {
        if domain.len() > MAX_DOMAIN_LEN {
            return Err(Error::InputTooLong);
        }
        batch_count(blinded.len())?;
        Ok(Self {
            domain: domain.to_vec(),
            blinded,
        })
    }

    /// The domain.
    pub fn domain(&self) -> &[u8] {
        &self.domain
    }

    /// The blinded elements, in identity order.
    pub fn blinded(&self) -> &[BlindedElement] {
        &self.blinded
    }

    /// `len(domain):2 || domain || count:2 || B_1 || … || B_n`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.domain.len() + 2 + 32 * self.blinded.len());
        // `new` and `from_bytes` bound the domain and the count.
        let _ = push_field(&mut out, &self.domain);
        let count = batch_count(self.blinded.len()).unwrap_or_default();
        out.extend_from_slice(&count.to_be_bytes());
        for b in &self.blinded {
            out.extend_from_slice(b.as_bytes());
        }
        out
    }

    /// Decodes a request strictly. The count and the total length are checked before any
    /// element is decoded or any memory sized by the count is allocated.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for an overlong domain, [`Error::EmptyBatch`] for a zero count,
    /// [`Error::InvalidLength`] when the length does not match the count; the element errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let domain = reader.field()?;
        if domain.len() > MAX_DOMAIN_LEN {
            return Err(Error::InputTooLong);
        }
        let count = usize::from(reader.u16()?);
        if count == 0 {
            return Err(Error::EmptyBatch);
        }
        let expected = 2 + domain.len() + 2 + 32 * count;
        if bytes.len() != expected {
            return Err(Error::InvalidLength {
                expected,
                actual: bytes.len(),
            });
        }
        let encodings = reader
            .take(32 * count)?
            .chunks_exact(32)
            .map(exact::<32>)
            .collect::<Result<Vec<_>>>()?;
        reader.finish()?;
        let blinded = BlindedElement::from_bytes_batch(&encodings)?;
        Ok(Self {
            domain: domain.to_vec(),
            blinded,
        })
    }
}

/// Evaluator → data holder: the evaluated batch with one batched proof
/// (`spec/07-flow-b.md` §7.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchResponse {
    /// The epoch whose key evaluated.
    pub epoch: Epoch,
    /// `t⁻¹·B_i` for each blinded element, in order.
    pub evaluated: Vec<EvaluatedElement>,
    /// One DLEQ proof over the whole batch against the domain's tweaked key.
    pub proof: Proof,
}

impl BatchResponse {
    /// `epoch:4 || count:2 || Z_1 || … || Z_n || proof`.
    ///
    /// # Errors
    /// [`Error::EmptyBatch`] or [`Error::BatchTooLarge`] when `evaluated` is empty or longer than 65535 (the
    /// fields are public, so a caller can build such a response; it has no encoding).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let count = batch_count(self.evaluated.len())?;
        let mut out = Vec::with_capacity(4 + 2 + 32 * self.evaluated.len() + PROOF_LEN);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        for z in &self.evaluated {
            out.extend_from_slice(z.as_bytes());
        }
        out.extend_from_slice(&self.proof.to_bytes());
        Ok(out)
    }

    /// Decodes a batch response strictly, count and length first.
    ///
    /// # Errors
    /// [`Error::EmptyBatch`] for a zero count; [`Error::InvalidLength`] when the length does
    /// not match the count; the element and scalar errors of the fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let epoch = reader.u32()?;
        let (evaluated, proof) = read_proven_batch(&mut reader, 4)?;
        reader.finish()?;
        Ok(Self {
            epoch,
            evaluated,
            proof,
        })
    }
}

decodes_from_slice!(BatchRequest, BatchResponse);

/// A blinded batch held by the data holder until the evaluator answers: framed identities
/// and blinds. Secret (zeroized on drop; never printed). It can be saved and restored, so a
/// batch job that restarts can still finalize the answers it gets.
pub struct BlindBatch {
    inputs: Vec<Zeroizing<Vec<u8>>>,
    blinds: Vec<Blind>,
    blinded: Vec<BlindedElement>,
}

impl BlindBatch {
    /// The number of identities.
    pub fn len(&self) -> usize {
        self.blinded.len()
    }

    /// Whether the batch is empty (never, for a batch built by [`DataHolder::blind_batch`]).
    pub fn is_empty(&self) -> bool {
        self.blinded.is_empty()
    }

    /// The saved form: `count:2`, then per identity `blind (32) || B (32) || len:2 || input`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::new());
        let count = batch_count(self.len()).unwrap_or_default();
        out.extend_from_slice(&count.to_be_bytes());
        for ((input, blind), b) in self.inputs.iter().zip(&self.blinds).zip(&self.blinded) {
            out.extend_from_slice(blind.to_bytes().as_ref());
            out.extend_from_slice(b.as_bytes());
            // Inputs were framed from identities of at most a field's length.
            let _ = push_field(&mut out, input);
        }
        out
    }

    /// Restores a saved batch.
    ///
    /// # Errors
    /// [`Error::EmptyBatch`] for a zero count; [`Error::InvalidLength`] for a short buffer or
    /// trailing bytes; the scalar and element errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let count = usize::from(reader.u16()?);
        // Each entry takes at least 66 bytes: check before allocating for `count`.
        if count == 0 {
            return Err(Error::EmptyBatch);
        }
        if bytes.len() < 2 + 66 * count {
            return Err(Error::InvalidLength {
                expected: 2 + 66 * count,
                actual: bytes.len(),
            });
        }
        let (mut inputs, mut blinds, mut blinded) = (
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
        );
        for _ in 0..count {
            blinds.push(Blind::from_bytes(reader.take(32)?)?);
            blinded.push(BlindedElement::from_bytes(reader.take(32)?)?);
            inputs.push(Zeroizing::new(reader.field()?.to_vec()));
        }
        reader.finish()?;
        Ok(Self {
            inputs,
            blinds,
            blinded,
        })
    }
}

impl fmt::Debug for BlindBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindBatch({} identities, <redacted>)", self.len())
    }
}

/// The data holder of flow B: one domain, the verified key set.
#[derive(Clone, Debug)]
pub struct DataHolder {
    keys: VerifiedKeySet,
    domain: Vec<u8>,
    domain_info: Vec<u8>,
}

impl DataHolder {
    /// A data holder pseudonymising for `domain`, trusting `keys`.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a domain over [`MAX_DOMAIN_LEN`] bytes.
    pub fn new(keys: VerifiedKeySet, domain: &[u8]) -> Result<Self> {
        Ok(Self {
            keys,
            domain: domain.to_vec(),
            domain_info: domain_info(domain)?,
        })
    }

    /// Blinds a batch of identities (`spec/07-flow-b.md` §7.3 step 1); blinds are drawn from
    /// `rng` in identity order.
    ///
    /// # Errors
    /// [`Error::EmptyBatch`] or [`Error::BatchTooLarge`] for no identities or more than 65535 (checked first),
    /// [`Error::InputTooLong`] for an overlong identity, [`Error::RandomnessFailure`].
    pub fn blind_batch<I: AsRef<[u8]>>(
        &self,
        identities: &[I],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(BlindBatch, BatchRequest)> {
        batch_count(identities.len())?;
        let inputs = identities
            .iter()
            .map(|identity| identity_input(identity.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let newest = self.keys.set().epochs().last().ok_or(Error::Malformed)?;
        let slices: Vec<&[u8]> = inputs.iter().map(|i| i.as_slice()).collect();
        let (blinds, blinded) = PoprfClient::new(newest.bulk).blind_batch(&slices, rng)?;
        let request = BatchRequest {
            domain: self.domain.clone(),
            blinded: blinded.clone(),
        };
        Ok((
            BlindBatch {
                inputs,
                blinds,
                blinded,
            },
            request,
        ))
    }

    /// Verifies the batched proof against the domain's tweaked key for the response's epoch
    /// (which must be accepted at `now`), finalizes every element and maps the outputs to
    /// pseudonyms, in identity order (`spec/07-flow-b.md` §7.3 step 3).
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`]/[`Error::StaleEpoch`] for an epoch not accepted now,
    /// [`Error::BatchMismatch`] when the response's length differs from the batch's,
    /// [`Error::VerifyError`] when the proof fails (another key or domain).
    pub fn finalize_batch(
        &self,
        batch: &BlindBatch,
        response: &BatchResponse,
        now: u64,
    ) -> Result<Vec<Pseudonym>> {
        let keys = self.keys.accept_epoch(response.epoch, now)?;
        let slices: Vec<&[u8]> = batch.inputs.iter().map(|i| i.as_slice()).collect();
        let outputs = PoprfClient::new(keys.bulk).finalize_batch(
            &slices,
            &self.domain_info,
            &batch.blinds,
            &response.evaluated,
            &batch.blinded,
            &response.proof,
        )?;
        Ok(outputs.iter().map(pseudonym_from_output).collect())
    }
}

impl DataHolder {
    /// The domain this data holder pseudonymises for.
    pub fn domain(&self) -> &[u8] {
        &self.domain
    }

    /// Threshold mode (`spec/12-threshold.md` §12.7): accepts `epoch` at `now`, lets `select`
    /// check the share answers against that epoch's keys and return `t` of them with their
    /// Lagrange coefficients, then combines, unblinds and finalizes in one pass and maps the
    /// outputs to pseudonyms, as [`DataHolder::finalize_batch`] does.
    #[cfg(feature = "threshold")]
    #[allow(clippy::type_complexity)]
    pub(crate) fn finalize_combined(
        &self,
        batch: &BlindBatch,
        epoch: Epoch,
        now: u64,
        select: impl FnOnce(
            &super::key_schedule::EpochPublicKeys,
            &[u8],
            &[BlindedElement],
        ) -> Result<(
            Vec<curve25519_dalek::scalar::Scalar>,
            Vec<Vec<EvaluatedElement>>,
        )>,
    ) -> Result<Vec<Pseudonym>> {
        let keys = self.keys.accept_epoch(epoch, now)?;
        let (lambdas, answers) = select(keys, &self.domain_info, &batch.blinded)?;
        let slices: Vec<&[u8]> = batch.inputs.iter().map(|i| i.as_slice()).collect();
        let outputs = crate::finalize::combine_unblind_and_finalize(
            &slices,
            Some(&self.domain_info),
            &batch.blinds,
            &lambdas,
            &answers,
        )?;
        Ok(outputs.iter().map(pseudonym_from_output).collect())
    }
}

/// Who asks the flow B evaluator for an evaluation, as the service authenticated it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CallerId(Vec<u8>);

impl CallerId {
    /// The caller named `name`.
    pub fn new(name: &[u8]) -> Self {
        Self(name.to_vec())
    }

    /// The name.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Which callers may evaluate for which domains (`spec/07-flow-b.md` §7.4).
pub trait Policy: Send + Sync {
    /// Whether `caller` may evaluate for `domain`.
    fn allows(&self, caller: &CallerId, domain: &[u8]) -> bool;
}

/// How many evaluations each caller may still have (`spec/07-flow-b.md` §7.4). A service
/// backs it with its database so the count survives restarts and spans the fleet.
pub trait Quota: Send + Sync {
    /// Spends `count` evaluations of `caller` in `domain`, all or none.
    ///
    /// # Errors
    /// [`Error::QuotaExceeded`] when fewer than `count` remain.
    fn charge(&self, caller: &CallerId, domain: &[u8], count: u64) -> Result<()>;
}

/// A fixed [`Policy`]: a list of (caller, domain) grants.
#[derive(Clone, Debug, Default)]
pub struct Grants(HashMap<CallerId, HashSet<Vec<u8>>>);

impl Grants {
    /// No grants.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also lets `caller` evaluate for `domain`.
    pub fn allow(mut self, caller: &CallerId, domain: &[u8]) -> Self {
        self.0
            .entry(caller.clone())
            .or_default()
            .insert(domain.to_vec());
        self
    }
}

impl Policy for Grants {
    fn allows(&self, caller: &CallerId, domain: &[u8]) -> bool {
        self.0
            .get(caller)
            .is_some_and(|domains| domains.contains(domain))
    }
}

/// An in-memory [`Quota`]: the same limit for every (caller, domain), for one process.
#[derive(Debug)]
pub struct MemoryQuota {
    limit: u64,
    used: Mutex<HashMap<(CallerId, Vec<u8>), u64>>,
}

impl MemoryQuota {
    /// `limit` evaluations per caller and domain (size it to the register).
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: Mutex::new(HashMap::new()),
        }
    }
}

impl Quota for MemoryQuota {
    fn charge(&self, caller: &CallerId, domain: &[u8], count: u64) -> Result<()> {
        // A poisoned lock only means another thread panicked between two statements here.
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let spent = used.entry((caller.clone(), domain.to_vec())).or_insert(0);
        match spent.checked_add(count) {
            Some(total) if total <= self.limit => {
                *spent = total;
                Ok(())
            }
            _ => Err(Error::QuotaExceeded),
        }
    }
}

/// The evaluator of flow B for one epoch: sees callers, domains and blinded elements only.
pub struct Evaluator {
    key: BulkKey,
    policy: Box<dyn Policy>,
    quota: Box<dyn Quota>,
    budget: EvaluationBudget,
}

impl Evaluator {
    /// An evaluator answering with `key` the callers `policy` allows, within `quota` and the
    /// key's `budget`.
    pub fn new(
        key: BulkKey,
        policy: impl Policy + 'static,
        quota: impl Quota + 'static,
        budget: EvaluationBudget,
    ) -> Self {
        Self {
            key,
            policy: Box::new(policy),
            quota: Box::new(quota),
            budget,
        }
    }

    /// The key's budget.
    pub fn budget(&self) -> &EvaluationBudget {
        &self.budget
    }

    /// Evaluates a whole batch for `caller` under the domain tweak with one batched proof
    /// (`spec/07-flow-b.md` §7.3 step 2, §7.4). Checks, in order: the policy, the key's
    /// budget, the caller's quota; each refusal is its own error and evaluates nothing. The
    /// budget is charged before the quota, so a refusal never spends a caller's quota
    /// (a quota refusal does spend budget: the budget may overcount, never undercount).
    ///
    /// # Errors
    /// [`Error::Unauthorized`], [`Error::BudgetExhausted`], [`Error::QuotaExceeded`];
    /// [`Error::InverseError`] when the tweak is zero (negligible),
    /// [`Error::RandomnessFailure`] for a broken RNG.
    pub fn evaluate_batch(
        &self,
        caller: &CallerId,
        request: &BatchRequest,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<BatchResponse> {
        if !self.policy.allows(caller, &request.domain) {
            return Err(Error::Unauthorized);
        }
        let count = u64::from(batch_count(request.blinded.len())?);
        self.budget.charge(count)?;
        self.quota.charge(caller, &request.domain, count)?;
        let (evaluated, proof) = self.key.server.blind_evaluate_batch(
            &request.blinded,
            &domain_info(&request.domain)?,
            rng,
        )?;
        Ok(BatchResponse {
            epoch: self.key.epoch,
            evaluated,
            proof,
        })
    }

    /// The pseudonym of `identity` in `domain` computed directly with the key, without
    /// blinding (RFC 9497 `Evaluate`), for spot checks of a batch run by the evaluator's own
    /// operator. It bypasses policy and quota, so it is never exposed to callers; it counts
    /// against the budget.
    ///
    /// # Errors
    /// [`Error::BudgetExhausted`]; [`Error::InputTooLong`] for an overlong identity or
    /// domain; [`Error::InvalidInput`]/[`Error::InverseError`] (negligible).
    pub fn evaluate_direct(&self, domain: &[u8], identity: &[u8]) -> Result<Pseudonym> {
        self.budget.charge(1)?;
        let output = self
            .key
            .server
            .evaluate(&identity_input(identity)?, &domain_info(domain)?)?;
        Ok(pseudonym_from_output(&output))
    }
}

impl fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evaluator")
            .field("key", &self.key)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}
