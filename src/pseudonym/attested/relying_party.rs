//! Flow A's relying party: checks an assertion and computes the pseudonym (`spec/06-flow-a.md`
//! §6.5).

use curve25519_dalek::ristretto::RistrettoPoint;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::group::hash_to_group;
use crate::messages::{Blind, BlindedElement, EvaluatedElement};
use crate::pseudonym::ids::ServiceId;
use crate::pseudonym::key_set::VerifiedKeySet;
use crate::pseudonym::session::{
    Challenge, ChannelBinding, NonceStore, PendingChallenge, check_expiry,
};
use crate::pseudonym::text::Pseudonym;
use crate::suite::Mode;

use super::*;

/// The fields of an assertion that the relying party's session checks read.
struct Presented<'a> {
    r: &'a Blind,
    blinded: &'a BlindedElement,
    session: &'a [u8; 32],
    expiry: u64,
}

/// The relying party of flow A: its own service id and the verified key set.
#[derive(Clone, Debug)]
pub struct RelyingParty {
    keys: VerifiedKeySet,
    service: ServiceId,
    base: RistrettoPoint,
}

impl RelyingParty {
    /// A relying party for `service`, trusting `keys`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the service hashes to the identity (negligible).
    pub fn new(keys: VerifiedKeySet, service: ServiceId) -> Result<Self> {
        let base = hash_to_group(Mode::Poprf, &service_input(&service)?)?;
        Ok(Self {
            keys,
            service,
            base,
        })
    }

    /// The service id.
    pub fn service(&self) -> &ServiceId {
        &self.service
    }

    /// Step 1: a fresh challenge at time `now` — the one-shot state to keep with the session
    /// and the message to send to the holder. It lapses at [`grid_expiry`]`(now)`.
    ///
    /// [`grid_expiry`]: crate::pseudonym::session::grid_expiry
    pub fn challenge(
        &self,
        rng: &mut (impl CryptoRng + ?Sized),
        now: u64,
    ) -> (PendingChallenge, Challenge) {
        PendingChallenge::issue(rng, now)
    }

    /// The checks shared by both kinds of assertion, in the order of `spec/06-flow-a.md`
    /// §6.6, after the epoch and signature checks: session, expiry, service.
    fn check_presented(
        &self,
        pending: &PendingChallenge,
        channel: &ChannelBinding,
        now: u64,
        presented: Presented<'_>,
    ) -> Result<()> {
        pending.check(presented.session, channel)?;
        check_expiry(presented.expiry, now)?;
        let recomputed = (presented.r.0 * self.base).compress();
        if !bool::from(recomputed.as_bytes().ct_eq(presented.blinded.as_bytes())) {
            return Err(Error::ServiceMismatch);
        }
        Ok(())
    }

    fn pseudonym(&self, r: &Blind, z: &EvaluatedElement) -> Result<Pseudonym> {
        let unblinded = Zeroizing::new((r.0.invert() * z.point).compress().to_bytes());
        pseudonym_from_element(&self.service, &unblinded)
    }

    /// Step 5: checks an assertion for the session `pending` over `channel` at time `now`,
    /// records the session in `store`, and derives the pseudonym (`spec/06-flow-a.md` §6.6).
    /// The library reads no clock.
    ///
    /// # Errors
    /// In order: [`Error::UnknownEpoch`]/[`Error::StaleEpoch`]; [`Error::BadSignature`]
    /// (tampered or forged); [`Error::SessionMismatch`] (another session's nonce, or relayed
    /// over another channel); [`Error::OffGridExpiry`]/[`Error::Expired`];
    /// [`Error::ServiceMismatch`] (made for another service); [`Error::Expired`] when the
    /// challenge has lapsed; [`Error::Replayed`].
    pub fn verify(
        &self,
        pending: PendingChallenge,
        assertion: &Assertion,
        channel: &ChannelBinding,
        now: u64,
        store: &impl NonceStore,
    ) -> Result<Pseudonym> {
        let keys = self.keys.accept_epoch(assertion.epoch, now)?;
        let message = signed_message(
            self.keys.realm(),
            assertion.epoch,
            &assertion.blinded,
            &assertion.evaluated,
            &assertion.session,
            assertion.expiry,
        )?;
        check_signature(keys, &message, &assertion.signature)?;
        self.check_presented(
            &pending,
            channel,
            now,
            Presented {
                r: &assertion.r,
                blinded: &assertion.blinded,
                session: &assertion.session,
                expiry: assertion.expiry,
            },
        )?;
        pending.consume(&assertion.session, now, store)?;
        self.pseudonym(&assertion.r, &assertion.evaluated)
    }

    /// Step 5 of a migration: the checks of [`RelyingParty::verify`] with both epochs
    /// accepted and the new epoch's signature over both answers; returns the `(old, new)`
    /// pseudonyms of the same subject so the application can move the account. The
    /// evaluator computes no mapping: the holder carries it.
    ///
    /// # Errors
    /// As [`RelyingParty::verify`]; [`Error::StaleEpoch`] unless the new epoch is current and
    /// the old one the epoch just before it.
    pub fn verify_migration(
        &self,
        pending: PendingChallenge,
        assertion: &MigrationAssertion,
        channel: &ChannelBinding,
        now: u64,
        store: &impl NonceStore,
    ) -> Result<(Pseudonym, Pseudonym)> {
        let (_, keys) =
            self.keys
                .accept_migration(assertion.old_epoch, assertion.new_epoch, now)?;
        let message = migration_message(
            self.keys.realm(),
            assertion.old_epoch,
            assertion.new_epoch,
            &assertion.blinded,
            &assertion.old_evaluated,
            &assertion.new_evaluated,
            &assertion.session,
            assertion.expiry,
        )?;
        check_signature(keys, &message, &assertion.signature)?;
        self.check_presented(
            &pending,
            channel,
            now,
            Presented {
                r: &assertion.r,
                blinded: &assertion.blinded,
                session: &assertion.session,
                expiry: assertion.expiry,
            },
        )?;
        pending.consume(&assertion.session, now, store)?;
        Ok((
            self.pseudonym(&assertion.r, &assertion.old_evaluated)?,
            self.pseudonym(&assertion.r, &assertion.new_evaluated)?,
        ))
    }
}
