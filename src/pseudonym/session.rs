//! A relying party's login session: the challenge it issues, the one-shot state it keeps,
//! the channel binding both ends supply, the public expiry grid, and the store of answered
//! challenges (`spec/06-flow-a.md` §6.2, §6.6).

use core::fmt;
use std::collections::HashMap;
use std::sync::Mutex;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use super::context;
use crate::codec::{decodes_from_slice, derive_key};
use crate::error::{Error, Result};
use crate::group::exact;

/// Length of a challenge nonce.
pub const NONCE_LEN: usize = 32;
/// Length of a channel binding value.
pub const CHANNEL_BINDING_LEN: usize = 32;
/// The expiry grid: every expiry an evaluator sets is a multiple of this many seconds.
pub const EXPIRY_GRID_S: u64 = 300;
/// How far ahead of the checker's clock an expiry may lie: three grid steps, so holder and
/// evaluator clocks may differ by up to one step (`spec/06-flow-a.md` §6.4).
pub const MAX_EXPIRY_AHEAD_S: u64 = 3 * EXPIRY_GRID_S;

/// A value both ends of the holder's channel to the relying party compute and nobody else
/// can: a TLS exporter (RFC 9266 `tls-exporter`, 32 bytes) in a deployment. It binds an
/// assertion to the channel it was made for, so a party that relays it over another channel
/// fails with [`Error::SessionMismatch`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ChannelBinding([u8; CHANNEL_BINDING_LEN]);

impl ChannelBinding {
    /// Wraps 32 bytes the application obtained from its channel.
    pub const fn new(bytes: [u8; CHANNEL_BINDING_LEN]) -> Self {
        Self(bytes)
    }

    /// Decodes exactly 32 bytes.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        exact(bytes).map(Self)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; CHANNEL_BINDING_LEN] {
        &self.0
    }
}

impl fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChannelBinding(..)")
    }
}

/// Relying party → holder: a fresh random nonce for one login (32 bytes on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Challenge {
    nonce: [u8; NONCE_LEN],
}

impl Challenge {
    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; NONCE_LEN] {
        self.nonce
    }

    /// Decodes a challenge.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        exact(bytes).map(|nonce| Self { nonce })
    }

    /// The session hash `blake3.derive_key("blindnym v2 session", frame(nonce, channel
    /// binding))` an answer to this challenge carries.
    ///
    /// # Errors
    /// None in practice (fixed-length fields).
    pub fn session_hash(&self, channel: &ChannelBinding) -> Result<[u8; 32]> {
        session_hash(&self.nonce, channel)
    }
}

decodes_from_slice!(Challenge);

/// `blake3.derive_key("blindnym v2 session", frame(nonce, channel binding))`.
fn session_hash(nonce: &[u8; NONCE_LEN], channel: &ChannelBinding) -> Result<[u8; 32]> {
    derive_key(context::SESSION, &[nonce, &channel.0])
}

/// What the relying party keeps between issuing a challenge and checking its answer: the
/// nonce and when the challenge lapses ([`grid_expiry`] of the time it was issued). One
/// shot: checking consumes it. It can be saved and restored (`to_bytes`/`from_bytes`) when
/// the session leaves memory; a restored copy answered twice is caught by the
/// [`NonceStore`], which keeps each answered session until the challenge lapses.
#[derive(PartialEq, Eq)]
pub struct PendingChallenge {
    nonce: [u8; NONCE_LEN],
    expiry: u64,
}

/// Length of a saved [`PendingChallenge`]: nonce and expiry.
pub const PENDING_CHALLENGE_LEN: usize = NONCE_LEN + 8;

impl PendingChallenge {
    /// A fresh challenge at time `now`: the state to keep and the message to send.
    pub fn issue(rng: &mut (impl CryptoRng + ?Sized), now: u64) -> (Self, Challenge) {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let pending = Self {
            nonce,
            expiry: grid_expiry(now),
        };
        (pending, Challenge { nonce })
    }

    /// When the challenge lapses: no answer is accepted from then on.
    pub fn expiry(&self) -> u64 {
        self.expiry
    }

    /// The saved form, `nonce (32) || expiry (8)`, for the session store.
    pub fn to_bytes(&self) -> [u8; PENDING_CHALLENGE_LEN] {
        let mut out = [0u8; PENDING_CHALLENGE_LEN];
        out[..NONCE_LEN].copy_from_slice(&self.nonce);
        out[NONCE_LEN..].copy_from_slice(&self.expiry.to_be_bytes());
        out
    }

    /// Restores a saved pending challenge.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 40 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes = exact::<PENDING_CHALLENGE_LEN>(bytes)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[..NONCE_LEN]);
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&bytes[NONCE_LEN..]);
        Ok(Self {
            nonce,
            expiry: u64::from_be_bytes(expiry),
        })
    }

    /// The session hash an answer over `channel` must carry.
    ///
    /// # Errors
    /// None in practice (fixed-length fields).
    pub(crate) fn session_hash(&self, channel: &ChannelBinding) -> Result<[u8; 32]> {
        session_hash(&self.nonce, channel)
    }

    /// Checks that `session` answers this challenge over `channel`.
    ///
    /// # Errors
    /// [`Error::SessionMismatch`] when it does not.
    pub(crate) fn check(&self, session: &[u8; 32], channel: &ChannelBinding) -> Result<()> {
        let expected = self.session_hash(channel)?;
        if bool::from(expected.ct_eq(session)) {
            Ok(())
        } else {
            Err(Error::SessionMismatch)
        }
    }

    /// Checks that the challenge has not lapsed at `now`, then records `session` in `store`
    /// until it lapses: the last step of accepting an answer.
    ///
    /// # Errors
    /// [`Error::Expired`] when `now` is at or past the challenge's expiry,
    /// [`Error::Replayed`] when the session was answered before.
    pub(crate) fn consume(
        &self,
        session: &[u8; 32],
        now: u64,
        store: &(impl NonceStore + ?Sized),
    ) -> Result<()> {
        if now >= self.expiry {
            return Err(Error::Expired);
        }
        store.consume(session, self.expiry, now)
    }
}

impl fmt::Debug for PendingChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PendingChallenge(..)")
    }
}

/// Remembers which sessions were answered, so that no challenge is answered twice, across
/// every process of a relying party's fleet (back it with the fleet's shared database).
pub trait NonceStore {
    /// Records `session` as answered until `expiry` (seconds; the answer is worthless after
    /// it), at time `now`.
    ///
    /// # Errors
    /// [`Error::Replayed`] when `session` was already recorded and has not expired.
    fn consume(&self, session: &[u8; 32], expiry: u64, now: u64) -> Result<()>;
}

/// An in-memory [`NonceStore`] for one process; expired entries are dropped as it goes.
#[derive(Debug, Default)]
pub struct MemoryNonceStore {
    seen: Mutex<HashMap<[u8; 32], u64>>,
}

impl MemoryNonceStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl NonceStore for MemoryNonceStore {
    fn consume(&self, session: &[u8; 32], expiry: u64, now: u64) -> Result<()> {
        // A poisoned lock only means another thread panicked mid-insert; the map is intact.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, until| *until > now);
        if seen.contains_key(session) {
            return Err(Error::Replayed);
        }
        seen.insert(*session, expiry);
        Ok(())
    }
}

/// The expiry an evaluator sets at `now`: the second grid point after `now`, so it lies in
/// `(now + 300, now + 600]` (`spec/06-flow-a.md` §6.4).
pub fn grid_expiry(now: u64) -> u64 {
    (now / EXPIRY_GRID_S)
        .saturating_add(2)
        .saturating_mul(EXPIRY_GRID_S)
}

/// Checks an expiry against the checker's clock: on the grid, at most
/// [`MAX_EXPIRY_AHEAD_S`] ahead, and not passed.
///
/// # Errors
/// [`Error::OffGridExpiry`] for an expiry off the grid or too far ahead (a value the
/// evaluator could have chosen to tag someone), [`Error::Expired`] when `now >= expiry`.
pub fn check_expiry(expiry: u64, now: u64) -> Result<()> {
    if !expiry.is_multiple_of(EXPIRY_GRID_S) || expiry > now.saturating_add(MAX_EXPIRY_AHEAD_S) {
        return Err(Error::OffGridExpiry);
    }
    if now >= expiry {
        return Err(Error::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_expiry_passes_its_own_check_with_a_step_of_skew() {
        for now in [0, 299, 300, 1_700_000_123] {
            let expiry = grid_expiry(now);
            assert_eq!(check_expiry(expiry, now), Ok(()));
            assert_eq!(check_expiry(expiry, now + EXPIRY_GRID_S), Ok(()));
            assert_eq!(
                check_expiry(expiry, now.saturating_sub(EXPIRY_GRID_S)),
                Ok(())
            );
        }
        assert_eq!(
            check_expiry(1_000_001, 1_000_000),
            Err(Error::OffGridExpiry)
        );
        assert_eq!(check_expiry(600, 600), Err(Error::Expired));
    }

    #[test]
    fn memory_store_refuses_a_second_answer_until_expiry() {
        let store = MemoryNonceStore::new();
        assert_eq!(store.consume(&[1; 32], 100, 10), Ok(()));
        assert_eq!(store.consume(&[1; 32], 100, 20), Err(Error::Replayed));
        assert_eq!(store.consume(&[2; 32], 100, 20), Ok(()));
        assert_eq!(store.consume(&[1; 32], 200, 100), Ok(()));
    }
}
