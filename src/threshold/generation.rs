//! A new epoch's keys without a dealer (`spec/12-threshold.md` §12.4.1, §12.13): the four key
//! generations of [`dkg`](super::dkg) (flow H, flow A, flow B and the assertion signing key)
//! run side by side, one bundled message per round, so the evaluator service carries one
//! broadcast, one private message per peer and one confirmation per peer.
//!
//! 1. [`EpochGeneration::start`]: an [`EpochBroadcast`] to every other participant.
//! 2. [`EpochGeneration::deal`]: an [`EpochPrivate`] to each other participant over the
//!    confidential channel, and one [`EpochConfirmation`] (the four transcript digests) to
//!    every other participant.
//! 3. [`DealtEpochGeneration::finish`]: this participant's [`EvaluatorShares`] and the
//!    epoch's [`EpochShares`], whose group keys the key-set signer publishes.

use core::fmt;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::dkg::{
    DealtKeyGeneration, DkgBroadcast, DkgContext, DkgPrivate, Ed25519, KeyGeneration, Ristretto255,
    into_oprf_share, into_signing_share,
};
use super::epoch::{EpochShares, EvaluatorShares};
use super::params::Threshold;
use super::signing::MAX_FROST_MESSAGE_LEN;
use crate::codec::Reader;
use crate::error::{Error, Result};
use crate::pseudonym::Epoch;

/// The roles in message order.
const ROLES: [u8; 4] = [b'H', b'A', b'B', b'S'];

fn push_part(out: &mut Vec<u8>, part: &[u8]) -> Result<()> {
    let len = u16::try_from(part.len()).map_err(|_| Error::InputTooLong)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(part);
    Ok(())
}

/// Splits `header:N || (len:2 || part) × 4`, exactly.
fn split_parts<const N: usize>(bytes: &[u8]) -> Result<([u8; N], [&[u8]; 4])> {
    if bytes.len() > 4 * MAX_FROST_MESSAGE_LEN {
        return Err(Error::InputTooLong);
    }
    let mut reader = Reader::new(bytes);
    let header: [u8; N] = reader.take(N)?.try_into().map_err(|_| Error::Malformed)?;
    let mut parts: [&[u8]; 4] = [&[]; 4];
    for part in &mut parts {
        let len = usize::from(reader.u16()?);
        *part = reader.take(len)?;
    }
    reader.finish()?;
    Ok((header, parts))
}

/// Round one's broadcast from one participant: its four DKG broadcasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochBroadcast {
    from: u16,
    oprf: [DkgBroadcast<Ristretto255>; 3],
    signing: DkgBroadcast<Ed25519>,
}

impl EpochBroadcast {
    /// The sender.
    pub fn from(&self) -> u16 {
        self.from
    }

    /// `from:2 || (len:2 || DkgBroadcast) for H, A, B, S`.
    ///
    /// # Errors
    /// [`Error::Malformed`] if FROST cannot encode a part.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = self.from.to_be_bytes().to_vec();
        for part in &self.oprf {
            push_part(&mut out, &part.to_bytes()?)?;
        }
        push_part(&mut out, &self.signing.to_bytes()?)?;
        Ok(out)
    }

    /// Decodes strictly; every part must come from the bundle's sender.
    ///
    /// # Errors
    /// As [`DkgBroadcast::from_bytes`]; [`Error::UnknownEvaluator`] for a part from another
    /// sender.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (header, [h, a, b, s]) = split_parts::<2>(bytes)?;
        let from = u16::from_be_bytes(header);
        let oprf = [
            DkgBroadcast::from_bytes(h)?,
            DkgBroadcast::from_bytes(a)?,
            DkgBroadcast::from_bytes(b)?,
        ];
        let signing = DkgBroadcast::from_bytes(s)?;
        for sender in oprf.iter().map(DkgBroadcast::from).chain([signing.from()]) {
            if sender != from {
                return Err(Error::UnknownEvaluator { index: sender });
            }
        }
        Ok(Self {
            from,
            oprf,
            signing,
        })
    }
}

/// Round two's private message from `from` to `to`: its four secret shares. Zeroized on drop,
/// never printed.
#[derive(Clone)]
pub struct EpochPrivate {
    from: u16,
    to: u16,
    oprf: [DkgPrivate<Ristretto255>; 3],
    signing: DkgPrivate<Ed25519>,
}

impl fmt::Debug for EpochPrivate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpochPrivate")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl EpochPrivate {
    /// The sender.
    pub fn from(&self) -> u16 {
        self.from
    }

    /// The recipient.
    pub fn to(&self) -> u16 {
        self.to
    }

    /// `from:2 || to:2 || (len:2 || DkgPrivate) for H, A, B, S`, zeroized on drop.
    ///
    /// # Errors
    /// [`Error::Malformed`] if FROST cannot encode a part.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut out = Zeroizing::new([self.from.to_be_bytes(), self.to.to_be_bytes()].concat());
        for part in &self.oprf {
            push_part(&mut out, &part.to_bytes()?)?;
        }
        push_part(&mut out, &self.signing.to_bytes()?)?;
        Ok(out)
    }

    /// Decodes strictly; every part must be from `from` to `to`.
    ///
    /// # Errors
    /// As [`DkgPrivate::from_bytes`]; [`Error::UnknownEvaluator`] for a part between others.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (header, [h, a, b, s]) = split_parts::<4>(bytes)?;
        let from = u16::from_be_bytes([header[0], header[1]]);
        let to = u16::from_be_bytes([header[2], header[3]]);
        let oprf = [
            DkgPrivate::from_bytes(h)?,
            DkgPrivate::from_bytes(a)?,
            DkgPrivate::from_bytes(b)?,
        ];
        let signing = DkgPrivate::from_bytes(s)?;
        for (sender, recipient) in oprf
            .iter()
            .map(|p| (p.from(), p.to()))
            .chain([(signing.from(), signing.to())])
        {
            if sender != from || recipient != to {
                return Err(Error::UnknownEvaluator { index: sender });
            }
        }
        Ok(Self {
            from,
            to,
            oprf,
            signing,
        })
    }
}

/// A participant's confirmation: its four transcript digests (public).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochConfirmation {
    from: u16,
    digests: [[u8; 32]; 4],
}

impl EpochConfirmation {
    /// The sender.
    pub fn from(&self) -> u16 {
        self.from
    }

    /// `from:2 || four digests:32`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.from.to_be_bytes().to_vec();
        for digest in &self.digests {
            out.extend_from_slice(digest);
        }
        out
    }

    /// Decodes strictly.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless 130 bytes; [`Error::UnknownEvaluator`] for sender 0.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != 2 + 4 * 32 {
            return Err(Error::InvalidLength {
                expected: 2 + 4 * 32,
                actual: bytes.len(),
            });
        }
        let mut reader = Reader::new(bytes);
        let from = reader.u16()?;
        if from == 0 {
            return Err(Error::UnknownEvaluator { index: from });
        }
        let mut digests = [[0u8; 32]; 4];
        for digest in &mut digests {
            digest.copy_from_slice(reader.take(32)?);
        }
        reader.finish()?;
        Ok(Self { from, digests })
    }
}

/// One participant's key generation of a new epoch after round one.
pub struct EpochGeneration {
    index: u16,
    params: Threshold,
    realm: Vec<u8>,
    epoch: Epoch,
    oprf: [KeyGeneration<Ristretto255>; 3],
    signing: KeyGeneration<Ed25519>,
}

impl fmt::Debug for EpochGeneration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpochGeneration")
            .field("index", &self.index)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// One participant's key generation of a new epoch after round two.
pub struct DealtEpochGeneration {
    index: u16,
    params: Threshold,
    realm: Vec<u8>,
    epoch: Epoch,
    oprf: [DealtKeyGeneration<Ristretto255>; 3],
    signing: DealtKeyGeneration<Ed25519>,
}

impl fmt::Debug for DealtEpochGeneration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DealtEpochGeneration")
            .field("index", &self.index)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

fn contexts(realm: &[u8], epoch: Epoch) -> Result<[DkgContext; 4]> {
    let [h, a, b, s] = ROLES;
    Ok([
        DkgContext::new(realm, epoch, h)?,
        DkgContext::new(realm, epoch, a)?,
        DkgContext::new(realm, epoch, b)?,
        DkgContext::new(realm, epoch, s)?,
    ])
}

impl EpochGeneration {
    /// Round 1 for participant `index` of `params`, for `epoch` of `realm`.
    ///
    /// # Errors
    /// As [`KeyGeneration::start`] and [`DkgContext::new`].
    pub fn start(
        index: u16,
        params: Threshold,
        realm: &[u8],
        epoch: Epoch,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<(Self, EpochBroadcast)> {
        let [h, a, b, s] = contexts(realm, epoch)?;
        let (h, h_out) = KeyGeneration::start(index, params, &h, rng)?;
        let (a, a_out) = KeyGeneration::start(index, params, &a, rng)?;
        let (b, b_out) = KeyGeneration::start(index, params, &b, rng)?;
        let (s, s_out) = KeyGeneration::start(index, params, &s, rng)?;
        Ok((
            Self {
                index,
                params,
                realm: realm.to_vec(),
                epoch,
                oprf: [h, a, b],
                signing: s,
            },
            EpochBroadcast {
                from: index,
                oprf: [h_out, a_out, b_out],
                signing: s_out,
            },
        ))
    }

    /// Round 2: checks every other participant's broadcast and deals: the private messages,
    /// one per other participant, and this participant's confirmation for every other.
    ///
    /// # Errors
    /// As [`KeyGeneration::deal`].
    pub fn deal(
        self,
        broadcasts: &[EpochBroadcast],
    ) -> Result<(DealtEpochGeneration, Vec<EpochPrivate>, EpochConfirmation)> {
        let [h, a, b] = self.oprf;
        let part = |i: usize| -> Vec<DkgBroadcast<Ristretto255>> {
            broadcasts.iter().map(|x| x.oprf[i].clone()).collect()
        };
        let (h, h_out) = h.deal(&part(0))?;
        let (a, a_out) = a.deal(&part(1))?;
        let (b, b_out) = b.deal(&part(2))?;
        let signing: Vec<_> = broadcasts.iter().map(|x| x.signing.clone()).collect();
        let (s, s_out) = self.signing.deal(&signing)?;
        let confirmation = EpochConfirmation {
            from: self.index,
            digests: [
                h.transcript_digest(),
                a.transcript_digest(),
                b.transcript_digest(),
                s.transcript_digest(),
            ],
        };
        let mut privates = Vec::with_capacity(h_out.len());
        for (((h, a), b), s) in h_out.into_iter().zip(a_out).zip(b_out).zip(s_out) {
            if [a.to(), b.to(), s.to()] != [h.to(); 3] {
                return Err(Error::Malformed);
            }
            privates.push(EpochPrivate {
                from: self.index,
                to: h.to(),
                oprf: [h, a, b],
                signing: s,
            });
        }
        Ok((
            DealtEpochGeneration {
                index: self.index,
                params: self.params,
                realm: self.realm,
                epoch: self.epoch,
                oprf: [h, a, b],
                signing: s,
            },
            privates,
            confirmation,
        ))
    }
}

impl DealtEpochGeneration {
    /// Round 3: every other participant's confirmation and private message in, this
    /// participant's shares of the new epoch and its public side out.
    ///
    /// # Errors
    /// As [`DealtKeyGeneration::finish`], [`into_oprf_share`] and [`into_signing_share`].
    pub fn finish(
        self,
        confirmations: &[EpochConfirmation],
        privates: &[EpochPrivate],
    ) -> Result<(EvaluatorShares, EpochShares)> {
        let [h, a, b] = self.oprf;
        let confirmed = |i: usize| -> Vec<(u16, [u8; 32])> {
            confirmations
                .iter()
                .map(|c| (c.from, c.digests[i]))
                .collect()
        };
        let private = |i: usize| -> Vec<DkgPrivate<Ristretto255>> {
            privates.iter().map(|p| p.oprf[i].clone()).collect()
        };
        let (params, index) = (self.params, self.index);
        let (h_key, h_public) = h.finish(&confirmed(0), &private(0))?;
        let (holder_derived, h_shares) = into_oprf_share(params, index, &h_key, &h_public)?;
        let (a_key, a_public) = a.finish(&confirmed(1), &private(1))?;
        let (attested, a_shares) = into_oprf_share(params, index, &a_key, &a_public)?;
        let (b_key, b_public) = b.finish(&confirmed(2), &private(2))?;
        let (bulk, b_shares) = into_oprf_share(params, index, &b_key, &b_public)?;
        let signing_privates: Vec<_> = privates.iter().map(|p| p.signing.clone()).collect();
        let (s_key, s_public) = self.signing.finish(&confirmed(3), &signing_privates)?;
        let (signing, s_shares) = into_signing_share(params, index, s_key, s_public)?;
        Ok((
            EvaluatorShares {
                realm: self.realm,
                epoch: self.epoch,
                holder_derived,
                attested,
                signing,
                bulk,
            },
            EpochShares {
                epoch: self.epoch,
                holder_derived: h_shares,
                attested: a_shares,
                signing: s_shares,
                bulk: b_shares,
            },
        ))
    }
}
