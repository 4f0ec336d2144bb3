//! Flow A's wire messages: request, evaluation, assertion and their migration forms
//! (`spec/06-flow-a.md` §6.3–6.6).

use core::fmt;

use ed25519_dalek::Signature;

use crate::codec::{Reader, concat, decodes_from_slice};
use crate::error::{Error, Result};
use crate::messages::{Blind, BlindedElement, EvaluatedElement, PROOF_LEN, Proof};
use crate::pseudonym::key_schedule::Epoch;

use super::*;

/// Holder → evaluator (`spec/06-flow-a.md` §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// `B = r·HashToGroup(service_input(service))`.
    pub blinded: BlindedElement,
    /// `H(nonce, channel binding)`.
    pub session: [u8; 32],
}

impl Request {
    /// `B || session`, 64 bytes.
    pub fn to_bytes(&self) -> [u8; REQUEST_LEN] {
        concat(&[self.blinded.as_bytes(), &self.session])
    }

    /// Decodes a request strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 64 bytes; the element errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, REQUEST_LEN)?;
        let blinded = BlindedElement::from_bytes(reader.take(32)?)?;
        let session = reader.array()?;
        reader.finish()?;
        Ok(Self { blinded, session })
    }
}

/// Evaluator → holder (`spec/06-flow-a.md` §6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// The epoch whose keys evaluated and signed.
    pub epoch: Epoch,
    /// `Z = t⁻¹·B`.
    pub evaluated: EvaluatedElement,
    /// DLEQ proof against `T = pk + m·G`.
    pub proof: Proof,
    /// Absolute expiry, on the public grid.
    pub expiry: u64,
    /// Ed25519 signature over the signed message.
    pub signature: Signature,
}

impl Evaluation {
    /// `epoch || Z || proof || expiry || signature`, 172 bytes.
    pub fn to_bytes(&self) -> [u8; EVALUATION_LEN] {
        concat(&[
            &self.epoch.to_be_bytes(),
            self.evaluated.as_bytes(),
            &self.proof.to_bytes(),
            &self.expiry.to_be_bytes(),
            &self.signature.to_bytes(),
        ])
    }

    /// Decodes an evaluation strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 172 bytes; the element and scalar errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, EVALUATION_LEN)?;
        let evaluation = Self {
            epoch: reader.u32()?,
            evaluated: EvaluatedElement::from_bytes(reader.take(32)?)?,
            proof: Proof::from_bytes(reader.take(PROOF_LEN)?)?,
            expiry: reader.u64()?,
            signature: Signature::from_bytes(&reader.array()?),
        };
        reader.finish()?;
        Ok(evaluation)
    }
}

/// Evaluator → holder for a migration: the answers under the old and the new epoch's keys,
/// one expiry and one signature by the new epoch's key over both (`spec/06-flow-a.md` §6.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MigrationEvaluation {
    /// The old epoch's answer (its `expiry` and `signature` are unused).
    pub old: Evaluation,
    /// The new epoch's answer; its `expiry` and `signature` cover both.
    pub new: Evaluation,
}

impl MigrationEvaluation {
    /// `old epoch || Z_old || proof_old || new epoch || Z_new || proof_new || expiry ||
    /// signature`, 272 bytes.
    pub fn to_bytes(&self) -> [u8; MIGRATION_EVALUATION_LEN] {
        concat(&[
            &self.old.epoch.to_be_bytes(),
            self.old.evaluated.as_bytes(),
            &self.old.proof.to_bytes(),
            &self.new.epoch.to_be_bytes(),
            self.new.evaluated.as_bytes(),
            &self.new.proof.to_bytes(),
            &self.new.expiry.to_be_bytes(),
            &self.new.signature.to_bytes(),
        ])
    }

    /// Decodes a migration evaluation strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 272 bytes; the element and scalar errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, MIGRATION_EVALUATION_LEN)?;
        let half = |reader: &mut Reader<'_>| -> Result<(Epoch, EvaluatedElement, Proof)> {
            Ok((
                reader.u32()?,
                EvaluatedElement::from_bytes(reader.take(32)?)?,
                Proof::from_bytes(reader.take(PROOF_LEN)?)?,
            ))
        };
        let (old_epoch, old_z, old_proof) = half(&mut reader)?;
        let (new_epoch, new_z, new_proof) = half(&mut reader)?;
        let expiry = reader.u64()?;
        let signature = Signature::from_bytes(&reader.array()?);
        reader.finish()?;
        Ok(Self {
            old: Evaluation {
                epoch: old_epoch,
                evaluated: old_z,
                proof: old_proof,
                expiry,
                signature,
            },
            new: Evaluation {
                epoch: new_epoch,
                evaluated: new_z,
                proof: new_proof,
                expiry,
                signature,
            },
        })
    }
}

/// Holder → relying party (`spec/06-flow-a.md` §6.5).
#[derive(Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The epoch whose keys evaluated.
    pub epoch: Epoch,
    /// The holder's blinding scalar `r`.
    pub r: Blind,
    /// `B = r·P`.
    pub blinded: BlindedElement,
    /// `Z = t⁻¹·B`.
    pub evaluated: EvaluatedElement,
    /// `H(nonce, channel binding)`.
    pub session: [u8; 32],
    /// Absolute expiry, on the public grid.
    pub expiry: u64,
    /// The evaluator's signature.
    pub signature: Signature,
}

impl Assertion {
    /// `epoch || r || B || Z || session || expiry || signature`, 204 bytes.
    pub fn to_bytes(&self) -> [u8; ASSERTION_LEN] {
        concat(&[
            &self.epoch.to_be_bytes(),
            self.r.to_bytes().as_ref(),
            self.blinded.as_bytes(),
            self.evaluated.as_bytes(),
            &self.session,
            &self.expiry.to_be_bytes(),
            &self.signature.to_bytes(),
        ])
    }

    /// Decodes an assertion strictly: exact length, canonical nonzero `r`, canonical
    /// non-identity elements.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 204 bytes; the scalar and element errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, ASSERTION_LEN)?;
        let assertion = Self {
            epoch: reader.u32()?,
            r: Blind::from_bytes(reader.take(32)?)?,
            blinded: BlindedElement::from_bytes(reader.take(32)?)?,
            evaluated: EvaluatedElement::from_bytes(reader.take(32)?)?,
            session: reader.array()?,
            expiry: reader.u64()?,
            signature: Signature::from_bytes(&reader.array()?),
        };
        reader.finish()?;
        Ok(assertion)
    }
}

impl fmt::Debug for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Assertion")
            .field("epoch", &self.epoch)
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

/// Holder → relying party for a migration: one `r`, `B` and session, both answers, one
/// signature (`spec/06-flow-a.md` §6.7).
#[derive(Clone, PartialEq, Eq)]
pub struct MigrationAssertion {
    /// The old epoch.
    pub old_epoch: Epoch,
    /// The new epoch.
    pub new_epoch: Epoch,
    /// The holder's blinding scalar `r`.
    pub r: Blind,
    /// `B = r·P`.
    pub blinded: BlindedElement,
    /// The old epoch's `Z`.
    pub old_evaluated: EvaluatedElement,
    /// The new epoch's `Z`.
    pub new_evaluated: EvaluatedElement,
    /// `H(nonce, channel binding)`.
    pub session: [u8; 32],
    /// Absolute expiry, on the public grid.
    pub expiry: u64,
    /// The new epoch's signature over both answers.
    pub signature: Signature,
}

impl MigrationAssertion {
    /// `old epoch || new epoch || r || B || Z_old || Z_new || session || expiry ||
    /// signature`, 240 bytes.
    pub fn to_bytes(&self) -> [u8; MIGRATION_ASSERTION_LEN] {
        concat(&[
            &self.old_epoch.to_be_bytes(),
            &self.new_epoch.to_be_bytes(),
            self.r.to_bytes().as_ref(),
            self.blinded.as_bytes(),
            self.old_evaluated.as_bytes(),
            self.new_evaluated.as_bytes(),
            &self.session,
            &self.expiry.to_be_bytes(),
            &self.signature.to_bytes(),
        ])
    }

    /// Decodes a migration assertion strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 240 bytes; the scalar and element errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, MIGRATION_ASSERTION_LEN)?;
        let assertion = Self {
            old_epoch: reader.u32()?,
            new_epoch: reader.u32()?,
            r: Blind::from_bytes(reader.take(32)?)?,
            blinded: BlindedElement::from_bytes(reader.take(32)?)?,
            old_evaluated: EvaluatedElement::from_bytes(reader.take(32)?)?,
            new_evaluated: EvaluatedElement::from_bytes(reader.take(32)?)?,
            session: reader.array()?,
            expiry: reader.u64()?,
            signature: Signature::from_bytes(&reader.array()?),
        };
        reader.finish()?;
        Ok(assertion)
    }
}

impl fmt::Debug for MigrationAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MigrationAssertion")
            .field("old_epoch", &self.old_epoch)
            .field("new_epoch", &self.new_epoch)
            .finish_non_exhaustive()
    }
}

decodes_from_slice!(
    Request,
    Evaluation,
    MigrationEvaluation,
    Assertion,
    MigrationAssertion
);
