//! A ceremony's plan (`spec/12-threshold.md` §12.13): the one file every participating
//! evaluator is given, byte for byte. Its SHA-256 names the ceremony on the peer listener, so
//! two evaluators with different plans never exchange a message.

use std::collections::BTreeSet;
use std::path::Path;

use blindnym::threshold::Threshold;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Result, ServerError};

/// What a ceremony makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CeremonyKind {
    /// A new epoch's keys without a dealer (§12.13.1): every member of `(t, n)` deals.
    Generate,
    /// New shares of the current epoch's keys for the same committee (§12.13.2).
    Refresh,
    /// The current epoch's keys moved to the committee `(t, n)` (§12.13.2).
    Reshare,
}

/// `plan.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    /// A name the operators agree on (shown in logs; part of the bytes the plan is named by).
    id: String,
    kind: CeremonyKind,
    /// The epoch generated (generate) or whose keys are reshared.
    epoch: u32,
    /// The committee after the ceremony.
    t: u16,
    n: u16,
    /// Refresh and reshare: the members of the current committee that deal, at least its `t`.
    #[serde(default)]
    dealers: Vec<u16>,
    /// Generate: when the new epoch becomes current (Unix seconds; default a minute ago).
    #[serde(default)]
    not_before: Option<u64>,
    /// How long each participant waits for the others, in seconds (default 600).
    #[serde(default)]
    timeout_s: Option<u64>,
}

/// A checked plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The operators' name for it.
    pub id: String,
    /// SHA-256 of the plan file: the ceremony's name on the wire.
    pub digest: [u8; 32],
    /// What it makes.
    pub kind: CeremonyKind,
    /// The epoch.
    pub epoch: u32,
    /// The committee after.
    pub new: Threshold,
    /// The dealers (refresh, reshare), increasing.
    pub dealers: Vec<u16>,
    /// Generate: the new epoch's start.
    pub not_before: Option<u64>,
    /// How long to wait for the others.
    pub timeout: std::time::Duration,
}

impl Plan {
    /// Reads and checks a plan file.
    ///
    /// # Errors
    /// [`ServerError::Config`] naming what is wrong.
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |e: &dyn std::fmt::Display| {
            ServerError::Config(format!("ceremony plan {}: {e}", path.display()))
        };
        let bytes = std::fs::read(path).map_err(|e| bad(&e))?;
        let text = std::str::from_utf8(&bytes).map_err(|e| bad(&e))?;
        let file: PlanFile = toml::from_str(text).map_err(|e| bad(&e))?;
        let new = Threshold::new(file.t, file.n).map_err(|e| bad(&e))?;
        match file.kind {
            CeremonyKind::Generate if !file.dealers.is_empty() => {
                return Err(bad(&"a generation has no dealers: every member deals"));
            }
            CeremonyKind::Refresh | CeremonyKind::Reshare if file.dealers.is_empty() => {
                return Err(bad(
                    &"dealers = [..]: at least t members of the current committee",
                ));
            }
            CeremonyKind::Refresh | CeremonyKind::Reshare if file.not_before.is_some() => {
                return Err(bad(&"not_before is for a generation"));
            }
            _ => {}
        }
        if file.dealers.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad(&"dealers must be increasing"));
        }
        let timeout = file.timeout_s.unwrap_or(600);
        if timeout == 0 || timeout > 86_400 {
            return Err(bad(&"timeout_s is 1 to 86400"));
        }
        Ok(Self {
            id: file.id,
            digest: Sha256::digest(&bytes).into(),
            kind: file.kind,
            epoch: file.epoch,
            new,
            dealers: file.dealers,
            not_before: file.not_before,
            timeout: std::time::Duration::from_secs(timeout),
        })
    }

    /// Everyone taking part: the new committee `1..=n` and the dealers.
    pub fn participants(&self) -> BTreeSet<u16> {
        (1..=self.new.n())
            .chain(self.dealers.iter().copied())
            .collect()
    }

    /// The members of the committee after the ceremony.
    pub fn members(&self) -> BTreeSet<u16> {
        (1..=self.new.n()).collect()
    }
}
