//! A witness (`spec/13-transparency.md` §13.6, in the manner of c2sp.org/tlog-witness),
//! sans-IO: it cosigns a log's checkpoint only when it is consistent with the last one it
//! cosigned, so a log that shows two histories gets at most one of them cosigned by each
//! honest witness. Its state is that last tree head; the witness process keeps it durably
//! and writes it before it answers.

use super::checkpoint::{TreeHead, verify_logged};
use super::keys::{KeyRole, NoteKey, NoteSigner};
use crate::error::{Error, Result};

/// `size:8 || root:32`: a witness's durable state.
pub const STATE_LEN: usize = 40;

/// One witness of one log.
#[derive(Debug)]
pub struct Witness {
    signer: NoteSigner,
    log: NoteKey,
    last: Option<TreeHead>,
}

impl Witness {
    /// A witness signing with `signer` (a [`KeyRole::Witness`] key) for the log `log`, whose
    /// last cosigned head is `last` (none for a witness that has not cosigned yet).
    ///
    /// # Errors
    /// [`Error::Malformed`] for keys of the wrong roles.
    pub fn new(signer: NoteSigner, log: NoteKey, last: Option<TreeHead>) -> Result<Self> {
        if signer.public().role() != KeyRole::Witness || log.role() != KeyRole::Log {
            return Err(Error::Malformed);
        }
        Ok(Self { signer, log, last })
    }

    /// The last head cosigned.
    pub fn last(&self) -> Option<TreeHead> {
        self.last
    }

    /// The witness's key.
    pub fn public(&self) -> &NoteKey {
        self.signer.public()
    }

    /// Cosigns the log's checkpoint `note` at time `now`, given the consistency proof from
    /// the witness's last head (`old_size` must be its size; 0 and an empty proof for a
    /// witness that has cosigned nothing yet). The signature line to append to the note, and
    /// the new state to keep (durably, before the line is handed out).
    ///
    /// # Errors
    /// [`Error::LogSignature`] for a note the log did not sign or of another origin;
    /// [`Error::LogRollback`] for a smaller tree than the last cosigned; [`Error::LogFork`]
    /// for the same size with another root, a proof from another size than the witness's, or
    /// a consistency proof that fails; [`Error::Malformed`] for a note that does not parse.
    pub fn cosign(
        &mut self,
        note: &[u8],
        old_size: u64,
        consistency: &[[u8; 32]],
        now: u64,
    ) -> Result<(Vec<u8>, [u8; STATE_LEN])> {
        let (line, head) = self.check(note, old_size, consistency, now)?;
        self.commit(head);
        Ok((line, state_bytes(head)))
    }

    /// [`Witness::cosign`] without keeping the new head: the signature line and the head to
    /// [`Witness::commit`] once it is stored durably (a witness process writes its state
    /// before it hands the line out).
    ///
    /// # Errors
    /// As [`Witness::cosign`].
    pub fn check(
        &self,
        note: &[u8],
        old_size: u64,
        consistency: &[[u8; 32]],
        now: u64,
    ) -> Result<(Vec<u8>, TreeHead)> {
        let (text, head) = verify_logged(note, &self.log)?;
        match self.last {
            None if old_size == 0 && consistency.is_empty() => {}
            None => return Err(Error::LogFork),
            Some(last) => check_extends(last, head, old_size, consistency)?,
        }
        Ok((self.signer.signature_line(&text, now), head))
    }

    /// Keeps `head` as the last cosigned (after [`Witness::check`] and a durable write).
    pub fn commit(&mut self, head: TreeHead) {
        if self.last.is_none_or(|last| last.size <= head.size) {
            self.last = Some(head);
        }
    }
}

/// Checks that `head` extends `last` by the consistency proof `consistency` from `old_size`.
///
/// # Errors
/// As [`Witness::cosign`].
pub(crate) fn check_extends(
    last: TreeHead,
    head: TreeHead,
    old_size: u64,
    consistency: &[[u8; 32]],
) -> Result<()> {
    if head.size < last.size {
        return Err(Error::LogRollback);
    }
    if old_size != last.size || consistency.len() > super::bundle::MAX_PROOF_HASHES {
        return Err(Error::LogFork);
    }
    if head.size == last.size {
        return if head.root == last.root && consistency.is_empty() {
            Ok(())
        } else {
            Err(Error::LogFork)
        };
    }
    if last.size == 0 {
        // Every tree extends the empty one.
        return Ok(());
    }
    let proof: Vec<tlog_tiles::Hash> = consistency.iter().map(|h| tlog_tiles::Hash(*h)).collect();
    tlog_tiles::check_tree(
        &proof,
        head.size,
        tlog_tiles::Hash(head.root),
        last.size,
        tlog_tiles::Hash(last.root),
    )
    .map_err(|_| Error::LogFork)
}

/// A head as the witness's state bytes.
pub fn state_bytes(head: TreeHead) -> [u8; STATE_LEN] {
    let mut out = [0u8; STATE_LEN];
    out[..8].copy_from_slice(&head.size.to_be_bytes());
    out[8..].copy_from_slice(&head.root);
    out
}

/// A witness's state from its bytes, exactly.
///
/// # Errors
/// [`Error::InvalidLength`] for other than [`STATE_LEN`] bytes.
pub fn state_from_bytes(bytes: &[u8]) -> Result<TreeHead> {
    let bytes: [u8; STATE_LEN] = bytes.try_into().map_err(|_| Error::InvalidLength {
        expected: STATE_LEN,
        actual: bytes.len(),
    })?;
    let (size, root) = bytes.split_at(8);
    Ok(TreeHead {
        size: u64::from_be_bytes(size.try_into().map_err(|_| Error::Malformed)?),
        root: root.try_into().map_err(|_| Error::Malformed)?,
    })
}
