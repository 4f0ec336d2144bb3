//! Flow H: holder-derived pairwise pseudonyms over the VOPRF (`spec/05-flow-h.md`).
//!
//! The holder blinds `frame("blindnym v1 flow-H input", credential, service id)`; the
//! [`Evaluator`] only ever sees the blinded element, so it learns neither the credential nor
//! the service. Not sybil-resistant on its own: the holder chooses its credential.

use core::fmt;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::encoding::{Reader, concat, context, frame};
use super::epoch_keys::{Epoch, EvaluatorKeys, PublishedKeys};
use super::pseudonym::Pseudonym;
use crate::error::Result;
use crate::messages::{Blind, BlindedElement, EvaluatedElement, Output, PROOF_LEN, Proof};
use crate::voprf::VoprfClient;

/// Serialized size of a [`Request`].
pub const REQUEST_LEN: usize = 32;
/// Serialized size of a [`Response`]: epoch, evaluated element, proof.
pub const RESPONSE_LEN: usize = 4 + 32 + PROOF_LEN;

/// The flow H private input `frame(FLOW_H_INPUT, credential, service_id)`
/// (`spec/05-flow-h.md` §5.2).
///
/// # Errors
/// [`Error::InputTooLong`](crate::Error::InputTooLong) when a field exceeds 65535 bytes.
pub fn private_input(credential: &[u8], service_id: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    frame(&[context::FLOW_H_INPUT.as_bytes(), credential, service_id]).map(Zeroizing::new)
}

/// Maps a flow H OPRF output to a pseudonym:
/// `blake3::derive_key("blindnym v1 pseudonym flow-H", output)` (`spec/05-flow-h.md` §5.4).
pub fn pseudonym_from_output(output: &Output) -> Pseudonym {
    Pseudonym::from_array(blake3::derive_key(
        context::FLOW_H_PSEUDONYM,
        output.as_bytes(),
    ))
}

/// Holder → evaluator: the blinded element (`spec/05-flow-h.md` §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// `blind · HashToGroup(private input)`.
    pub blinded: BlindedElement,
}

impl Request {
    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; REQUEST_LEN] {
        self.blinded.to_bytes()
    }

    /// Decodes a request.
    ///
    /// # Errors
    /// As [`BlindedElement::from_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        BlindedElement::from_bytes(bytes).map(|blinded| Self { blinded })
    }
}

/// Evaluator → holder: the epoch, the evaluated element and its DLEQ proof
/// (`spec/05-flow-h.md` §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    /// The epoch whose key evaluated.
    pub epoch: Epoch,
    /// `skS · blinded`.
    pub evaluated: EvaluatedElement,
    /// Proof that `evaluated` used the key published for `epoch`.
    pub proof: Proof,
}

impl Response {
    /// `I2OSP(epoch, 4) || evaluated || proof`, 100 bytes.
    pub fn to_bytes(&self) -> [u8; RESPONSE_LEN] {
        concat(&[
            &self.epoch.to_be_bytes(),
            self.evaluated.as_bytes(),
            &self.proof.to_bytes(),
        ])
    }

    /// Decodes a response strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`](crate::Error::InvalidLength) unless exactly 100 bytes; the
    /// element and scalar errors of the fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, RESPONSE_LEN)?;
        let response = Self {
            epoch: reader.u32()?,
            evaluated: EvaluatedElement::from_bytes(reader.take(32)?)?,
            proof: Proof::from_bytes(reader.take(PROOF_LEN)?)?,
        };
        reader.finish()?;
        Ok(response)
    }
}

/// The holder's state between [`Holder::blind`] and [`Holder::finalize`]. Secret: holds the
/// private input and the blind. Never printed.
pub struct HolderState {
    input: Zeroizing<Vec<u8>>,
    blind: Blind,
    blinded: BlindedElement,
}

impl fmt::Debug for HolderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HolderState(<redacted>)")
    }
}

/// The holder of flow H: knows the published keys it verifies against.
#[derive(Clone, Debug)]
pub struct Holder {
    published: PublishedKeys,
}

impl Holder {
    /// A holder trusting `published`.
    pub fn new(published: PublishedKeys) -> Self {
        Self { published }
    }

    /// Blinds `(credential, service_id)` (`spec/05-flow-h.md` §5.3 step 1).
    ///
    /// # Errors
    /// [`Error::InputTooLong`](crate::Error::InputTooLong) when the framed input exceeds the
    /// RFC 9497 limit, [`Error::RandomnessFailure`](crate::Error::RandomnessFailure) for a
    /// broken RNG.
    pub fn blind(
        &self,
        credential: &[u8],
        service_id: &[u8],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(HolderState, Request)> {
        let input = private_input(credential, service_id)?;
        let newest = self.published.newest()?;
        let (blind, blinded) = VoprfClient::new(newest.flow_h).blind(&input, rng)?;
        Ok((
            HolderState {
                input,
                blind,
                blinded,
            },
            Request { blinded },
        ))
    }

    /// Verifies the response against the key published for its epoch, unblinds, finalizes
    /// and maps the output to the pseudonym (`spec/05-flow-h.md` §5.3 step 3).
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`](crate::Error::UnknownEpoch) when the epoch is not published,
    /// [`Error::VerifyError`](crate::Error::VerifyError) when the proof does not verify (an
    /// evaluation under any other key, such as a tagging key).
    pub fn finalize(&self, state: HolderState, response: &Response) -> Result<Pseudonym> {
        let keys = self.published.get(response.epoch)?;
        let output = VoprfClient::new(keys.flow_h).finalize(
            &state.input,
            &state.blind,
            &response.evaluated,
            &state.blinded,
            &response.proof,
        )?;
        Ok(pseudonym_from_output(&output))
    }
}

/// The evaluator of flow H. Its API takes only blinded elements: it never receives the
/// credential or the service id.
#[derive(Clone, Debug)]
pub struct Evaluator {
    keys: EvaluatorKeys,
}

impl Evaluator {
    /// An evaluator answering with `keys` (one epoch).
    pub fn new(keys: EvaluatorKeys) -> Self {
        Self { keys }
    }

    /// Evaluates a request with a DLEQ proof (`spec/05-flow-h.md` §5.3 step 2).
    ///
    /// # Errors
    /// [`Error::RandomnessFailure`](crate::Error::RandomnessFailure) for a broken RNG.
    pub fn evaluate(
        &self,
        request: &Request,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Response> {
        let (evaluated, proof) = self.keys.flow_h().blind_evaluate(&request.blinded, rng)?;
        Ok(Response {
            epoch: self.keys.epoch(),
            evaluated,
            proof,
        })
    }
}
