//! The published key set: every epoch's public keys, signed by a long-term key kept apart
//! from the epoch keys, with a sequence number and a validity window (`spec/04-keys.md`
//! §4.4–§4.6). Holders and relying parties use keys only through a [`VerifiedKeySet`], which
//! only [`KeySetVerifier::accept`] makes.

use core::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use super::context;
use super::key_schedule::{Epoch, EpochPublicKeys, MAX_REALM_LEN};
use crate::codec::{Reader, decodes_from_slice, push_field};
use crate::error::{Error, Result};
use crate::keys::PublicKey;

/// Magic bytes opening a serialized key set.
pub const KEY_SET_MAGIC: [u8; 4] = *b"BNKS";
/// Format version of a serialized key set.
pub const KEY_SET_VERSION: u8 = 2;
/// Serialized size of one [`EpochPublicKeys`] entry: epoch, start time and four keys.
pub const EPOCH_ENTRY_LEN: usize = 4 + 8 + 4 * 32;
/// The most epochs one key set lists (older ones are dropped from it as they retire).
pub const MAX_EPOCHS: usize = 1024;
/// How long after a new epoch begins the previous one is still accepted for ordinary logins:
/// one day, so that flows in flight and holders with stale caches finish (`spec/04-keys.md`
/// §4.6). Migration has no such limit ([`VerifiedKeySet::accept_migration`]).
pub const TRANSITION_WINDOW_S: u64 = 86_400;
/// Length of a key-set signature.
pub const SIGNATURE_LEN: usize = 64;
/// The longest validity window a key set may have: 92 days (`spec/04-keys.md` §4.5). A
/// signer that is compelled or stolen cannot hand out a set that stays good for years; an
/// operator re-signs the current keys at least once a quarter (monthly is the advice).
pub const MAX_WINDOW_S: u64 = 92 * 86_400;
/// The largest sequence number: `2^32 − 1`. A set numbered near `u64::MAX` would leave no
/// room for any later one.
pub const MAX_SEQUENCE: u64 = u32::MAX as u64;
/// How far past the last accepted set a new one's sequence number may go: `2^16`. A verifier
/// that accepted a set with a number far ahead could never accept the honest sets after it.
pub const MAX_SEQUENCE_STEP: u64 = 1 << 16;

/// Decodes an Ed25519 public key strictly: canonical encoding, not of small order.
///
/// # Errors
/// [`Error::NonCanonicalElement`] for an invalid or non-canonical encoding,
/// [`Error::IdentityElement`] for a small-order (weak) key.
pub fn decode_verifying_key(bytes: &[u8; 32]) -> Result<VerifyingKey> {
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| Error::NonCanonicalElement)?;
    if key.to_edwards().compress().as_bytes() != bytes {
        return Err(Error::NonCanonicalElement);
    }
    if key.is_weak() {
        return Err(Error::IdentityElement);
    }
    Ok(key)
}

impl EpochPublicKeys {
    /// The 140-byte entry of a key set (§4.5): what an evaluator exports for the key-set
    /// signer to list.
    pub fn to_bytes(&self) -> [u8; EPOCH_ENTRY_LEN] {
        let mut out = Vec::with_capacity(EPOCH_ENTRY_LEN);
        self.write(&mut out);
        let mut bytes = [0u8; EPOCH_ENTRY_LEN];
        bytes.copy_from_slice(&out);
        bytes
    }

    /// Decodes one entry strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for other than 140 bytes; the key errors of §3.9.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let entry = Self::read(&mut reader)?;
        reader.finish()?;
        Ok(entry)
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.not_before.to_be_bytes());
        out.extend_from_slice(self.holder_derived.as_bytes());
        out.extend_from_slice(self.attested.as_bytes());
        out.extend_from_slice(self.attested_signing.as_bytes());
        out.extend_from_slice(self.bulk.as_bytes());
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            epoch: reader.u32()?,
            not_before: reader.u64()?,
            holder_derived: PublicKey::from_bytes(reader.take(32)?)?,
            attested: PublicKey::from_bytes(reader.take(32)?)?,
            attested_signing: decode_verifying_key(&reader.array()?)?,
            bulk: PublicKey::from_bytes(reader.take(32)?)?,
        })
    }
}

/// The contents of a key set, before signing (`spec/04-keys.md` §4.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySet {
    realm: Vec<u8>,
    sequence: u64,
    not_before: u64,
    not_after: u64,
    epochs: Vec<EpochPublicKeys>,
}

impl KeySet {
    /// A key set of `realm`, number `sequence`, valid from `not_before` until `not_after`
    /// (seconds), listing `epochs`.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a realm over 1024 bytes; [`Error::Malformed`] when
    /// `epochs` is empty, longer than [`MAX_EPOCHS`], not strictly increasing in epoch and
    /// start time, the window is empty or longer than [`MAX_WINDOW_S`], or the sequence
    /// number is above [`MAX_SEQUENCE`].
    pub fn new(
        realm: &[u8],
        sequence: u64,
        not_before: u64,
        not_after: u64,
        epochs: Vec<EpochPublicKeys>,
    ) -> Result<Self> {
        if realm.len() > MAX_REALM_LEN {
            return Err(Error::InputTooLong);
        }
        let increasing = epochs.windows(2).all(|w| match w {
            [a, b] => a.epoch < b.epoch && a.not_before < b.not_before,
            _ => false,
        });
        if epochs.is_empty()
            || epochs.len() > MAX_EPOCHS
            || !increasing
            || not_before >= not_after
            || not_after - not_before > MAX_WINDOW_S
            || sequence > MAX_SEQUENCE
        {
            return Err(Error::Malformed);
        }
        Ok(Self {
            realm: realm.to_vec(),
            sequence,
            not_before,
            not_after,
            epochs,
        })
    }

    /// The realm.
    pub fn realm(&self) -> &[u8] {
        &self.realm
    }

    /// The sequence number: each new set has a higher one.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The start of the set's validity window (seconds).
    pub fn not_before(&self) -> u64 {
        self.not_before
    }

    /// The end of the set's validity window (seconds, exclusive).
    pub fn not_after(&self) -> u64 {
        self.not_after
    }

    /// All epochs, in increasing order.
    pub fn epochs(&self) -> &[EpochPublicKeys] {
        &self.epochs
    }

    /// The message the key-set signer signs (`spec/04-keys.md` §4.5): the context string,
    /// then the body. For a signer outside this crate (an HSM through PKCS#11, `CKM_EDDSA`):
    /// sign these bytes with pure Ed25519 and join with [`SignedKeySet::from_signature`].
    pub fn signed_message(&self) -> Vec<u8> {
        signed_message(&self.body())
    }

    /// `"BNKS" || 0x02 || len(realm):2 || realm || sequence:8 || not_before:8 || not_after:8
    /// || count:2 || entries`.
    fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            4 + 1 + 2 + self.realm.len() + 24 + 2 + self.epochs.len() * EPOCH_ENTRY_LEN,
        );
        out.extend_from_slice(&KEY_SET_MAGIC);
        out.push(KEY_SET_VERSION);
        // `new` bounds the realm by 1024 bytes and the count by MAX_EPOCHS.
        let _ = push_field(&mut out, &self.realm);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.not_before.to_be_bytes());
        out.extend_from_slice(&self.not_after.to_be_bytes());
        let count = u16::try_from(self.epochs.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for entry in &self.epochs {
            entry.write(&mut out);
        }
        out
    }

    /// Reads a body followed by exactly `trailer` more bytes (the signature).
    fn read(reader: &mut Reader<'_>, trailer: usize) -> Result<Self> {
        if reader.array::<4>()? != KEY_SET_MAGIC || reader.u8()? != KEY_SET_VERSION {
            return Err(Error::Malformed);
        }
        let realm = reader.field()?;
        let sequence = reader.u64()?;
        let not_before = reader.u64()?;
        let not_after = reader.u64()?;
        let count = usize::from(reader.u16()?);
        // The count, and the length it implies, are checked before any entry is decoded or
        // allocated.
        if count == 0 || count > MAX_EPOCHS {
            return Err(Error::Malformed);
        }
        let expected = reader.total() - reader.remaining() + count * EPOCH_ENTRY_LEN + trailer;
        if reader.total() != expected {
            return Err(Error::InvalidLength {
                expected,
                actual: reader.total(),
            });
        }
        let mut epochs = Vec::with_capacity(count);
        for _ in 0..count {
            epochs.push(EpochPublicKeys::read(reader)?);
        }
        Self::new(realm, sequence, not_before, not_after, epochs)
    }
}

/// The message the key-set key signs: the context string, then the body.
fn signed_message(body: &[u8]) -> Vec<u8> {
    [context::KEY_SET_SIGNATURE.as_bytes(), body].concat()
}

/// A key set with the long-term key's signature: what an evaluator publishes
/// (`body || signature`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedKeySet {
    set: KeySet,
    signature: Signature,
}

impl SignedKeySet {
    /// Joins `set` with a signature made outside this crate over
    /// [`KeySet::signed_message`], after checking it under `anchor` as every verifier will
    /// (`verify_strict`, §3.9).
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless the signature is 64 bytes; [`Error::KeySetSignature`]
    /// when it does not verify under `anchor`.
    pub fn from_signature(set: KeySet, signature: &[u8], anchor: &VerifyingKey) -> Result<Self> {
        let signature = Signature::from_bytes(&crate::group::exact::<64>(signature)?);
        anchor
            .verify_strict(&set.signed_message(), &signature)
            .map_err(|_| Error::KeySetSignature)?;
        Ok(Self { set, signature })
    }

    /// The contents, not yet verified.
    pub fn unverified(&self) -> &KeySet {
        &self.set
    }

    /// The serialization: the body, then the 64-byte signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.set.body();
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }

    /// Parses a signed key set strictly (the signature is checked by
    /// [`KeySetVerifier::accept`]).
    ///
    /// # Errors
    /// [`Error::Malformed`] for a wrong magic or version, a count of 0 or over
    /// [`MAX_EPOCHS`], or epochs out of order; [`Error::InvalidLength`] for a short buffer or
    /// trailing bytes; the key errors of the entries.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let set = KeySet::read(&mut reader, SIGNATURE_LEN)?;
        let signature = Signature::from_bytes(&reader.array::<SIGNATURE_LEN>()?);
        reader.finish()?;
        Ok(Self { set, signature })
    }

    /// `blake3.derive_key("blindnym v2 key set digest", serialization)`: the leaf a
    /// transparency log records, and what holders and relying parties compare to see that
    /// everyone was shown the same set (`spec/04-keys.md` §4.5).
    pub fn digest(&self) -> [u8; 32] {
        blake3::derive_key(context::KEY_SET_DIGEST, &self.to_bytes())
    }
}

decodes_from_slice!(SignedKeySet);

/// The long-term key that signs key sets. Kept apart from the epoch keys (its own secret, on
/// its own machine or HSM), so that a stolen root seed cannot publish a forged set.
pub struct KeySetSigner(SigningKey);

impl KeySetSigner {
    /// A fresh signing key.
    pub fn generate(rng: &mut (impl CryptoRng + ?Sized)) -> Self {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self(SigningKey::from_bytes(&seed))
    }

    /// The key from its 32-byte secret seed.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let seed = zeroize::Zeroizing::new(crate::group::exact::<32>(bytes)?);
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The trust anchor holders and relying parties pin.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    /// Signs `message` as it is (callers frame it with their own context string).
    #[cfg(feature = "threshold")]
    pub(crate) fn sign_framed(&self, message: &[u8]) -> Signature {
        self.0.sign(message)
    }

    /// Signs `set`.
    pub fn sign(&self, set: KeySet) -> SignedKeySet {
        let signature = self.0.sign(&signed_message(&set.body()));
        SignedKeySet { set, signature }
    }
}

impl fmt::Debug for KeySetSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeySetSigner(<redacted>)")
    }
}

/// A holder's or relying party's view of the key set: the pinned trust anchor, the realm it
/// expects, and the newest set accepted so far (persist [`KeySetVerifier::last_accepted`] so
/// a restart cannot be rolled back).
#[derive(Clone, Debug)]
pub struct KeySetVerifier {
    anchor: VerifyingKey,
    realm: Vec<u8>,
    last: Option<(u64, [u8; 32])>,
    /// The newest set accepted, when the verifier has it (not when restored from a sequence
    /// number and digest only): its epochs may not be re-keyed by a later set.
    last_set: Option<SignedKeySet>,
}

impl KeySetVerifier {
    /// The pinned trust anchor and realm.
    #[cfg(feature = "threshold")]
    pub(crate) fn anchor(&self) -> (&VerifyingKey, &[u8]) {
        (&self.anchor, &self.realm)
    }

    /// A verifier trusting `anchor` for `realm`, with no set accepted yet.
    pub fn new(anchor: VerifyingKey, realm: &[u8]) -> Self {
        Self {
            anchor,
            realm: realm.to_vec(),
            last: None,
            last_set: None,
        }
    }

    /// A verifier that already accepted the set with `sequence` and `digest`. It refuses
    /// rollbacks and sequence jumps but cannot see a later set re-key an epoch; prefer
    /// [`KeySetVerifier::with_last_accepted_set`].
    pub fn with_last_accepted(
        anchor: VerifyingKey,
        realm: &[u8],
        sequence: u64,
        digest: [u8; 32],
    ) -> Self {
        Self {
            anchor,
            realm: realm.to_vec(),
            last: Some((sequence, digest)),
            last_set: None,
        }
    }

    /// A verifier that already accepted `signed` (as persisted from
    /// [`KeySetVerifier::last_accepted_set`]): its signature and realm are checked again, its
    /// window is not (it may have closed since).
    ///
    /// # Errors
    /// [`Error::KeySetSignature`], [`Error::RealmMismatch`].
    pub fn with_last_accepted_set(
        anchor: VerifyingKey,
        realm: &[u8],
        signed: &SignedKeySet,
    ) -> Result<Self> {
        anchor
            .verify_strict(&signed_message(&signed.set.body()), &signed.signature)
            .map_err(|_| Error::KeySetSignature)?;
        if signed.set.realm != realm {
            return Err(Error::RealmMismatch);
        }
        Ok(Self {
            anchor,
            realm: realm.to_vec(),
            last: Some((signed.set.sequence, signed.digest())),
            last_set: Some(signed.clone()),
        })
    }

    /// The sequence number and digest of the newest set accepted.
    pub fn last_accepted(&self) -> Option<(u64, [u8; 32])> {
        self.last
    }

    /// The newest set accepted, to persist (its bytes) and restore with
    /// [`KeySetVerifier::with_last_accepted_set`].
    pub fn last_accepted_set(&self) -> Option<&SignedKeySet> {
        self.last_set.as_ref()
    }

    /// Checks `signed` at time `now` and, if it passes, remembers it as the newest.
    /// In order: the signature under the anchor, the realm, the validity window, that the
    /// sequence number does not go back (an equal number must be the same set), does not
    /// jump more than [`MAX_SEQUENCE_STEP`] ahead, and that no epoch the last accepted set
    /// listed is listed with other keys or another start.
    ///
    /// # Errors
    /// [`Error::KeySetSignature`] (unsigned or forged), [`Error::RealmMismatch`],
    /// [`Error::KeySetExpired`] (outside its window), [`Error::KeySetRollback`],
    /// [`Error::KeySetEquivocation`] (a jump, or an epoch re-keyed).
    pub fn accept(&mut self, signed: &SignedKeySet, now: u64) -> Result<VerifiedKeySet> {
        let set = &signed.set;
        self.anchor
            .verify_strict(&signed_message(&set.body()), &signed.signature)
            .map_err(|_| Error::KeySetSignature)?;
        if set.realm != self.realm {
            return Err(Error::RealmMismatch);
        }
        if now < set.not_before || now >= set.not_after {
            return Err(Error::KeySetExpired);
        }
        let digest = signed.digest();
        if let Some((sequence, seen)) = self.last {
            let same = bool::from(seen.ct_eq(&digest));
            if set.sequence < sequence || (set.sequence == sequence && !same) {
                return Err(Error::KeySetRollback);
            }
            if set.sequence - sequence > MAX_SEQUENCE_STEP {
                return Err(Error::KeySetEquivocation);
            }
        }
        if let Some(last) = &self.last_set {
            let rekeyed = set.epochs.iter().any(|entry| {
                last.set
                    .epochs
                    .iter()
                    .any(|known| known.epoch == entry.epoch && known != entry)
            });
            if rekeyed {
                return Err(Error::KeySetEquivocation);
            }
        }
        self.last = Some((set.sequence, digest));
        self.last_set = Some(signed.clone());
        Ok(VerifiedKeySet {
            set: set.clone(),
            digest,
        })
    }
}

/// A key set whose signature, realm, window and sequence were checked: the only form in
/// which holders and relying parties take keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedKeySet {
    set: KeySet,
    digest: [u8; 32],
}

impl VerifiedKeySet {
    /// The realm.
    pub fn realm(&self) -> &[u8] {
        &self.set.realm
    }

    /// The contents.
    pub fn set(&self) -> &KeySet {
        &self.set
    }

    /// The digest that was checked (compare it with the transparency log's).
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Checks that `now` lies in the set's validity window: a set accepted once stops
    /// working when its window closes, so a holder or relying party that never fetches a new
    /// one fails closed.
    ///
    /// # Errors
    /// [`Error::KeySetExpired`] outside the window.
    fn check_window(&self, now: u64) -> Result<()> {
        if now < self.set.not_before || now >= self.set.not_after {
            return Err(Error::KeySetExpired);
        }
        Ok(())
    }

    /// The current epoch at `now`: the newest whose start time has passed.
    ///
    /// # Errors
    /// [`Error::KeySetExpired`] outside the set's validity window, or when no epoch of the
    /// set has started yet.
    pub fn current(&self, now: u64) -> Result<&EpochPublicKeys> {
        self.check_window(now)?;
        self.set
            .epochs
            .iter()
            .rev()
            .find(|e| e.not_before <= now)
            .ok_or(Error::KeySetExpired)
    }

    /// The keys of the epochs a migration at `now` moves between: `new` must be the current
    /// epoch and `old` the one listed just before it. Unlike [`VerifiedKeySet::accept_epoch`]
    /// there is no time limit on `old`: the holder asks for both epochs itself, so they carry
    /// no tag, and an account may migrate whenever its owner next logs in, as long as the set
    /// still lists the old epoch (`spec/04-keys.md` §4.7).
    ///
    /// # Errors
    /// [`Error::KeySetExpired`] outside the set's validity window; [`Error::UnknownEpoch`]
    /// when the set does not list an epoch, [`Error::StaleEpoch`] when `new` is not current
    /// or `old` is not the epoch just before it.
    pub fn accept_migration(
        &self,
        old: Epoch,
        new: Epoch,
        now: u64,
    ) -> Result<(&EpochPublicKeys, &EpochPublicKeys)> {
        self.check_window(now)?;
        let epochs = &self.set.epochs;
        let find = |epoch| {
            epochs
                .binary_search_by_key(&epoch, |e: &EpochPublicKeys| e.epoch)
                .map_err(|_| Error::UnknownEpoch { epoch })
        };
        let (old_index, new_index) = (find(old)?, find(new)?);
        let current = epochs.iter().rposition(|e| e.not_before <= now);
        if current != Some(new_index) {
            return Err(Error::StaleEpoch { epoch: new });
        }
        if old_index + 1 != new_index {
            return Err(Error::StaleEpoch { epoch: old });
        }
        match (epochs.get(old_index), epochs.get(new_index)) {
            (Some(o), Some(n)) => Ok((o, n)),
            _ => Err(Error::UnknownEpoch { epoch: old }),
        }
    }

    /// The keys of `epoch` if it is accepted at `now`: the current epoch, or the one before
    /// it until [`TRANSITION_WINDOW_S`] after the current one began (`spec/04-keys.md` §4.6).
    ///
    /// # Errors
    /// [`Error::KeySetExpired`] outside the set's validity window; [`Error::UnknownEpoch`]
    /// when the set does not list `epoch`, [`Error::StaleEpoch`] when it does but the epoch
    /// is not accepted now.
    pub fn accept_epoch(&self, epoch: Epoch, now: u64) -> Result<&EpochPublicKeys> {
        self.check_window(now)?;
        let epochs = &self.set.epochs;
        let index = epochs
            .binary_search_by_key(&epoch, |e| e.epoch)
            .map_err(|_| Error::UnknownEpoch { epoch })?;
        let current = epochs
            .iter()
            .rposition(|e| e.not_before <= now)
            .ok_or(Error::StaleEpoch { epoch })?;
        let in_transition = index + 1 == current
            && epochs
                .get(current)
                .is_some_and(|c| now < c.not_before.saturating_add(TRANSITION_WINDOW_S));
        if index == current || in_transition {
            epochs.get(index).ok_or(Error::UnknownEpoch { epoch })
        } else {
            Err(Error::StaleEpoch { epoch })
        }
    }
}

#[cfg(test)]
mod tests;
