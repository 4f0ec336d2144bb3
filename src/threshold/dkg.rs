//! Distributed key generation per (realm, epoch): FROST's key generation (the Pedersen-style
//! DKG with proofs of knowledge from the FROST paper, as `frost-core` implements it; RFC 9591
//! itself specifies only the trusted dealer), through `frost-ristretto255` for the OPRF keys
//! and `frost-ed25519` for the assertion signing key, wrapped as typed messages and one state
//! machine per participant (`spec/12-threshold.md` §12.4). No party ever holds the key.
//!
//! 1. [`KeyGeneration::start`]: each participant broadcasts a [`DkgBroadcast`] (its
//!    commitments and a proof of knowledge of its secret).
//! 2. [`KeyGeneration::deal`] (consuming the round-one state): given everyone else's
//!    broadcasts, it sends each other participant a [`DkgPrivate`] over the authenticated,
//!    confidential evaluator channel, and keeps a [`DealtKeyGeneration`].
//! 3. Confirmation (review L8): each participant sends every other its
//!    [`DealtKeyGeneration::transcript_digest`], a hash of the [`DkgContext`] (realm, epoch,
//!    role) and every round-one broadcast as it saw them. A participant that sent different
//!    broadcasts to different others (so that they would finish with different public keys
//!    and no error) is caught here: [`DealtKeyGeneration::finish`] refuses with
//!    [`Error::TranscriptMismatch`] unless all `n` digests agree, and so does a transport
//!    that carried one key generation's messages into another's.
//! 4. [`DealtKeyGeneration::finish`]: given the confirmations and what the others sent it, it
//!    holds its share and the public key package; [`into_oprf_share`] and
//!    [`into_signing_share`] convert them.
//!
//! The states are frost-core's round types, by value: a round cannot be run twice or out of
//! order.
//!
//! ```compile_fail
//! use blindnym::threshold::dkg::{DkgBroadcast, OprfKeyGeneration};
//! fn twice(run: OprfKeyGeneration, broadcasts: &[DkgBroadcast<blindnym::threshold::dkg::Ristretto255>]) {
//!     let _first = run.deal(broadcasts);
//!     let _second = run.deal(broadcasts); // `run` was moved by the first round two
//! }
//! ```

use core::fmt;
use std::collections::BTreeMap;

use frost_core::Ciphersuite;
use frost_core::keys::dkg::{part1, part2, part3, round1, round2};
use frost_core::keys::{KeyPackage, PublicKeyPackage};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::params::Threshold;
use super::rng_bridge::RngBridge;
use super::share::{
    KeyShare, VerificationShares, identifier, index_of, scalar_from_frost, verification_from_frost,
};
use super::signing::{SigningPublic, SigningShare, frost_decode};
use crate::codec::derive_key;
use crate::error::{Error, Result};
use crate::pseudonym::context::DKG_TRANSCRIPT;

/// FROST(ristretto255, SHA-512): the ciphersuite of the OPRF keys' DKG.
pub type Ristretto255 = frost_ristretto255::Ristretto255Sha512;
/// FROST(Ed25519, SHA-512): the ciphersuite of the signing key's DKG.
pub type Ed25519 = frost_ed25519::Ed25519Sha512;
/// The ciphersuites a [`KeyGeneration`] runs over: [`Ristretto255`] and [`Ed25519`].
pub trait Suite: Ciphersuite {}
impl Suite for Ristretto255 {}
impl Suite for Ed25519 {}
/// Key generation of a ristretto255 OPRF key.
pub type OprfKeyGeneration = KeyGeneration<Ristretto255>;
/// Key generation of the Ed25519 assertion signing key.
pub type SigningKeyGeneration = KeyGeneration<Ed25519>;

/// Maps FROST's culprit (if any) to our evaluator index.
fn culprit<C: Ciphersuite>(params: Threshold, error: &frost_core::Error<C>) -> Error {
    match error.culprits().first().and_then(|id| index_of(params, id)) {
        Some(dealer) => Error::BadDealing { dealer },
        None => Error::Malformed,
    }
}

/// What one key generation is for: the realm, the epoch and the key's role (`b'H'`, `b'A'`,
/// `b'B'` for the OPRF keys, `b'S'` for the assertion signing key). It enters every
/// participant's transcript digest, so confirmations of one key generation never match
/// another's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkgContext {
    realm: Vec<u8>,
    epoch: u32,
    role: u8,
}

impl DkgContext {
    /// The key generation of `role`'s key for `epoch` of `realm`.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a realm over 255 bytes; [`Error::Malformed`] for a role
    /// other than `H`, `A`, `B` or `S`.
    pub fn new(realm: &[u8], epoch: u32, role: u8) -> Result<Self> {
        if realm.len() > 255 {
            return Err(Error::InputTooLong);
        }
        if !matches!(role, b'H' | b'A' | b'B' | b'S') {
            return Err(Error::Malformed);
        }
        Ok(Self {
            realm: realm.to_vec(),
            epoch,
            role,
        })
    }
}

/// Round one's broadcast from participant `from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkgBroadcast<C: Ciphersuite> {
    from: u16,
    package: round1::Package<C>,
}

impl<C: Ciphersuite> DkgBroadcast<C> {
    /// The sender.
    pub fn from(&self) -> u16 {
        self.from
    }

    /// `from:2 || 0:2 || FROST round-one package`.
    ///
    /// # Errors
    /// [`Error::Malformed`] if FROST cannot encode it.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = [self.from.to_be_bytes(), [0, 0]].concat();
        out.extend_from_slice(&self.package.serialize().map_err(|_| Error::Malformed)?);
        Ok(out)
    }

    /// Decodes a broadcast strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`], [`Error::InputTooLong`], [`Error::UnknownEvaluator`] for
    /// sender 0 or a nonzero recipient, [`Error::Malformed`] for bytes FROST rejects or does
    /// not re-encode identically.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (from, header, package) =
            frost_decode::<4, _, _>(bytes, round1::Package::<C>::deserialize, |p| {
                p.serialize().ok()
            })?;
        let to = u16::from_be_bytes([header[2], header[3]]);
        if to != 0 {
            return Err(Error::UnknownEvaluator { index: to });
        }
        Ok(Self { from, package })
    }
}

/// Round two's private message from `from` to `to`: a secret share. Sent only over the
/// mutually authenticated, confidential channel between the two; zeroized on drop (by
/// `frost-core`), never printed.
#[derive(Clone)]
pub struct DkgPrivate<C: Ciphersuite> {
    from: u16,
    to: u16,
    package: round2::Package<C>,
}

impl<C: Ciphersuite> fmt::Debug for DkgPrivate<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DkgPrivate")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl<C: Ciphersuite> DkgPrivate<C> {
    /// The sender.
    pub fn from(&self) -> u16 {
        self.from
    }

    /// The recipient.
    pub fn to(&self) -> u16 {
        self.to
    }

    /// `from:2 || to:2 || FROST round-two package`, zeroized on drop.
    ///
    /// # Errors
    /// [`Error::Malformed`] if FROST cannot encode it.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut out = Zeroizing::new([self.from.to_be_bytes(), self.to.to_be_bytes()].concat());
        let package = Zeroizing::new(self.package.serialize().map_err(|_| Error::Malformed)?);
        out.extend_from_slice(&package);
        Ok(out)
    }

    /// Decodes a private message strictly.
    ///
    /// # Errors
    /// As [`DkgBroadcast::from_bytes`]; recipient 0 is [`Error::UnknownEvaluator`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (from, header, package) =
            frost_decode::<4, _, _>(bytes, round2::Package::<C>::deserialize, |p| {
                p.serialize().ok()
            })?;
        let to = u16::from_be_bytes([header[2], header[3]]);
        if to == 0 {
            return Err(Error::UnknownEvaluator { index: to });
        }
        Ok(Self { from, to, package })
    }
}

/// One participant's key generation after round one (frost-core's `part1`): it has broadcast
/// its commitments and deals once. [`KeyGeneration::deal`] consumes it, so the rounds cannot be
/// repeated or run out of order (a misuse does not compile).
pub struct KeyGeneration<C: Ciphersuite> {
    index: u16,
    params: Threshold,
    context: DkgContext,
    own: round1::Package<C>,
    secret: round1::SecretPackage<C>,
}

/// One participant's key generation after round two (frost-core's `part2`): it waits for the
/// others' private packages and finishes once.
pub struct DealtKeyGeneration<C: Ciphersuite> {
    index: u16,
    params: Threshold,
    secret: round2::SecretPackage<C>,
    broadcasts: BTreeMap<frost_core::Identifier<C>, round1::Package<C>>,
    transcript: [u8; 32],
}

impl<C: Ciphersuite> fmt::Debug for KeyGeneration<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyGeneration")
            .field("index", &self.index)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl<C: Ciphersuite> fmt::Debug for DealtKeyGeneration<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DealtKeyGeneration")
            .field("index", &self.index)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl<C: Ciphersuite> KeyGeneration<C> {
    /// Round 1 for participant `index` of `params` in the key generation `context`: its
    /// state and the broadcast every other participant needs.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for an index outside `1..=n`; [`Error::ThresholdParams`]
    /// when FROST refuses the parameters.
    pub fn start(
        index: u16,
        params: Threshold,
        context: &DkgContext,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(Self, DkgBroadcast<C>)> {
        params.check_index(index)?;
        let (secret, package) = part1::<C, _>(
            identifier::<C>(index)?,
            params.n(),
            params.t(),
            RngBridge(rng),
        )
        .map_err(|_| Error::ThresholdParams)?;
        Ok((
            Self {
                index,
                params,
                context: context.clone(),
                own: package.clone(),
                secret,
            },
            DkgBroadcast {
                from: index,
                package,
            },
        ))
    }

    /// Round 2: checks every other participant's broadcast (its proof of knowledge) and deals
    /// one private package to each.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for a broadcast from outside `1..=n`, from itself or
    /// repeated; [`Error::TooFewShares`] unless all `n − 1` others are there;
    /// [`Error::BadDealing`] naming a participant whose proof fails.
    pub fn deal(
        self,
        broadcasts: &[DkgBroadcast<C>],
    ) -> Result<(DealtKeyGeneration<C>, Vec<DkgPrivate<C>>)> {
        let mut map = BTreeMap::new();
        for broadcast in broadcasts {
            self.params.check_index(broadcast.from)?;
            if broadcast.from == self.index
                || map
                    .insert(identifier::<C>(broadcast.from)?, broadcast.package.clone())
                    .is_some()
            {
                return Err(Error::UnknownEvaluator {
                    index: broadcast.from,
                });
            }
        }
        if map.len() + 1 != usize::from(self.params.n()) {
            return Err(Error::TooFewShares {
                have: map.len() + 1,
                need: usize::from(self.params.n()),
            });
        }
        let transcript =
            transcript_digest(&self.context, self.params, self.index, &self.own, &map)?;
        let (secret, outgoing) = part2(self.secret, &map).map_err(|e| culprit(self.params, &e))?;
        let mut privates = Vec::with_capacity(outgoing.len());
        for to in 1..=self.params.n() {
            if let Some(package) = outgoing.get(&identifier::<C>(to)?) {
                privates.push(DkgPrivate {
                    from: self.index,
                    to,
                    package: package.clone(),
                });
            }
        }
        Ok((
            DealtKeyGeneration {
                index: self.index,
                params: self.params,
                secret,
                broadcasts: map,
                transcript,
            },
            privates,
        ))
    }

    /// This participant's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// `(t, n)`.
    pub fn params(&self) -> Threshold {
        self.params
    }
}

/// `derive_key("blindnym v2 dkg transcript", frame(realm, epoch, role, t, n, broadcast_1, …,
/// broadcast_n))`, each broadcast as its [`DkgBroadcast::to_bytes`], in index order.
fn transcript_digest<C: Ciphersuite>(
    context: &DkgContext,
    params: Threshold,
    own_index: u16,
    own: &round1::Package<C>,
    others: &BTreeMap<frost_core::Identifier<C>, round1::Package<C>>,
) -> Result<[u8; 32]> {
    let mut broadcasts = Vec::with_capacity(usize::from(params.n()));
    for index in 1..=params.n() {
        let package = if index == own_index {
            own
        } else {
            others
                .get(&identifier::<C>(index)?)
                .ok_or(Error::UnknownEvaluator { index })?
        };
        broadcasts.push(
            DkgBroadcast {
                from: index,
                package: package.clone(),
            }
            .to_bytes()?,
        );
    }
    let (epoch, t, n) = (
        context.epoch.to_be_bytes(),
        params.t().to_be_bytes(),
        params.n().to_be_bytes(),
    );
    let mut fields: Vec<&[u8]> = vec![
        &context.realm,
        &epoch,
        core::slice::from_ref(&context.role),
        &t,
        &n,
    ];
    fields.extend(broadcasts.iter().map(Vec::as_slice));
    derive_key(DKG_TRANSCRIPT, &fields)
}

impl<C: Ciphersuite> DealtKeyGeneration<C> {
    /// The digest of this key generation's context and of every round-one broadcast as this
    /// participant saw them: sent to every other participant as its confirmation, over the
    /// authenticated channel.
    pub fn transcript_digest(&self) -> [u8; 32] {
        self.transcript
    }

    /// Round 3: checks that every other participant confirmed the transcript this one saw
    /// (`confirmations`: `(participant, its transcript digest)`), then checks what every other
    /// participant sent here against its commitments and returns this participant's key
    /// package and the group's public key package.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for a confirmation from outside `1..=n`, from itself or
    /// repeated, or a package to another participant, from one without a broadcast, or
    /// repeated; [`Error::TooFewShares`] unless all `n − 1` others confirmed;
    /// [`Error::TranscriptMismatch`] naming the first participant whose digest differs;
    /// [`Error::BadDealing`] naming the participant whose package fails its commitments.
    pub fn finish(
        self,
        confirmations: &[(u16, [u8; 32])],
        privates: &[DkgPrivate<C>],
    ) -> Result<(KeyPackage<C>, PublicKeyPackage<C>)> {
        let mut confirmed = BTreeMap::new();
        for &(from, digest) in confirmations {
            self.params.check_index(from)?;
            if from == self.index || confirmed.insert(from, digest).is_some() {
                return Err(Error::UnknownEvaluator { index: from });
            }
        }
        if confirmed.len() + 1 != usize::from(self.params.n()) {
            return Err(Error::TooFewShares {
                have: confirmed.len() + 1,
                need: usize::from(self.params.n()),
            });
        }
        // Digests are public: a plain comparison.
        if let Some((&evaluator, _)) = confirmed.iter().find(|(_, d)| **d != self.transcript) {
            return Err(Error::TranscriptMismatch { evaluator });
        }
        let mut map = BTreeMap::new();
        for private in privates {
            if private.to != self.index {
                return Err(Error::UnknownEvaluator { index: private.to });
            }
            let id = identifier::<C>(private.from)?;
            if !self.broadcasts.contains_key(&id)
                || map.insert(id, private.package.clone()).is_some()
            {
                return Err(Error::UnknownEvaluator {
                    index: private.from,
                });
            }
        }
        part3(&self.secret, &self.broadcasts, &map).map_err(|e| culprit(self.params, &e))
    }

    /// This participant's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// `(t, n)`.
    pub fn params(&self) -> Threshold {
        self.params
    }
}

/// A finished ristretto255 DKG as this evaluator's OPRF key share and the verification
/// shares every party checks answers against.
///
/// # Errors
/// [`Error::ThresholdParams`] if the packages are inconsistent, [`Error::UnknownEvaluator`]
/// for an index without a verifying share.
pub fn into_oprf_share(
    params: Threshold,
    index: u16,
    key: &KeyPackage<frost_ristretto255::Ristretto255Sha512>,
    public: &PublicKeyPackage<frost_ristretto255::Ristretto255Sha512>,
) -> Result<(KeyShare, VerificationShares)> {
    let share = KeyShare::new(index, scalar_from_frost(key.signing_share())?);
    let shares = verification_from_frost(params, public)?;
    if *shares.share(index)? != share.verification_share() {
        return Err(Error::ThresholdParams);
    }
    Ok((share, shares))
}

/// A finished Ed25519 DKG as this evaluator's signing share and the public signing keys,
/// checked: the verifying shares lie on one polynomial through the group key, and this
/// evaluator's own is the one its key package holds.
///
/// # Errors
/// [`Error::ThresholdParams`] if the packages are inconsistent, [`Error::UnknownEvaluator`]
/// for an index without a verifying share.
pub fn into_signing_share(
    params: Threshold,
    index: u16,
    key: KeyPackage<frost_ed25519::Ed25519Sha512>,
    public: PublicKeyPackage<frost_ed25519::Ed25519Sha512>,
) -> Result<(SigningShare, SigningPublic)> {
    let own = public
        .verifying_shares()
        .get(&identifier::<frost_ed25519::Ed25519Sha512>(index)?)
        .ok_or(Error::UnknownEvaluator { index })?;
    if own != key.verifying_share() || *key.identifier() != identifier(index)? {
        return Err(Error::ThresholdParams);
    }
    let public = SigningPublic::new(params, public);
    public.check_shares()?;
    Ok((SigningShare::new(index, key), public))
}
