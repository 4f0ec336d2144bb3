//! The raw curve floor: the least per-element work each protocol stage does with
//! curve25519-dalek, done one element at a time with nothing else around it.
//!
//! The runner and the criterion benches divide a stage's cost per element by its floor,
//! measured in the same run on the same thread count, so 1.00 reads "at the curve library's
//! own limit" whatever the machine. Both use this one definition.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRng;
use zeroize::Zeroize;

use crate::error::Result;
use crate::finalize::finalize_hash;
use crate::group::{ELEMENT_LEN, hash_to_group, input_len_prefix, random_scalar};
use crate::suite::Mode;

/// A stage of the protocol, in the order an evaluation runs through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// The client's `Blind` (RFC 9497 §3.3.1).
    Blind,
    /// The server's `BlindEvaluate` (RFC 9497 §3.3), proof included.
    Evaluate,
    /// The client's `Finalize` (RFC 9497 §3.3), proof verification included.
    Finalize,
}

impl Stage {
    /// Every stage, in protocol order.
    pub const ALL: [Stage; 3] = [Stage::Blind, Stage::Evaluate, Stage::Finalize];

    /// The stage's lower-case name: `blind`, `evaluate` or `finalize`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Blind => "blind",
            Stage::Evaluate => "evaluate",
            Stage::Finalize => "finalize",
        }
    }
}

/// The elements one floor round works on: inputs, the wire elements of a request and its
/// response, and fresh throwaway scalars in place of the (private) blinds and key, since the
/// floor's cost does not depend on their values.
///
/// Per element, [`Floor::run`] does:
/// * [`Stage::Blind`]: RFC 9380 hash-to-group, scalar multiplication, encoding;
/// * [`Stage::Evaluate`]: decoding, constant-time variable-base scalar multiplication, encoding;
/// * [`Stage::Finalize`]: decoding, scalar inversion, scalar multiplication, encoding, and the
///   `Finalize` hash.
pub struct Floor<'a, I> {
    mode: Mode,
    inputs: &'a [I],
    request: &'a [[u8; ELEMENT_LEN]],
    response: &'a [[u8; ELEMENT_LEN]],
    blinds: Vec<Scalar>,
    key: Scalar,
}

impl<'a, I: AsRef<[u8]> + Sync> Floor<'a, I> {
    /// A floor round over the first `n` elements, `n` the shortest of the three lists, with
    /// `HashToGroup` under `mode`'s tag.
    ///
    /// # Errors
    /// [`Error::InputTooLong`](crate::Error::InputTooLong) for an input over 65534 bytes,
    /// [`Error::RandomnessFailure`](crate::Error::RandomnessFailure) for a broken RNG.
    pub fn new(
        mode: Mode,
        inputs: &'a [I],
        request: &'a [[u8; ELEMENT_LEN]],
        response: &'a [[u8; ELEMENT_LEN]],
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<Self> {
        let n = inputs.len().min(request.len()).min(response.len());
        for input in &inputs[..n] {
            input_len_prefix(input.as_ref())?;
        }
        let blinds = (0..n).map(|_| random_scalar(rng)).collect::<Result<_>>()?;
        Ok(Self {
            mode,
            inputs: &inputs[..n],
            request: &request[..n],
            response: &response[..n],
            blinds,
            key: random_scalar(rng)?,
        })
    }

    /// Elements in the round.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether the round has no elements.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The floor of `stage` for element `i`, returning the encoding it produced (the first
    /// 32 bytes of the `Finalize` output for [`Stage::Finalize`]). An undecodable wire element
    /// counts as the identity: the floor measures cost, not validity.
    fn element(&self, stage: Stage, i: usize) -> [u8; ELEMENT_LEN] {
        let decode = |bytes: &[u8; ELEMENT_LEN]| {
            CompressedRistretto(*bytes).decompress().unwrap_or_default()
        };
        match stage {
            Stage::Blind => {
                let point: RistrettoPoint =
                    hash_to_group(self.mode, self.inputs[i].as_ref()).unwrap_or_default();
                (self.blinds[i] * point).compress().to_bytes()
            }
            Stage::Evaluate => (self.key * decode(&self.request[i])).compress().to_bytes(),
            Stage::Finalize => {
                let unblinded = (self.blinds[i].invert() * decode(&self.response[i])).compress();
                let mut out = [0u8; ELEMENT_LEN];
                // Input lengths were checked in `new`, so the hash cannot fail.
                if let Ok(output) =
                    finalize_hash(self.inputs[i].as_ref(), None, unblinded.as_bytes())
                {
                    out.copy_from_slice(&output.as_bytes()[..ELEMENT_LEN]);
                }
                out
            }
        }
    }

    /// Runs the floor of `stage` over every element, one element at a time, spread over the
    /// current rayon pool with the `parallel` feature.
    pub fn run(&self, stage: Stage) {
        #[cfg(feature = "parallel")]
        let out: Vec<[u8; ELEMENT_LEN]> = {
            use rayon::prelude::*;
            (0..self.len())
                .into_par_iter()
                .with_min_len(8)
                .map(|i| self.element(stage, i))
                .collect()
        };
        #[cfg(not(feature = "parallel"))]
        let out: Vec<[u8; ELEMENT_LEN]> = (0..self.len()).map(|i| self.element(stage, i)).collect();
        core::hint::black_box(out);
    }
}

impl<I> Drop for Floor<'_, I> {
    fn drop(&mut self) {
        self.blinds.zeroize();
        self.key.zeroize();
    }
}

impl<I> core::fmt::Debug for Floor<'_, I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Floor")
            .field("mode", &self.mode)
            .field("elements", &self.inputs.len())
            .finish_non_exhaustive()
    }
}
