//! `expand_message_xmd` with SHA-512 (RFC 9380 §5.3.1).

use std::sync::LazyLock;

use sha2::{Digest, Sha512};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// SHA-512 block size in bytes (`s_in_bytes`).
const BLOCK: usize = 128;
/// SHA-512 output size in bytes (`b_in_bytes`).
const OUT: usize = 64;

/// SHA-512 after absorbing `Z_pad`, which is exactly one block: every call starts from a copy
/// instead of compressing 128 zero bytes again.
static AFTER_Z_PAD: LazyLock<Sha512> = LazyLock::new(|| {
    let mut h = Sha512::new();
    h.update([0u8; BLOCK]);
    h
});

/// Fills `out` with `expand_message_xmd(msg, dst, out.len())` using SHA-512, where `msg` is
/// the concatenation of `msg_parts` (so callers frame transcripts without allocating).
///
/// # Errors
/// [`Error::InputTooLong`] when `out` is longer than 65535 bytes or 255 hash blocks, or when
/// `dst` is longer than 255 bytes; [`Error::InvalidInput`] when `dst` or `out` is empty
/// (RFC 9380 §3.1, §5.3.1).
pub fn expand_message_xmd(msg_parts: &[&[u8]], dst: &[u8], out: &mut [u8]) -> Result<()> {
    let len = out.len();
    let ell = len.div_ceil(OUT);
    if ell > 255 || len > 65535 || dst.len() > 255 {
        return Err(Error::InputTooLong);
    }
    if dst.is_empty() || len == 0 {
        return Err(Error::InvalidInput);
    }
    let dst_len = [u8::try_from(dst.len()).map_err(|_| Error::InputTooLong)?];
    let len_bytes = u16::try_from(len)
        .map_err(|_| Error::InputTooLong)?
        .to_be_bytes();

    let mut h = AFTER_Z_PAD.clone();
    for part in msg_parts {
        h.update(part);
    }
    h.update(len_bytes);
    h.update([0u8]);
    h.update(dst);
    h.update(dst_len);
    // b_0, b_i and the xor feed on the message, which can be secret (a `DeriveKeyPair` seed):
    // every buffer is cleared before returning.
    let mut b0: [u8; OUT] = h.finalize().into();

    let mut prev = [0u8; OUT];
    // `ell <= 255` was checked above, so the one-byte counter 1..=255 covers every block.
    for (counter, chunk) in (1u8..=255).zip(out.chunks_mut(OUT)) {
        let mut block_input = [0u8; OUT];
        for (dst_byte, (a, b)) in block_input.iter_mut().zip(b0.iter().zip(prev.iter())) {
            *dst_byte = a ^ b;
        }
        let mut h = Sha512::new();
        // b_1 hashes b_0 itself; b_i for i > 1 hashes b_0 xor b_(i-1). With prev = 0 the xor is b_0.
        h.update(block_input);
        h.update([counter]);
        h.update(dst);
        h.update(dst_len);
        let mut bi: [u8; OUT] = h.finalize().into();
        block_input.zeroize();
        prev.copy_from_slice(&bi);
        chunk.copy_from_slice(&bi[..chunk.len()]);
        bi.zeroize();
    }
    b0.zeroize();
    prev.zeroize();
    Ok(())
}

/// `expand_message_xmd` to exactly 64 bytes, the size every RFC 9497 hash in this suite uses.
///
/// # Errors
/// As [`expand_message_xmd`]; with the crate's fixed DSTs none can occur.
pub(crate) fn expand_64(msg_parts: &[&[u8]], dst: &[u8]) -> Result<Zeroizing<[u8; 64]>> {
    let mut out = Zeroizing::new([0u8; 64]);
    expand_message_xmd(msg_parts, dst, out.as_mut())?;
    Ok(out)
}
