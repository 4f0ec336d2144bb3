//! What a relying party, holder or data holder pins (`spec/13-transparency.md` §13.2): the log's
//! key, the witnesses' keys and how many of them must cosign. Its text form, one item a line:
//!
//! ```text
//! log <log vkey>
//! witness <witness vkey>
//! witness <witness vkey>
//! quorum <k>
//! ```

use super::keys::{KeyRole, NoteKey};
use crate::error::{Error, Result};

/// The most witnesses a policy names.
pub const MAX_WITNESSES: usize = 32;

/// A transparency policy: the log, the witnesses and the quorum `k` of `m`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    log: NoteKey,
    witnesses: Vec<NoteKey>,
    quorum: usize,
}

impl Policy {
    /// A policy trusting checkpoints of `log` cosigned by at least `quorum` of `witnesses`.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a log key that is a witness's or the reverse, a witness named
    /// twice (or with the log's name), more than [`MAX_WITNESSES`], or a quorum of 0 or more
    /// than the witnesses: a log alone could show two histories.
    pub fn new(log: NoteKey, witnesses: Vec<NoteKey>, quorum: usize) -> Result<Self> {
        if log.role() != KeyRole::Log
            || witnesses.iter().any(|w| w.role() != KeyRole::Witness)
            || witnesses.len() > MAX_WITNESSES
            || quorum == 0
            || quorum > witnesses.len()
        {
            return Err(Error::Malformed);
        }
        for (i, w) in witnesses.iter().enumerate() {
            if w.name() == log.name() || witnesses[..i].iter().any(|v| v.name() == w.name()) {
                return Err(Error::Malformed);
            }
        }
        Ok(Self {
            log,
            witnesses,
            quorum,
        })
    }

    /// Parses the text form exactly: `log`, then each `witness`, then `quorum`, each line
    /// ending in `\n`, nothing else.
    ///
    /// # Errors
    /// [`Error::Malformed`], as [`Policy::new`].
    pub fn from_text(text: &str) -> Result<Self> {
        if text.len() > 64 * 1024 {
            return Err(Error::InputTooLong);
        }
        let body = text.strip_suffix('\n').ok_or(Error::Malformed)?;
        let mut lines = body.split('\n');
        let log = lines
            .next()
            .and_then(|l| l.strip_prefix("log "))
            .ok_or(Error::Malformed)?;
        let log = NoteKey::from_vkey(log)?;
        let mut witnesses = Vec::new();
        let mut quorum = None;
        for line in lines {
            if quorum.is_some() {
                return Err(Error::Malformed);
            }
            if let Some(vkey) = line.strip_prefix("witness ") {
                witnesses.push(NoteKey::from_vkey(vkey)?);
            } else if let Some(k) = line.strip_prefix("quorum ") {
                if k.is_empty() || (k.len() > 1 && k.starts_with('0')) {
                    return Err(Error::Malformed);
                }
                quorum = Some(k.parse::<usize>().map_err(|_| Error::Malformed)?);
            } else {
                return Err(Error::Malformed);
            }
        }
        Self::new(log, witnesses, quorum.ok_or(Error::Malformed)?)
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let mut text = format!("log {}\n", self.log.to_vkey());
        for w in &self.witnesses {
            text.push_str(&format!("witness {}\n", w.to_vkey()));
        }
        text.push_str(&format!("quorum {}\n", self.quorum));
        text
    }

    /// The log's key; its name is the log's origin.
    pub fn log(&self) -> &NoteKey {
        &self.log
    }

    /// The witnesses' keys.
    pub fn witnesses(&self) -> &[NoteKey] {
        &self.witnesses
    }

    /// How many witnesses must cosign.
    pub fn quorum(&self) -> usize {
        self.quorum
    }
}
