//! Key shares and verification shares of one OPRF key, and the dealer that splits an existing
//! single-evaluator key for migration (`spec/12-threshold.md` §12.3, §12.4).

use core::fmt;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use frost_ristretto255 as frost;
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::params::{Threshold, interpolate_points};
use super::rng_bridge::RngBridge;
use crate::codec::Reader;
use crate::error::{Error, Result};
use crate::group::decode_scalar;
use crate::keys::PublicKey;

/// Serialized size of a [`KeyShare`]: index and scalar.
pub const KEY_SHARE_LEN: usize = 2 + 32;

/// Evaluator `index`'s share `k_i` of an OPRF key: the value at `index` of a random
/// polynomial of degree `t − 1` whose constant term is the key. Secret: zeroized on drop,
/// never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyShare {
    #[zeroize(skip)]
    index: u16,
    secret: Scalar,
}

impl KeyShare {
    pub(crate) fn new(index: u16, secret: Scalar) -> Self {
        Self { index, secret }
    }

    /// The evaluator this share belongs to.
    pub fn index(&self) -> u16 {
        self.index
    }

    pub(crate) fn secret(&self) -> &Scalar {
        &self.secret
    }

    /// `K_i = k_i·G`.
    pub fn verification_share(&self) -> PublicKey {
        PublicKey::from_point(&self.secret * RISTRETTO_BASEPOINT_TABLE)
    }

    /// The saved form `index:2 || k_i:32`, zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; KEY_SHARE_LEN]> {
        let mut out = Zeroizing::new([0u8; KEY_SHARE_LEN]);
        out[..2].copy_from_slice(&self.index.to_be_bytes());
        out[2..].copy_from_slice(self.secret.as_bytes());
        out
    }

    /// Restores a saved share.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless 34 bytes, [`Error::UnknownEvaluator`] for index 0,
    /// [`Error::NonCanonicalScalar`], [`Error::ZeroScalar`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::exact(bytes, KEY_SHARE_LEN)?;
        let index = reader.u16()?;
        if index == 0 {
            return Err(Error::UnknownEvaluator { index });
        }
        let secret = crate::group::decode_nonzero_scalar(reader.take(32)?)?;
        reader.finish()?;
        Ok(Self { index, secret })
    }
}

impl fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyShare")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// The public side of a shared OPRF key: `(t, n)`, the group key `pk = k·G` and every
/// verification share `K_i = k_i·G`, checked to lie on one polynomial of degree `t − 1`
/// through `pk` (`spec/12-threshold.md` §12.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationShares {
    params: Threshold,
    group: PublicKey,
    shares: Vec<PublicKey>,
}

impl VerificationShares {
    /// Checks and wraps the public shares `K_1..K_n` (in index order) of `group`.
    ///
    /// # Errors
    /// [`Error::ThresholdParams`] when there are not exactly `n` shares or they do not lie on
    /// one polynomial of degree `t − 1` whose value at zero is `group`.
    pub fn new(params: Threshold, group: PublicKey, shares: Vec<PublicKey>) -> Result<Self> {
        if shares.len() != usize::from(params.n()) {
            return Err(Error::ThresholdParams);
        }
        // The points 1..t−1 and 0 fix the polynomial; each other point j lies on it exactly
        // when {1..t−1, j} interpolates to pk at zero.
        let t = usize::from(params.t());
        let mut indices: Vec<u16> = (1..params.t()).collect();
        let mut points: Vec<RistrettoPoint> = shares[..t - 1].iter().map(|k| k.point).collect();
        for j in params.t()..=params.n() {
            indices.push(j);
            points.push(shares[usize::from(j) - 1].point);
            if interpolate_points(&indices, &points)? != group.point {
                return Err(Error::ThresholdParams);
            }
            indices.pop();
            points.pop();
        }
        Ok(Self {
            params,
            group,
            shares,
        })
    }

    /// `(t, n)`.
    pub fn params(&self) -> Threshold {
        self.params
    }

    /// The group key `pk`: what the single-evaluator key set publishes.
    pub fn group_key(&self) -> &PublicKey {
        &self.group
    }

    /// `K_index`.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] outside `1..=n`.
    pub fn share(&self, index: u16) -> Result<&PublicKey> {
        self.params.check_index(index)?;
        self.shares
            .get(usize::from(index) - 1)
            .ok_or(Error::UnknownEvaluator { index })
    }

    /// Checks one evaluator's flow H answer against its `K_i` (VOPRF context).
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] outside `1..=n`, [`Error::BatchMismatch`] for a length
    /// other than the batch's, [`Error::BadShare`] naming the evaluator when the proof fails.
    pub fn check_answer(
        &self,
        blinded: &[crate::messages::BlindedElement],
        answer: &super::answer::ShareAnswer,
    ) -> Result<()> {
        super::answer::check_answer(
            crate::suite::Mode::Voprf,
            self.share(answer.index)?,
            blinded,
            answer,
        )
    }

    /// Every `K_i`, in index order.
    pub fn shares(&self) -> &[PublicKey] {
        &self.shares
    }
}

/// The identifier FROST uses for evaluator `index`: the scalar `index`, as ours.
pub(crate) fn identifier<C: frost_core::Ciphersuite>(
    index: u16,
) -> Result<frost_core::Identifier<C>> {
    frost_core::Identifier::<C>::try_from(index).map_err(|_| Error::UnknownEvaluator { index })
}

/// The evaluator index of a FROST identifier among `1..=n` (FROST names culprits by
/// identifier).
pub(crate) fn index_of<C: frost_core::Ciphersuite>(
    params: Threshold,
    id: &frost_core::Identifier<C>,
) -> Option<u16> {
    (1..=params.n()).find(|&i| identifier::<C>(i).ok().as_ref() == Some(id))
}

/// A FROST ristretto255 signing share as our scalar (they meet at the 32-byte encoding).
pub(crate) fn scalar_from_frost(share: &frost::keys::SigningShare) -> Result<Scalar> {
    let bytes = Zeroizing::new(share.serialize());
    decode_scalar(&bytes)
}

/// A FROST ristretto255 verifying key or share, as our public key.
pub(crate) fn public_from_frost(
    bytes: core::result::Result<Vec<u8>, frost::Error>,
) -> Result<PublicKey> {
    let bytes = bytes.map_err(|_| Error::ThresholdParams)?;
    PublicKey::from_bytes(&bytes)
}

/// Splits an existing OPRF secret key into `n` shares with threshold `t` (trusted dealer,
/// RFC 9591 Appendix C, through `frost-ristretto255`). The dealer erases `secret` after this:
/// pseudonyms stay the same because the shares interpolate to the same key
/// (`spec/12-threshold.md` §12.4).
///
/// # Errors
/// [`Error::ZeroScalar`] for a zero key, [`Error::ThresholdParams`] if the split fails,
/// [`Error::BadDealing`] if FROST's own share check fails (`dealer: 0`, the dealer).
pub fn deal(
    secret: &Scalar,
    params: Threshold,
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(Vec<KeyShare>, VerificationShares)> {
    let bytes = Zeroizing::new(secret.to_bytes());
    let key = frost::SigningKey::deserialize(bytes.as_ref()).map_err(|_| Error::ZeroScalar)?;
    let (secret_shares, public) = frost::keys::split(
        &key,
        params.n(),
        params.t(),
        frost::keys::IdentifierList::Default,
        &mut RngBridge(rng),
    )
    .map_err(|_| Error::ThresholdParams)?;
    from_frost_packages(
        params,
        |index| {
            let id = identifier::<frost::Ristretto255Sha512>(index)?;
            let package = secret_shares
                .get(&id)
                .cloned()
                .ok_or(Error::UnknownEvaluator { index })?;
            frost::keys::KeyPackage::try_from(package).map_err(|_| Error::BadDealing { dealer: 0 })
        },
        &public,
    )
}

/// Our shares from FROST key packages (dealer or DKG) and their public key package.
pub(crate) fn from_frost_packages(
    params: Threshold,
    mut package_of: impl FnMut(u16) -> Result<frost::keys::KeyPackage>,
    public: &frost::keys::PublicKeyPackage,
) -> Result<(Vec<KeyShare>, VerificationShares)> {
    let mut shares = Vec::with_capacity(usize::from(params.n()));
    for index in 1..=params.n() {
        let package = package_of(index)?;
        shares.push(KeyShare::new(
            index,
            scalar_from_frost(package.signing_share())?,
        ));
    }
    Ok((shares, verification_from_frost(params, public)?))
}

/// The verification shares of a FROST public key package, checked.
pub(crate) fn verification_from_frost(
    params: Threshold,
    public: &frost::keys::PublicKeyPackage,
) -> Result<VerificationShares> {
    let mut publics = Vec::with_capacity(usize::from(params.n()));
    for index in 1..=params.n() {
        let id = identifier::<frost::Ristretto255Sha512>(index)?;
        let verifying = public
            .verifying_shares()
            .get(&id)
            .ok_or(Error::UnknownEvaluator { index })?;
        publics.push(public_from_frost(verifying.serialize())?);
    }
    let group = public_from_frost(public.verifying_key().serialize())?;
    VerificationShares::new(params, group, publics)
}
