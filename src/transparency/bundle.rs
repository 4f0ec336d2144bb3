//! A key set's proof bundle (`spec/13-transparency.md` §13.4), in the spirit of
//! c2sp.org/tlog-proof: everything a party needs to check offline that a key set is in the
//! log, served beside the set.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! index <leaf index, decimal>
//! <base64 inclusion proof hash>      (one line per hash, leaf to root)
//!
//! <checkpoint note, signatures and cosignatures included>
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::checkpoint::MAX_CHECKPOINT_LEN;
use crate::error::{Error, Result};

const HEADER: &str = "c2sp.org/tlog-proof@v1\n";

/// At most this many proof hashes: a tree of up to `2^63` leaves.
pub const MAX_PROOF_HASHES: usize = 63;

/// A key set's inclusion proof under a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySetProof {
    /// The leaf's index in the log.
    pub index: u64,
    /// The RFC 6962 inclusion proof, leaf to root.
    pub inclusion: Vec<[u8; 32]>,
    /// The checkpoint note the proof is under.
    pub checkpoint: Vec<u8>,
}

/// A decimal with no sign and no leading zero.
pub(crate) fn parse_decimal(text: &str) -> Result<u64> {
    if text.is_empty() || (text.len() > 1 && text.starts_with('0')) {
        return Err(Error::Malformed);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Malformed);
    }
    text.parse().map_err(|_| Error::Malformed)
}

/// One hash in standard padded base64, exactly.
pub(crate) fn parse_hash(line: &str) -> Result<[u8; 32]> {
    if line.len() != 44 {
        return Err(Error::Malformed);
    }
    let bytes = STANDARD.decode(line).map_err(|_| Error::Malformed)?;
    let hash: [u8; 32] = bytes.try_into().map_err(|_| Error::Malformed)?;
    if STANDARD.encode(hash) != line {
        return Err(Error::Malformed);
    }
    Ok(hash)
}

impl KeySetProof {
    /// The text form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{HEADER}index {}\n", self.index).into_bytes();
        for hash in &self.inclusion {
            out.extend_from_slice(STANDARD.encode(hash).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Decodes the text form exactly, the checkpoint a well-formed signed note (its
    /// signatures are checked by the verifier, not here).
    ///
    /// # Errors
    /// [`Error::InputTooLong`] past the size limit; [`Error::Malformed`] otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_CHECKPOINT_LEN + 4096 {
            return Err(Error::InputTooLong);
        }
        let text = core::str::from_utf8(bytes).map_err(|_| Error::Malformed)?;
        let rest = text.strip_prefix(HEADER).ok_or(Error::Malformed)?;
        let (head, checkpoint) = rest.split_once("\n\n").ok_or(Error::Malformed)?;
        let mut lines = head.split('\n');
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .ok_or(Error::Malformed)?;
        let index = parse_decimal(index)?;
        let mut inclusion = Vec::new();
        for line in lines {
            if inclusion.len() == MAX_PROOF_HASHES {
                return Err(Error::Malformed);
            }
            inclusion.push(parse_hash(line)?);
        }
        // The checkpoint must be a well-formed signed note in its one form; its signatures
        // are the verifier's to check.
        let note =
            signed_note::Note::from_bytes(checkpoint.as_bytes()).map_err(|_| Error::Malformed)?;
        if note.to_bytes() != checkpoint.as_bytes() {
            return Err(Error::Malformed);
        }
        let proof = Self {
            index,
            inclusion,
            checkpoint: checkpoint.as_bytes().to_vec(),
        };
        if proof.to_bytes() != bytes {
            return Err(Error::Malformed);
        }
        Ok(proof)
    }
}
