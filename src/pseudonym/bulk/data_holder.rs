//! Flow B's data holder: blinds a batch, checks the proof, finalizes the pseudonyms
//! (`spec/07-flow-b.md` §7.3).

use core::fmt;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::codec::{Reader, push_field};
use crate::error::{Error, Result};
#[cfg(feature = "threshold")]
use crate::messages::EvaluatedElement;
use crate::messages::{Blind, BlindedElement};
use crate::poprf::PoprfClient;
#[cfg(feature = "threshold")]
use crate::pseudonym::key_schedule::Epoch;
use crate::pseudonym::key_set::VerifiedKeySet;
use crate::pseudonym::text::Pseudonym;

use super::*;

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
            &crate::pseudonym::key_schedule::EpochPublicKeys,
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
