//! What the coordinator of an inversion sends each participant (`spec/12-threshold.md`
//! §12.12.2, carried over the peer API's mutually authenticated TLS). Each request names its
//! run, 16 random bytes the coordinator draws, so a participant keeps one state per run and
//! refuses a message of another; round one also names the epoch and realm the run is for
//! ([`RunScope`]), so a participant under another epoch refuses it up front. Strict decoders: counts are checked against what remains
//! before anything is allocated, and trailing bytes are refused.

use super::messages::Dealing;
use super::record::TweakRecord;
use sha2::{Digest, Sha256};

use crate::codec::{Codec, Reader, decodes_from_slice};
use crate::error::{Error, Result};
use crate::pseudonym::SubjectId;
use crate::pseudonym::attested::subject_info;
use crate::pseudonym::bulk::{MAX_DOMAIN_LEN, domain_info};
use crate::threshold::params::MAX_EVALUATORS;

/// A run's identifier.
pub type RunId = [u8; 16];

/// What a run is for beyond its tweak (§12.12.2, review L6): the epoch whose key shares it
/// inverts over and the realm, as SHA-256 of the realm's bytes. A participant refuses round
/// one under another epoch (`UnknownEpoch`) or realm (`RealmMismatch`) before it deals, so
/// a set in the middle of a rotation fails fast instead of producing products that do not
/// combine and blaming each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RunScope {
    /// The epoch.
    pub epoch: u32,
    /// SHA-256 of the realm.
    pub realm: [u8; 32],
}

impl RunScope {
    /// The scope of runs in `epoch` of `realm`.
    pub fn new(epoch: u32, realm: &[u8]) -> Self {
        Self {
            epoch,
            realm: Sha256::digest(realm).into(),
        }
    }

    /// Fails unless `self` (a request's scope) is `expected` (the participant's own).
    ///
    /// # Errors
    /// [`Error::UnknownEpoch`] naming the request's epoch; [`Error::RealmMismatch`].
    pub fn check(&self, expected: &RunScope) -> Result<()> {
        if self.realm != expected.realm {
            return Err(Error::RealmMismatch);
        }
        if self.epoch != expected.epoch {
            return Err(Error::UnknownEpoch { epoch: self.epoch });
        }
        Ok(())
    }
}

/// Which key an inversion is over, and on what tweak (§12.12.2): the flow B key on a domain,
/// or the flow A key on a subject. The flow H key is never inverted, and no value of this
/// type can ask for it. On the wire: `b'B' || domain` or `b'A' || subject`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Flow B: the tweak of a domain (at most 255 bytes).
    Domain(Vec<u8>),
    /// Flow A: the tweak of a subject.
    Subject(SubjectId),
}

impl Target {
    /// The flow B target of `domain`.
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a domain over 255 bytes.
    pub fn domain(domain: &[u8]) -> Result<Self> {
        if domain.len() > MAX_DOMAIN_LEN {
            return Err(Error::InputTooLong);
        }
        Ok(Target::Domain(domain.to_vec()))
    }

    /// The tweak's public info: `bulk::domain_info` (§7.2) or `attested::subject_info`
    /// (§6.2).
    ///
    /// # Errors
    /// [`Error::InputTooLong`] for a domain over 255 bytes.
    pub fn info(&self) -> Result<Vec<u8>> {
        match self {
            Target::Domain(domain) => domain_info(domain),
            Target::Subject(subject) => subject_info(subject),
        }
    }

    /// Its byte on the wire and in an evaluator's tweak store: `b'B'` or `b'A'`.
    pub fn byte(&self) -> u8 {
        match self {
            Target::Domain(_) => b'B',
            Target::Subject(_) => b'A',
        }
    }

    /// The domain's or the subject's bytes.
    pub fn input(&self) -> &[u8] {
        match self {
            Target::Domain(domain) => domain,
            Target::Subject(subject) => subject.as_bytes(),
        }
    }

    /// The target of a byte and an input, as [`Target::byte`] and [`Target::input`] give.
    ///
    /// # Errors
    /// [`Error::Malformed`] for another byte, [`Error::InputTooLong`] for a domain over 255
    /// bytes, [`Error::NonCanonicalId`] for a subject that is not canonical.
    pub fn from_parts(byte: u8, input: &[u8]) -> Result<Self> {
        match byte {
            b'B' => Target::domain(input),
            b'A' => {
                let text = core::str::from_utf8(input).map_err(|_| Error::NonCanonicalId)?;
                Ok(Target::Subject(SubjectId::new(text)?))
            }
            _ => Err(Error::Malformed),
        }
    }
}

/// Round one, coordinator to participant: deal for `run` among `participants` on `target`.
/// `run:16 || epoch:4 || SHA-256(realm):32 || target byte:1 || count:2 || index:2 × count ||
/// input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealRequest {
    /// The run.
    pub run: RunId,
    /// The epoch and realm it is for.
    pub scope: RunScope,
    /// The key and tweak.
    pub target: Target,
    /// The participants, increasing.
    pub participants: Vec<u16>,
}

impl Codec for DealRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.run);
        out.extend_from_slice(&self.scope.epoch.to_be_bytes());
        out.extend_from_slice(&self.scope.realm);
        out.push(self.target.byte());
        // At most 255 participants: checked by every party before a run (`check_set`).
        let count = u16::try_from(self.participants.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for index in &self.participants {
            out.extend_from_slice(&index.to_be_bytes());
        }
        out.extend_from_slice(self.target.input());
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self> {
        let run = reader.array()?;
        let epoch = reader.u32()?;
        let realm = reader.array()?;
        let byte = reader.u8()?;
        let count = reader.u16()?;
        if count > MAX_EVALUATORS {
            return Err(Error::Malformed);
        }
        if reader.remaining() < 2 * usize::from(count) {
            return Err(Error::InvalidLength {
                expected: reader.total() - reader.remaining() + 2 * usize::from(count),
                actual: reader.total(),
            });
        }
        let participants = (0..count)
            .map(|_| reader.u16())
            .collect::<Result<Vec<_>>>()?;
        let input = reader.take(reader.remaining())?;
        Ok(Self {
            run,
            scope: RunScope { epoch, realm },
            target: Target::from_parts(byte, input)?,
            participants,
        })
    }
}

/// Round two, coordinator to participant: every dealing of the run, in participant order.
/// `run:16 || count:2 || (len:2 || dealing) × count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRequest {
    /// The run.
    pub run: RunId,
    /// The dealings.
    pub dealings: Vec<Dealing>,
}

impl Codec for ProductRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.run);
        let count = u16::try_from(self.dealings.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for dealing in &self.dealings {
            let bytes = dealing.to_bytes();
            // A dealing is at most 4 + 32·763 bytes (t = 255).
            out.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self> {
        let run = reader.array()?;
        let count = reader.u16()?;
        if count > MAX_EVALUATORS {
            return Err(Error::Malformed);
        }
        let mut dealings = Vec::new();
        for _ in 0..count {
            dealings.push(Dealing::from_bytes(reader.field()?)?);
        }
        Ok(Self { run, dealings })
    }
}

/// Round three, coordinator to participant: the run's record. `run:16 || record`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishRequest {
    /// The run.
    pub run: RunId,
    /// The record.
    pub record: TweakRecord,
}

impl Codec for FinishRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.run);
        out.extend_from_slice(&self.record.to_bytes());
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self> {
        let run = reader.array()?;
        let record = TweakRecord::from_bytes(reader.take(reader.remaining())?)?;
        Ok(Self { run, record })
    }
}

macro_rules! wire_bytes {
    ($($t:ty),*) => {$(
        impl $t {
            /// The bytes.
            pub fn to_bytes(&self) -> Vec<u8> {
                self.encoded()
            }

            /// Decodes the message strictly.
            ///
            /// # Errors
            /// [`Error::InvalidLength`] for a short message or trailing bytes;
            /// [`Error::Malformed`] for an unknown target byte or a count over 255; the
            /// errors of the target, the dealings or the record inside.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
                Self::decode(bytes)
            }
        }
    )*};
}

wire_bytes!(DealRequest, ProductRequest, FinishRequest);
decodes_from_slice!(DealRequest, ProductRequest, FinishRequest);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip_and_refuse_other_bytes() {
        let subject = Target::Subject(SubjectId::new("alice@example").unwrap());
        let domain = Target::domain(b"dev domain").unwrap();
        for target in [subject, domain] {
            let back = Target::from_parts(target.byte(), target.input()).unwrap();
            assert_eq!(back, target);
        }
        assert_eq!(Target::from_parts(b'H', b"x"), Err(Error::Malformed));
        assert_eq!(Target::from_parts(b'A', b"a b"), Err(Error::NonCanonicalId));
        assert_eq!(Target::domain(&[0; 256]), Err(Error::InputTooLong));
    }

    #[test]
    fn a_run_scope_refuses_another_epoch_or_realm() {
        let mine = RunScope::new(2, b"realm");
        assert_eq!(mine.check(&mine), Ok(()));
        assert_eq!(
            RunScope::new(1, b"realm").check(&mine),
            Err(Error::UnknownEpoch { epoch: 1 })
        );
        assert_eq!(
            RunScope::new(2, b"another").check(&mine),
            Err(Error::RealmMismatch)
        );
    }

    #[test]
    fn deal_request_decodes_strictly() {
        let request = DealRequest {
            run: [7; 16],
            scope: RunScope::new(1, b"realm"),
            target: Target::domain(b"d").unwrap(),
            participants: vec![1, 2, 3],
        };
        let bytes = request.to_bytes();
        assert_eq!(DealRequest::from_bytes(&bytes).unwrap(), request);
        // A count beyond what remains is refused before anything is read.
        let mut short = bytes[..53].to_vec();
        short.extend_from_slice(&200u16.to_be_bytes());
        assert!(matches!(
            DealRequest::from_bytes(&short),
            Err(Error::InvalidLength { .. })
        ));
        let mut many = bytes[..53].to_vec();
        many.extend_from_slice(&256u16.to_be_bytes());
        assert_eq!(DealRequest::from_bytes(&many), Err(Error::Malformed));
        assert!(DealRequest::from_bytes(&bytes[..52]).is_err());
        assert!(ProductRequest::from_bytes(&[0; 15]).is_err());
        let mut trailing = ProductRequest {
            run: [1; 16],
            dealings: Vec::new(),
        }
        .to_bytes();
        trailing.push(0);
        assert!(matches!(
            ProductRequest::from_bytes(&trailing),
            Err(Error::InvalidLength { .. })
        ));
    }
}
