//! Share evaluation and its combination (`spec/12-threshold.md` §12.5): evaluator `i`
//! answers `Z_i = x_i·B` for its secret share `x_i` (of `k` in flow H, of `(k + m)⁻¹` under a
//! tweak record in flows A and B) with the RFC 9497 batched DLEQ proof against `X_i = x_i·G`;
//! the client checks each proof, keeps `t` valid answers and combines
//! `Z = Σ λ_{i,S}·Z_i`, the single-evaluator answer under the shared key.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use rand_core::CryptoRng;

use super::params::lagrange_at_zero;
use crate::codec::{Reader, decodes_from_slice, read_proven_batch};
use crate::dleq::{CompositeWeights, check_batch, generate_proof, hedged_nonce, verify_proof};
use crate::error::{Error, Result};
use crate::evaluate::scale_and_weigh;
use crate::keys::PublicKey;
use crate::messages::{BlindedElement, EvaluatedElement, PROOF_LEN, Proof};
use crate::parallel::map_indices;
use crate::suite::Mode;

/// One evaluator's answer to a batch: its index, `x_i·B` for each blinded element, and one
/// batched DLEQ proof against its verification share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareAnswer {
    /// The evaluator's index.
    pub index: u16,
    /// `x_i·B_j` for each blinded element, in order.
    pub evaluated: Vec<EvaluatedElement>,
    /// Proof that `log_G X_i = log_{B_j} Z_{i,j}` for every `j`.
    pub proof: Proof,
}

impl ShareAnswer {
    /// `index:2 || count:2 || Z_1 || … || Z_count || proof:64`.
    ///
    /// # Errors
    /// [`Error::EmptyBatch`] or [`Error::BatchTooLarge`] for no elements or more than 65535.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        check_batch(self.evaluated.len(), self.evaluated.len())?;
        let count = u16::try_from(self.evaluated.len()).map_err(|_| Error::BatchTooLarge {
            len: self.evaluated.len(),
        })?;
        let mut out = Vec::with_capacity(4 + 32 * self.evaluated.len() + PROOF_LEN);
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        for z in &self.evaluated {
            out.extend_from_slice(z.as_bytes());
        }
        out.extend_from_slice(&self.proof.to_bytes());
        Ok(out)
    }

    /// Decodes an answer strictly, index, count and length first.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for index 0, [`Error::EmptyBatch`] for a zero count,
    /// [`Error::InvalidLength`] when the length does not match the count; the element and
    /// scalar errors of the fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let index = reader.u16()?;
        if index == 0 {
            return Err(Error::UnknownEvaluator { index });
        }
        let (evaluated, proof) = read_proven_batch(&mut reader, 2)?;
        reader.finish()?;
        Ok(Self {
            index,
            evaluated,
            proof,
        })
    }
}

decodes_from_slice!(ShareAnswer);

/// `x·B_j` for every blinded element with one hedged batched DLEQ proof against `public =
/// x·G` (RFC 9497 §2.2, `spec/03-oprf-core.md` §3.6), in `mode`'s context: the single
/// evaluator's code path with a share as the key.
///
/// # Errors
/// [`Error::EmptyBatch`], [`Error::BatchTooLarge`], [`Error::RandomnessFailure`].
pub(crate) fn prove_scaled(
    mode: Mode,
    index: u16,
    secret: &Scalar,
    public: &PublicKey,
    blinded: &[BlindedElement],
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<ShareAnswer> {
    check_batch(blinded.len(), blinded.len())?;
    let composite = CompositeWeights::new(mode, &public.bytes);
    let (evaluated, weights) = scale_and_weigh(secret, blinded, |i, b, z| {
        composite.weight(i, &b.bytes, &z.bytes)
    })?;
    let b = public.bytes;
    let proof = generate_proof(mode, secret, public, &weights, blinded, |k, m, z| {
        hedged_nonce(mode, rng, k, &b, m, z)
    })?;
    Ok(ShareAnswer {
        index,
        evaluated,
        proof,
    })
}

/// Checks one answer against the evaluator's verification share.
///
/// # Errors
/// [`Error::BatchMismatch`] for a length other than the batch's, [`Error::BadShare`] naming
/// the evaluator when the proof fails.
pub(crate) fn check_answer(
    mode: Mode,
    public: &PublicKey,
    blinded: &[BlindedElement],
    answer: &ShareAnswer,
) -> Result<()> {
    check_batch(blinded.len(), answer.evaluated.len())?;
    verify_proof(mode, public, blinded, &answer.evaluated, &answer.proof).map_err(|error| {
        match error {
            Error::VerifyError => Error::BadShare {
                evaluator: answer.index,
            },
            other => other,
        }
    })
}

/// Which answers a client used and which it dropped (`spec/12-threshold.md` §12.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// The `t` evaluators whose answers were combined, in the order given.
    pub used: Vec<u16>,
    /// Evaluators whose answers were dropped — a failed proof, a wrong length, a repeated or
    /// unknown index, another epoch — in the order met.
    pub rejected: Vec<u16>,
}

/// `t` checked answers and their Lagrange coefficients at zero, before combining.
pub(crate) struct Selected<'a> {
    pub(crate) answers: Vec<&'a ShareAnswer>,
    pub(crate) lambdas: Vec<Scalar>,
    pub(crate) selection: Selection,
}

impl Selected<'_> {
    /// `Σ λ_i·Z_{i,j}` for each element `j`: the single evaluator's answer.
    ///
    /// # Errors
    /// None in practice (the answers were checked to have the batch's length).
    pub(crate) fn combine(&self, len: usize) -> Result<Vec<EvaluatedElement>> {
        map_indices(len, |j| {
            let point = RistrettoPoint::vartime_multiscalar_mul(
                &self.lambdas,
                self.answers.iter().map(|a| a.evaluated[j].point),
            );
            Ok(EvaluatedElement::from_point(point))
        })
    }

    /// Each answer's elements, in the order of the coefficients.
    pub(crate) fn elements(&self) -> Vec<&[EvaluatedElement]> {
        self.answers
            .iter()
            .map(|a| a.evaluated.as_slice())
            .collect()
    }
}

/// Checks answers in the order given until `t` are valid, dropping (and naming) each one that
/// fails — a proof that does not verify, a length other than the batch's, an index already
/// seen, an index without a key (not an evaluator, or not in the tweak's inversion) — or,
/// when `strict`, failing on it; then takes their Lagrange coefficients at zero. Each answer's index must be the evaluator the caller received it
/// from (the transport authenticates evaluators; an index is otherwise only a claim).
///
/// # Errors
/// When `strict`: [`Error::BadShare`] naming the first answer that fails its proof, its length
/// or repeats, [`Error::UnknownEvaluator`] for an index without a key;
/// [`Error::TooFewShares`] when fewer than `t` answers are valid.
pub(crate) fn select<'a>(
    mode: Mode,
    t: u16,
    blinded: &[BlindedElement],
    answers: &'a [ShareAnswer],
    strict: bool,
    key_of: impl Fn(u16) -> Result<PublicKey>,
) -> Result<Selected<'a>> {
    check_batch(blinded.len(), blinded.len())?;
    let need = usize::from(t);
    let mut seen = Vec::with_capacity(answers.len());
    let mut valid: Vec<&ShareAnswer> = Vec::with_capacity(need);
    let mut rejected = Vec::new();
    for answer in answers {
        if valid.len() == need {
            break;
        }
        let checked = if seen.contains(&answer.index) {
            Err(Error::BadShare {
                evaluator: answer.index,
            })
        } else {
            key_of(answer.index).and_then(|public| check_answer(mode, &public, blinded, answer))
        };
        seen.push(answer.index);
        match checked {
            Ok(()) => valid.push(answer),
            Err(
                Error::BadShare { .. }
                | Error::BatchMismatch { .. }
                | Error::UnknownEvaluator { .. },
            ) if !strict => {
                rejected.push(answer.index);
            }
            Err(Error::BatchMismatch { .. }) => {
                return Err(Error::BadShare {
                    evaluator: answer.index,
                });
            }
            Err(other) => return Err(other),
        }
    }
    if valid.len() < need {
        return Err(Error::TooFewShares {
            have: valid.len(),
            need,
        });
    }
    let used: Vec<u16> = valid.iter().map(|a| a.index).collect();
    let lambdas = lagrange_at_zero(&used)?;
    Ok(Selected {
        answers: valid,
        lambdas,
        selection: Selection { used, rejected },
    })
}

/// [`select`], then the combined elements: the single evaluator's answer.
///
/// # Errors
/// As [`select`].
pub(crate) fn combine(
    mode: Mode,
    t: u16,
    blinded: &[BlindedElement],
    answers: &[ShareAnswer],
    strict: bool,
    key_of: impl Fn(u16) -> Result<PublicKey>,
) -> Result<(Vec<EvaluatedElement>, Selection)> {
    let selected = select(mode, t, blinded, answers, strict, key_of)?;
    Ok((selected.combine(blinded.len())?, selected.selection))
}

/// An evaluator's answer under one epoch's key share: `epoch:4 || ShareAnswer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareResponse {
    /// The epoch whose key share answered.
    pub epoch: crate::pseudonym::Epoch,
    /// The answer.
    pub answer: ShareAnswer,
}

impl ShareResponse {
    /// `epoch:4 || answer`.
    ///
    /// # Errors
    /// As [`ShareAnswer::to_bytes`].
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = self.epoch.to_be_bytes().to_vec();
        out.extend_from_slice(&self.answer.to_bytes()?);
        Ok(out)
    }

    /// Decodes a response strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] under 4 bytes; as [`ShareAnswer::from_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (epoch, rest) = bytes.split_first_chunk::<4>().ok_or(Error::InvalidLength {
            expected: 4,
            actual: bytes.len(),
        })?;
        // Lengths are reported for the whole message, as every decoder does (§8.3).
        let answer = ShareAnswer::from_bytes(rest).map_err(|error| match error {
            Error::InvalidLength { expected, actual } => Error::InvalidLength {
                expected: expected + 4,
                actual: actual + 4,
            },
            other => other,
        })?;
        Ok(Self {
            epoch: u32::from_be_bytes(*epoch),
            answer,
        })
    }
}

decodes_from_slice!(ShareResponse);

/// The epoch most responses answer under (the first such, on a tie), and the answers under
/// it; a response under another epoch is dropped and named, like a bad answer, so one
/// evaluator answering under a wrong epoch cannot sink the others.
///
/// # Errors
/// [`Error::TooFewShares`] for no responses.
pub(crate) fn same_epoch(
    responses: &[ShareResponse],
) -> Result<(crate::pseudonym::Epoch, Vec<ShareAnswer>, Vec<u16>)> {
    let epoch = majority_epoch(responses.iter().map(|r| r.epoch))?;
    let (mut answers, mut rejected) = (Vec::with_capacity(responses.len()), Vec::new());
    for response in responses {
        if response.epoch == epoch {
            answers.push(response.answer.clone());
        } else {
            rejected.push(response.answer.index);
        }
    }
    Ok((epoch, answers, rejected))
}

/// The epoch most of `epochs` carry, the first such on a tie.
///
/// # Errors
/// [`Error::TooFewShares`] for none.
pub(crate) fn majority_epoch(
    epochs: impl Iterator<Item = crate::pseudonym::Epoch> + Clone,
) -> Result<crate::pseudonym::Epoch> {
    let count = |epoch| epochs.clone().filter(|e| *e == epoch).count();
    epochs
        .clone()
        .fold(None, |best, epoch| match best {
            Some(b) if count(b) >= count(epoch) => Some(b),
            _ => Some(epoch),
        })
        .ok_or(Error::TooFewShares { have: 0, need: 1 })
}
