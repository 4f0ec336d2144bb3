//! Low-level building blocks under the protocol types: hashing to the group, raw encodings,
//! random scalars, `expand_message_xmd`, the POPRF tweaked key and the `Finalize` hash.
//!
//! Nothing here is needed to run the protocol: the clients and servers at the crate root do
//! every step for you, with the checks the RFC asks for. These functions are public for
//! interoperability tests, other protocols built on the same suite, and measuring the raw
//! curve floor ([`floor`]). Using them directly skips checks the protocol types make (a
//! `Finalize` hash over an element that was never unblinded is just a hash), hence the name.

pub mod floor;

use curve25519_dalek::scalar::Scalar;

use crate::error::Result;
use crate::messages::{BlindedElement, EvaluatedElement, Proof};
use crate::poprf::PoprfServer;
use crate::voprf::VoprfServer;

pub use crate::finalize::finalize_hash;
pub use crate::group::{decode_element, decode_scalar, hash_to_group, random_scalar};
pub use crate::poprf::tweaked_public_key;
pub use crate::xmd::expand_message_xmd;

/// `BlindEvaluate` (RFC 9497 §3.3.2) with the proof nonce `r` given instead of the hedged
/// nonce [`VoprfServer::blind_evaluate_batch`] draws: for RFC 9497's test vectors, whose
/// proofs use a fixed `ProofRandomScalar`. Never call it with a nonce used before: two
/// proofs with one `r` reveal the key.
///
/// # Errors
/// As [`VoprfServer::blind_evaluate_batch`].
pub fn voprf_blind_evaluate_with_nonce(
    server: &VoprfServer,
    blinded: &[BlindedElement],
    r: &Scalar,
) -> Result<(Vec<EvaluatedElement>, Proof)> {
    server.blind_evaluate_with_nonce(blinded, r)
}

/// The POPRF twin of [`voprf_blind_evaluate_with_nonce`] (RFC 9497 §3.3.3).
///
/// # Errors
/// As [`PoprfServer::blind_evaluate_batch`].
pub fn poprf_blind_evaluate_with_nonce(
    server: &PoprfServer,
    blinded: &[BlindedElement],
    info: &[u8],
    r: &Scalar,
) -> Result<(Vec<EvaluatedElement>, Proof)> {
    server.blind_evaluate_with_nonce(blinded, info, r)
}
