//! Resharing one epoch's keys (`spec/12-threshold.md` §12.13): proactive refresh (same
//! committee, same `(t, n)`, new shares) and committee change (`(t, n) → (t', n')`), with the
//! same group keys, so no pseudonym and no relying party's signing key changes.
//!
//! Each dealer `i` of a set `D` of at least `t` old evaluators deals, for each of the four keys
//! (flow H, flow A, flow B on ristretto255; the assertion signing key on Ed25519), a random
//! polynomial `g_i` of degree `t' − 1` with `g_i(0) = λ_{i,D}·k_i`, with Feldman commitments
//! `C_{i,c} = coefficient_c·G`, and sends `g_i(j)` to each new member `j` over the
//! authenticated, confidential evaluator channel. Anyone can check `C_{i,0} = λ_{i,D}·K_i`
//! against the published verification share `K_i`, so a dealer reshares its own share and
//! nothing else; member `j` checks its value against the commitments and holds
//! `k'_j = Σ_i g_i(j)`. The new polynomial is a sum of fresh random ones: old shares and new
//! ones lie on different polynomials and do not combine.
//!
//! A dealer that sends different commitments to different members is caught as in the DKG:
//! each member confirms the digest of everything it was dealt against
//! ([`ReceivedReshare::transcript_digest`]) to every other member, and
//! [`ReceivedReshare::finish`] refuses with [`Error::TranscriptMismatch`] unless all agree.
//!
//! Why our own code: `frost-core` 3's refresh keeps `t` and can only drop members (it cannot
//! add the new members of a committee change), and has no confirmation round; one protocol for
//! refresh and committee change, over the same arithmetic as the rest of threshold mode, is
//! less code than two.

use core::fmt;

use curve25519_dalek::constants::{ED25519_BASEPOINT_TABLE, RISTRETTO_BASEPOINT_TABLE};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, IsIdentity, VartimeMultiscalarMul};
use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use super::epoch::{EpochShares, EvaluatorShares};
use super::params::{Threshold, evaluate_polynomial, lagrange_at_zero, x_of};
use super::share::{KeyShare, VerificationShares, identifier};
use super::signing::{SigningPublic, SigningShare};
use crate::codec::{Reader, derive_key};
use crate::error::{Error, Result};
use crate::group::{decode_element, decode_scalar, random_scalar};
use crate::keys::PublicKey;
use crate::pseudonym::Epoch;
use crate::pseudonym::context::RESHARE_TRANSCRIPT;

/// The keys of an epoch, in message order: three OPRF keys on ristretto255, then the signing
/// key on Ed25519.
const OPRF_KEYS: usize = 3;
const KEYS: usize = OPRF_KEYS + 1;

/// What one resharing is for: the realm and epoch, the committee before and after, and the
/// dealers (at least `t` of the old committee). Every party builds the same context; it enters
/// the transcript digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReshareContext {
    realm: Vec<u8>,
    epoch: Epoch,
    old: Threshold,
    new: Threshold,
    dealers: Vec<u16>,
}

impl ReshareContext {
    /// A resharing of `epoch`'s keys from the committee `old` to `new`, dealt by `dealers`.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a realm over 255 bytes; [`Error::UnknownEvaluator`] for a
    /// dealer outside `1..=old.n`; [`Error::ThresholdParams`] for dealers not increasing or
    /// fewer than `old.t`.
    pub fn new(
        realm: &[u8],
        epoch: Epoch,
        old: Threshold,
        new: Threshold,
        dealers: &[u16],
    ) -> Result<Self> {
        if realm.len() > 255 {
            return Err(Error::InputTooLong);
        }
        for &dealer in dealers {
            old.check_index(dealer)?;
        }
        if dealers.len() < usize::from(old.t()) || dealers.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::ThresholdParams);
        }
        Ok(Self {
            realm: realm.to_vec(),
            epoch,
            old,
            new,
            dealers: dealers.to_vec(),
        })
    }

    /// A proactive refresh: the same committee and `(t, n)`, new shares.
    ///
    /// # Errors
    /// As [`Self::new`].
    pub fn refresh(realm: &[u8], epoch: Epoch, params: Threshold, dealers: &[u16]) -> Result<Self> {
        Self::new(realm, epoch, params, params, dealers)
    }

    /// The committee after.
    pub fn new_params(&self) -> Threshold {
        self.new
    }

    /// The dealers.
    pub fn dealers(&self) -> &[u16] {
        &self.dealers
    }

    fn lambda(&self, dealer: u16) -> Result<Scalar> {
        let position = self
            .dealers
            .iter()
            .position(|&d| d == dealer)
            .ok_or(Error::UnknownEvaluator { index: dealer })?;
        lagrange_at_zero(&self.dealers)?
            .get(position)
            .copied()
            .ok_or(Error::UnknownEvaluator { index: dealer })
    }

    fn check_old(&self, old: &EpochShares) -> Result<()> {
        if old.epoch != self.epoch {
            return Err(Error::UnknownEpoch { epoch: old.epoch });
        }
        if old.params() != self.old {
            return Err(Error::ThresholdParams);
        }
        Ok(())
    }
}

/// Dealer `from`'s message to new member `to`: the commitments of its four polynomials (the
/// same to every member) and the member's four values. The values are secret: zeroized on
/// drop, never printed, sent only over the channel between the two.
#[derive(Clone)]
pub struct ReshareMessage {
    from: u16,
    to: u16,
    /// `4·t'` canonical encodings: H, A, B (ristretto255), S (Ed25519), each `c_0` first.
    commitments: Vec<[u8; 32]>,
    values: Zeroizing<[[u8; 32]; KEYS]>,
}

impl fmt::Debug for ReshareMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReshareMessage")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

fn decode_edwards(bytes: &[u8; 32]) -> Result<EdwardsPoint> {
    let compressed = CompressedEdwardsY(*bytes);
    let point = compressed.decompress().ok_or(Error::NonCanonicalElement)?;
    if point.compress() != compressed || !point.is_torsion_free() {
        return Err(Error::NonCanonicalElement);
    }
    if point.is_identity() {
        return Err(Error::IdentityElement);
    }
    Ok(point)
}

impl ReshareMessage {
    /// The dealer.
    pub fn from(&self) -> u16 {
        self.from
    }

    /// The new member it is for.
    pub fn to(&self) -> u16 {
        self.to
    }

    /// `from:2 || to:2 || t':2 || 4·t' commitments:32 || 4 values:32`, zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let t = self.commitments.len() / KEYS;
        let mut out = Zeroizing::new(Vec::with_capacity(6 + 32 * (self.commitments.len() + KEYS)));
        out.extend_from_slice(&self.from.to_be_bytes());
        out.extend_from_slice(&self.to.to_be_bytes());
        out.extend_from_slice(&u16::try_from(t).unwrap_or(u16::MAX).to_be_bytes());
        for commitment in &self.commitments {
            out.extend_from_slice(commitment);
        }
        for value in self.values.iter() {
            out.extend_from_slice(value);
        }
        out
    }

    /// Decodes strictly: nonzero indices, `2 ≤ t' ≤ 255`, the exact length, every commitment a
    /// canonical non-identity element of its group, every value a canonical scalar.
    ///
    /// # Errors
    /// [`Error::InvalidLength`], [`Error::UnknownEvaluator`] for index 0,
    /// [`Error::ThresholdParams`] for `t'` out of range, the element and scalar errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let (from, to, t) = (reader.u16()?, reader.u16()?, reader.u16()?);
        for index in [from, to] {
            if index == 0 {
                return Err(Error::UnknownEvaluator { index });
            }
        }
        if !(2..=super::params::MAX_EVALUATORS).contains(&t) {
            return Err(Error::ThresholdParams);
        }
        let count = KEYS * usize::from(t);
        let expected = 6 + 32 * (count + KEYS);
        if bytes.len() != expected {
            return Err(Error::InvalidLength {
                expected,
                actual: bytes.len(),
            });
        }
        let mut commitments = Vec::with_capacity(count);
        for position in 0..count {
            let encoding: [u8; 32] = reader.take(32)?.try_into().map_err(|_| Error::Malformed)?;
            if position < OPRF_KEYS * usize::from(t) {
                decode_element(&encoding)?;
            } else {
                decode_edwards(&encoding)?;
            }
            commitments.push(encoding);
        }
        let mut values = Zeroizing::new([[0u8; 32]; KEYS]);
        for value in values.iter_mut() {
            value.copy_from_slice(reader.take(32)?);
            decode_scalar(value)?;
        }
        reader.finish()?;
        Ok(Self {
            from,
            to,
            commitments,
            values,
        })
    }

    fn t(&self) -> usize {
        self.commitments.len() / KEYS
    }

    fn commitments_of(&self, key: usize) -> &[[u8; 32]] {
        let t = self.t();
        &self.commitments[key * t..(key + 1) * t]
    }
}

/// A random polynomial of degree `t − 1` with constant term `constant`, zeroized on drop.
fn polynomial(
    constant: Scalar,
    t: u16,
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<Zeroizing<Vec<Scalar>>> {
    let mut coefficients = Zeroizing::new(Vec::with_capacity(usize::from(t)));
    coefficients.push(constant);
    for _ in 1..t {
        coefficients.push(random_scalar(rng)?);
    }
    Ok(coefficients)
}

/// Dealer `shares.index()`'s messages to every member `1..=n'` of the new committee.
///
/// # Errors
/// [`Error::UnknownEpoch`] or [`Error::ThresholdParams`] for shares or a public side of
/// another epoch or committee; [`Error::UnknownEvaluator`] for an evaluator that is not one
/// of the dealers; [`Error::RandomnessFailure`] when the RNG fails.
pub fn deal_reshare(
    context: &ReshareContext,
    shares: &EvaluatorShares,
    old: &EpochShares,
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<Vec<ReshareMessage>> {
    context.check_old(old)?;
    if shares.epoch != context.epoch || shares.realm != context.realm {
        return Err(Error::UnknownEpoch {
            epoch: shares.epoch,
        });
    }
    let index = shares.index();
    let lambda = context.lambda(index)?;
    let t = context.new.t();
    let signing = Zeroizing::new(shares.signing.scalar()?);
    let secrets = [
        shares.holder_derived.secret(),
        shares.attested.secret(),
        shares.bulk.secret(),
        &*signing,
    ];
    let mut polynomials = Vec::with_capacity(KEYS);
    let mut commitments = Vec::with_capacity(KEYS * usize::from(t));
    for (key, secret) in secrets.into_iter().enumerate() {
        let coefficients = polynomial(lambda * secret, t, rng)?;
        for coefficient in coefficients.iter() {
            commitments.push(if key < OPRF_KEYS {
                (coefficient * RISTRETTO_BASEPOINT_TABLE)
                    .compress()
                    .to_bytes()
            } else {
                (coefficient * ED25519_BASEPOINT_TABLE)
                    .compress()
                    .to_bytes()
            });
        }
        polynomials.push(coefficients);
    }
    let mut messages = Vec::with_capacity(usize::from(context.new.n()));
    for to in 1..=context.new.n() {
        let x = x_of(to);
        let mut values = Zeroizing::new([[0u8; 32]; KEYS]);
        for (value, coefficients) in values.iter_mut().zip(&polynomials) {
            let mut y = evaluate_polynomial(coefficients, &x);
            *value = y.to_bytes();
            y.zeroize();
        }
        messages.push(ReshareMessage {
            from: index,
            to,
            commitments: commitments.clone(),
            values,
        });
    }
    Ok(messages)
}

/// New member `index`'s side of a resharing, before it has been dealt to.
#[derive(Debug)]
pub struct ReshareReceiver {
    context: ReshareContext,
    index: u16,
    old: EpochShares,
}

/// New member `index` after it was dealt to: its new shares and the new public side, held
/// until every other member confirms the same transcript.
pub struct ReceivedReshare {
    context: ReshareContext,
    index: u16,
    transcript: [u8; 32],
    shares: EvaluatorShares,
    public: EpochShares,
}

impl fmt::Debug for ReceivedReshare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedReshare")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// `Σ_c C_c·x^c`.
fn commitment_at<P: VartimeMultiscalarMul<Point = P> + Clone>(commitments: &[P], x: &Scalar) -> P {
    let mut powers = Vec::with_capacity(commitments.len());
    let mut power = Scalar::ONE;
    for _ in commitments {
        powers.push(power);
        power *= x;
    }
    P::vartime_multiscalar_mul(powers, commitments)
}

impl ReshareReceiver {
    /// Member `index` of the new committee, checking dealings against the published public
    /// side `old` of the old committee.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for an index outside `1..=n'`; [`Error::UnknownEpoch`] or
    /// [`Error::ThresholdParams`] for a public side of another epoch or committee.
    pub fn new(context: &ReshareContext, index: u16, old: &EpochShares) -> Result<Self> {
        context.new.check_index(index)?;
        context.check_old(old)?;
        Ok(Self {
            context: context.clone(),
            index,
            old: old.clone(),
        })
    }

    /// Checks one message from every dealer and computes this member's new shares and the new
    /// public side.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for a message from a non-dealer, repeated, or for another
    /// member; [`Error::TooFewShares`] unless every dealer's is there;
    /// [`Error::ThresholdParams`] for commitments of another degree; [`Error::BadDealing`]
    /// naming a dealer whose constant commitment is not `λ·K_i` or whose value fails its
    /// commitments.
    pub fn receive(self, messages: &[ReshareMessage]) -> Result<ReceivedReshare> {
        let context = &self.context;
        let mut by_dealer: Vec<Option<&ReshareMessage>> = vec![None; context.dealers.len()];
        for message in messages {
            let slot = context
                .dealers
                .iter()
                .position(|&d| d == message.from)
                .and_then(|p| by_dealer.get_mut(p))
                .ok_or(Error::UnknownEvaluator {
                    index: message.from,
                })?;
            if message.to != self.index {
                return Err(Error::UnknownEvaluator { index: message.to });
            }
            if slot.replace(message).is_some() {
                return Err(Error::UnknownEvaluator {
                    index: message.from,
                });
            }
        }
        let dealt: Vec<&ReshareMessage> = by_dealer.iter().flatten().copied().collect();
        if dealt.len() != context.dealers.len() {
            return Err(Error::TooFewShares {
                have: dealt.len(),
                need: context.dealers.len(),
            });
        }
        let t = usize::from(context.new.t());
        if dealt.iter().any(|m| m.t() != t) {
            return Err(Error::ThresholdParams);
        }
        let lambdas = lagrange_at_zero(&context.dealers)?;
        let x = x_of(self.index);
        let old_oprf = [&self.old.holder_derived, &self.old.attested, &self.old.bulk];
        let mut new_secrets = Zeroizing::new([Scalar::ZERO; KEYS]);
        let mut ristretto_sums = vec![vec![RistrettoPoint::identity(); t]; OPRF_KEYS];
        let mut edwards_sums = vec![EdwardsPoint::identity(); t];
        for (message, lambda) in dealt.iter().zip(&lambdas) {
            let bad = Error::BadDealing {
                dealer: message.from,
            };
            for (key, old) in old_oprf.iter().enumerate() {
                let commitments = message
                    .commitments_of(key)
                    .iter()
                    .map(|c| decode_element(c))
                    .collect::<Result<Vec<_>>>()?;
                if commitments.first() != Some(&(lambda * old.share(message.from)?.point)) {
                    return Err(bad);
                }
                let value = decode_scalar(&message.values[key])?;
                if &value * RISTRETTO_BASEPOINT_TABLE != commitment_at(&commitments, &x) {
                    return Err(bad);
                }
                new_secrets[key] += value;
                for (sum, c) in ristretto_sums[key].iter_mut().zip(&commitments) {
                    *sum += c;
                }
            }
            let commitments = message
                .commitments_of(OPRF_KEYS)
                .iter()
                .map(decode_edwards)
                .collect::<Result<Vec<_>>>()?;
            let old_share = self.old.signing.share_bytes(message.from)?;
            let old_share = decode_edwards(
                &old_share
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::ThresholdParams)?,
            )?;
            if commitments.first() != Some(&(lambda * old_share)) {
                return Err(bad);
            }
            let value = decode_scalar(&message.values[OPRF_KEYS])?;
            if &value * ED25519_BASEPOINT_TABLE != commitment_at(&commitments, &x) {
                return Err(bad);
            }
            new_secrets[OPRF_KEYS] += value;
            for (sum, c) in edwards_sums.iter_mut().zip(&commitments) {
                *sum += c;
            }
        }
        let new = context.new;
        let oprf_public = |key: usize, old: &VerificationShares| -> Result<VerificationShares> {
            let sums = &ristretto_sums[key];
            let group = sums.first().copied().ok_or(Error::ThresholdParams)?;
            if group != old.group_key().point {
                return Err(Error::ThresholdParams);
            }
            let shares = (1..=new.n())
                .map(|m| commitment_at(sums, &x_of(m)))
                .map(|p| {
                    if p.is_identity() {
                        Err(Error::ThresholdParams)
                    } else {
                        Ok(PublicKey::from_point(p))
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            VerificationShares::new(new, *old.group_key(), shares)
        };
        let holder_derived = oprf_public(0, &self.old.holder_derived)?;
        let attested = oprf_public(1, &self.old.attested)?;
        let bulk = oprf_public(2, &self.old.bulk)?;
        let signing_public = signing_public(new, &edwards_sums, &self.old.signing)?;
        let signing = signing_share(new, self.index, &new_secrets[OPRF_KEYS], &signing_public)?;
        let shares = EvaluatorShares {
            realm: context.realm.clone(),
            epoch: context.epoch,
            holder_derived: KeyShare::new(self.index, new_secrets[0]),
            attested: KeyShare::new(self.index, new_secrets[1]),
            signing,
            bulk: KeyShare::new(self.index, new_secrets[2]),
        };
        let public = EpochShares {
            epoch: context.epoch,
            holder_derived,
            attested,
            signing: signing_public,
            bulk,
        };
        for (share, verification) in [
            (&shares.holder_derived, &public.holder_derived),
            (&shares.attested, &public.attested),
            (&shares.bulk, &public.bulk),
        ] {
            if share.verification_share() != *verification.share(self.index)? {
                return Err(Error::ThresholdParams);
            }
        }
        let transcript = transcript_digest(context, &dealt)?;
        Ok(ReceivedReshare {
            context: self.context,
            index: self.index,
            transcript,
            shares,
            public,
        })
    }
}

/// The new signing key's public key package: verifying shares from the summed commitments,
/// the group key unchanged.
fn signing_public(
    new: Threshold,
    sums: &[EdwardsPoint],
    old: &SigningPublic,
) -> Result<SigningPublic> {
    use frost_ed25519::keys::{PublicKeyPackage, VerifyingShare};
    let group = sums.first().ok_or(Error::ThresholdParams)?;
    let old_group = old.verifying_key()?;
    if group.compress().to_bytes() != *old_group.as_bytes() {
        return Err(Error::ThresholdParams);
    }
    let mut verifying = std::collections::BTreeMap::new();
    for m in 1..=new.n() {
        let point = commitment_at(sums, &x_of(m));
        let share = VerifyingShare::deserialize(point.compress().as_bytes())
            .map_err(|_| Error::ThresholdParams)?;
        verifying.insert(identifier::<frost_ed25519::Ed25519Sha512>(m)?, share);
    }
    let key = frost_ed25519::VerifyingKey::deserialize(old_group.as_bytes())
        .map_err(|_| Error::ThresholdParams)?;
    let public = SigningPublic::new(new, PublicKeyPackage::new(verifying, key, Some(new.t())));
    public.check_shares()?;
    Ok(public)
}

/// Member `index`'s new signing share as a FROST key package.
fn signing_share(
    new: Threshold,
    index: u16,
    secret: &Scalar,
    public: &SigningPublic,
) -> Result<SigningShare> {
    use frost_ed25519::keys::{KeyPackage, SigningShare as FrostShare, VerifyingShare};
    let own = public.share_bytes(index)?;
    if (secret * ED25519_BASEPOINT_TABLE).compress().as_bytes() != own.as_slice() {
        return Err(Error::ThresholdParams);
    }
    let bytes = Zeroizing::new(secret.to_bytes());
    let share = FrostShare::deserialize(bytes.as_ref()).map_err(|_| Error::ZeroScalar)?;
    let verifying = VerifyingShare::deserialize(&own).map_err(|_| Error::ThresholdParams)?;
    let key = frost_ed25519::VerifyingKey::deserialize(public.verifying_key()?.as_bytes())
        .map_err(|_| Error::ThresholdParams)?;
    let package = KeyPackage::new(
        identifier::<frost_ed25519::Ed25519Sha512>(index)?,
        share,
        verifying,
        key,
        new.t(),
    );
    Ok(SigningShare::new(index, package))
}

/// `derive_key("blindnym v2 reshare transcript", frame(realm, epoch:4, t:2, n:2, t':2, n':2,
/// dealers (2 bytes each), commitments of each dealer in dealer order))`.
fn transcript_digest(context: &ReshareContext, dealt: &[&ReshareMessage]) -> Result<[u8; 32]> {
    let epoch = context.epoch.to_be_bytes();
    let params: Vec<u8> = [context.old, context.new]
        .iter()
        .flat_map(|p| [p.t().to_be_bytes(), p.n().to_be_bytes()].concat())
        .collect();
    let dealers: Vec<u8> = context
        .dealers
        .iter()
        .flat_map(|d| d.to_be_bytes())
        .collect();
    let commitments: Vec<Vec<u8>> = dealt.iter().map(|m| m.commitments.concat()).collect();
    let mut fields: Vec<&[u8]> = vec![&context.realm, &epoch, &params, &dealers];
    fields.extend(commitments.iter().map(Vec::as_slice));
    derive_key(RESHARE_TRANSCRIPT, &fields)
}

impl ReceivedReshare {
    /// The digest this member confirms to every other member of the new committee.
    pub fn transcript_digest(&self) -> [u8; 32] {
        self.transcript
    }

    /// The new public side (before confirmation: for display only).
    pub fn public(&self) -> &EpochShares {
        &self.public
    }

    /// Checks that every other member of the new committee confirmed the same transcript,
    /// then hands over this member's new shares and the new public side.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for a confirmation from outside `1..=n'`, from itself or
    /// repeated; [`Error::TooFewShares`] unless all `n' − 1` others confirmed;
    /// [`Error::TranscriptMismatch`] naming the first member whose digest differs.
    pub fn finish(
        self,
        confirmations: &[(u16, [u8; 32])],
    ) -> Result<(EvaluatorShares, EpochShares)> {
        let new = self.context.new;
        let mut seen = std::collections::BTreeMap::new();
        for &(from, digest) in confirmations {
            new.check_index(from)?;
            if from == self.index || seen.insert(from, digest).is_some() {
                return Err(Error::UnknownEvaluator { index: from });
            }
        }
        if seen.len() + 1 != usize::from(new.n()) {
            return Err(Error::TooFewShares {
                have: seen.len() + 1,
                need: usize::from(new.n()),
            });
        }
        // Digests are public: a plain comparison.
        if let Some((&evaluator, _)) = seen.iter().find(|(_, d)| **d != self.transcript) {
            return Err(Error::TranscriptMismatch { evaluator });
        }
        Ok((self.shares, self.public))
    }
}
