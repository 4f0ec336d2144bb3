//! Threshold mode (`spec/12-threshold.md`): every evaluator key exists only as shares held by
//! `n` evaluators; any `t` serve, and `t − 1` of them together learn nothing, compute no
//! pseudonym and sign nothing. Outputs equal the single-evaluator outputs under the shared
//! key, byte for byte, and relying parties change nothing.
//!
//! Sans-IO: typed messages with strict decoders and each party's state machine; the
//! evaluator service moves the bytes.
//!
//! - Keys: [`dkg`] (FROST's key generation as `frost-core` implements it, per realm and epoch) or [`share::deal`] and
//!   [`signing::deal_signing`] (a dealer splits an existing key once, for migration).
//! - Flow H: [`flow_h`] — share evaluation with a DLEQ proof per share, Lagrange combination
//!   at the client, RFC 9497 Finalize unchanged.
//! - Flows B and A: [`inversion`] — shares of `(k + m)⁻¹` per tweak with a public
//!   [`TweakRecord`](inversion::TweakRecord); [`flow_b`] and [`flow_a`] evaluate under it,
//!   and flow A assertions are FROST-signed ([`signing`]).
//! - Robustness: every check names the evaluator at fault ([`Error::BadShare`],
//!   [`Error::BadDealing`], [`Error::BadProduct`], [`Error::BadSignatureShare`]), and the
//!   combining party continues with another set.
//!
//! [`Error::BadShare`]: crate::Error::BadShare
//! [`Error::BadDealing`]: crate::Error::BadDealing
//! [`Error::BadProduct`]: crate::Error::BadProduct
//! [`Error::BadSignatureShare`]: crate::Error::BadSignatureShare

pub mod answer;
pub mod dkg;
pub mod epoch;
pub mod flow_a;
pub mod flow_b;
pub mod flow_h;
pub mod generation;
pub mod inversion;
pub mod params;
pub mod reshare;
mod rng_bridge;
pub mod share;
pub mod signing;

pub use answer::{Selection, ShareAnswer, ShareResponse};
pub use epoch::{EpochShares, EvaluatorShares, SignedEpochShares, deal_epoch};
pub use params::{MAX_EVALUATORS, Threshold};
pub use share::{KeyShare, VerificationShares, deal};
