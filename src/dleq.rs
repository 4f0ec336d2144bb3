//! Batched discrete-log-equality proofs (RFC 9497 §2.2): `GenerateProof`, `VerifyProof` and
//! the composite computation they share.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use rand_core::CryptoRng;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::element::Encoded;
use crate::error::{Error, Result};
use crate::group::{ELEMENT_LEN, ELEMENT_LEN_PREFIX, hash_to_scalar, hash_to_scalar_dst};
use crate::keys::PublicKey;
use crate::messages::Proof;
use crate::parallel::threads;
use crate::suite::{Mode, SEED_DST_LEN_PREFIX};

/// The largest batch one proof covers: the composite index is `I2OSP(i, 2)` (RFC 9497 §2.2.1).
pub const MAX_BATCH: usize = 65535;

/// Checks the lists of one proof: equal lengths, between 1 and [`MAX_BATCH`] pairs.
///
/// # Errors
/// [`Error::BatchMismatch`] for lists of different lengths, [`Error::EmptyBatch`],
/// [`Error::BatchTooLarge`].
pub(crate) fn check_batch(c_len: usize, d_len: usize) -> Result<()> {
    if c_len != d_len {
        return Err(Error::BatchMismatch {
            left: c_len,
            right: d_len,
        });
    }
    batch_len(c_len)
}

/// Checks a batch length against `1..=MAX_BATCH`.
///
/// # Errors
/// [`Error::EmptyBatch`], [`Error::BatchTooLarge`].
pub(crate) fn batch_len(len: usize) -> Result<()> {
    if len == 0 {
        return Err(Error::EmptyBatch);
    }
    if len > MAX_BATCH {
        return Err(Error::BatchTooLarge { len });
    }
    Ok(())
}

/// The one element of a batch of one: the single-element calls run the batch code.
///
/// # Errors
/// [`Error::BatchMismatch`] when `items` does not hold exactly one element.
pub(crate) fn only<T>(items: Vec<T>) -> Result<T> {
    let [item] = <[T; 1]>::try_from(items).map_err(|items| Error::BatchMismatch {
        left: 1,
        right: items.len(),
    })?;
    Ok(item)
}

/// The composite seed `Hash(len || Bm || len || seedDST)` of `ComputeComposites`.
fn composite_seed(mode: Mode, b: &[u8; ELEMENT_LEN]) -> [u8; 64] {
    let seed_dst = &mode.dsts().seed;
    let mut h = Sha512::new();
    h.update(ELEMENT_LEN_PREFIX);
    h.update(b);
    h.update(SEED_DST_LEN_PREFIX);
    h.update(seed_dst);
    h.finalize().into()
}

/// The per-pair weights `d_i` of `ComputeComposites` (RFC 9497 §2.2.1) for one proof key:
/// the composite seed is hashed once, then each pair's weight on its own, so the server can
/// weigh a pair in the same pass that evaluates it.
pub(crate) struct CompositeWeights {
    mode: Mode,
    seed: [u8; 64],
}

impl CompositeWeights {
    /// The weights of proofs against the key encoded as `b`.
    pub(crate) fn new(mode: Mode, b: &[u8; ELEMENT_LEN]) -> Self {
        Self {
            mode,
            seed: composite_seed(mode, b),
        }
    }

    /// `d_i = HashToScalar(len||seed || I2OSP(i, 2) || len||C_i || len||D_i || "Composite")`.
    ///
    /// # Errors
    /// [`Error::BatchTooLarge`] for an index past [`MAX_BATCH`] (callers have checked the batch).
    pub(crate) fn weight(
        &self,
        i: usize,
        c: &[u8; ELEMENT_LEN],
        d: &[u8; ELEMENT_LEN],
    ) -> Result<Scalar> {
        let index = u16::try_from(i)
            .map_err(|_| Error::BatchTooLarge { len: i + 1 })?
            .to_be_bytes();
        hash_to_scalar(
            self.mode,
            &[
                &64u16.to_be_bytes(),
                &self.seed,
                &index,
                &ELEMENT_LEN_PREFIX,
                c,
                &ELEMENT_LEN_PREFIX,
                d,
                b"Composite",
            ],
        )
    }
}

/// The weights `d_i` of every pair of `C`, `D`, in parallel.
///
/// # Errors
/// [`Error::BatchMismatch`], [`Error::EmptyBatch`] or [`Error::BatchTooLarge`] for mismatched, empty or oversized lists.
fn composite_weights(
    mode: Mode,
    b: &[u8; ELEMENT_LEN],
    c: &[impl Encoded + Sync],
    d: &[impl Encoded + Sync],
) -> Result<Vec<Scalar>> {
    check_batch(c.len(), d.len())?;
    let weights = CompositeWeights::new(mode, b);
    crate::parallel::map_indices(c.len(), |i| {
        weights.weight(i, c[i].encoding(), d[i].encoding())
    })
}

/// Fewest pairs per task of a split composite sum: below this, curve25519-dalek's
/// multiscalar multiplication falls back from Pippenger to Straus and the split costs more
/// than it saves.
#[cfg(feature = "parallel")]
const MIN_COMPOSITE_SPLIT: usize = 256;

/// `Σ weights[i]·elements[i]`, variable-time (weights and elements are public). With the
/// `parallel` feature a large batch is cut into `parts` slices (one per rayon thread that
/// would otherwise idle), each summed with Pippenger's method, so the composite is not a
/// serial tail of a parallel batch. Splitting costs work (a smaller Pippenger pays more per
/// point), so it is done only as far as there are threads to take the parts.
fn composite(
    weights: &[Scalar],
    elements: &[impl Encoded + Sync],
    #[cfg_attr(not(feature = "parallel"), allow(unused_variables))] parts: usize,
) -> RistrettoPoint {
    #[cfg(feature = "parallel")]
    {
        use curve25519_dalek::traits::Identity;
        use rayon::prelude::*;
        if parts > 1 && weights.len() >= 2 * MIN_COMPOSITE_SPLIT {
            let chunk = weights.len().div_ceil(parts).max(MIN_COMPOSITE_SPLIT);
            return weights
                .par_chunks(chunk)
                .zip(elements.par_chunks(chunk))
                .map(|(w, e)| {
                    RistrettoPoint::vartime_multiscalar_mul(w, e.iter().map(Encoded::point))
                })
                .reduce(RistrettoPoint::identity, |a, b| a + b);
        }
    }
    RistrettoPoint::vartime_multiscalar_mul(weights, elements.iter().map(Encoded::point))
}

/// `Σ weights[i]·c[i]` and `Σ weights[i]·d[i]`, side by side with the `parallel` feature,
/// each split over half the threads.
fn composites(
    weights: &[Scalar],
    c: &[impl Encoded + Sync],
    d: &[impl Encoded + Sync],
) -> (RistrettoPoint, RistrettoPoint) {
    let parts = threads() / 2;
    #[cfg(feature = "parallel")]
    {
        rayon::join(
            || composite(weights, c, parts),
            || composite(weights, d, parts),
        )
    }
    #[cfg(not(feature = "parallel"))]
    {
        (composite(weights, c, parts), composite(weights, d, parts))
    }
}

/// The challenge `HashToScalar(len||Bm || len||M || len||Z || len||t2 || len||t3 || "Challenge")`.
fn challenge(
    mode: Mode,
    b: &[u8; ELEMENT_LEN],
    m: &[u8; ELEMENT_LEN],
    z: &[u8; ELEMENT_LEN],
    t2: &RistrettoPoint,
    t3: &RistrettoPoint,
) -> Result<Scalar> {
    let [t2, t3] = [t2, t3].map(|p| p.compress().to_bytes());
    hash_to_scalar(
        mode,
        &[
            &ELEMENT_LEN_PREFIX,
            b,
            &ELEMENT_LEN_PREFIX,
            m,
            &ELEMENT_LEN_PREFIX,
            z,
            &ELEMENT_LEN_PREFIX,
            &t2,
            &ELEMENT_LEN_PREFIX,
            &t3,
            b"Challenge",
        ],
    )
}

/// `GenerateProof(k, G, B, C, D)` with `ComputeCompositesFast` (RFC 9497 §2.2.1), given the
/// weights `d_i` of every pair (from [`CompositeWeights`] with the same mode and `B`): proves
/// `k·G = B` and `k·C[i] = D[i]` for every `i`. `D` enters only through the weights, since
/// `Z = k·M`. Secret-scalar multiplications are constant-time; the composite sum over public
/// points and weights is variable-time.
///
/// # Errors
/// [`Error::BatchMismatch`], [`Error::EmptyBatch`] or [`Error::BatchTooLarge`] for mismatched, empty or oversized lists,
/// [`Error::RandomnessFailure`] when the RNG is broken.
pub(crate) fn generate_proof(
    mode: Mode,
    k: &Scalar,
    b: &PublicKey,
    weights: &[Scalar],
    c: &[impl Encoded + Sync],
    nonce: impl FnOnce(&Scalar, &[u8; ELEMENT_LEN], &[u8; ELEMENT_LEN]) -> Result<Zeroizing<Scalar>>,
) -> Result<Proof> {
    check_batch(weights.len(), c.len())?;
    let m = composite(weights, c, threads());
    let z = k * m;
    // Encoded once, for both the hedged nonce and the challenge.
    let [m_enc, z_enc] = [m, z].map(|p| p.compress().to_bytes());
    // Whoever reads the nonce learns the key from the proof (`k = (r - s)/c`): cleared on drop.
    let r = nonce(k, &m_enc, &z_enc)?;
    let t2 = &*r * RISTRETTO_BASEPOINT_TABLE;
    let t3 = *r * m;
    let c = challenge(mode, &b.bytes, &m_enc, &z_enc, &t2, &t3)?;
    let ck = Zeroizing::new(c * k);
    let s = *r - *ck;
    Ok(Proof { c, s })
}

/// The hedged proof nonce: `r = HashToScalar(fresh || SerializeScalar(k) || len||Bm ||
/// len||M || len||Z, DST = "blindnym-HedgedNonce-" || contextString)` with 32 fresh bytes
/// from `rng` (`spec/03-oprf-core.md` §3.6). A repeated RNG state (a restored VM snapshot, a
/// forked process) then repeats `r` only for the very same key and transcript, which gives
/// the very same proof instead of revealing `k`; a good RNG keeps `r` uniform. RFC 9497's
/// `RandomScalar` nonce is still reachable for its test vectors through
/// `hazmat::voprf_blind_evaluate_with_nonce` and its POPRF twin.
///
/// # Errors
/// None with the fixed DST; the `Result` carries the hash's.
pub(crate) fn hedged_nonce(
    mode: Mode,
    rng: &mut (impl CryptoRng + ?Sized),
    k: &Scalar,
    b: &[u8; ELEMENT_LEN],
    m: &[u8; ELEMENT_LEN],
    z: &[u8; ELEMENT_LEN],
) -> Result<Zeroizing<Scalar>> {
    let mut fresh = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(fresh.as_mut());
    let key = Zeroizing::new(k.to_bytes());
    let dst = [b"blindnym-HedgedNonce-".as_slice(), &mode.context_string()].concat();
    let r = hash_to_scalar_dst(
        &[
            fresh.as_ref(),
            key.as_ref(),
            &ELEMENT_LEN_PREFIX,
            b,
            &ELEMENT_LEN_PREFIX,
            m,
            &ELEMENT_LEN_PREFIX,
            z,
        ],
        &dst,
    )?;
    if bool::from(r.ct_eq(&Scalar::ZERO)) {
        return Err(Error::RandomnessFailure);
    }
    Ok(Zeroizing::new(r))
}

/// `VerifyProof(G, B, C, D, proof)` (RFC 9497 §2.2.2). All inputs are public, so it runs in
/// variable time.
///
/// # Errors
/// [`Error::BatchMismatch`], [`Error::EmptyBatch`] or [`Error::BatchTooLarge`] for mismatched, empty or oversized lists, [`Error::VerifyError`]
/// when the proof does not verify.
pub(crate) fn verify_proof(
    mode: Mode,
    b: &PublicKey,
    c: &[impl Encoded + Sync],
    d: &[impl Encoded + Sync],
    proof: &Proof,
) -> Result<()> {
    let weights = composite_weights(mode, &b.bytes, c, d)?;
    let (m, z) = composites(&weights, c, d);
    let t2 = RistrettoPoint::vartime_double_scalar_mul_basepoint(&proof.c, &b.point, &proof.s);
    let t3 = RistrettoPoint::vartime_multiscalar_mul([proof.s, proof.c], [m, z]);
    let [m, z] = [m, z].map(|p| p.compress().to_bytes());
    let expected = challenge(mode, &b.bytes, &m, &z, &t2, &t3)?;
    if bool::from(expected.ct_eq(&proof.c)) {
        Ok(())
    } else {
        Err(Error::VerifyError)
    }
}
