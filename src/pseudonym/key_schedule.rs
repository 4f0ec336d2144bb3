//! The evaluator's key schedule: a root seed starts a one-way ratchet, one chain key per
//! epoch, and each epoch's role keys are derived from its chain key (`spec/04-keys.md`
//! §4.1–§4.2).
//!
//! Forward secrecy: [`KeyRatchet::advance`] replaces the chain key of epoch `e` by that of
//! `e + 1` and erases the old one, so once the root seed is destroyed (after
//! [`KeyRatchet::new`]) a stolen ratchet cannot rederive any past epoch's keys.

use core::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use hkdf::Hkdf;
use sha2::Sha512;
use zeroize::Zeroizing;

use super::context;
use crate::codec::{Reader, frame, push_field};
use crate::error::{Error, Result};
use crate::keys::{KeyPair, PublicKey};
use crate::poprf::PoprfServer;
use crate::secret::secret_bytes_type;
use crate::suite::Mode;
use crate::voprf::VoprfServer;

/// Length of a [`RootSeed`] and of a chain key.
pub const ROOT_SEED_LEN: usize = 32;

/// A key epoch number. Epochs only grow; each has its own keys.
pub type Epoch = u32;

secret_bytes_type!(
    /// The evaluator's root secret: the first link of the key ratchet (`spec/04-keys.md`
    /// §4.1). Zeroized on drop; never printed; exposed only through
    /// [`RootSeed::expose_bytes`] for a sealed backup (keeping one gives up forward secrecy).
    /// Build it from a CSPRNG ([`RootSeed::generate`]).
    RootSeed,
    ROOT_SEED_LEN,
    random
);

/// What a derived key is for (`spec/04-keys.md` §4.2). Each purpose has its own key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// The VOPRF key of holder-derived pseudonyms (flow H).
    HolderDerived,
    /// The POPRF key of attested pseudonyms (flow A).
    Attested,
    /// The Ed25519 key that signs attested evaluations (flow A).
    AttestedSigning,
    /// The POPRF key of bulk pseudonymisation (flow B).
    Bulk,
}

impl Purpose {
    /// The label framed into the key derivation info.
    pub const fn label(self) -> &'static str {
        match self {
            Purpose::HolderDerived => "blindnym v2 key holder-derived voprf",
            Purpose::Attested => "blindnym v2 key attested poprf",
            Purpose::AttestedSigning => "blindnym v2 key attested ed25519",
            Purpose::Bulk => "blindnym v2 key bulk poprf",
        }
    }

    /// The RFC 9497 mode of an OPRF key; `None` for the signing key.
    pub const fn mode(self) -> Option<Mode> {
        match self {
            Purpose::HolderDerived => Some(Mode::Voprf),
            Purpose::Attested | Purpose::Bulk => Some(Mode::Poprf),
            Purpose::AttestedSigning => None,
        }
    }
}

/// The longest realm: the key info `frame(label, realm, epoch)` must stay within RFC 9497's
/// `DeriveKeyPair` info limit of 65534 bytes (`spec/04-keys.md` §4.2).
pub const MAX_REALM_LEN: usize = 1024;

/// The public derivation info of one key: `frame(label, realm, I2OSP(epoch, 4))`
/// (`spec/04-keys.md` §4.2). It is both the HKDF `info` and the RFC 9497 `DeriveKeyPair` info.
///
/// # Errors
/// [`Error::InputTooLong`] for a realm over [`MAX_REALM_LEN`] bytes.
pub fn key_info(purpose: Purpose, realm: &[u8], epoch: Epoch) -> Result<Vec<u8>> {
    if realm.len() > MAX_REALM_LEN {
        return Err(Error::InputTooLong);
    }
    frame(&[purpose.label().as_bytes(), realm, &epoch.to_be_bytes()])
}

/// `HKDF-SHA512(salt, ikm, info)`, 32 bytes.
fn hkdf32(salt: &str, ikm: &[u8], info: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let mut okm = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha512>::new(Some(salt.as_bytes()), ikm)
        .expand(info, okm.as_mut())
        .map_err(|_| Error::DeriveKeyPair)?;
    Ok(okm)
}

/// The forward-secure key ratchet of one realm: the chain key of the current epoch
/// (`spec/04-keys.md` §4.2). Secret; zeroized on drop; never printed.
pub struct KeyRatchet {
    realm: Vec<u8>,
    epoch: Epoch,
    chain: Zeroizing<[u8; ROOT_SEED_LEN]>,
}

impl KeyRatchet {
    /// Starts the ratchet at `epoch`: `chain = HKDF(salt = "blindnym v2 key schedule",
    /// ikm = root, info = frame(realm, I2OSP(epoch, 4)))`. Destroy the root seed afterwards
    /// to get forward secrecy.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a realm over [`MAX_REALM_LEN`] bytes.
    pub fn new(root: &RootSeed, realm: &[u8], epoch: Epoch) -> Result<Self> {
        if realm.len() > MAX_REALM_LEN {
            return Err(Error::InputTooLong);
        }
        let info = frame(&[realm, &epoch.to_be_bytes()])?;
        Ok(Self {
            realm: realm.to_vec(),
            epoch,
            chain: hkdf32(context::KEY_SCHEDULE_SALT, &root.0, &info)?,
        })
    }

    /// The current epoch.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The realm.
    pub fn realm(&self) -> &[u8] {
        &self.realm
    }

    /// Moves to the next epoch: `chain' = HKDF(salt = "blindnym v2 key ratchet", ikm = chain,
    /// info = frame(realm, I2OSP(epoch + 1, 4)))`; the old chain key is erased.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] when the epoch counter is exhausted (`u32::MAX`).
    pub fn advance(&mut self) -> Result<()> {
        let next = self.epoch.checked_add(1).ok_or(Error::InputTooLong)?;
        let info = frame(&[&self.realm, &next.to_be_bytes()])?;
        self.chain = hkdf32(context::KEY_RATCHET, self.chain.as_ref(), &info)?;
        self.epoch = next;
        Ok(())
    }

    /// The keys of the current epoch.
    ///
    /// # Errors
    /// [`Error::DeriveKeyPair`] with negligible probability.
    pub fn keys(&self) -> Result<EpochKeys> {
        EpochKeys::from_chain(&self.chain, &self.realm, self.epoch)
    }

    /// The keys of `epoch`, which must not lie before the current one: a later epoch is
    /// reached by advancing a copy, an earlier one is gone.
    ///
    /// # Errors
    /// [`Error::EpochErased`] for an epoch before the current one; as [`KeyRatchet::keys`].
    pub fn keys_for(&self, epoch: Epoch) -> Result<EpochKeys> {
        if epoch < self.epoch {
            return Err(Error::EpochErased);
        }
        let mut ahead = Self {
            realm: self.realm.clone(),
            epoch: self.epoch,
            chain: self.chain.clone(),
        };
        while ahead.epoch < epoch {
            ahead.advance()?;
        }
        ahead.keys()
    }

    /// The ratchet's state for the operator's sealed storage:
    /// `I2OSP(epoch, 4) || chain (32) || len(realm):2 || realm`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(4 + 32 + 2 + self.realm.len()));
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(self.chain.as_ref());
        // `new` bounds the realm by MAX_REALM_LEN, so the field always fits.
        let _ = push_field(&mut out, &self.realm);
        out
    }

    /// Restores a saved ratchet.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for a short or long buffer, [`Error::InputTooLong`] for an
    /// overlong realm.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let epoch = reader.u32()?;
        let chain = Zeroizing::new(reader.array::<ROOT_SEED_LEN>()?);
        let realm = reader.field()?;
        reader.finish()?;
        if realm.len() > MAX_REALM_LEN {
            return Err(Error::InputTooLong);
        }
        Ok(Self {
            realm: realm.to_vec(),
            epoch,
            chain,
        })
    }
}

impl fmt::Debug for KeyRatchet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRatchet")
            .field("epoch", &self.epoch)
            .field("chain", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Every secret key of one epoch (`spec/04-keys.md` §4.2). Split it with the role methods so
/// that each evaluator holds only its own key. Never printed; never serialized.
#[derive(Clone)]
pub struct EpochKeys {
    realm: Vec<u8>,
    epoch: Epoch,
    holder_derived: VoprfServer,
    attested: PoprfServer,
    attested_signing: SigningKey,
    bulk: PoprfServer,
}

impl EpochKeys {
    /// Derives the keys of `epoch` from its chain key: for each purpose,
    /// `seed = HKDF(salt = "blindnym v2 key schedule", ikm = chain, info = key_info)` and then
    /// RFC 9497 `DeriveKeyPair(seed, key_info)` (the signing key is Ed25519 with that seed).
    fn from_chain(chain: &[u8; ROOT_SEED_LEN], realm: &[u8], epoch: Epoch) -> Result<Self> {
        let oprf = |purpose: Purpose| -> Result<KeyPair> {
            let mode = purpose.mode().ok_or(Error::DeriveKeyPair)?;
            let info = key_info(purpose, realm, epoch)?;
            let seed = hkdf32(context::KEY_SCHEDULE_SALT, chain, &info)?;
            KeyPair::derive(mode, &seed, &info)
        };
        let signing_info = key_info(Purpose::AttestedSigning, realm, epoch)?;
        let signing_seed = hkdf32(context::KEY_SCHEDULE_SALT, chain, &signing_info)?;
        Ok(Self {
            realm: realm.to_vec(),
            epoch,
            holder_derived: VoprfServer::new(oprf(Purpose::HolderDerived)?),
            attested: PoprfServer::new(oprf(Purpose::Attested)?),
            attested_signing: SigningKey::from_bytes(&signing_seed),
            bulk: PoprfServer::new(oprf(Purpose::Bulk)?),
        })
    }

    /// The epoch.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The public half, for the key set, with the time the epoch starts being current.
    pub fn public(&self, not_before: u64) -> EpochPublicKeys {
        EpochPublicKeys {
            epoch: self.epoch,
            not_before,
            holder_derived: *self.holder_derived.public_key(),
            attested: *self.attested.public_key(),
            attested_signing: self.attested_signing.verifying_key(),
            bulk: *self.bulk.public_key(),
        }
    }

    /// The holder-derived (flow H) evaluator's key.
    pub fn holder_derived(&self) -> HolderDerivedKey {
        HolderDerivedKey {
            epoch: self.epoch,
            server: self.holder_derived.clone(),
        }
    }

    /// The attested (flow A) evaluator's keys: its POPRF key and its signing key.
    pub fn attested(&self) -> AttestedKey {
        AttestedKey {
            realm: self.realm.clone(),
            epoch: self.epoch,
            server: self.attested.clone(),
            signing: self.attested_signing.clone(),
        }
    }

    /// The bulk (flow B) evaluator's key.
    pub fn bulk(&self) -> BulkKey {
        BulkKey {
            epoch: self.epoch,
            server: self.bulk.clone(),
        }
    }
}

impl fmt::Debug for EpochKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpochKeys")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// The public keys of one epoch and when it becomes current (`spec/04-keys.md` §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochPublicKeys {
    /// The epoch.
    pub epoch: Epoch,
    /// When the epoch becomes the current one (seconds).
    pub not_before: u64,
    /// Flow H VOPRF public key.
    pub holder_derived: PublicKey,
    /// Flow A POPRF public key (untweaked).
    pub attested: PublicKey,
    /// Ed25519 key verifying flow A evaluation signatures.
    pub attested_signing: VerifyingKey,
    /// Flow B POPRF public key (untweaked).
    pub bulk: PublicKey,
}

/// Declares a role key: one epoch's key of one evaluator role, redacted in `Debug`.
macro_rules! role_key {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty),* }) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name {
            pub(crate) epoch: Epoch,
            $(pub(crate) $field: $ty,)*
        }

        impl $name {
            /// The epoch of the key.
            pub fn epoch(&self) -> Epoch {
                self.epoch
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("epoch", &self.epoch)
                    .finish_non_exhaustive()
            }
        }
    };
}

role_key!(
    /// The flow H evaluator's VOPRF key for one epoch.
    HolderDerivedKey { server: VoprfServer }
);
role_key!(
    /// The flow A evaluator's POPRF key and Ed25519 signing key for one epoch.
    AttestedKey { realm: Vec<u8>, server: PoprfServer, signing: SigningKey }
);
role_key!(
    /// The flow B evaluator's POPRF key for one epoch.
    BulkKey { server: PoprfServer }
);

#[cfg(test)]
mod tests {
    use super::*;

    fn ratchet() -> KeyRatchet {
        KeyRatchet::new(&RootSeed::from_bytes(&[9u8; 32]).unwrap(), b"realm", 1).unwrap()
    }

    #[test]
    fn keys_differ_per_purpose_epoch_and_realm() {
        let a = ratchet().keys().unwrap().public(0);
        let b = ratchet().keys_for(2).unwrap().public(0);
        let root = RootSeed::from_bytes(&[9u8; 32]).unwrap();
        let c = KeyRatchet::new(&root, b"other", 1)
            .unwrap()
            .keys()
            .unwrap()
            .public(0);
        assert_ne!(a.holder_derived, a.attested);
        assert_ne!(a.attested, a.bulk);
        assert_ne!(a.attested, b.attested);
        assert_ne!(a.attested, c.attested);
        assert_ne!(a.attested_signing, b.attested_signing);
    }

    #[test]
    fn ratchet_is_one_way_and_restorable() {
        let mut r = ratchet();
        let two = r.keys_for(2).unwrap().public(0);
        r.advance().unwrap();
        assert_eq!(r.keys().unwrap().public(0), two);
        assert_eq!(r.keys_for(1).map(drop), Err(Error::EpochErased));
        let restored = KeyRatchet::from_bytes(&r.to_bytes()).unwrap();
        assert_eq!(restored.keys().unwrap().public(0), two);
        assert!(KeyRatchet::from_bytes(&r.to_bytes()[1..]).is_err());
    }

    #[test]
    fn secrets_never_print() {
        let r = ratchet();
        let keys = r.keys().unwrap();
        let text = format!("{r:?} {keys:?} {:?} {:?}", keys.attested(), keys.bulk());
        assert!(!text.contains(&hex(r.chain.as_ref())));
        assert!(!text.contains(&hex(keys.attested_signing.as_bytes())));
        assert!(!text.contains(&hex(keys.bulk.key_pair().secret().to_bytes().as_ref())));
    }

    #[test]
    fn realm_limit_keeps_key_info_within_rfc_9497() {
        assert!(KeyRatchet::new(&RootSeed::from_bytes(&[1; 32]).unwrap(), &[0; 1025], 1).is_err());
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
