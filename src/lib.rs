//! # blindnym
//!
//! Unlinkable pairwise pseudonyms from a blinded oblivious pseudorandom function over
//! ristretto255.
//!
//! This crate implements [RFC 9497] for the suite `ristretto255-SHA512` in all three modes —
//! [`oprf`] (0x00), [`voprf`] (0x01) and [`poprf`] (0x02) — byte-exact with the RFC's
//! Appendix A vectors, with batched evaluation under one batched DLEQ proof. RFC 9380
//! `expand_message_xmd` and `hash_to_ristretto255` are written here on `sha2` and
//! `curve25519-dalek`.
//!
//! Every decoder rejects wrong lengths, trailing bytes, non-canonical encodings and the
//! identity element with an [`Error`]; none panics. Secrets ([`SecretKey`], [`Blind`],
//! [`Output`]) zeroize on drop, compare in constant time and never print. Randomness is
//! injected as `&mut impl CryptoRng`.
//!
//! ## Base mode
//! ```
//! use blindnym::{OprfClient, OprfServer};
//! # fn main() -> Result<(), blindnym::Error> {
//! let mut rng = rand::rng();
//! let server = OprfServer::generate(&mut rng)?;
//!
//! let (blind, blinded) = OprfClient::blind(b"alice@example", &mut rng)?;
//! let evaluated = server.blind_evaluate(&blinded);
//! let output = OprfClient::finalize(b"alice@example", &blind, &evaluated)?;
//!
//! assert_eq!(output, server.evaluate(b"alice@example")?);
//! # Ok(()) }
//! ```
//!
//! ## Verifiable mode
//! ```
//! use blindnym::{VoprfClient, VoprfServer};
//! # fn main() -> Result<(), blindnym::Error> {
//! let mut rng = rand::rng();
//! let server = VoprfServer::generate(&mut rng)?;
//! let client = VoprfClient::new(*server.public_key());
//!
//! let (blind, blinded) = client.blind(b"alice@example", &mut rng)?;
//! let (evaluated, proof) = server.blind_evaluate(&blinded, &mut rng)?;
//! let output = client.finalize(b"alice@example", &blind, &evaluated, &blinded, &proof)?;
//!
//! assert_eq!(output, server.evaluate(b"alice@example")?);
//! # Ok(()) }
//! ```
//!
//! ## Partially oblivious mode
//! ```
//! use blindnym::{PoprfClient, PoprfServer};
//! # fn main() -> Result<(), blindnym::Error> {
//! let mut rng = rand::rng();
//! let server = PoprfServer::generate(&mut rng)?;
//! let client = PoprfClient::new(*server.public_key());
//! let info = b"public: tax office, 2026";
//!
//! let (blind, blinded) = client.blind(b"alice@example", &mut rng)?;
//! let (evaluated, proof) = server.blind_evaluate(&blinded, info, &mut rng)?;
//! let output = client.finalize(b"alice@example", info, &blind, &evaluated, &blinded, &proof)?;
//!
//! assert_eq!(output, server.evaluate(b"alice@example", info)?);
//! # Ok(()) }
//! ```
//!
//! [RFC 9497]: https://www.rfc-editor.org/rfc/rfc9497

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod blind;
mod dleq;
mod element;
mod error;
mod evaluate;
mod finalize;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod group;
mod keys;
mod messages;
pub mod oprf;
mod parallel;
pub mod poprf;
pub mod pseudonym;
mod secret;
mod suite;
pub mod voprf;
mod xmd;

pub use curve25519_dalek;
pub use ed25519_dalek;
pub use rand_core;

pub use dleq::MAX_BATCH;
pub use error::{Error, Result};
pub use group::{
    ELEMENT_LEN, MAX_INPUT_LEN, OUTPUT_LEN, SCALAR_LEN, decode_element, decode_scalar,
    hash_to_group, random_scalar,
};
pub use keys::{KeyPair, PublicKey, SecretKey};
pub use messages::{Blind, BlindedElement, EvaluatedElement, Output, PROOF_LEN, Proof};
pub use oprf::{OprfClient, OprfServer};
pub use poprf::{PoprfClient, PoprfServer, tweaked_public_key};
pub use pseudonym::{Pseudonym, PublishedKeys, RootSeed};
pub use suite::{Mode, SUITE_ID};
pub use voprf::{VoprfClient, VoprfServer};
pub use xmd::expand_message_xmd;
