//! Flow A in threshold mode (`spec/12-threshold.md` §12.8). One shared inversion per
//! (subject, epoch) gives each evaluator a share of `(k + m)⁻¹` for that subject. A login is
//! two round trips:
//!
//! 1. The holder sends its [`Request`] to `t` or more evaluators; each (having authenticated
//!    the subject itself) answers `s_i·B` with its proof and FROST commitments
//!    ([`ShareEvaluation`]).
//! 2. The holder checks the answers against the subject's tweak record, combines `Z`, and
//!    sends the chosen `t` answers and commitments with the expiry ([`SigningRequest`]). Each
//!    signer checks the answers against its own copy of the record, recombines `Z` itself,
//!    rebuilds the single evaluator's signed message and signs its FROST share.
//! 3. The holder aggregates one Ed25519 signature and forwards the same [`Assertion`] as with
//!    one evaluator: the relying party's code does not change.
//!
//! **The holder's retry rule** (a MUST, `spec/12-threshold.md` §12.9.6): a signer sees every
//! commitment before it signs, so it could refuse until the FROST `R` suits it. After a
//! round-two refusal or timeout by signer `j`, do not retry the login with `j` among the
//! signers: pick another `t`-subset of round one's answerers, or fail and report `j`; make
//! at most 3 attempts per login.
//!
//! [`Request`]: crate::pseudonym::attested::Request
//! [`Assertion`]: crate::pseudonym::attested::Assertion

mod evaluator;
mod holder;
mod messages;

pub use evaluator::*;
pub use holder::*;
pub use messages::*;
