//! Checkpoints (c2sp.org/tlog-checkpoint) as signed notes (c2sp.org/signed-note): the log's
//! origin, the tree size and the RFC 6962 root, signed by the log and cosigned by witnesses
//! (`spec/13-transparency.md` §13.3).

use signed_note::{Note, NoteError, VerifierList};

use super::keys::NoteKey;
use super::policy::Policy;
use crate::error::{Error, Result};

/// The largest checkpoint note taken (a few hundred bytes in practice).
pub const MAX_CHECKPOINT_LEN: usize = 16 * 1024;

/// A tree head: its size and RFC 6962 root hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeHead {
    /// The number of leaves.
    pub size: u64,
    /// The root hash (`SHA-256("")` for the empty tree).
    pub root: [u8; 32],
}

/// A checkpoint whose signatures were checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    head: TreeHead,
    note: Vec<u8>,
    witnesses: usize,
}

impl VerifiedCheckpoint {
    /// The tree head.
    pub fn head(&self) -> TreeHead {
        self.head
    }

    /// The note as received, signatures included: what a party keeps.
    pub fn note(&self) -> &[u8] {
        &self.note
    }

    /// How many distinct pinned witnesses cosigned it.
    pub fn witnesses(&self) -> usize {
        self.witnesses
    }
}

fn boxed(key: &NoteKey) -> Box<dyn signed_note::Verifier> {
    Box::new(key.clone())
}

/// The tree head in note text `text`, which must be a checkpoint of `origin`.
///
/// # Errors
/// [`Error::Malformed`]; [`Error::LogSignature`] for another origin.
pub(crate) fn parse_text(text: &[u8], origin: &str) -> Result<TreeHead> {
    let checkpoint = tlog_tiles::Checkpoint::from_bytes(text).map_err(|_| Error::Malformed)?;
    // One form only: a checkpoint re-encodes to the bytes it came from.
    if checkpoint.to_bytes() != text || !checkpoint.extension().is_empty() {
        return Err(Error::Malformed);
    }
    if checkpoint.origin() != origin {
        return Err(Error::LogSignature);
    }
    Ok(TreeHead {
        size: checkpoint.size(),
        root: checkpoint.hash().0,
    })
}

/// Parses `note` and checks its signatures against `keys`: the verified signers' names.
fn verified_names(note: &[u8], keys: &[&NoteKey]) -> Result<(Note, Vec<String>)> {
    if note.len() > MAX_CHECKPOINT_LEN {
        return Err(Error::InputTooLong);
    }
    let parsed = Note::from_bytes(note).map_err(|_| Error::Malformed)?;
    // One form only: the note re-encodes to the bytes it came from.
    if parsed.to_bytes() != note {
        return Err(Error::Malformed);
    }
    let list = VerifierList::new(keys.iter().map(|k| boxed(k)).collect());
    let names = match parsed.verify(&list) {
        Ok((verified, _unknown)) => verified.iter().map(|s| s.name().to_owned()).collect(),
        Err(NoteError::UnverifiedNote) => Vec::new(),
        Err(NoteError::InvalidSignature { .. }) => return Err(Error::BadSignature),
        Err(_) => return Err(Error::Malformed),
    };
    Ok((parsed, names))
}

/// Checks a checkpoint note under `policy`: signed by the log, cosigned by at least the
/// quorum of distinct pinned witnesses, a checkpoint of the log's origin.
///
/// # Errors
/// [`Error::Malformed`] or [`Error::InputTooLong`] for a note or checkpoint that does not
/// parse; [`Error::BadSignature`] for a signature by a pinned key that does not verify;
/// [`Error::LogSignature`] without the log's signature or for another origin;
/// [`Error::WitnessQuorum`] below the quorum.
pub fn verify_checkpoint(note: &[u8], policy: &Policy) -> Result<VerifiedCheckpoint> {
    let mut keys = vec![policy.log()];
    keys.extend(policy.witnesses());
    let (parsed, names) = verified_names(note, &keys)?;
    if !names.iter().any(|n| n == policy.log().name()) {
        return Err(Error::LogSignature);
    }
    let head = parse_text(parsed.text(), policy.log().name())?;
    let witnesses = policy
        .witnesses()
        .iter()
        .filter(|w| names.iter().any(|n| n == w.name()))
        .count();
    if witnesses < policy.quorum() {
        return Err(Error::WitnessQuorum {
            have: witnesses,
            need: policy.quorum(),
        });
    }
    Ok(VerifiedCheckpoint {
        head,
        note: note.to_vec(),
        witnesses,
    })
}

/// Checks only the log's signature on a checkpoint note (what a witness checks before it
/// cosigns): the note text and its tree head.
///
/// # Errors
/// As [`verify_checkpoint`], without the quorum.
pub(crate) fn verify_logged(note: &[u8], log: &NoteKey) -> Result<(Vec<u8>, TreeHead)> {
    let (parsed, names) = verified_names(note, &[log])?;
    if !names.iter().any(|n| n == log.name()) {
        return Err(Error::LogSignature);
    }
    let head = parse_text(parsed.text(), log.name())?;
    Ok((parsed.text().to_vec(), head))
}

/// Adds signature lines to a note (a log's checkpoint gaining cosignatures): `note` with
/// `lines` appended after its signatures, each line a well-formed signature line.
///
/// # Errors
/// [`Error::Malformed`] for a note or line that does not parse.
pub fn add_signature_lines(note: &[u8], lines: &[u8]) -> Result<Vec<u8>> {
    if note.len() + lines.len() > MAX_CHECKPOINT_LEN {
        return Err(Error::InputTooLong);
    }
    let mut joined = note.to_vec();
    joined.extend_from_slice(lines);
    let parsed = Note::from_bytes(&joined).map_err(|_| Error::Malformed)?;
    if parsed.to_bytes() != joined {
        return Err(Error::Malformed);
    }
    Ok(joined)
}
