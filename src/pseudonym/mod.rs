//! Pairwise pseudonyms on top of the RFC 9497 core (`spec/01-overview.md`), version 2.
//!
//! - [`holder_derived`] (flow H): pseudonyms a holder derives from its master credential
//!   (VOPRF), proven by a per-service key, `spec/05-flow-h.md`;
//! - [`attested`] (flow A): pseudonyms the evaluator attests for an authenticated subject
//!   (POPRF, service private, subject public), `spec/06-flow-a.md`;
//! - [`bulk`] (flow B): pseudonymisation of registers for a domain (POPRF, batched),
//!   `spec/07-flow-b.md`;
//! - [`key_schedule`]: the forward-secure key ratchet and each epoch's role keys, and
//!   [`budget`], the per-key evaluation budget, `spec/04-keys.md` §4.1–§4.3;
//! - [`key_set`]: the signed, sequenced key set holders and relying parties verify,
//!   `spec/04-keys.md` §4.4–§4.6;
//! - [`session`]: challenges, channel binding, the expiry grid and the nonce store;
//!   [`ids`]: canonical subject and service ids; [`context`]: the context strings and
//!   [`frame`], the framing, `spec/08-encodings.md`.
//!
//! Every role holds only its own keys; every refusal is its own [`Error`](crate::Error).
//! The batch paths run on the rayon pool they are called from: wrap a call in your own
//! pool's `install` to keep it off the global one.

pub mod attested;
pub mod budget;
pub mod bulk;
pub mod context;
pub mod holder_derived;
pub mod ids;
pub mod key_schedule;
pub mod key_set;
pub mod session;
mod text;

pub use crate::codec::{MAX_FIELD_LEN, frame};
pub use budget::{DEFAULT_EVALUATION_BUDGET, EvaluationBudget};
pub use ids::{ServiceId, SubjectId};
pub use key_schedule::{Epoch, EpochKeys, EpochPublicKeys, KeyRatchet, RootSeed};
pub use key_set::{KeySet, KeySetSigner, KeySetVerifier, SignedKeySet, VerifiedKeySet};
pub use session::{Challenge, ChannelBinding, MemoryNonceStore, NonceStore, PendingChallenge};
pub use text::{PSEUDONYM_LEN, Pseudonym, TEXT_LEN, TEXT_PREFIX};
