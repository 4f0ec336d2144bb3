//! Evaluator keys per epoch, derived from one root seed, and the published key set holders
//! and relying parties verify against (`spec/04-keys.md`).
//!
//! Rotation: every evaluation answers a static Diffie–Hellman query, and RFC 9497 §7.2.3
//! puts the cost of `Q` queries at `log2(Q)/2` bits of security. Move to a new epoch after at
//! most 2^30 evaluations under one key (`spec/04-keys.md` §4.3).

use core::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2::Sha512;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::encoding::{Reader, context, frame, push_field};
use crate::error::{Error, Result};
use crate::group::exact;
use crate::keys::{KeyPair, PublicKey};
use crate::poprf::PoprfServer;
use crate::suite::Mode;
use crate::voprf::VoprfServer;

/// Length of a [`RootSeed`].
pub const ROOT_SEED_LEN: usize = 32;

/// Magic bytes opening a serialized [`PublishedKeys`].
pub const PUBLISHED_KEYS_MAGIC: [u8; 4] = *b"BNPK";
/// Format version of a serialized [`PublishedKeys`].
pub const PUBLISHED_KEYS_VERSION: u8 = 1;
/// Serialized size of one [`EpochPublicKeys`] entry: epoch and four 32-byte keys.
pub const EPOCH_ENTRY_LEN: usize = 4 + 4 * 32;

/// A key epoch number. Epochs only grow; each has its own keys.
pub type Epoch = u32;

/// The evaluator's root secret: every key of every epoch is derived from it
/// (`spec/04-keys.md` §4.1). Zeroized on drop; never printed; never serialized by this crate
/// except through [`RootSeed::expose_bytes`].
#[derive(Clone)]
pub struct RootSeed([u8; ROOT_SEED_LEN]);

impl RootSeed {
    /// Wraps 32 secret bytes, which must come from a CSPRNG.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        exact::<ROOT_SEED_LEN>(bytes).map(Self)
    }

    /// A fresh random root seed.
    pub fn generate(rng: &mut (impl CryptoRng + ?Sized)) -> Self {
        // Filled in place, so no copy of the seed is left on the stack.
        let mut seed = Self([0u8; ROOT_SEED_LEN]);
        rng.fill_bytes(&mut seed.0);
        seed
    }

    /// The secret bytes, for the operator's own sealed backup. Handle with care.
    pub fn expose_bytes(&self) -> Zeroizing<[u8; ROOT_SEED_LEN]> {
        Zeroizing::new(self.0)
    }
}

impl Drop for RootSeed {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for RootSeed {}

impl PartialEq for RootSeed {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for RootSeed {}

impl fmt::Debug for RootSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootSeed(<redacted>)")
    }
}

/// What a derived key is for (`spec/04-keys.md` §4.2). Each purpose has its own key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// The VOPRF key of flow H.
    FlowH,
    /// The POPRF key of flow A.
    FlowA,
    /// The POPRF key of flow B.
    FlowB,
    /// The Ed25519 key that signs flow A evaluations.
    Signing,
}

impl Purpose {
    /// The label framed into the key derivation info.
    pub const fn label(self) -> &'static str {
        match self {
            Purpose::FlowH => "blindnym v1 key flow-H voprf",
            Purpose::FlowA => "blindnym v1 key flow-A poprf",
            Purpose::FlowB => "blindnym v1 key flow-B poprf",
            Purpose::Signing => "blindnym v1 key flow-A ed25519",
        }
    }

    /// The RFC 9497 mode of an OPRF key; `None` for the signing key.
    pub const fn mode(self) -> Option<Mode> {
        match self {
            Purpose::FlowH => Some(Mode::Voprf),
            Purpose::FlowA | Purpose::FlowB => Some(Mode::Poprf),
            Purpose::Signing => None,
        }
    }
}

/// The public derivation info of one key: `frame(label, realm, I2OSP(epoch, 4))`
/// (`spec/04-keys.md` §4.2). It is both the HKDF `info` and the RFC 9497 `DeriveKeyPair` info.
///
/// # Errors
/// [`Error::InputTooLong`] for a realm over 65535 bytes.
pub fn key_info(purpose: Purpose, realm: &[u8], epoch: Epoch) -> Result<Vec<u8>> {
    frame(&[purpose.label().as_bytes(), realm, &epoch.to_be_bytes()])
}

/// `HKDF-SHA512(salt = KEY_SCHEDULE_SALT, ikm = root, info)`, 32 bytes.
fn hkdf_seed(root: &RootSeed, info: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let mut okm = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha512>::new(Some(context::KEY_SCHEDULE_SALT.as_bytes()), &root.0)
        .expand(info, okm.as_mut())
        .map_err(|_| Error::DeriveKeyPair)?;
    Ok(okm)
}

/// The RFC 9497 key pair for an OPRF purpose: `DeriveKeyPair(HKDF(root, info), info)`.
fn derive_oprf(root: &RootSeed, purpose: Purpose, realm: &[u8], epoch: Epoch) -> Result<KeyPair> {
    let mode = purpose.mode().ok_or(Error::DeriveKeyPair)?;
    let info = key_info(purpose, realm, epoch)?;
    KeyPair::derive(mode, &*hkdf_seed(root, &info)?, &info)
}

/// The evaluator's secret keys for one epoch (`spec/04-keys.md` §4.2). Never printed;
/// never serialized: re-derive them from the [`RootSeed`].
#[derive(Clone)]
pub struct EvaluatorKeys {
    realm: Vec<u8>,
    epoch: Epoch,
    flow_h: VoprfServer,
    flow_a: PoprfServer,
    flow_b: PoprfServer,
    signing: SigningKey,
}

impl EvaluatorKeys {
    /// Derives every key of `epoch` for the deployment named `realm`.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a realm over 65535 bytes (the RFC 9497 info limit makes
    /// it about 65490 in practice), [`Error::DeriveKeyPair`] with negligible probability.
    pub fn derive(root: &RootSeed, realm: &[u8], epoch: Epoch) -> Result<Self> {
        let signing_info = key_info(Purpose::Signing, realm, epoch)?;
        let signing = SigningKey::from_bytes(&*hkdf_seed(root, &signing_info)?);
        Ok(Self {
            realm: realm.to_vec(),
            epoch,
            flow_h: VoprfServer::new(derive_oprf(root, Purpose::FlowH, realm, epoch)?),
            flow_a: PoprfServer::new(derive_oprf(root, Purpose::FlowA, realm, epoch)?),
            flow_b: PoprfServer::new(derive_oprf(root, Purpose::FlowB, realm, epoch)?),
            signing,
        })
    }

    /// The realm (deployment name) the keys belong to.
    pub fn realm(&self) -> &[u8] {
        &self.realm
    }

    /// The epoch.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The public half, for the published key set.
    pub fn public(&self) -> EpochPublicKeys {
        EpochPublicKeys {
            epoch: self.epoch,
            flow_h: *self.flow_h.public_key(),
            flow_a: *self.flow_a.public_key(),
            flow_b: *self.flow_b.public_key(),
            signing: self.signing.verifying_key(),
        }
    }

    pub(crate) fn flow_h(&self) -> &VoprfServer {
        &self.flow_h
    }

    pub(crate) fn flow_a(&self) -> &PoprfServer {
        &self.flow_a
    }

    pub(crate) fn flow_b(&self) -> &PoprfServer {
        &self.flow_b
    }

    pub(crate) fn signing(&self) -> &SigningKey {
        &self.signing
    }
}

impl fmt::Debug for EvaluatorKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvaluatorKeys")
            .field("epoch", &self.epoch)
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

/// The public keys of one epoch (`spec/04-keys.md` §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochPublicKeys {
    /// The epoch.
    pub epoch: Epoch,
    /// Flow H VOPRF public key.
    pub flow_h: PublicKey,
    /// Flow A POPRF public key (untweaked).
    pub flow_a: PublicKey,
    /// Flow B POPRF public key (untweaked).
    pub flow_b: PublicKey,
    /// Ed25519 key verifying flow A evaluation signatures.
    pub signing: VerifyingKey,
}

impl EpochPublicKeys {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(self.flow_h.as_bytes());
        out.extend_from_slice(self.flow_a.as_bytes());
        out.extend_from_slice(self.flow_b.as_bytes());
        out.extend_from_slice(self.signing.as_bytes());
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            epoch: reader.u32()?,
            flow_h: PublicKey::from_bytes(reader.take(32)?)?,
            flow_a: PublicKey::from_bytes(reader.take(32)?)?,
            flow_b: PublicKey::from_bytes(reader.take(32)?)?,
            signing: decode_verifying_key(&reader.array()?)?,
        })
    }
}

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

/// The published key set: a realm and its epochs' public keys, sorted by epoch
/// (`spec/04-keys.md` §4.4–§4.5). This is what holders and relying parties trust.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedKeys {
    realm: Vec<u8>,
    epochs: Vec<EpochPublicKeys>,
}

impl PublishedKeys {
    /// Builds a key set.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a realm over 65535 bytes; [`Error::Malformed`] when
    /// `epochs` is empty, longer than 65535, or not strictly increasing by epoch.
    pub fn new(realm: &[u8], epochs: Vec<EpochPublicKeys>) -> Result<Self> {
        if realm.len() > usize::from(u16::MAX) {
            return Err(Error::InputTooLong);
        }
        let sorted = epochs.windows(2).all(|w| match w {
            [a, b] => a.epoch < b.epoch,
            _ => false,
        });
        if epochs.is_empty() || epochs.len() > usize::from(u16::MAX) || !sorted {
            return Err(Error::Malformed);
        }
        Ok(Self {
            realm: realm.to_vec(),
            epochs,
        })
    }

    /// Derives the published set for `epochs` from the root seed (evaluator side).
    ///
    /// # Errors
    /// As [`EvaluatorKeys::derive`] and [`PublishedKeys::new`].
    pub fn derive(root: &RootSeed, realm: &[u8], epochs: &[Epoch]) -> Result<Self> {
        let keys = epochs
            .iter()
            .map(|&e| EvaluatorKeys::derive(root, realm, e).map(|k| k.public()))
            .collect::<Result<Vec<_>>>()?;
        Self::new(realm, keys)
    }

    /// The realm.
    pub fn realm(&self) -> &[u8] {
        &self.realm
    }

    /// All epochs, in increasing order.
    pub fn epochs(&self) -> &[EpochPublicKeys] {
        &self.epochs
    }

    /// The newest epoch.
    pub fn latest(&self) -> Option<&EpochPublicKeys> {
        self.epochs.last()
    }

    /// The newest epoch, for a holder that blinds before it knows which epoch will answer
    /// (blinding does not depend on the key).
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`] for an empty set, which [`PublishedKeys::new`] never builds.
    pub(crate) fn newest(&self) -> Result<&EpochPublicKeys> {
        self.latest().ok_or(Error::UnknownEpoch)
    }

    /// The keys of `epoch`.
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`] when the set has no such epoch.
    pub fn get(&self, epoch: Epoch) -> Result<&EpochPublicKeys> {
        self.epochs
            .binary_search_by_key(&epoch, |k| k.epoch)
            .ok()
            .and_then(|i| self.epochs.get(i))
            .ok_or(Error::UnknownEpoch)
    }

    /// The deterministic serialization (`spec/04-keys.md` §4.5):
    /// `"BNPK" || 0x01 || len(realm):2 || realm || count:2 || entries`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            4 + 1 + 2 + self.realm.len() + 2 + self.epochs.len() * EPOCH_ENTRY_LEN,
        );
        out.extend_from_slice(&PUBLISHED_KEYS_MAGIC);
        out.push(PUBLISHED_KEYS_VERSION);
        // `new` bounds both lengths by u16::MAX, so neither can be cut short.
        let _ = push_field(&mut out, &self.realm);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "`new` bounds the count by u16::MAX"
        )]
        let count = self.epochs.len() as u16;
        out.extend_from_slice(&count.to_be_bytes());
        for entry in &self.epochs {
            entry.write(&mut out);
        }
        out
    }

    /// Parses the serialization strictly.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a wrong magic or version, no epochs, or epochs not strictly
    /// increasing; [`Error::InvalidLength`] for a short buffer or trailing bytes; the element
    /// errors of [`PublicKey::from_bytes`] and [`decode_verifying_key`] for a bad key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        if reader.array::<4>()? != PUBLISHED_KEYS_MAGIC || reader.u8()? != PUBLISHED_KEYS_VERSION {
            return Err(Error::Malformed);
        }
        let realm = reader.field()?;
        let count = usize::from(reader.u16()?);
        if count == 0 {
            return Err(Error::Malformed);
        }
        // Check the length before allocating for `count` entries.
        if reader_remaining(bytes.len(), realm.len()) != count * EPOCH_ENTRY_LEN {
            return Err(Error::InvalidLength {
                expected: 4 + 1 + 2 + realm.len() + 2 + count * EPOCH_ENTRY_LEN,
                actual: bytes.len(),
            });
        }
        let mut epochs = Vec::with_capacity(count);
        for _ in 0..count {
            epochs.push(EpochPublicKeys::read(&mut reader)?);
        }
        reader.finish()?;
        Self::new(realm, epochs)
    }
}

/// Bytes left after the header of a serialized key set.
fn reader_remaining(total: usize, realm_len: usize) -> usize {
    total.saturating_sub(4 + 1 + 2 + realm_len + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> RootSeed {
        RootSeed::from_bytes(&[9u8; 32]).unwrap()
    }

    #[test]
    fn keys_differ_per_purpose_and_epoch() {
        let a = EvaluatorKeys::derive(&root(), b"realm", 1)
            .unwrap()
            .public();
        let b = EvaluatorKeys::derive(&root(), b"realm", 2)
            .unwrap()
            .public();
        let c = EvaluatorKeys::derive(&root(), b"other", 1)
            .unwrap()
            .public();
        assert_ne!(a.flow_h, a.flow_a);
        assert_ne!(a.flow_a, a.flow_b);
        assert_ne!(a.flow_a, b.flow_a);
        assert_ne!(a.flow_a, c.flow_a);
        assert_ne!(a.signing, b.signing);
    }

    #[test]
    fn published_roundtrip_and_strictness() {
        let set = PublishedKeys::derive(&root(), b"realm", &[1, 5]).unwrap();
        let bytes = set.to_bytes();
        assert_eq!(PublishedKeys::from_bytes(&bytes).unwrap(), set);
        assert_eq!(set.get(3), Err(Error::UnknownEpoch));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(PublishedKeys::from_bytes(&trailing).is_err());
        assert!(PublishedKeys::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let e = set.epochs()[0];
        assert_eq!(
            PublishedKeys::new(b"realm", vec![e, e]),
            Err(Error::Malformed)
        );
        let later = set.epochs()[1];
        assert_eq!(
            PublishedKeys::new(b"realm", vec![later, e]),
            Err(Error::Malformed)
        );
        assert_eq!(PublishedKeys::new(b"realm", vec![]), Err(Error::Malformed));
    }

    #[test]
    fn secrets_never_print() {
        let seed = root();
        let keys = EvaluatorKeys::derive(&seed, b"realm", 1).unwrap();
        let text = format!("{seed:?} {keys:?}");
        assert!(!text.contains("0909"));
        let sk = hex(keys.flow_a().key_pair().secret().to_bytes().as_ref());
        assert!(!text.contains(&sk));
        assert!(!text.contains(&hex(keys.signing().as_bytes())));
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
