//! The log's and the witnesses' keys in signed-note form (c2sp.org/signed-note,
//! c2sp.org/tlog-cosignature; `spec/13-transparency.md` §13.2): a verifier key
//! `name+hex(key id)+base64(alg || key)`, with the key ID the first four bytes of
//! `SHA-256(name || 0x0A || alg || key)`. A log signs checkpoints with Ed25519 (`alg` 0x01); a
//! witness cosigns with `cosignature/v1` (`alg` 0x04), a signature over
//! `"cosignature/v1\ntime " || decimal(t) || "\n" || checkpoint` carried as
//! `t:8 || signature:64`. Every signature here is checked with `verify_strict`.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::error::{Error, Result};

/// signed-note's Ed25519 signature type.
const ALG_ED25519: u8 = 0x01;
/// tlog-cosignature's `cosignature/v1`.
const ALG_COSIGNATURE_V1: u8 = 0x04;

/// What a key signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRole {
    /// A log's checkpoints (Ed25519 note signatures).
    Log,
    /// A witness's cosignatures of checkpoints (`cosignature/v1`).
    Witness,
}

impl KeyRole {
    const fn alg(self) -> u8 {
        match self {
            KeyRole::Log => ALG_ED25519,
            KeyRole::Witness => ALG_COSIGNATURE_V1,
        }
    }
}

/// signed-note's rule for key names: not empty, no whitespace, no `+`.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 255
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
        || name.contains('+')
    {
        return Err(Error::Malformed);
    }
    Ok(())
}

/// The message a `cosignature/v1` signs for checkpoint text `text` at time `time`.
fn cosigned_message(text: &[u8], time: u64) -> Vec<u8> {
    let mut message = format!("cosignature/v1\ntime {time}\n").into_bytes();
    message.extend_from_slice(text);
    message
}

/// A log's or a witness's public key, as a signed-note verifier.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteKey {
    name: String,
    role: KeyRole,
    id: u32,
    key: VerifyingKey,
}

impl fmt::Debug for NoteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl NoteKey {
    /// The key `key` of `role` under `name` (for a log, its origin).
    ///
    /// # Errors
    /// [`Error::Malformed`] for a name signed-note does not allow.
    pub fn new(name: &str, role: KeyRole, key: VerifyingKey) -> Result<Self> {
        check_name(name)?;
        let mut material = vec![role.alg()];
        material.extend_from_slice(key.as_bytes());
        Ok(Self {
            name: name.to_owned(),
            role,
            id: signed_note::key_id(name, &material),
            key,
        })
    }

    /// Decodes a verifier key `name+hex8+base64(alg || key)`, exactly: the key ID must be the
    /// one the name and key give, the algorithm 0x01 or 0x04, the key a canonical Ed25519
    /// point of no small order.
    ///
    /// # Errors
    /// [`Error::Malformed`].
    pub fn from_vkey(vkey: &str) -> Result<Self> {
        let (name, rest) = vkey.split_once('+').ok_or(Error::Malformed)?;
        let (id, key) = rest.split_once('+').ok_or(Error::Malformed)?;
        if id.len() != 8
            || !id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(Error::Malformed);
        }
        let id = u32::from_str_radix(id, 16).map_err(|_| Error::Malformed)?;
        let material = STANDARD.decode(key).map_err(|_| Error::Malformed)?;
        let (role, key) = match material.split_first() {
            Some((&ALG_ED25519, key)) => (KeyRole::Log, key),
            Some((&ALG_COSIGNATURE_V1, key)) => (KeyRole::Witness, key),
            _ => return Err(Error::Malformed),
        };
        let key: [u8; 32] = key.try_into().map_err(|_| Error::Malformed)?;
        let key =
            crate::pseudonym::key_set::decode_verifying_key(&key).map_err(|_| Error::Malformed)?;
        let decoded = Self::new(name, role, key)?;
        if decoded.id != id || decoded.to_vkey() != vkey {
            return Err(Error::Malformed);
        }
        Ok(decoded)
    }

    /// The verifier key `name+hex8+base64(alg || key)`.
    pub fn to_vkey(&self) -> String {
        let mut material = vec![self.role.alg()];
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.id,
            STANDARD.encode(material)
        )
    }

    /// The key's name (a log's origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it signs.
    pub fn role(&self) -> KeyRole {
        self.role
    }

    /// The signed-note key ID.
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl signed_note::Verifier for NoteKey {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self.role {
            KeyRole::Log => Signature::from_slice(sig)
                .is_ok_and(|sig| self.key.verify_strict(msg, &sig).is_ok()),
            KeyRole::Witness => {
                let Some((time, sig)) = sig.split_first_chunk::<8>() else {
                    return false;
                };
                Signature::from_slice(sig).is_ok_and(|sig| {
                    let message = cosigned_message(msg, u64::from_be_bytes(*time));
                    self.key.verify_strict(&message, &sig).is_ok()
                })
            }
        }
    }
}

/// A log's or a witness's signing key. Secret: zeroized on drop, never printed.
pub struct NoteSigner {
    public: NoteKey,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer of `role` under `name` from a 32-byte Ed25519 secret key.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a name signed-note does not allow.
    pub fn from_bytes(name: &str, role: KeyRole, secret: &[u8; 32]) -> Result<Self> {
        let key = SigningKey::from_bytes(secret);
        Ok(Self {
            public: NoteKey::new(name, role, key.verifying_key())?,
            key,
        })
    }

    /// A fresh signer of `role` under `name`.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a bad name.
    pub fn generate(
        name: &str,
        role: KeyRole,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<Self> {
        let mut secret = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(secret.as_mut());
        Self::from_bytes(name, role, &secret)
    }

    /// The 32-byte secret key, for the signer's own store.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.key.to_bytes())
    }

    /// Its public key.
    pub fn public(&self) -> &NoteKey {
        &self.public
    }

    /// A signature line's signature bytes over note text `text`: a log's Ed25519 signature,
    /// or a witness's `t:8 || signature:64` at time `time`.
    pub(crate) fn sign_text(&self, text: &[u8], time: u64) -> Vec<u8> {
        match self.public.role {
            KeyRole::Log => self.key.sign(text).to_bytes().to_vec(),
            KeyRole::Witness => {
                let mut out = time.to_be_bytes().to_vec();
                out.extend_from_slice(&self.key.sign(&cosigned_message(text, time)).to_bytes());
                out
            }
        }
    }

    /// The signature line `— name base64(id:4 || signature)\n` over note text `text`.
    pub(crate) fn signature_line(&self, text: &[u8], time: u64) -> Vec<u8> {
        let mut material = self.public.id.to_be_bytes().to_vec();
        material.extend_from_slice(&self.sign_text(text, time));
        format!(
            "\u{2014} {} {}\n",
            self.public.name,
            STANDARD.encode(material)
        )
        .into_bytes()
    }
}
