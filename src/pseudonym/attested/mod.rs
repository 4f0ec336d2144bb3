//! Flow A: attested pairwise pseudonyms over the POPRF, private input = service id, public
//! info = subject (`spec/06-flow-a.md`).
//!
//! 1. The [`RelyingParty`] issues a [`Challenge`]. The holder takes the service id from the
//!    authenticated origin of its channel ([`ServiceId`]), never from the relying party.
//! 2. The [`Holder`] sends `B = r·HashToGroup(service)` and the session hash
//!    `H(nonce, channel binding)` ([`Request`]).
//! 3. The [`Evaluator`] — which authenticated the holder as `subject` outside this library —
//!    answers `Z = t⁻¹·B` with a DLEQ proof and an Ed25519 signature over
//!    `(epoch, B, Z, session, expiry)`, the expiry on the public grid ([`Evaluation`]).
//! 4. The holder checks the epoch, the proof for its own subject, the expiry against its own
//!    clock and the signature, then forwards an [`Assertion`] — never the proof or `T`.
//! 5. The relying party checks epoch, signature, session (nonce and channel), expiry and
//!    `B = r·P` for its own service, records the session as answered, and computes the
//!    pseudonym from `N = r⁻¹·Z`.
//!
//! Migration to a new epoch runs the same steps once with both epochs' keys: one `B`, one
//! session, one signature over both answers, and the relying party gets `(old, new)`.
//!
//! [`Challenge`]: super::Challenge

use ed25519_dalek::Signature;

use super::context;
use super::ids::{ServiceId, SubjectId};
use super::key_schedule::{Epoch, EpochPublicKeys};
use super::text::Pseudonym;
use crate::codec::{derive_key, frame};
use crate::error::{Error, Result};
use crate::messages::{BlindedElement, EvaluatedElement, PROOF_LEN};

/// Serialized size of a [`Request`]: blinded element and session hash.
pub const REQUEST_LEN: usize = 32 + 32;
/// Serialized size of an [`Evaluation`]: epoch, Z, proof, expiry, signature.
pub const EVALUATION_LEN: usize = 4 + 32 + PROOF_LEN + 8 + 64;
/// Serialized size of an [`Assertion`]: epoch, r, B, Z, session hash, expiry, signature.
pub const ASSERTION_LEN: usize = 4 + 32 + 32 + 32 + 32 + 8 + 64;
/// Serialized size of a [`MigrationEvaluation`]: two (epoch, Z, proof), expiry, signature.
pub const MIGRATION_EVALUATION_LEN: usize = 2 * (4 + 32 + PROOF_LEN) + 8 + 64;
/// Serialized size of a [`MigrationAssertion`]: two epochs, r, B, two Z, session, expiry,
/// signature.
pub const MIGRATION_ASSERTION_LEN: usize = 4 + 4 + 32 + 32 + 32 + 32 + 32 + 8 + 64;

/// The flow A private input `frame("blindnym v2 flow-A service", service id)`.
///
/// # Errors
/// None in practice (service ids are bounded).
pub fn service_input(service: &ServiceId) -> Result<Vec<u8>> {
    frame(&[context::FLOW_A_SERVICE.as_bytes(), service.as_bytes()])
}

/// The flow A public info `frame("blindnym v2 flow-A subject", subject)`.
///
/// # Errors
/// None in practice (subject ids are bounded).
pub fn subject_info(subject: &SubjectId) -> Result<Vec<u8>> {
    frame(&[context::FLOW_A_SUBJECT.as_bytes(), subject.as_bytes()])
}

/// The pseudonym `blake3.derive_key("blindnym v2 pseudonym flow-A", frame(service, N))`.
///
/// # Errors
/// None in practice.
pub fn pseudonym_from_element(service: &ServiceId, unblinded: &[u8; 32]) -> Result<Pseudonym> {
    derive_key(context::FLOW_A_PSEUDONYM, &[service.as_bytes(), unblinded])
        .map(Pseudonym::from_array)
}

/// `frame("blindnym v2 flow-A evaluation signature", realm, epoch, B, Z, session, expiry)`.
pub(crate) fn signed_message(
    realm: &[u8],
    epoch: Epoch,
    b: &BlindedElement,
    z: &EvaluatedElement,
    session: &[u8; 32],
    expiry: u64,
) -> Result<Vec<u8>> {
    frame(&[
        context::FLOW_A_SIGNATURE.as_bytes(),
        realm,
        &epoch.to_be_bytes(),
        b.as_bytes(),
        z.as_bytes(),
        session,
        &expiry.to_be_bytes(),
    ])
}

/// `frame("blindnym v2 flow-A migration signature", realm, old epoch, new epoch, B, Z_old,
/// Z_new, session, expiry)`, signed with the new epoch's key.
#[allow(clippy::too_many_arguments)]
pub(crate) fn migration_message(
    realm: &[u8],
    old: Epoch,
    new: Epoch,
    b: &BlindedElement,
    z_old: &EvaluatedElement,
    z_new: &EvaluatedElement,
    session: &[u8; 32],
    expiry: u64,
) -> Result<Vec<u8>> {
    frame(&[
        context::FLOW_A_MIGRATION_SIGNATURE.as_bytes(),
        realm,
        &old.to_be_bytes(),
        &new.to_be_bytes(),
        b.as_bytes(),
        z_old.as_bytes(),
        z_new.as_bytes(),
        session,
        &expiry.to_be_bytes(),
    ])
}

fn check_signature(keys: &EpochPublicKeys, message: &[u8], signature: &Signature) -> Result<()> {
    keys.attested_signing
        .verify_strict(message, signature)
        .map_err(|_| Error::BadSignature)
}

mod evaluator;
mod holder;
mod messages;
mod relying_party;

pub use evaluator::*;
pub use holder::*;
pub use messages::*;
pub use relying_party::*;
