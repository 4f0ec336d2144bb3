//! Shares of the flow A assertion signing key and FROST(Ed25519, SHA-512) signing (RFC 9591,
//! through `frost-ed25519`): `t` evaluators sign, and the result is one ordinary Ed25519
//! signature under the key the relying party already trusts (`spec/12-threshold.md` §12.8).

use core::fmt;
use std::collections::BTreeMap;

use ed25519_dalek::{Signature, VerifyingKey};
use frost_ed25519 as frost;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::params::Threshold;
use super::rng_bridge::RngBridge;
use super::share::{identifier, index_of};
use crate::error::{Error, Result};
use crate::pseudonym::key_set::decode_verifying_key;

/// The largest encoded FROST message blindnym accepts (a commitment is 69 bytes, a signature
/// share 32, a key package about 150; DKG packages grow with `t`).
pub const MAX_FROST_MESSAGE_LEN: usize = 16 * 1024;

/// Evaluator `index`'s share of the assertion signing key (a FROST key package). Secret:
/// zeroized on drop (by `frost-core`), never printed.
#[derive(Clone)]
pub struct SigningShare {
    index: u16,
    package: frost::keys::KeyPackage,
}

impl fmt::Debug for SigningShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningShare")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl SigningShare {
    pub(crate) fn new(index: u16, package: frost::keys::KeyPackage) -> Self {
        Self { index, package }
    }

    /// The evaluator this share belongs to.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The share as a scalar (for resharing, `spec/12-threshold.md` §12.13).
    pub(crate) fn scalar(&self) -> Result<curve25519_dalek::scalar::Scalar> {
        let bytes = Zeroizing::new(self.package.signing_share().serialize());
        crate::group::decode_scalar(&bytes)
    }

    /// The saved form `index:2 || frost-ed25519 key package`, zeroized on drop.
    ///
    /// # Errors
    /// [`Error::Malformed`] if FROST cannot encode it.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut out = self.index.to_be_bytes().to_vec();
        out.extend_from_slice(&self.package.serialize().map_err(|_| Error::Malformed)?);
        Ok(Zeroizing::new(out))
    }

    /// Restores a saved share.
    ///
    /// # Errors
    /// [`Error::Malformed`] for bytes FROST rejects or does not re-encode identically,
    /// [`Error::UnknownEvaluator`] for an index that does not match the package's.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (index, _, package) =
            frost_decode::<2, _, _>(bytes, frost::keys::KeyPackage::deserialize, |p| {
                p.serialize().ok()
            })?;
        if *package.identifier() != identifier::<frost::Ed25519Sha512>(index)? {
            return Err(Error::UnknownEvaluator { index });
        }
        Ok(Self { index, package })
    }
}

/// Splits `header:N || payload`, the header opening with a nonzero evaluator index, and
/// decodes the payload with FROST, which must re-encode it byte for byte (no second encoding
/// of one value gets through). Every FROST-carrying message decodes through here.
pub(crate) fn frost_decode<const N: usize, T, E>(
    bytes: &[u8],
    decode: impl Fn(&[u8]) -> core::result::Result<T, E>,
    encode: impl Fn(&T) -> Option<Vec<u8>>,
) -> Result<(u16, [u8; N], T)> {
    if bytes.len() > MAX_FROST_MESSAGE_LEN {
        return Err(Error::InputTooLong);
    }
    let (header, payload) = bytes.split_first_chunk::<N>().ok_or(Error::InvalidLength {
        expected: N,
        actual: bytes.len(),
    })?;
    let index = header
        .first_chunk::<2>()
        .map(|i| u16::from_be_bytes(*i))
        .ok_or(Error::Malformed)?;
    if index == 0 {
        return Err(Error::UnknownEvaluator { index });
    }
    let value = decode(payload).map_err(|_| Error::Malformed)?;
    if encode(&value).as_deref() != Some(payload) {
        return Err(Error::Malformed);
    }
    Ok((index, *header, value))
}

/// The public side of the shared signing key: the group key (the relying party's
/// `attested_signing` key) and every verifying share, for attributing bad signature shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningPublic {
    params: Threshold,
    package: frost::keys::PublicKeyPackage,
}

impl SigningPublic {
    pub(crate) fn new(params: Threshold, package: frost::keys::PublicKeyPackage) -> Self {
        Self { params, package }
    }

    /// `(t, n)`.
    pub fn params(&self) -> Threshold {
        self.params
    }

    /// FROST's encoding of the public key package.
    pub(crate) fn package_bytes(&self) -> Result<Vec<u8>> {
        self.package.serialize().map_err(|_| Error::Malformed)
    }

    /// Decodes FROST's public key package strictly: it must re-encode byte for byte, name
    /// exactly the evaluators `1..=n`, say `t` signers are needed (`min_signers`, review
    /// L9: a package for another threshold would make honest holders fail to aggregate), and
    /// its group key must be a strict Ed25519 key.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::ThresholdParams`], the key errors.
    pub(crate) fn from_package_bytes(params: Threshold, bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_FROST_MESSAGE_LEN {
            return Err(Error::InputTooLong);
        }
        let package =
            frost::keys::PublicKeyPackage::deserialize(bytes).map_err(|_| Error::Malformed)?;
        if package.serialize().ok().as_deref() != Some(bytes) {
            return Err(Error::Malformed);
        }
        if package.verifying_shares().len() != usize::from(params.n())
            || package.min_signers() != Some(params.t())
        {
            return Err(Error::ThresholdParams);
        }
        for index in 1..=params.n() {
            if !package
                .verifying_shares()
                .contains_key(&identifier::<frost::Ed25519Sha512>(index)?)
            {
                return Err(Error::ThresholdParams);
            }
        }
        let public = Self { params, package };
        public.check_shares()?;
        Ok(public)
    }

    /// Checks that the verifying shares lie on one polynomial of degree `t − 1` through the
    /// group key (as [`VerificationShares::new`](super::VerificationShares::new) does for the
    /// OPRF keys), each a canonical point of the prime-order subgroup.
    ///
    /// # Errors
    /// [`Error::ThresholdParams`] when they do not; the key errors for the group key.
    pub(crate) fn check_shares(&self) -> Result<()> {
        use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
        use curve25519_dalek::traits::VartimeMultiscalarMul;
        let decode = |bytes: &[u8]| -> Result<EdwardsPoint> {
            let compressed =
                CompressedEdwardsY::from_slice(bytes).map_err(|_| Error::ThresholdParams)?;
            let point = compressed.decompress().ok_or(Error::ThresholdParams)?;
            if point.compress() != compressed || !point.is_torsion_free() {
                return Err(Error::ThresholdParams);
            }
            Ok(point)
        };
        let group = decode(self.verifying_key()?.as_bytes())?;
        let shares = (1..=self.params.n())
            .map(|i| self.share_bytes(i).and_then(|b| decode(&b)))
            .collect::<Result<Vec<_>>>()?;
        let t = usize::from(self.params.t());
        for j in self.params.t()..=self.params.n() {
            let mut indices: Vec<u16> = (1..self.params.t()).collect();
            indices.push(j);
            let mut points: Vec<EdwardsPoint> = shares[..t - 1].to_vec();
            points.push(shares[usize::from(j) - 1]);
            let lambdas = super::params::lagrange_at_zero(&indices)?;
            if EdwardsPoint::vartime_multiscalar_mul(lambdas, points) != group {
                return Err(Error::ThresholdParams);
            }
        }
        Ok(())
    }

    /// The group key as an Ed25519 verifying key, decoded strictly.
    ///
    /// # Errors
    /// [`Error::NonCanonicalElement`] or [`Error::IdentityElement`] for a bad key.
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        let bytes = self
            .package
            .verifying_key()
            .serialize()
            .map_err(|_| Error::Malformed)?;
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::InvalidLength {
                expected: 32,
                actual: bytes.len(),
            })?;
        decode_verifying_key(&array)
    }

    /// Evaluator `index`'s verifying share, 32 bytes.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for an index without a share.
    pub fn share_bytes(&self, index: u16) -> Result<Vec<u8>> {
        let id = identifier::<frost::Ed25519Sha512>(index)?;
        self.package
            .verifying_shares()
            .get(&id)
            .and_then(|share| share.serialize().ok())
            .ok_or(Error::UnknownEvaluator { index })
    }
}

/// Splits an existing Ed25519 signing key into `n` FROST shares (trusted dealer, RFC 9591
/// Appendix C). The group key is the key's own verifying key, so relying parties change
/// nothing (`spec/12-threshold.md` §12.4).
///
/// # Errors
/// [`Error::ThresholdParams`] if the split fails.
pub fn deal_signing(
    key: &ed25519_dalek::SigningKey,
    params: Threshold,
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(Vec<SigningShare>, SigningPublic)> {
    let scalar = Zeroizing::new(key.to_scalar().to_bytes());
    let key = frost::SigningKey::deserialize(scalar.as_ref()).map_err(|_| Error::ZeroScalar)?;
    let (secret_shares, public) = frost::keys::split(
        &key,
        params.n(),
        params.t(),
        frost::keys::IdentifierList::Default,
        &mut RngBridge(rng),
    )
    .map_err(|_| Error::ThresholdParams)?;
    let mut shares = Vec::with_capacity(usize::from(params.n()));
    for index in 1..=params.n() {
        let id = identifier::<frost::Ed25519Sha512>(index)?;
        let secret = secret_shares
            .get(&id)
            .cloned()
            .ok_or(Error::UnknownEvaluator { index })?;
        let package = frost::keys::KeyPackage::try_from(secret)
            .map_err(|_| Error::BadDealing { dealer: 0 })?;
        shares.push(SigningShare::new(index, package));
    }
    let public = SigningPublic::new(params, public);
    public.check_shares()?;
    Ok((shares, public))
}

/// A signer's round-one nonces, kept until it signs. Secret: zeroized on drop (by
/// `frost-core`), never printed, used once (signing consumes it).
pub struct SigningNonces {
    index: u16,
    nonces: frost::round1::SigningNonces,
}

impl fmt::Debug for SigningNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningNonces")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// A signer's round-one commitments (RFC 9591 §5.1), sent with its share answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignerCommitment {
    /// The signer's index.
    pub index: u16,
    commitments: frost::round1::SigningCommitments,
}

impl SignerCommitment {
    /// `index:2 || frost-ed25519 commitments encoding`.
    ///
    /// # Errors
    /// [`Error::Malformed`] if FROST cannot encode it.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = self.index.to_be_bytes().to_vec();
        out.extend_from_slice(&self.commitments.serialize().map_err(|_| Error::Malformed)?);
        Ok(out)
    }

    /// Decodes commitments strictly (FROST must re-encode them byte for byte).
    ///
    /// # Errors
    /// [`Error::InvalidLength`], [`Error::UnknownEvaluator`] for index 0,
    /// [`Error::Malformed`] for bytes FROST rejects, [`Error::InputTooLong`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (index, _, commitments) =
            frost_decode::<2, _, _>(bytes, frost::round1::SigningCommitments::deserialize, |c| {
                c.serialize().ok()
            })?;
        Ok(Self { index, commitments })
    }
}

/// A signer's round-two signature share (RFC 9591 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureShare {
    /// The signer's index.
    pub index: u16,
    share: frost::round2::SignatureShare,
}

impl SignatureShare {
    /// `index:2 || frost-ed25519 signature share encoding`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.index.to_be_bytes().to_vec();
        out.extend_from_slice(&self.share.serialize());
        out
    }

    /// Decodes a signature share strictly.
    ///
    /// # Errors
    /// As [`SignerCommitment::from_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (index, _, share) =
            frost_decode::<2, _, _>(bytes, frost::round2::SignatureShare::deserialize, |s| {
                Some(s.serialize())
            })?;
        Ok(Self { index, share })
    }
}

/// Round one: fresh nonces and their commitments.
pub fn commit(
    share: &SigningShare,
    rng: &mut (impl CryptoRng + ?Sized),
) -> (SigningNonces, SignerCommitment) {
    let (nonces, commitments) =
        frost::round1::commit(share.package.signing_share(), &mut RngBridge(rng));
    (
        SigningNonces {
            index: share.index,
            nonces,
        },
        SignerCommitment {
            index: share.index,
            commitments,
        },
    )
}

/// The signing package of one message: every chosen signer's commitments.
fn signing_package(
    commitments: &[SignerCommitment],
    message: &[u8],
) -> Result<frost::SigningPackage> {
    let mut map = BTreeMap::new();
    for commitment in commitments {
        let id = identifier::<frost::Ed25519Sha512>(commitment.index)?;
        if map.insert(id, commitment.commitments).is_some() {
            return Err(Error::UnknownEvaluator {
                index: commitment.index,
            });
        }
    }
    Ok(frost::SigningPackage::new(map, message))
}

/// Round two: this signer's share of the signature on `message` with the chosen signers'
/// `commitments`. The caller has checked the message (flow A: the share answers against the
/// tweak record, `spec/12-threshold.md` §12.8).
///
/// # Errors
/// [`Error::UnknownEvaluator`] for a repeated signer, nonces of another signer, or a set
/// without this signer's own commitment; [`Error::TooFewShares`] for fewer than `t` signers.
pub fn sign(
    share: &SigningShare,
    nonces: SigningNonces,
    commitments: &[SignerCommitment],
    message: &[u8],
) -> Result<SignatureShare> {
    if nonces.index != share.index {
        return Err(Error::UnknownEvaluator {
            index: nonces.index,
        });
    }
    let package = signing_package(commitments, message)?;
    let signature =
        frost::round2::sign(&package, &nonces.nonces, &share.package).map_err(|error| {
            match error {
                frost::Error::IncorrectNumberOfCommitments => Error::TooFewShares {
                    have: commitments.len(),
                    need: usize::from(*share.package.min_signers()),
                },
                // This signer's commitment is missing or not the one it made.
                _ => Error::UnknownEvaluator { index: share.index },
            }
        })?;
    Ok(SignatureShare {
        index: share.index,
        share: signature,
    })
}

/// Aggregates the signature shares into one Ed25519 signature and checks it under the group
/// key; a bad share is named (FROST's cheater detection).
///
/// # Errors
/// [`Error::BadSignatureShare`] naming the first signer whose share fails,
/// [`Error::UnknownEvaluator`] for a repeated or unknown signer, [`Error::BadSignature`]
/// for any other aggregation failure.
pub fn aggregate(
    public: &SigningPublic,
    commitments: &[SignerCommitment],
    message: &[u8],
    shares: &[SignatureShare],
) -> Result<Signature> {
    let package = signing_package(commitments, message)?;
    let mut map = BTreeMap::new();
    for share in shares {
        let id = identifier::<frost::Ed25519Sha512>(share.index)?;
        if map.insert(id, share.share).is_some() {
            return Err(Error::UnknownEvaluator { index: share.index });
        }
    }
    let signature =
        frost::aggregate(&package, &map, &public.package).map_err(|error| {
            match error
                .culprits()
                .first()
                .and_then(|id| index_of(public.params, id))
            {
                Some(evaluator) => Error::BadSignatureShare { evaluator },
                None => Error::BadSignature,
            }
        })?;
    let bytes = signature.serialize().map_err(|_| Error::BadSignature)?;
    let array: [u8; 64] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::BadSignature)?;
    Ok(Signature::from_bytes(&array))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review L9: a public key package whose `min_signers` is not the set's `t` (or that
    /// names none) is refused, though its verifying shares are the dealt ones.
    #[test]
    fn a_package_for_another_threshold_is_refused() {
        let params = Threshold::new(2, 3).expect("params");
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let mut rng = rand::rng();
        let (_, public) = deal_signing(&key, params, &mut rng).expect("dealt");
        let bytes = public.package_bytes().expect("bytes");
        assert!(SigningPublic::from_package_bytes(params, &bytes).is_ok());
        for min_signers in [Some(3), Some(1), None] {
            let other = frost::keys::PublicKeyPackage::new(
                public.package.verifying_shares().clone(),
                *public.package.verifying_key(),
                min_signers,
            )
            .serialize()
            .expect("bytes");
            assert_eq!(
                SigningPublic::from_package_bytes(params, &other),
                Err(Error::ThresholdParams),
                "{min_signers:?}"
            );
        }
    }
}
