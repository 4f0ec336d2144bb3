//! Flow B's wire messages: the batch request and the proven batch response (`spec/07-flow-b.md`
//! §7.3).

use crate::codec::{Reader, decodes_from_slice, push_field, read_proven_batch};
use crate::dleq::batch_len;
use crate::error::{Error, Result};
use crate::group::exact;
use crate::messages::{BlindedElement, EvaluatedElement, PROOF_LEN, Proof};
use crate::pseudonym::key_schedule::Epoch;

use super::*;

/// The count of a batch, checked against `1..=MAX_BATCH`.
///
/// # Errors
/// [`Error::EmptyBatch`], [`Error::BatchTooLarge`].
pub(super) fn batch_count(len: usize) -> Result<u16> {
    batch_len(len)?;
    u16::try_from(len).map_err(|_| Error::BatchTooLarge { len })
}

/// Data holder → evaluator: the domain and the blinded elements (`spec/07-flow-b.md` §7.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRequest {
    pub(super) domain: Vec<u8>,
    pub(super) blinded: Vec<BlindedElement>,
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
