//! Pairwise pseudonyms on top of the RFC 9497 core (`spec/01-overview.md`).
//!
//! - [`flow_h`]: holder-derived pseudonyms (VOPRF), `spec/05-flow-h.md`;
//! - [`flow_a`]: attested pseudonyms (POPRF, service private, subject public), `spec/06-flow-a.md`;
//! - [`flow_b`]: bulk pseudonymisation for a domain (POPRF, batched), `spec/07-flow-b.md`;
//! - [`epoch_keys`]: per-epoch evaluator keys and the published key set, `spec/04-keys.md`;
//! - [`encoding`]: framing and context strings, `spec/08-encodings.md`.

pub mod encoding;
pub mod epoch_keys;
pub mod flow_a;
pub mod flow_b;
pub mod flow_h;
#[allow(clippy::module_inception)]
mod pseudonym;

pub use epoch_keys::{Epoch, EpochPublicKeys, EvaluatorKeys, PublishedKeys, Purpose, RootSeed};
pub use pseudonym::{PSEUDONYM_LEN, Pseudonym, TEXT_LEN, TEXT_PREFIX};
