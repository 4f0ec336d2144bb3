//! Flow B: bulk pseudonymisation of a register for one domain over the POPRF, public info =
//! domain (`spec/07-flow-b.md`).
//!
//! The [`DataHolder`] blinds a batch of identities, the [`Evaluator`] evaluates the whole
//! batch under the domain tweak with one batched DLEQ proof, and the data holder verifies,
//! finalizes and maps each output to a pseudonym. The evaluator never sees identities; the
//! data holder cannot compute another domain's pseudonyms without the evaluator.

use core::fmt;
use core::ops::Range;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::encoding::{Reader, context, frame, push_field};
use super::epoch_keys::{Epoch, EvaluatorKeys, PublishedKeys};
use super::pseudonym::Pseudonym;
use crate::dleq::MAX_BATCH;
use crate::error::{Error, Result};
use crate::group::exact;
use crate::messages::{Blind, BlindedElement, EvaluatedElement, Output, PROOF_LEN, Proof};
use crate::poprf::PoprfClient;

/// The flow B private input `frame("blindnym v1 flow-B identity", identity)`.
///
/// # Errors
/// [`Error::InputTooLong`] for an identity over 65535 bytes.
pub fn identity_input(identity: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    frame(&[context::FLOW_B_IDENTITY.as_bytes(), identity]).map(Zeroizing::new)
}

/// The flow B public info `frame("blindnym v1 flow-B domain", domain)`.
///
/// # Errors
/// [`Error::InputTooLong`] for a domain over 65535 bytes.
pub fn domain_info(domain: &[u8]) -> Result<Vec<u8>> {
    frame(&[context::FLOW_B_DOMAIN.as_bytes(), domain])
}

/// Maps a flow B OPRF output to a pseudonym:
/// `blake3::derive_key("blindnym v1 pseudonym flow-B", output)` (`spec/07-flow-b.md` §7.4).
pub fn pseudonym_from_output(output: &Output) -> Pseudonym {
    Pseudonym::from_array(blake3::derive_key(
        context::FLOW_B_PSEUDONYM,
        output.as_bytes(),
    ))
}

/// A blinded batch held by the data holder until the evaluator answers. Secret (framed
/// identities and blinds, zeroized on drop); never printed. Send [`BlindBatch::blinded`].
pub struct BlindBatch {
    inputs: Zeroizing<Vec<u8>>,
    ranges: Vec<Range<usize>>,
    blinds: Vec<Blind>,
    blinded: Vec<BlindedElement>,
}

impl BlindBatch {
    /// The blinded elements to send to the evaluator, in identity order.
    pub fn blinded(&self) -> &[BlindedElement] {
        &self.blinded
    }

    /// The number of identities.
    pub fn len(&self) -> usize {
        self.blinded.len()
    }

    /// Whether the batch is empty (never, for a batch built by [`DataHolder::blind_batch`]).
    pub fn is_empty(&self) -> bool {
        self.blinded.is_empty()
    }

    /// The framed identities, borrowed from the one flat buffer.
    fn input_slices(&self) -> Vec<&[u8]> {
        self.ranges
            .iter()
            .map(|r| self.inputs.get(r.clone()).unwrap_or_default())
            .collect()
    }
}

impl fmt::Debug for BlindBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindBatch({} identities, <redacted>)", self.len())
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
    /// [`Error::BatchSize`] when `evaluated` is empty or longer than [`MAX_BATCH`] (the
    /// fields are public, so a caller can build such a response; it has no encoding).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let count = u16::try_from(self.evaluated.len()).map_err(|_| Error::BatchSize)?;
        if count == 0 {
            return Err(Error::BatchSize);
        }
        let mut out = Vec::with_capacity(4 + 2 + 32 * self.evaluated.len() + PROOF_LEN);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        for z in &self.evaluated {
            out.extend_from_slice(z.as_bytes());
        }
        out.extend_from_slice(&self.proof.to_bytes());
        Ok(out)
    }

    /// Decodes a batch response strictly.
    ///
    /// # Errors
    /// [`Error::BatchSize`] for a zero count; [`Error::InvalidLength`] when the length does
    /// not match the count; the element and scalar errors of the fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let epoch = reader.u32()?;
        let count = usize::from(reader.u16()?);
        if count == 0 {
            return Err(Error::BatchSize);
        }
        let expected = 6 + 32 * count + PROOF_LEN;
        if bytes.len() != expected {
            return Err(Error::InvalidLength {
                expected,
                actual: bytes.len(),
            });
        }
        // Decoding dominates a response's cost: collect the encodings, decode in parallel.
        let encodings = reader
            .take(32 * count)?
            .chunks_exact(32)
            .map(exact::<32>)
            .collect::<Result<Vec<_>>>()?;
        let evaluated = EvaluatedElement::from_bytes_batch(&encodings)?;
        let proof = Proof::from_bytes(reader.take(PROOF_LEN)?)?;
        reader.finish()?;
        Ok(Self {
            epoch,
            evaluated,
            proof,
        })
    }
}

/// The data holder of flow B: one domain, the published keys.
#[derive(Clone, Debug)]
pub struct DataHolder {
    published: PublishedKeys,
    domain_info: Vec<u8>,
}

impl DataHolder {
    /// A data holder pseudonymising for `domain`, trusting `published`.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a domain over 65535 bytes.
    pub fn new(published: PublishedKeys, domain: &[u8]) -> Result<Self> {
        Ok(Self {
            published,
            domain_info: domain_info(domain)?,
        })
    }

    /// Blinds a batch of identities (`spec/07-flow-b.md` §7.3 step 1). The framed identities
    /// share one buffer; blinds are drawn from `rng` in identity order.
    ///
    /// # Errors
    /// [`Error::BatchSize`] for an empty batch or one over 65535 identities,
    /// [`Error::InputTooLong`] for an overlong identity, [`Error::RandomnessFailure`] for a
    /// broken RNG.
    pub fn blind_batch<I: AsRef<[u8]>>(
        &self,
        identities: &[I],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<BlindBatch> {
        if identities.is_empty() || identities.len() > MAX_BATCH {
            return Err(Error::BatchSize);
        }
        let tag = context::FLOW_B_IDENTITY.as_bytes();
        let total = identities
            .iter()
            .map(|i| 4 + tag.len() + i.as_ref().len())
            .sum();
        let mut inputs = Zeroizing::new(Vec::with_capacity(total));
        let mut ranges = Vec::with_capacity(identities.len());
        for identity in identities {
            let start = inputs.len();
            push_field(&mut inputs, tag)?;
            push_field(&mut inputs, identity.as_ref())?;
            ranges.push(start..inputs.len());
        }
        let mut batch = BlindBatch {
            inputs,
            ranges,
            blinds: Vec::new(),
            blinded: Vec::new(),
        };
        let newest = self.published.newest()?;
        let (blinds, blinded) =
            PoprfClient::new(newest.flow_b).blind_batch(&batch.input_slices(), rng)?;
        batch.blinds = blinds;
        batch.blinded = blinded;
        Ok(batch)
    }

    /// Verifies the batched proof against the domain's tweaked key for the response's epoch,
    /// finalizes every element and maps the outputs to pseudonyms, in identity order
    /// (`spec/07-flow-b.md` §7.3 step 3).
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`] when the epoch is not published, [`Error::BatchSize`] when the
    /// response's length differs from the batch's, [`Error::VerifyError`] when the proof
    /// fails (an evaluation under any other key or domain).
    pub fn finalize_batch(
        &self,
        batch: &BlindBatch,
        response: &BatchResponse,
    ) -> Result<Vec<Pseudonym>> {
        let keys = self.published.get(response.epoch)?;
        let outputs = PoprfClient::new(keys.flow_b).finalize_batch(
            &batch.input_slices(),
            &self.domain_info,
            &batch.blinds,
            &response.evaluated,
            &batch.blinded,
            &response.proof,
        )?;
        Ok(outputs.iter().map(pseudonym_from_output).collect())
    }
}

/// The evaluator of flow B: sees the domain and blinded elements only.
#[derive(Clone, Debug)]
pub struct Evaluator {
    keys: EvaluatorKeys,
}

impl Evaluator {
    /// An evaluator answering with `keys` (one epoch).
    pub fn new(keys: EvaluatorKeys) -> Self {
        Self { keys }
    }

    /// Evaluates a whole batch under the domain tweak with one batched proof
    /// (`spec/07-flow-b.md` §7.3 step 2).
    ///
    /// # Errors
    /// [`Error::BatchSize`] for an empty batch or one over 65535, [`Error::InputTooLong`]
    /// for an overlong domain, [`Error::InverseError`] when the tweak is zero (negligible),
    /// [`Error::RandomnessFailure`] for a broken RNG.
    pub fn evaluate_batch(
        &self,
        domain: &[u8],
        blinded: &[BlindedElement],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<BatchResponse> {
        let (evaluated, proof) =
            self.keys
                .flow_b()
                .blind_evaluate_batch(blinded, &domain_info(domain)?, rng)?;
        Ok(BatchResponse {
            epoch: self.keys.epoch(),
            evaluated,
            proof,
        })
    }
    /// The pseudonym of `identity` in `domain` computed directly with the key, without
    /// blinding (RFC 9497 `Evaluate`): for spot checks of a batch run, and for an evaluator
    /// that is itself the data holder. A data holder cannot call it: it needs the key.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for an overlong identity or domain, [`Error::InvalidInput`]
    /// when the identity hashes to the identity element, [`Error::InverseError`] when the
    /// tweak is zero (both negligible).
    pub fn evaluate_direct(&self, domain: &[u8], identity: &[u8]) -> Result<Pseudonym> {
        let output = self
            .keys
            .flow_b()
            .evaluate(&identity_input(identity)?, &domain_info(domain)?)?;
        Ok(pseudonym_from_output(&output))
    }
}
