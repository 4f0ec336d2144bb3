//! Flow A's threshold wire messages: the share evaluation and the signing request
//! (`spec/12-threshold.md` §12.8).

use crate::codec::{Reader, decodes_from_slice};
use crate::error::{Error, Result};
use crate::messages::PROOF_LEN;
use crate::pseudonym::Epoch;
use crate::threshold::answer::ShareAnswer;
use crate::threshold::params::MAX_EVALUATORS;
use crate::threshold::signing::SignerCommitment;

/// Evaluator → holder, round one: the share answer and the FROST commitments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareEvaluation {
    /// The epoch whose key shares answered.
    pub epoch: Epoch,
    /// `s_i·B` with its proof against `S_i`.
    pub answer: ShareAnswer,
    /// FROST round-one commitments of this evaluator.
    pub commitment: SignerCommitment,
}

/// Holder → each chosen signer, round two: the expiry, and the `t` answers and commitments
/// of the signers, in the same order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningRequest {
    /// The epoch.
    pub epoch: Epoch,
    /// Absolute expiry on the public grid.
    pub expiry: u64,
    /// The chosen signers' answers.
    pub answers: Vec<ShareAnswer>,
    /// The chosen signers' commitments.
    pub commitments: Vec<SignerCommitment>,
}

/// The size of a flow A share answer: one element (`index:2 || 1:2 || Z:32 || proof:64`).
pub const FLOW_A_ANSWER_LEN: usize = 2 + 2 + 32 + PROOF_LEN;

/// `answer:100 || len:2 || commitment` of one signer.
fn write_entry(
    out: &mut Vec<u8>,
    answer: &ShareAnswer,
    commitment: &SignerCommitment,
) -> Result<()> {
    if answer.evaluated.len() != 1 {
        return Err(Error::BatchMismatch {
            left: 1,
            right: answer.evaluated.len(),
        });
    }
    out.extend_from_slice(&answer.to_bytes()?);
    let commitment = commitment.to_bytes()?;
    let len = u16::try_from(commitment.len()).map_err(|_| Error::InputTooLong)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&commitment);
    Ok(())
}

/// Reads one signer's entry strictly: a one-element answer, then commitments of the same
/// signer.
fn read_entry(reader: &mut Reader<'_>) -> Result<(ShareAnswer, SignerCommitment)> {
    let answer = ShareAnswer::from_bytes(reader.take(FLOW_A_ANSWER_LEN)?)?;
    let len = usize::from(reader.u16()?);
    let commitment = SignerCommitment::from_bytes(reader.take(len)?)?;
    if commitment.index != answer.index {
        return Err(Error::UnknownEvaluator {
            index: commitment.index,
        });
    }
    Ok((answer, commitment))
}

impl ShareEvaluation {
    /// `epoch:4 || answer:100 || len:2 || commitment` (`spec/12-threshold.md` §12.8).
    ///
    /// # Errors
    /// [`Error::BatchMismatch`] for an answer of other than one element; [`Error::Malformed`]
    /// if FROST cannot encode the commitments.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = self.epoch.to_be_bytes().to_vec();
        write_entry(&mut out, &self.answer, &self.commitment)?;
        Ok(out)
    }

    /// Decodes strictly: one element, commitments of the answering evaluator, no trailing
    /// bytes.
    ///
    /// # Errors
    /// [`Error::InvalidLength`], the answer's and commitments' errors,
    /// [`Error::UnknownEvaluator`] when the two name different evaluators.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let epoch = reader.u32()?;
        let (answer, commitment) = read_entry(&mut reader)?;
        reader.finish()?;
        Ok(Self {
            epoch,
            answer,
            commitment,
        })
    }
}

impl SigningRequest {
    /// `epoch:4 || expiry:8 || count:2 || (answer:100 || len:2 || commitment)*count`.
    ///
    /// # Errors
    /// [`Error::BatchMismatch`] when the answers and commitments differ in number or an
    /// answer is not one element; [`Error::ThresholdParams`] for more than 255 signers;
    /// [`Error::Malformed`] if FROST cannot encode commitments.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        if self.answers.len() != self.commitments.len() {
            return Err(Error::BatchMismatch {
                left: self.answers.len(),
                right: self.commitments.len(),
            });
        }
        let count = u16::try_from(self.answers.len())
            .ok()
            .filter(|c| *c <= MAX_EVALUATORS)
            .ok_or(Error::ThresholdParams)?;
        let mut out = self.epoch.to_be_bytes().to_vec();
        out.extend_from_slice(&self.expiry.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        for (answer, commitment) in self.answers.iter().zip(&self.commitments) {
            write_entry(&mut out, answer, commitment)?;
        }
        Ok(out)
    }

    /// Decodes strictly; the count is checked before any entry is read.
    ///
    /// # Errors
    /// [`Error::TooFewShares`] for no signers, [`Error::ThresholdParams`] for more than 255,
    /// [`Error::InvalidLength`], and each entry's errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let epoch = reader.u32()?;
        let expiry = reader.u64()?;
        let count = reader.u16()?;
        if count == 0 {
            return Err(Error::TooFewShares { have: 0, need: 1 });
        }
        if count > MAX_EVALUATORS {
            return Err(Error::ThresholdParams);
        }
        let minimum = 14 + usize::from(count) * (FLOW_A_ANSWER_LEN + 2);
        if bytes.len() < minimum {
            return Err(Error::InvalidLength {
                expected: minimum,
                actual: bytes.len(),
            });
        }
        let (mut answers, mut commitments) = (Vec::new(), Vec::new());
        for _ in 0..count {
            let (answer, commitment) = read_entry(&mut reader)?;
            answers.push(answer);
            commitments.push(commitment);
        }
        reader.finish()?;
        Ok(Self {
            epoch,
            expiry,
            answers,
            commitments,
        })
    }
}

decodes_from_slice!(ShareEvaluation, SigningRequest);
