//! Data-parallel helpers for batch paths: rayon when the `parallel` feature is on, a plain
//! loop otherwise. Results keep input order either way.

use curve25519_dalek::ristretto::RistrettoPoint;

use crate::error::Result;
use crate::group::ELEMENT_LEN;

/// Elements handled per task: large enough that batched compression amortizes its one field
/// inversion and rayon's scheduling, small enough to spread a 1024-element batch over cores.
pub(crate) const CHUNK: usize = 128;

/// `f(0), f(1), …, f(n - 1)`, in order, stopping at the first error.
#[cfg(feature = "parallel")]
pub(crate) fn map_indices<T, F>(n: usize, f: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> Result<T> + Sync + Send,
{
    use rayon::prelude::*;
    if n <= CHUNK {
        return (0..n).map(f).collect();
    }
    (0..n)
        .into_par_iter()
        .with_min_len(CHUNK / 4)
        .map(f)
        .collect()
}

/// `f(0), f(1), …, f(n - 1)`, in order, stopping at the first error.
#[cfg(not(feature = "parallel"))]
pub(crate) fn map_indices<T, F>(n: usize, f: F) -> Result<Vec<T>>
where
    F: Fn(usize) -> Result<T>,
{
    (0..n).map(f).collect()
}

/// For each `i < n`, the point `2·half(i)` with its canonical encoding.
///
/// Callers pass `half(i) = (k/2)·P` to get `k·P` encoded: the doubling is fused into
/// curve25519-dalek's `double_and_compress_batch`, which shares one field inversion across a
/// chunk instead of paying one per element.
pub(crate) fn doubled_and_encoded<F>(n: usize, half: F) -> Vec<(RistrettoPoint, [u8; ELEMENT_LEN])>
where
    F: Fn(usize) -> RistrettoPoint + Sync + Send,
{
    let chunk = |start: usize| {
        let end = (start + CHUNK).min(n);
        let halves: Vec<RistrettoPoint> = (start..end).map(&half).collect();
        let encoded = RistrettoPoint::double_and_compress_batch(&halves);
        halves
            .iter()
            .zip(encoded)
            .map(|(h, e)| (h + h, e.to_bytes()))
            .collect::<Vec<_>>()
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        if n > CHUNK {
            return (0..n)
                .into_par_iter()
                .step_by(CHUNK)
                .flat_map_iter(chunk)
                .collect();
        }
    }
    (0..n).step_by(CHUNK).flat_map(chunk).collect()
}
