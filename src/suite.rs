//! Protocol modes and the per-mode context string and domain separation tags
//! (RFC 9497 §3.1, §4.1).

/// The three RFC 9497 protocol variants (§3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Mode {
    /// Base OPRF, `modeOPRF = 0x00`.
    Oprf = 0x00,
    /// Verifiable OPRF, `modeVOPRF = 0x01`.
    Voprf = 0x01,
    /// Partially oblivious (verifiable) OPRF, `modePOPRF = 0x02`.
    Poprf = 0x02,
}

/// The suite identifier of RFC 9497 §4.1.
pub const SUITE_ID: &[u8] = b"ristretto255-SHA512";

const CONTEXT_LEN: usize = 7 + 1 + 1 + SUITE_ID.len();

/// `I2OSP(len(seedDST), 2)` of `ComputeComposites` (RFC 9497 §2.2.1), the same in every mode.
#[allow(
    clippy::cast_possible_truncation,
    reason = "33 fits in a u16, asserted below"
)]
pub(crate) const SEED_DST_LEN_PREFIX: [u8; 2] = (SEED_DST_LEN as u16).to_be_bytes();
const SEED_DST_LEN: usize = 5 + CONTEXT_LEN;
const _: () = assert!(SEED_DST_LEN <= u16::MAX as usize);

/// The domain separation tags of one mode, built at compile time.
pub(crate) struct Dsts {
    pub(crate) hash_to_group: [u8; 12 + CONTEXT_LEN],
    pub(crate) hash_to_scalar: [u8; 13 + CONTEXT_LEN],
    pub(crate) derive_key_pair: [u8; 13 + CONTEXT_LEN],
    pub(crate) seed: [u8; SEED_DST_LEN],
}

/// `CreateContextString(mode, identifier)` (RFC 9497 §3.1): `"OPRFV1-" || mode || "-" || id`.
const fn context_string(mode: Mode) -> [u8; CONTEXT_LEN] {
    let mut out = [0u8; CONTEXT_LEN];
    let prefix = b"OPRFV1-";
    let mut i = 0;
    while i < prefix.len() {
        out[i] = prefix[i];
        i += 1;
    }
    out[7] = mode as u8;
    out[8] = b'-';
    let mut j = 0;
    while j < SUITE_ID.len() {
        out[9 + j] = SUITE_ID[j];
        j += 1;
    }
    out
}

/// `label || contextString`, checked at compile time to fill exactly `N` bytes.
const fn prefixed<const N: usize>(label: &[u8], mode: Mode) -> [u8; N] {
    let ctx = context_string(mode);
    assert!(label.len() + ctx.len() == N);
    let mut out = [0u8; N];
    let mut i = 0;
    while i < label.len() {
        out[i] = label[i];
        i += 1;
    }
    let mut j = 0;
    while j < ctx.len() {
        out[label.len() + j] = ctx[j];
        j += 1;
    }
    out
}

const fn dsts(mode: Mode) -> Dsts {
    Dsts {
        hash_to_group: prefixed(b"HashToGroup-", mode),
        hash_to_scalar: prefixed(b"HashToScalar-", mode),
        // RFC 9497 §3.2.1: no hyphen after "DeriveKeyPair".
        derive_key_pair: prefixed(b"DeriveKeyPair", mode),
        seed: prefixed(b"Seed-", mode),
    }
}

static OPRF_DSTS: Dsts = dsts(Mode::Oprf);
static VOPRF_DSTS: Dsts = dsts(Mode::Voprf);
static POPRF_DSTS: Dsts = dsts(Mode::Poprf);

impl Mode {
    /// The mode's context string (RFC 9497 §3.1), 28 bytes.
    pub const fn context_string(self) -> [u8; CONTEXT_LEN] {
        context_string(self)
    }

    pub(crate) fn dsts(self) -> &'static Dsts {
        match self {
            Mode::Oprf => &OPRF_DSTS,
            Mode::Voprf => &VOPRF_DSTS,
            Mode::Poprf => &POPRF_DSTS,
        }
    }
}
