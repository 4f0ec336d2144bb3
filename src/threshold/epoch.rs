//! One epoch's keys in threshold mode: each evaluator's shares of the three OPRF keys and of
//! the assertion signing key, and the public side that clients check answers against
//! (`spec/12-threshold.md` §12.3, §12.4).

use core::fmt;

use rand_core::CryptoRng;

use super::params::Threshold;
use super::share::{KeyShare, VerificationShares, deal};
use super::signing::{SigningPublic, SigningShare, deal_signing};
use crate::error::{Error, Result};
use crate::pseudonym::{Epoch, EpochKeys, EpochPublicKeys};

/// Evaluator `index`'s shares of one epoch's keys. Secret: never printed.
#[derive(Clone)]
pub struct EvaluatorShares {
    /// The realm.
    pub realm: Vec<u8>,
    /// The epoch.
    pub epoch: Epoch,
    /// Share of the flow H VOPRF key.
    pub holder_derived: KeyShare,
    /// Share of the flow A POPRF key.
    pub attested: KeyShare,
    /// Share of the flow A assertion signing key.
    pub signing: SigningShare,
    /// Share of the flow B POPRF key.
    pub bulk: KeyShare,
}

impl fmt::Debug for EvaluatorShares {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvaluatorShares")
            .field("epoch", &self.epoch)
            .field("index", &self.holder_derived.index())
            .finish_non_exhaustive()
    }
}

impl EvaluatorShares {
    /// The evaluator's index.
    pub fn index(&self) -> u16 {
        self.holder_derived.index()
    }
}

/// The public side of one epoch in threshold mode: `(t, n)` and every verification share of
/// each key, whose group keys are the epoch's published keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochShares {
    /// The epoch.
    pub epoch: Epoch,
    /// Flow H.
    pub holder_derived: VerificationShares,
    /// Flow A.
    pub attested: VerificationShares,
    /// Flow A signing.
    pub signing: SigningPublic,
    /// Flow B.
    pub bulk: VerificationShares,
}

impl EpochShares {
    /// `(t, n)`.
    pub fn params(&self) -> Threshold {
        self.holder_derived.params()
    }

    /// Checks that these shares belong to `keys`: same epoch, and every group key equal to
    /// the signed key set's key for that role.
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`] for another epoch, [`Error::ThresholdParams`] for a group key
    /// that differs.
    pub fn check_against(&self, keys: &EpochPublicKeys) -> Result<()> {
        if self.epoch != keys.epoch {
            return Err(Error::UnknownEpoch { epoch: self.epoch });
        }
        let same = *self.holder_derived.group_key() == keys.holder_derived
            && *self.attested.group_key() == keys.attested
            && *self.bulk.group_key() == keys.bulk
            && self.signing.verifying_key()? == keys.attested_signing;
        if !same {
            return Err(Error::ThresholdParams);
        }
        Ok(())
    }
}

/// Migration from one evaluator to `n` (`spec/12-threshold.md` §12.4): a dealer splits every
/// key of one epoch into shares and then erases `keys`. Pseudonyms and the relying party's
/// signing key stay the same.
///
/// # Errors
/// As [`deal`] and [`deal_signing`].
pub fn deal_epoch(
    keys: &EpochKeys,
    params: Threshold,
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(Vec<EvaluatorShares>, EpochShares)> {
    let holder_derived = keys.holder_derived();
    let attested = keys.attested();
    let bulk = keys.bulk();
    let (h_shares, h_public) = deal(&holder_derived.server.key_pair().secret().0, params, rng)?;
    let (a_shares, a_public) = deal(&attested.server.key_pair().secret().0, params, rng)?;
    let (b_shares, b_public) = deal(&bulk.server.key_pair().secret().0, params, rng)?;
    let (s_shares, s_public) = deal_signing(&attested.signing, params, rng)?;
    let evaluators = h_shares
        .into_iter()
        .zip(a_shares)
        .zip(b_shares)
        .zip(s_shares)
        .map(|(((h, a), b), s)| EvaluatorShares {
            realm: attested.realm.clone(),
            epoch: keys.epoch(),
            holder_derived: h,
            attested: a,
            signing: s,
            bulk: b,
        })
        .collect();
    Ok((
        evaluators,
        EpochShares {
            epoch: keys.epoch(),
            holder_derived: h_public,
            attested: a_public,
            signing: s_public,
            bulk: b_public,
        },
    ))
}
