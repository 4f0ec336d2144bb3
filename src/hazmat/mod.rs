//! Low-level building blocks under the protocol types: hashing to the group, raw encodings,
//! random scalars, `expand_message_xmd`, the POPRF tweaked key and the `Finalize` hash.
//!
//! Nothing here is needed to run the protocol: the clients and servers at the crate root do
//! every step for you, with the checks the RFC asks for. These functions are public for
//! interoperability tests, other protocols built on the same suite, and measuring the raw
//! curve floor ([`floor`]). Using them directly skips checks the protocol types make (a
//! `Finalize` hash over an element that was never unblinded is just a hash), hence the name.

pub mod floor;

pub use crate::finalize::finalize_hash;
pub use crate::group::{decode_element, decode_scalar, hash_to_group, random_scalar};
pub use crate::poprf::tweaked_public_key;
pub use crate::xmd::expand_message_xmd;
