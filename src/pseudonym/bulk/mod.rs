//! Flow B: bulk pseudonymisation of a register for one domain over the POPRF, public info =
//! domain (`spec/07-flow-b.md`).
//!
//! The [`DataHolder`] blinds a batch of identities into a [`BatchRequest`]; the [`Evaluator`]
//! checks that the caller may use the domain ([`Policy`]) and has quota left ([`Quota`]),
//! evaluates the whole batch under the domain tweak with one batched DLEQ proof, and the data
//! holder verifies, finalizes and maps each output to a pseudonym. The evaluator never sees
//! identities; the data holder cannot compute another domain's pseudonyms without it; and
//! nobody the policy does not name can use the evaluator to re-identify a domain.

use zeroize::Zeroizing;

use super::context;
use super::text::Pseudonym;
use crate::codec::frame;
use crate::error::{Error, Result};
use crate::messages::Output;

/// The longest domain name, in bytes.
pub const MAX_DOMAIN_LEN: usize = 255;

/// The flow B private input `frame("blindnym v2 flow-B identity", identity)`.
///
/// # Errors
/// [`Error::InputTooLong`] for an identity over 65535 bytes.
pub fn identity_input(identity: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    frame(&[context::FLOW_B_IDENTITY.as_bytes(), identity]).map(Zeroizing::new)
}

/// The flow B public info `frame("blindnym v2 flow-B domain", domain)`.
///
/// # Errors
/// [`Error::InputTooLong`] for a domain over [`MAX_DOMAIN_LEN`] bytes.
pub fn domain_info(domain: &[u8]) -> Result<Vec<u8>> {
    if domain.len() > MAX_DOMAIN_LEN {
        return Err(Error::InputTooLong);
    }
    frame(&[context::FLOW_B_DOMAIN.as_bytes(), domain])
}

/// Maps a flow B OPRF output to a pseudonym:
/// `blake3.derive_key("blindnym v2 pseudonym flow-B", output)` (`spec/07-flow-b.md` §7.5).
pub fn pseudonym_from_output(output: &Output) -> Pseudonym {
    Pseudonym::from_array(blake3::derive_key(
        context::FLOW_B_PSEUDONYM,
        output.as_bytes(),
    ))
}

mod data_holder;
mod evaluator;
mod messages;

pub use data_holder::*;
pub use evaluator::*;
pub use messages::*;
