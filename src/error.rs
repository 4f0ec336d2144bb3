//! The crate's one error type.

use core::fmt;

/// Everything that can go wrong in blindnym.
///
/// Decoders never panic on untrusted bytes: every malformed input maps to one of these
/// variants. The RFC 9497 error names (§5.3) are given on each variant where one applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// A byte string had the wrong length (RFC 9497 `DeserializeError`), trailing bytes
    /// included.
    InvalidLength {
        /// The length the decoder expects.
        expected: usize,
        /// The length it was given.
        actual: usize,
    },
    /// A group element encoding is not a canonical ristretto255 encoding (RFC 9496 §4.3.1).
    NonCanonicalElement,
    /// A received group element is the identity, which RFC 9497 `DeserializeElement` rejects.
    IdentityElement,
    /// A scalar encoding is not canonical: its value is the group order or larger.
    NonCanonicalScalar,
    /// A secret scalar (key or blind) was zero where the protocol needs it nonzero.
    ZeroScalar,
    /// An input or field is longer than its limit: an RFC 9497 input or info over 65534
    /// bytes (§5.1 requires fewer than 2^16 - 1), a framed field over 65535, a domain or id
    /// over 255, a realm over 1024 (`spec/03-oprf-core.md` §3.2); also an exhausted epoch
    /// counter.
    InputTooLong,
    /// `HashToGroup(input)` or the POPRF tweaked key is the identity
    /// (RFC 9497 `InvalidInputError`).
    InvalidInput,
    /// The POPRF tweak `skS + m` is zero (RFC 9497 `InverseError`); the key should be replaced.
    InverseError,
    /// `DeriveKeyPair` found no nonzero scalar in 256 tries (RFC 9497 `DeriveKeyPairError`).
    DeriveKeyPair,
    /// A DLEQ proof did not verify (RFC 9497 `VerifyError`).
    VerifyError,
    /// A batch has no elements.
    EmptyBatch,
    /// A batch is longer than one proof covers (65535 elements, RFC 9497 §2.2.1).
    BatchTooLarge {
        /// Its length.
        len: usize,
    },
    /// Two lists that must pair up element by element (inputs and blinds, blinded and
    /// evaluated elements, a batch and its answer) differ in length.
    BatchMismatch {
        /// The first list's length.
        left: usize,
        /// The second list's length.
        right: usize,
    },
    /// A textual form (pseudonym, key id) is malformed or its checksum does not match.
    InvalidText,
    /// An Ed25519 signature did not verify.
    BadSignature,
    /// A flow A assertion answers another session: its session hash is not the one this
    /// relying party's challenge and channel binding give (replayed into another session, or
    /// relayed through another channel by a phishing party; `spec/06-flow-a.md` §6.6). A
    /// flow H login proof for another session fails its signature instead (`BadSignature`).
    SessionMismatch,
    /// An assertion or login answers a challenge that was already answered once
    /// (`spec/06-flow-a.md` §6.6, the nonce store); in threshold mode, an evaluator asked for
    /// a second product of one inversion run (`spec/12-threshold.md` §12.6.3, §12.12.2).
    Replayed,
    /// An assertion has expired.
    Expired,
    /// An expiry is not on the public grid, or too far ahead of the checker's clock: it could
    /// carry a tag (`spec/06-flow-a.md` §6.4).
    OffGridExpiry,
    /// An assertion was made for another service: the recomputed blinded element differs.
    ServiceMismatch,
    /// The key set has no keys for this epoch.
    UnknownEpoch {
        /// The epoch asked for.
        epoch: u32,
    },
    /// The epoch is published but not accepted now: neither the current epoch nor the
    /// previous one within its transition window (`spec/04-keys.md` §4.6).
    StaleEpoch {
        /// The epoch asked for.
        epoch: u32,
    },
    /// The epoch's key has done all the evaluations its budget allows (`spec/04-keys.md`
    /// §4.3); rotate to the next epoch.
    BudgetExhausted,
    /// The key ratchet has moved past this epoch and erased its keys (`spec/04-keys.md` §4.2).
    EpochErased,
    /// The caller is not authorised to evaluate for this domain (`spec/07-flow-b.md` §7.4).
    Unauthorized,
    /// The caller's evaluation quota for this domain is used up (`spec/07-flow-b.md` §7.4).
    QuotaExceeded,
    /// A subject or service id is not in its canonical form (`spec/08-encodings.md` §8.3).
    NonCanonicalId,
    /// A key set's signature does not verify under the trust anchor: unsigned or forged
    /// (`spec/04-keys.md` §4.5).
    KeySetSignature,
    /// The time is outside a key set's validity window, or before its first epoch
    /// (`spec/04-keys.md` §4.5).
    KeySetExpired,
    /// A key set's sequence number is lower than one already accepted, or equal with other
    /// contents (`spec/04-keys.md` §4.5).
    KeySetRollback,
    /// A key set names another realm than the one this party was configured for.
    RealmMismatch,
    /// A key set contradicts one accepted before: it lists an epoch that set listed with
    /// other keys or another start, or its sequence number jumps more than `2^16` past it
    /// (`spec/04-keys.md` §4.5). A signer showing two histories is caught here.
    KeySetEquivocation,
    /// Key transparency: a checkpoint not signed by the pinned log key, or of another log
    /// (`spec/13-transparency.md` §13.3).
    LogSignature,
    /// Key transparency: fewer valid witness cosignatures on a checkpoint than the policy's
    /// quorum (`spec/13-transparency.md` §13.3).
    WitnessQuorum {
        /// Distinct pinned witnesses whose cosignature verified.
        have: usize,
        /// The policy's quorum.
        need: usize,
    },
    /// Key transparency: the key set is not the leaf the inclusion proof proves under the
    /// checkpoint (`spec/13-transparency.md` §13.4).
    NotLogged,
    /// Key transparency: a checkpoint of a smaller tree than one already kept
    /// (`spec/13-transparency.md` §13.5).
    LogRollback,
    /// Key transparency: a checkpoint that is not an extension of the one kept (same size,
    /// another root; or no valid consistency proof): the log shows two histories
    /// (`spec/13-transparency.md` §13.5).
    LogFork,
    /// Threshold mode: a share answer's proof fails against the evaluator's published
    /// verification share (`spec/12-threshold.md` §12.5). The client drops it and combines
    /// another `t`.
    BadShare {
        /// The evaluator that sent it.
        evaluator: u16,
    },
    /// Threshold mode: a dealt share does not match its dealer's commitments, or a key
    /// generation package from that participant fails its checks (§12.4, §12.6).
    BadDealing {
        /// The dealer (or key-generation participant) at fault.
        dealer: u16,
    },
    /// Threshold mode, key generation: another participant confirmed a different transcript
    /// of round one than this one saw, so some participant sent different broadcasts to
    /// different others (§12.4.1, review L8). No key is output. It names the participant
    /// whose confirmation differs, not who equivocated.
    TranscriptMismatch {
        /// The participant whose confirmation differs.
        evaluator: u16,
    },
    /// Threshold mode: a masked product `w_i` whose proof fails (§12.6).
    BadProduct {
        /// The evaluator that sent it.
        evaluator: u16,
    },
    /// Threshold mode: a FROST signature share that does not verify (RFC 9591 §5.4).
    BadSignatureShare {
        /// The signer that sent it.
        evaluator: u16,
    },
    /// Threshold mode: fewer valid contributions than the step needs (`t` answers, `2t − 1`
    /// products or participants).
    TooFewShares {
        /// Valid contributions at hand.
        have: usize,
        /// Contributions the step needs.
        need: usize,
    },
    /// Threshold mode: an evaluator index outside `1..=n`, repeated, or not in the set this
    /// step runs with.
    UnknownEvaluator {
        /// The index.
        index: u16,
    },
    /// Threshold mode: threshold parameters outside `2 ≤ t ≤ n ≤ 255`, or verification shares
    /// that do not lie on one polynomial of degree `t − 1` through the published group key.
    ThresholdParams,
    /// Threshold mode: a tweak record made for another tweak, key or participant set; no
    /// tweak installed for the subject or domain asked about; a tweak share that is not this
    /// evaluator's under the record; an inversion participant's own dealing or share that is
    /// not the one it drew for this run.
    TweakMismatch,
    /// The random number generator returned only zero scalars: it is broken.
    RandomnessFailure,
    /// A structured message (published key set, flow message) has a wrong magic or version,
    /// an empty list, or entries out of order or duplicated (`spec/04-keys.md` §4.5).
    Malformed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidLength { expected, actual } => {
                write!(f, "wrong length: expected {expected} bytes, got {actual}")
            }
            Error::NonCanonicalElement => f.write_str("non-canonical ristretto255 encoding"),
            Error::IdentityElement => f.write_str("group element is the identity"),
            Error::NonCanonicalScalar => {
                f.write_str("scalar is not reduced modulo the group order")
            }
            Error::ZeroScalar => f.write_str("scalar is zero"),
            Error::InputTooLong => f.write_str("input or field longer than its limit"),
            Error::InvalidInput => f.write_str("input hashes to the identity element"),
            Error::InverseError => f.write_str("POPRF tweak is not invertible"),
            Error::DeriveKeyPair => f.write_str("key derivation found no nonzero scalar"),
            Error::VerifyError => f.write_str("DLEQ proof verification failed"),
            Error::EmptyBatch => f.write_str("batch is empty"),
            Error::BatchTooLarge { len } => {
                write!(
                    f,
                    "batch of {len} elements is over the 65535 one proof covers"
                )
            }
            Error::BatchMismatch { left, right } => {
                write!(f, "paired lists differ in length: {left} and {right}")
            }
            Error::InvalidText => f.write_str("malformed text encoding"),
            Error::BadSignature => f.write_str("signature verification failed"),
            Error::SessionMismatch => {
                f.write_str("answers another session (nonce or channel binding differs)")
            }
            Error::Replayed => {
                f.write_str("one-shot step already done (challenge answered, product published)")
            }
            Error::Expired => f.write_str("assertion has expired"),
            Error::OffGridExpiry => f.write_str("expiry is off the public grid or too far ahead"),
            Error::ServiceMismatch => f.write_str("assertion was made for another service"),
            Error::UnknownEpoch { epoch } => write!(f, "no key published for epoch {epoch}"),
            Error::StaleEpoch { epoch } => {
                write!(
                    f,
                    "epoch {epoch} is neither current nor in its transition window"
                )
            }
            Error::BudgetExhausted => f.write_str("the key's evaluation budget is used up"),
            Error::EpochErased => f.write_str("the key ratchet has erased this epoch"),
            Error::Unauthorized => f.write_str("caller is not authorised for this domain"),
            Error::QuotaExceeded => f.write_str("caller's quota for this domain is used up"),
            Error::NonCanonicalId => f.write_str("identifier is not in canonical form"),
            Error::KeySetSignature => f.write_str("key set signature does not verify"),
            Error::KeySetExpired => f.write_str("outside the key set's validity window"),
            Error::KeySetRollback => f.write_str("key set is older than one already accepted"),
            Error::RealmMismatch => f.write_str("key set is for another realm"),
            Error::KeySetEquivocation => {
                f.write_str("key set contradicts one already accepted (an epoch re-keyed)")
            }
            Error::LogSignature => {
                f.write_str("checkpoint is not signed by the pinned transparency log")
            }
            Error::WitnessQuorum { have, need } => write!(
                f,
                "checkpoint cosigned by {have} pinned witnesses, the policy needs {need}"
            ),
            Error::NotLogged => f.write_str("key set is not in the transparency log"),
            Error::LogRollback => {
                f.write_str("transparency log checkpoint is older than one already kept")
            }
            Error::LogFork => f.write_str(
                "transparency log checkpoint is not consistent with the one kept (a split view)",
            ),
            Error::BadShare { evaluator } => {
                write!(
                    f,
                    "evaluator {evaluator} sent a share answer whose proof fails"
                )
            }
            Error::BadDealing { dealer } => {
                write!(
                    f,
                    "participant {dealer} dealt a share that fails its commitments"
                )
            }
            Error::TranscriptMismatch { evaluator } => {
                write!(
                    f,
                    "participant {evaluator} confirmed another key-generation transcript"
                )
            }
            Error::BadProduct { evaluator } => {
                write!(
                    f,
                    "evaluator {evaluator} sent a masked product whose proof fails"
                )
            }
            Error::BadSignatureShare { evaluator } => {
                write!(f, "evaluator {evaluator} sent a signature share that fails")
            }
            Error::TooFewShares { have, need } => {
                write!(f, "{have} valid contributions, {need} needed")
            }
            Error::UnknownEvaluator { index } => {
                write!(
                    f,
                    "evaluator index {index} is unknown, repeated or out of set"
                )
            }
            Error::ThresholdParams => {
                f.write_str("threshold parameters or verification shares are inconsistent")
            }
            Error::TweakMismatch => {
                f.write_str("tweak record is for another tweak, key or participant set")
            }
            Error::RandomnessFailure => f.write_str("random number generator failed"),
            Error::Malformed => f.write_str("malformed message: bad magic, version or order"),
        }
    }
}

/// The class of an [`Error`]: what a caller does about it (`spec/09-errors.md` §9.4). A
/// binding maps each kind to one exception class, a service to one family of refusals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bytes or values given are malformed, non-canonical, empty or over a limit: fix the
    /// input.
    Malformed,
    /// A proof, signature or threshold contribution does not verify: the sender misbehaved.
    Verification,
    /// The signed key set, its epochs or its realm are not acceptable.
    KeySet,
    /// A login session's checks: another session or service, replayed, expired, off-grid.
    Session,
    /// The evaluator's policy refuses: authorisation, quota, the key's budget, an erased
    /// epoch.
    Policy,
    /// Threshold mode: too few contributions, an unknown evaluator, inconsistent parameters
    /// or another tweak record.
    Threshold,
    /// A failure of this party itself: its randomness, or a key that must be replaced.
    Internal,
}

impl Error {
    /// The stable machine-readable code: the variant's name, without its fields
    /// (`spec/09-errors.md` §9.4). Services put it in their refusals and bindings on their
    /// exceptions; it never changes for a variant.
    pub const fn code(&self) -> &'static str {
        match self {
            Error::InvalidLength { .. } => "InvalidLength",
            Error::NonCanonicalElement => "NonCanonicalElement",
            Error::IdentityElement => "IdentityElement",
            Error::NonCanonicalScalar => "NonCanonicalScalar",
            Error::ZeroScalar => "ZeroScalar",
            Error::InputTooLong => "InputTooLong",
            Error::InvalidInput => "InvalidInput",
            Error::InverseError => "InverseError",
            Error::DeriveKeyPair => "DeriveKeyPair",
            Error::VerifyError => "VerifyError",
            Error::EmptyBatch => "EmptyBatch",
            Error::BatchTooLarge { .. } => "BatchTooLarge",
            Error::BatchMismatch { .. } => "BatchMismatch",
            Error::InvalidText => "InvalidText",
            Error::BadSignature => "BadSignature",
            Error::SessionMismatch => "SessionMismatch",
            Error::Replayed => "Replayed",
            Error::Expired => "Expired",
            Error::OffGridExpiry => "OffGridExpiry",
            Error::ServiceMismatch => "ServiceMismatch",
            Error::UnknownEpoch { .. } => "UnknownEpoch",
            Error::StaleEpoch { .. } => "StaleEpoch",
            Error::BudgetExhausted => "BudgetExhausted",
            Error::EpochErased => "EpochErased",
            Error::Unauthorized => "Unauthorized",
            Error::QuotaExceeded => "QuotaExceeded",
            Error::NonCanonicalId => "NonCanonicalId",
            Error::KeySetSignature => "KeySetSignature",
            Error::KeySetExpired => "KeySetExpired",
            Error::KeySetRollback => "KeySetRollback",
            Error::RealmMismatch => "RealmMismatch",
            Error::KeySetEquivocation => "KeySetEquivocation",
            Error::LogSignature => "LogSignature",
            Error::WitnessQuorum { .. } => "WitnessQuorum",
            Error::NotLogged => "NotLogged",
            Error::LogRollback => "LogRollback",
            Error::LogFork => "LogFork",
            Error::BadShare { .. } => "BadShare",
            Error::BadDealing { .. } => "BadDealing",
            Error::TranscriptMismatch { .. } => "TranscriptMismatch",
            Error::BadProduct { .. } => "BadProduct",
            Error::BadSignatureShare { .. } => "BadSignatureShare",
            Error::TooFewShares { .. } => "TooFewShares",
            Error::UnknownEvaluator { .. } => "UnknownEvaluator",
            Error::ThresholdParams => "ThresholdParams",
            Error::TweakMismatch => "TweakMismatch",
            Error::RandomnessFailure => "RandomnessFailure",
            Error::Malformed => "Malformed",
        }
    }

    /// The class of the error (`spec/09-errors.md` §9.4).
    pub const fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidLength { .. }
            | Error::NonCanonicalElement
            | Error::IdentityElement
            | Error::NonCanonicalScalar
            | Error::ZeroScalar
            | Error::InputTooLong
            | Error::InvalidInput
            | Error::EmptyBatch
            | Error::BatchTooLarge { .. }
            | Error::BatchMismatch { .. }
            | Error::InvalidText
            | Error::NonCanonicalId
            | Error::Malformed => ErrorKind::Malformed,
            Error::VerifyError
            | Error::BadSignature
            | Error::BadShare { .. }
            | Error::BadDealing { .. }
            | Error::BadProduct { .. }
            | Error::BadSignatureShare { .. } => ErrorKind::Verification,
            Error::KeySetSignature
            | Error::KeySetExpired
            | Error::KeySetRollback
            | Error::KeySetEquivocation
            | Error::LogSignature
            | Error::WitnessQuorum { .. }
            | Error::NotLogged
            | Error::LogRollback
            | Error::LogFork
            | Error::RealmMismatch
            | Error::UnknownEpoch { .. }
            | Error::StaleEpoch { .. } => ErrorKind::KeySet,
            Error::SessionMismatch
            | Error::Replayed
            | Error::Expired
            | Error::OffGridExpiry
            | Error::ServiceMismatch => ErrorKind::Session,
            Error::Unauthorized
            | Error::QuotaExceeded
            | Error::BudgetExhausted
            | Error::EpochErased => ErrorKind::Policy,
            Error::TooFewShares { .. }
            | Error::UnknownEvaluator { .. }
            | Error::ThresholdParams
            | Error::TranscriptMismatch { .. }
            | Error::TweakMismatch => ErrorKind::Threshold,
            Error::RandomnessFailure | Error::DeriveKeyPair | Error::InverseError => {
                ErrorKind::Internal
            }
        }
    }

    /// The evaluator a threshold refusal blames, if it blames one: the sender of a share,
    /// dealing, product or signature share that failed its check (`spec/12-threshold.md`
    /// §12.10). A combining party drops it and continues with another set.
    pub const fn culprit(&self) -> Option<u16> {
        match self {
            Error::BadShare { evaluator }
            | Error::BadProduct { evaluator }
            | Error::BadSignatureShare { evaluator } => Some(*evaluator),
            Error::BadDealing { dealer } => Some(*dealer),
            Error::InvalidLength { .. }
            | Error::NonCanonicalElement
            | Error::IdentityElement
            | Error::NonCanonicalScalar
            | Error::ZeroScalar
            | Error::InputTooLong
            | Error::InvalidInput
            | Error::InverseError
            | Error::DeriveKeyPair
            | Error::VerifyError
            | Error::EmptyBatch
            | Error::BatchTooLarge { .. }
            | Error::BatchMismatch { .. }
            | Error::InvalidText
            | Error::BadSignature
            | Error::SessionMismatch
            | Error::Replayed
            | Error::Expired
            | Error::OffGridExpiry
            | Error::ServiceMismatch
            | Error::UnknownEpoch { .. }
            | Error::StaleEpoch { .. }
            | Error::BudgetExhausted
            | Error::EpochErased
            | Error::Unauthorized
            | Error::QuotaExceeded
            | Error::NonCanonicalId
            | Error::KeySetSignature
            | Error::KeySetExpired
            | Error::KeySetRollback
            | Error::KeySetEquivocation
            | Error::LogSignature
            | Error::WitnessQuorum { .. }
            | Error::NotLogged
            | Error::LogRollback
            | Error::LogFork
            | Error::RealmMismatch
            | Error::TooFewShares { .. }
            | Error::UnknownEvaluator { .. }
            | Error::ThresholdParams
            | Error::TranscriptMismatch { .. }
            | Error::TweakMismatch
            | Error::RandomnessFailure
            | Error::Malformed => None,
        }
    }
}

impl core::error::Error for Error {}

/// Shorthand for results whose error is [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_variant_names_without_fields() {
        let cases = [
            (
                Error::InvalidLength {
                    expected: 1,
                    actual: 2,
                },
                "InvalidLength",
            ),
            (Error::BadShare { evaluator: 3 }, "BadShare"),
            (Error::TooFewShares { have: 1, need: 2 }, "TooFewShares"),
            (Error::StaleEpoch { epoch: 7 }, "StaleEpoch"),
            (Error::TweakMismatch, "TweakMismatch"),
            (Error::Malformed, "Malformed"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code);
        }
    }

    #[test]
    fn kinds_and_culprits() {
        assert_eq!(Error::QuotaExceeded.kind(), ErrorKind::Policy);
        assert_eq!(Error::NonCanonicalId.kind(), ErrorKind::Malformed);
        assert_eq!(
            Error::BadProduct { evaluator: 4 }.kind(),
            ErrorKind::Verification
        );
        assert_eq!(Error::BadDealing { dealer: 2 }.culprit(), Some(2));
        assert_eq!(Error::BadSignatureShare { evaluator: 5 }.culprit(), Some(5));
        assert_eq!(Error::UnknownEvaluator { index: 9 }.culprit(), None);
        assert_eq!(Error::KeySetRollback.kind(), ErrorKind::KeySet);
    }
}
