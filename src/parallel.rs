//! Data-parallel helpers for batch paths: rayon when the `parallel` feature is on, a plain
//! loop otherwise. Results keep input order either way.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use zeroize::Zeroize;

use crate::error::Result;
use crate::group::ELEMENT_LEN;

/// Most elements handled per task: large enough that batched compression amortizes its one
/// field inversion (about 0.1 µs an element at 64) and rayon's scheduling.
pub(crate) const CHUNK: usize = 128;

/// Fewest elements per task of [`map_indices`]: its cheapest use (a `Finalize` hash, under a
/// microsecond) still outweighs rayon's per-task cost at this length.
#[cfg(feature = "parallel")]
const MAP_MIN_LEN: usize = 32;

/// Most elements per task of [`map_indices`]. Without a cap rayon splits a range only as far
/// as work is stolen, and the thread that keeps the first half runs long pieces whole, leaving
/// the others idle at the end; an element decoding (its dearest use, about 6 µs) makes a
/// piece of this length well under a millisecond.
#[cfg(feature = "parallel")]
const MAP_MAX_LEN: usize = 2 * MAP_MIN_LEN;

/// Fewest elements per task of a batched compression.
const MIN_CHUNK: usize = 16;

/// Tasks a batch aims to give each thread: when one thread runs out of tasks it waits for the
/// others' last task, half a task on average, so the tail is 1/32 of a thread's share.
const TASKS_PER_THREAD: usize = 16;

/// Elements per task for a batch of `n`: about [`TASKS_PER_THREAD`] tasks per thread, within
/// [`MIN_CHUNK`]..=[`CHUNK`].
fn chunk_len(n: usize) -> usize {
    n.div_ceil(TASKS_PER_THREAD * threads())
        .clamp(MIN_CHUNK, CHUNK)
}

/// Threads of the current rayon pool (1 without the `parallel` feature).
pub(crate) fn threads() -> usize {
    #[cfg(feature = "parallel")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "parallel"))]
    {
        1
    }
}

/// `f(0), f(1), …, f(n - 1)`, in order, stopping at the first error.
#[cfg(feature = "parallel")]
pub(crate) fn map_indices<T, F>(n: usize, f: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> Result<T> + Sync + Send,
{
    use rayon::prelude::*;
    if n <= MAP_MIN_LEN {
        return (0..n).map(f).collect();
    }
    (0..n)
        .into_par_iter()
        .with_min_len(MAP_MIN_LEN)
        .with_max_len(MAP_MAX_LEN)
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

/// `k / 2`, for the fused doubling in [`doubled_and_encoded`]; constant-time
/// (`Scalar::div_by_2` adds the order under a mask when `k` is odd).
pub(crate) fn half(k: &Scalar) -> Scalar {
    k.div_by_2()
}

/// For each `i < n`, `then(i, half(i), encoding of 2·half(i))`, in order, stopping at the
/// first error; one pass per chunk, so a batch costs one parallel phase.
///
/// Callers pass `half(i) = (k/2)·P` to get `k·P` encoded (and `h + h` for the point itself
/// when they need it): the doubling is fused into curve25519-dalek's
/// `double_and_compress_batch`, which shares one field inversion across a chunk instead of
/// paying one per element.
pub(crate) fn doubled_and_encoded<T, E, H, F>(
    n: usize,
    half: H,
    then: F,
) -> core::result::Result<Vec<T>, E>
where
    T: Send,
    E: Send,
    H: Fn(usize) -> core::result::Result<RistrettoPoint, E> + Sync + Send,
    F: Fn(usize, &RistrettoPoint, [u8; ELEMENT_LEN]) -> core::result::Result<T, E> + Sync + Send,
{
    let len = chunk_len(n);
    let chunk = |start: usize| -> core::result::Result<Vec<T>, E> {
        let end = (start + len).min(n);
        let mut halves = (start..end)
            .map(&half)
            .collect::<core::result::Result<Vec<RistrettoPoint>, E>>()?;
        let mut encoded = RistrettoPoint::double_and_compress_batch(&halves);
        let results = (start..end)
            .zip(halves.iter().zip(&encoded))
            .map(|(i, (h, e))| then(i, h, e.to_bytes()))
            .collect();
        // The client's unblinded elements pass through here: leave no copy behind.
        halves.zeroize();
        encoded.zeroize();
        results
    };
    #[cfg(feature = "parallel")]
    let chunks: Vec<_> = {
        use rayon::prelude::*;
        // One rayon task per chunk (see `MAP_MAX_LEN`).
        (0..n)
            .into_par_iter()
            .step_by(len)
            .with_max_len(1)
            .map(chunk)
            .collect()
    };
    #[cfg(not(feature = "parallel"))]
    let chunks: Vec<_> = (0..n).step_by(len).map(chunk).collect();
    let mut out = Vec::with_capacity(n);
    for chunk in chunks {
        out.extend(chunk?);
    }
    Ok(out)
}
