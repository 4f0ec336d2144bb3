//! Key transparency (`spec/13-transparency.md`): a signed key set proves who made it, not that
//! everyone was shown the same one. Here a set counts only once it is a leaf of an
//! append-only log whose checkpoint a quorum of independent witnesses cosigned, and each
//! party keeps the last checkpoint it saw, so a signer that shows one person a set of its own
//! needs the log and a witness quorum to fork with it, and is caught by anyone holding the
//! other history.
//!
//! The formats are the C2SP ones, through Cloudflare's crates: signed notes
//! (`signed_note`), checkpoints and RFC 6962 proofs (`tlog_tiles`). Written here, on the
//! crate's own Ed25519 with `verify_strict`: the `cosignature/v1` signatures of
//! c2sp.org/tlog-cosignature (no crate on crates.io carries them yet), the proof bundle and
//! the policy.
//!
//! - [`keys`]: log and witness keys as signed-note verifier keys, and their signers;
//! - [`policy`]: what a party pins (the log, the witnesses, the quorum);
//! - [`checkpoint`]: checkpoints checked under a policy;
//! - [`bundle`]: a key set's inclusion proof with its checkpoint;
//! - [`log`]: the log's tree, sans-IO;
//! - [`tiles`]: the tile paths the log serves its tree under;
//! - [`witness`]: a witness, sans-IO;
//! - [`verifier`]: [`LoggedKeySetVerifier`], the key-set verifier that asks for all of it.

pub mod bundle;
pub mod checkpoint;
pub mod keys;
pub mod log;
pub mod policy;
pub mod tiles;
pub mod verifier;
pub mod witness;

pub use bundle::KeySetProof;
pub use checkpoint::{TreeHead, VerifiedCheckpoint, verify_checkpoint};
pub use keys::{KeyRole, NoteKey, NoteSigner};
pub use log::Log;
pub use policy::Policy;
pub use tiles::TilePath;
pub use verifier::LoggedKeySetVerifier;
pub use witness::Witness;
