//! Flow H: holder-derived pairwise pseudonyms over the VOPRF (`spec/05-flow-h.md`).
//!
//! The holder blinds `frame("blindnym v2 flow-H input", credential, service id)`; the
//! [`Evaluator`] sees only the blinded element. The OPRF output seeds an Ed25519 key per
//! service ([`ServiceKey`]); the pseudonym is the hash of its public key, and the holder logs
//! in by signing the relying party's challenge ([`LoginProof`]), so a pseudonym is an
//! account name, not a password: whoever learns it still cannot log in. The master
//! credential is a 256-bit secret ([`MasterCredential`]), never an identity number, so the
//! anonymous evaluator is no oracle for guessing it.

use ed25519_dalek::VerifyingKey;
use zeroize::Zeroizing;

use super::context;
use super::ids::ServiceId;
use super::text::Pseudonym;
use crate::codec::{derive_key, frame};
use crate::error::Result;
use crate::messages::PROOF_LEN;
use crate::secret::secret_bytes_type;

/// Length of a [`MasterCredential`].
pub const CREDENTIAL_LEN: usize = 32;
/// Serialized size of a [`Request`].
pub const REQUEST_LEN: usize = 32;
/// Serialized size of a [`Response`]: epoch, evaluated element, proof.
pub const RESPONSE_LEN: usize = 4 + 32 + PROOF_LEN;
/// Serialized size of a [`LoginProof`]: verifying key and signature.
pub const LOGIN_PROOF_LEN: usize = 32 + 64;

secret_bytes_type!(
    /// The holder's master credential: 32 uniformly random bytes, generated once
    /// ([`MasterCredential::generate`]) and kept by the holder (`spec/05-flow-h.md` §5.1). At
    /// 256 bits it cannot be enumerated through the evaluator, which serves anonymous
    /// requests; [`MasterCredential::from_bytes`] takes exactly 32 bytes, so an identity
    /// number is refused. Zeroized on drop; never printed.
    MasterCredential,
    CREDENTIAL_LEN,
    random
);

/// The flow H private input `frame("blindnym v2 flow-H input", credential, service id)`
/// (`spec/05-flow-h.md` §5.2).
///
/// # Errors
/// None in practice (both fields are bounded).
pub fn private_input(
    credential: &MasterCredential,
    service: &ServiceId,
) -> Result<Zeroizing<Vec<u8>>> {
    frame(&[
        context::FLOW_H_INPUT.as_bytes(),
        credential.0.as_ref(),
        service.as_bytes(),
    ])
    .map(Zeroizing::new)
}

/// The pseudonym of the holder whose per-service key is `key` at `service`:
/// `blake3.derive_key("blindnym v2 pseudonym flow-H", frame(service, key))`.
///
/// # Errors
/// None in practice (both fields are bounded).
pub fn pseudonym_of(service: &ServiceId, key: &VerifyingKey) -> Result<Pseudonym> {
    derive_key(
        context::FLOW_H_PSEUDONYM,
        &[service.as_bytes(), key.as_bytes()],
    )
    .map(Pseudonym::from_array)
}

mod evaluator;
mod holder;
mod relying_party;

pub use evaluator::*;
pub use holder::*;
pub use relying_party::*;
