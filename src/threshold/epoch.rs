//! One epoch's keys in threshold mode: each evaluator's shares of the three OPRF keys and of
//! the assertion signing key, and the public side that clients check answers against
//! (`spec/12-threshold.md` §12.3, §12.4).

use core::fmt;

use rand_core::CryptoRng;

use super::params::Threshold;
use super::share::{KeyShare, VerificationShares, deal};
use super::signing::{SigningPublic, SigningShare, deal_signing};
use crate::codec::{Reader, decodes_from_slice};
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::pseudonym::{
    Epoch, EpochKeys, EpochPublicKeys, KeySetSigner, KeySetVerifier, SignedKeySet, VerifiedKeySet,
};

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

    /// The epoch's entry in a key set: the group keys, current from `not_before`.
    ///
    /// # Errors
    /// The key errors of a signing group key that is not a strict Ed25519 key.
    pub fn public_keys(&self, not_before: u64) -> Result<EpochPublicKeys> {
        Ok(EpochPublicKeys {
            epoch: self.epoch,
            not_before,
            holder_derived: *self.holder_derived.group_key(),
            attested: *self.attested.group_key(),
            attested_signing: self.signing.verifying_key()?,
            bulk: *self.bulk.group_key(),
        })
    }

    /// Checks that these shares belong to `keys`: same epoch, and every group key equal to
    /// the signed key set's key for that role.
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`] for another epoch, [`Error::ThresholdParams`] for a group key
    /// that differs; the key errors of a signing group key that is not a strict Ed25519 key.
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

/// The context string of a [`SignedEpochShares`] signature.
pub const EPOCH_SHARES_SIGNATURE: &str = "blindnym v2 threshold shares signature";

fn write_shares(out: &mut Vec<u8>, shares: &VerificationShares) {
    out.extend_from_slice(shares.group_key().as_bytes());
    for share in shares.shares() {
        out.extend_from_slice(share.as_bytes());
    }
}

fn read_shares(reader: &mut Reader<'_>, params: Threshold) -> Result<VerificationShares> {
    let group = PublicKey::from_bytes(reader.take(32)?)?;
    let mut shares = Vec::with_capacity(usize::from(params.n()));
    for _ in 0..params.n() {
        shares.push(PublicKey::from_bytes(reader.take(32)?)?);
    }
    VerificationShares::new(params, group, shares)
}

impl EpochShares {
    /// `epoch:4 || t:2 || n:2 || (pk || K_1..K_n) for holder-derived, attested, bulk ||
    /// len:2 || frost-ed25519 public key package` (`spec/12-threshold.md` §12.3).
    ///
    /// # Errors
    /// [`Error::Malformed`] if FROST cannot encode the signing package.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let params = self.params();
        let mut out = self.epoch.to_be_bytes().to_vec();
        out.extend_from_slice(&params.t().to_be_bytes());
        out.extend_from_slice(&params.n().to_be_bytes());
        for shares in [&self.holder_derived, &self.attested, &self.bulk] {
            write_shares(&mut out, shares);
        }
        let signing = self.signing.package_bytes()?;
        let len = u16::try_from(signing.len()).map_err(|_| Error::InputTooLong)?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&signing);
        Ok(out)
    }

    /// Decodes strictly: parameters, then lengths, then each key (canonical, not the
    /// identity), each share list checked to lie on one polynomial through its group key, and
    /// the signing package re-encoded byte for byte with the same `(t, n)`.
    ///
    /// # Errors
    /// [`Error::ThresholdParams`], [`Error::InvalidLength`], the element errors,
    /// [`Error::Malformed`] for a signing package FROST rejects.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let epoch = reader.u32()?;
        let params = Threshold::new(reader.u16()?, reader.u16()?)?;
        let fixed = 8 + 3 * 32 * (1 + usize::from(params.n())) + 2;
        if bytes.len() < fixed {
            return Err(Error::InvalidLength {
                expected: fixed,
                actual: bytes.len(),
            });
        }
        let holder_derived = read_shares(&mut reader, params)?;
        let attested = read_shares(&mut reader, params)?;
        let bulk = read_shares(&mut reader, params)?;
        let len = usize::from(reader.u16()?);
        if bytes.len() != fixed + len {
            return Err(Error::InvalidLength {
                expected: fixed + len,
                actual: bytes.len(),
            });
        }
        let signing = SigningPublic::from_package_bytes(params, reader.take(len)?)?;
        reader.finish()?;
        Ok(Self {
            epoch,
            holder_derived,
            attested,
            signing,
            bulk,
        })
    }
}

/// One epoch's [`EpochShares`], signed by the key-set signer (the same trust anchor as the key
/// set, under its own context string) together with the digest of the signed key set they
/// are published with (review L9). The shares thus inherit that key set's sequence number and
/// validity window: shares signed for an older set are refused beside a newer one, and a
/// rollback to the older set is refused by the key-set verifier. The signature is checked
/// before the shares are decoded and checked ([`SignedEpochShares::verify`]), so unsigned
/// bytes cost one signature check, not the polynomial checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedEpochShares {
    body: Vec<u8>,
    signature: ed25519_dalek::Signature,
}

fn shares_message(realm: &[u8], key_set: &[u8; 32], body: &[u8]) -> Result<Vec<u8>> {
    crate::codec::frame(&[EPOCH_SHARES_SIGNATURE.as_bytes(), realm, key_set, body])
}

impl SignedEpochShares {
    /// Signs `shares` with the key-set signer, for the realm of `key_set` and bound to its
    /// digest: the shares are served beside that key set and no other.
    ///
    /// # Errors
    /// As [`EpochShares::to_bytes`].
    pub fn sign(
        signer: &KeySetSigner,
        key_set: &SignedKeySet,
        shares: &EpochShares,
    ) -> Result<Self> {
        let body = shares.to_bytes()?;
        let message = shares_message(key_set.unverified().realm(), &key_set.digest(), &body)?;
        let signature = signer.sign_framed(&message);
        Ok(Self { body, signature })
    }

    /// The bytes the key-set signer signs for `shares` beside `key_set`, for a signature made
    /// outside this crate (an HSM: [`SignedEpochShares::from_signature`]).
    ///
    /// # Errors
    /// As [`EpochShares::to_bytes`].
    pub fn signed_message(key_set: &SignedKeySet, shares: &EpochShares) -> Result<Vec<u8>> {
        shares_message(
            key_set.unverified().realm(),
            &key_set.digest(),
            &shares.to_bytes()?,
        )
    }

    /// Joins `shares` with a signature made outside this crate over
    /// [`SignedEpochShares::signed_message`], after checking it under `anchor` as every
    /// verifier will (`verify_strict`).
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for a signature that is not 64 bytes;
    /// [`Error::KeySetSignature`] when it does not verify; as [`EpochShares::to_bytes`].
    pub fn from_signature(
        key_set: &SignedKeySet,
        shares: &EpochShares,
        signature: &[u8],
        anchor: &ed25519_dalek::VerifyingKey,
    ) -> Result<Self> {
        let signature =
            ed25519_dalek::Signature::from_bytes(&crate::group::exact::<64>(signature)?);
        anchor
            .verify_strict(&Self::signed_message(key_set, shares)?, &signature)
            .map_err(|_| Error::KeySetSignature)?;
        Ok(Self {
            body: shares.to_bytes()?,
            signature,
        })
    }

    /// `body || signature:64`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body.clone();
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }

    /// Splits the body from the signature; the body is decoded by
    /// [`SignedEpochShares::verify`], after the signature.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for fewer bytes than the smallest body and a signature,
    /// [`Error::InputTooLong`] past 256 KiB.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        const MIN: usize = 8 + 3 * 32 * 3 + 2 + 64;
        if bytes.len() > 256 * 1024 {
            return Err(Error::InputTooLong);
        }
        if bytes.len() < MIN {
            return Err(Error::InvalidLength {
                expected: MIN,
                actual: bytes.len(),
            });
        }
        let (body, signature) = bytes.split_at(bytes.len() - 64);
        let signature =
            ed25519_dalek::Signature::from_slice(signature).map_err(|_| Error::BadSignature)?;
        Ok(Self {
            body: body.to_vec(),
            signature,
        })
    }

    /// Checks the signature under the verifier's trust anchor and realm and for the digest of
    /// `keys` (the key set these shares must have been signed with), then decodes the shares
    /// strictly ([`EpochShares::from_bytes`]) and checks that their group keys are those
    /// `keys` publishes for the epoch, accepted at `now`.
    ///
    /// # Errors
    /// [`Error::KeySetSignature`] for a bad signature or shares signed for another key set;
    /// as [`EpochShares::from_bytes`];
    /// [`Error::UnknownEpoch`] or [`Error::StaleEpoch`] for an epoch not accepted;
    /// [`Error::ThresholdParams`] for group keys that differ from the key set's.
    pub fn verify(
        &self,
        verifier: &KeySetVerifier,
        keys: &VerifiedKeySet,
        now: u64,
    ) -> Result<EpochShares> {
        let (anchor, realm) = verifier.anchor();
        anchor
            .verify_strict(
                &shares_message(realm, keys.digest(), &self.body)?,
                &self.signature,
            )
            .map_err(|_| Error::KeySetSignature)?;
        let shares = EpochShares::from_bytes(&self.body)?;
        shares.check_against(keys.accept_epoch(shares.epoch, now)?)?;
        Ok(shares)
    }
}

decodes_from_slice!(SignedEpochShares);
