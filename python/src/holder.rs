//! The data holder's side of flow B: the signed key set and verification shares it checks,
//! blinding a batch of identities and finalizing the evaluator's answer (one evaluator, or
//! `t` of a threshold set). Every proof is verified before a pseudonym comes out.

use std::time::{SystemTime, UNIX_EPOCH};

use blindnym::pseudonym::bulk::{self, BatchResponse};
use blindnym::pseudonym::{KeySetVerifier, SignedKeySet, VerifiedKeySet};
use blindnym::threshold::inversion::TweakRecord;
use blindnym::threshold::{ShareResponse, SignedEpochShares, VerificationShares};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_arrow::PyArray;

use crate::arrow_io::{identities, texts};
use crate::errors::{invalid, to_py};

fn now_or(now: Option<u64>) -> u64 {
    now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

fn anchor_key(anchor: &[u8]) -> PyResult<blindnym::ed25519_dalek::VerifyingKey> {
    let anchor: [u8; 32] = anchor
        .try_into()
        .map_err(|_| invalid("InvalidLength", "the anchor is 32 bytes"))?;
    blindnym::pseudonym::key_set::decode_verifying_key(&anchor).map_err(to_py)
}

fn verifier(anchor: &[u8], realm: &[u8]) -> PyResult<KeySetVerifier> {
    Ok(KeySetVerifier::new(anchor_key(anchor)?, realm))
}

/// A signed key set checked against its anchor (`spec/04-keys.md` §4.5).
#[pyclass(module = "blindnym", frozen)]
#[derive(Debug)]
pub struct KeySet {
    keys: VerifiedKeySet,
    anchor: Vec<u8>,
    realm: Vec<u8>,
}

#[pymethods]
impl KeySet {
    /// The set's digest (`spec/04-keys.md` §4.5): what a transparency log records.
    #[getter]
    fn digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.keys.digest())
    }

    /// The set's sequence number.
    #[getter]
    fn sequence(&self) -> u64 {
        self.keys.set().sequence()
    }
}

/// Checks `signed` (the evaluator's `/v1/key-set` bytes) against `anchor` (the key-set
/// signer's 32-byte public key) for `realm`, at `now` (seconds; default: the clock). With
/// `last` (the bytes of the set accepted before, as kept between runs), a set older than it
/// or one that re-keys an epoch it listed is refused.
///
/// Raises `KeySetError` for a bad signature, another realm, an expired set, a rollback or a
/// re-keyed epoch.
#[pyfunction]
#[pyo3(signature = (signed, anchor, realm, now=None, last=None))]
pub fn verify_key_set(
    signed: &[u8],
    anchor: &[u8],
    realm: &[u8],
    now: Option<u64>,
    last: Option<&[u8]>,
) -> PyResult<KeySet> {
    let signed = SignedKeySet::from_bytes(signed).map_err(to_py)?;
    let mut verifier = match last {
        Some(last) => KeySetVerifier::with_last_accepted_set(
            anchor_key(anchor)?,
            realm,
            &SignedKeySet::from_bytes(last).map_err(to_py)?,
        )
        .map_err(to_py)?,
        None => verifier(anchor, realm)?,
    };
    let keys = verifier.accept(&signed, now_or(now)).map_err(to_py)?;
    Ok(KeySet {
        keys,
        anchor: anchor.to_vec(),
        realm: realm.to_vec(),
    })
}

/// The verification shares of a threshold set's flow B key (`spec/12-threshold.md` §12.3).
#[pyclass(module = "blindnym", frozen)]
#[derive(Debug)]
pub struct EpochShares {
    bulk: VerificationShares,
}

#[pymethods]
impl EpochShares {
    /// `t`: how many evaluators answer each batch.
    #[getter]
    fn t(&self) -> u16 {
        self.bulk.params().t()
    }

    /// `n`: how many evaluators the set has.
    #[getter]
    fn n(&self) -> u16 {
        self.bulk.params().n()
    }
}

/// Checks `signed` (`/v1/threshold/epoch-shares`) against the anchor and realm of `key_set`
/// and its group keys.
///
/// Raises `KeySetError` for a bad signature or an epoch not in the key set, `ThresholdError`
/// for shares of other keys.
#[pyfunction]
#[pyo3(signature = (signed, key_set, now=None))]
pub fn verify_epoch_shares(
    signed: &[u8],
    key_set: &KeySet,
    now: Option<u64>,
) -> PyResult<EpochShares> {
    let shares = SignedEpochShares::from_bytes(signed)
        .and_then(|s| {
            verifier(&key_set.anchor, &key_set.realm)
                .map_err(|_| blindnym::Error::KeySetSignature)
                .and_then(|v| s.verify(&v, &key_set.keys, now_or(now)))
        })
        .map_err(to_py)?;
    Ok(EpochShares { bulk: shares.bulk })
}

/// A blinded batch, held until the evaluator answers. Secret: never printed.
#[pyclass(module = "blindnym")]
pub struct BlindBatch {
    batch: Option<bulk::BlindBatch>,
}

impl core::fmt::Debug for BlindBatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BlindBatch").finish_non_exhaustive()
    }
}

#[pymethods]
impl BlindBatch {
    fn __len__(&self) -> usize {
        self.batch.as_ref().map_or(0, bulk::BlindBatch::len)
    }

    fn __repr__(&self) -> String {
        format!("BlindBatch(<{} identities, redacted>)", self.__len__())
    }
}

/// A data holder pseudonymising identities for one domain under a checked key set.
#[pyclass(module = "blindnym", frozen)]
#[derive(Debug)]
pub struct DataHolder {
    holder: bulk::DataHolder,
    domain: Vec<u8>,
}

impl BlindBatch {
    fn take(&mut self) -> PyResult<bulk::BlindBatch> {
        self.batch
            .take()
            .ok_or_else(|| invalid("Replayed", "this batch was already finalized"))
    }
}

#[pymethods]
impl DataHolder {
    /// A data holder for `domain` under `key_set`.
    #[new]
    fn new(key_set: &KeySet, domain: &[u8]) -> PyResult<Self> {
        Ok(Self {
            holder: bulk::DataHolder::new(key_set.keys.clone(), domain).map_err(to_py)?,
            domain: domain.to_vec(),
        })
    }

    /// The domain.
    #[getter]
    fn domain<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.domain)
    }

    /// Blinds an Arrow array of identities (strings or binaries, 1 to 65535, no nulls).
    /// Returns the batch to keep and the request bytes for the evaluator
    /// (`/v1/flow-b/evaluate`, or each threshold evaluator's `/v1/threshold/flow-b/evaluate`).
    ///
    /// Raises `InvalidInput` for a null, an empty or over-large batch or an over-long
    /// identifier.
    fn blind<'py>(
        &self,
        py: Python<'py>,
        ids: PyArray,
    ) -> PyResult<(BlindBatch, Bound<'py, PyBytes>)> {
        let ids = identities(ids.array())?;
        let (batch, request) = self
            .holder
            .blind_batch(&ids, &mut rand::rng())
            .map_err(to_py)?;
        Ok((
            BlindBatch { batch: Some(batch) },
            PyBytes::new(py, &request.to_bytes()),
        ))
    }

    /// Verifies one evaluator's answer (`BatchResponse` bytes) and finalizes the batch: a
    /// pyarrow UTF-8 array of pseudonyms in the text form, in the identities' order.
    ///
    /// Raises `VerificationFailed` for an answer whose proof fails, `KeySetError` for an epoch
    /// the key set does not accept, `InvalidInput` for malformed bytes.
    #[pyo3(signature = (batch, response, now=None))]
    fn finalize<'py>(
        &self,
        py: Python<'py>,
        batch: &mut BlindBatch,
        response: &[u8],
        now: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let response = BatchResponse::from_bytes(response).map_err(to_py)?;
        let blinded = batch.take()?;
        let pseudonyms = self
            .holder
            .finalize_batch(&blinded, &response, now_or(now))
            .map_err(to_py)?;
        texts(py, &pseudonyms)
    }

    /// Threshold mode: checks the domain's `record` against `shares`, checks every answer
    /// (`ShareResponse` bytes, one per evaluator), combines `t` and finalizes. Returns the
    /// pseudonyms (pyarrow UTF-8), the evaluators used and those whose answers were dropped.
    ///
    /// Raises `ThresholdError` (`TooFewShares`) with fewer than `t` valid answers, or for a
    /// record of another tweak; `InvalidInput` for malformed bytes.
    #[pyo3(signature = (batch, shares, record, responses, now=None))]
    fn finalize_threshold<'py>(
        &self,
        py: Python<'py>,
        batch: &mut BlindBatch,
        shares: &EpochShares,
        record: &[u8],
        responses: Vec<Vec<u8>>,
        now: Option<u64>,
    ) -> PyResult<(Bound<'py, PyAny>, Vec<u16>, Vec<u16>)> {
        let record = TweakRecord::from_bytes(record).map_err(to_py)?;
        // A malformed answer is one evaluator's fault: dropped like a bad proof.
        let responses: Vec<ShareResponse> = responses
            .iter()
            .filter_map(|bytes| ShareResponse::from_bytes(bytes).ok())
            .collect();
        let blinded = batch
            .batch
            .as_ref()
            .ok_or_else(|| invalid("Replayed", "this batch was already finalized"))?;
        let (pseudonyms, selection) = blindnym::threshold::flow_b::finalize_batch(
            &self.holder,
            blinded,
            &shares.bulk,
            &record,
            &responses,
            now_or(now),
        )
        .map_err(to_py)?;
        batch.batch = None;
        Ok((texts(py, &pseudonyms)?, selection.used, selection.rejected))
    }

    /// Checks a threshold set's `record` (the `/v1/threshold/flow-b/tweak` bytes) for this
    /// domain against `shares`.
    ///
    /// Raises `ThresholdError` (`TweakMismatch`) for a record of another tweak,
    /// `VerificationFailed` for a product that does not verify, `InvalidInput` for malformed
    /// bytes.
    fn check_record(&self, shares: &EpochShares, record: &[u8]) -> PyResult<()> {
        TweakRecord::from_bytes(record)
            .and_then(|record| record.check(&shares.bulk, &bulk::domain_info(&self.domain)?))
            .map_err(to_py)?;
        Ok(())
    }
}
