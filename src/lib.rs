#![doc = include_str!("../README.md")]
//!
//! # The three modes at a glance
//!
//! ## Base mode
//! ```
//! use blindnym::{OprfClient, OprfServer};
//! # fn main() -> Result<(), blindnym::Error> {
//! let mut rng = rand::rng();
//! let server = OprfServer::generate(&mut rng)?;
//!
//! let client = OprfClient::new();
//! let (blind, blinded) = client.blind(b"alice@example", &mut rng)?;
//! let evaluated = server.blind_evaluate(&blinded);
//! let output = client.finalize(b"alice@example", &blind, &evaluated)?;
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

// Lints (unsafe code, missing docs, unwrap, truncating casts, missing Debug) are set in the
// `[lints]` table of Cargo.toml.

mod blind;
pub mod caller_auth;
mod codec;
mod dleq;
mod element;
mod error;
mod evaluate;
mod finalize;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod group;
pub mod hazmat;
mod keys;
mod messages;
pub mod oprf;
mod parallel;
pub mod poprf;
pub mod pseudonym;
mod secret;
#[cfg(feature = "serde")]
mod serde_bytes;
mod suite;
#[cfg(feature = "threshold")]
pub mod threshold;
#[cfg(feature = "transparency")]
pub mod transparency;
pub mod voprf;
mod xmd;

pub use curve25519_dalek;
pub use ed25519_dalek;
pub use rand_core;

pub use dleq::MAX_BATCH;
pub use error::{Error, ErrorKind, Result};
pub use group::{ELEMENT_LEN, MAX_INPUT_LEN, OUTPUT_LEN, SCALAR_LEN};
pub use keys::{KeyPair, PublicKey, SecretKey};
pub use messages::{Blind, BlindedElement, EvaluatedElement, Output, PROOF_LEN, Proof};
pub use oprf::{OprfClient, OprfServer};
pub use poprf::{PoprfClient, PoprfServer};
pub use pseudonym::Pseudonym;
pub use suite::{Mode, SUITE_ID};
pub use voprf::{VoprfClient, VoprfServer};
