//! The messages between evaluators in threshold mode (the peer API, `spec/12-threshold.md`
//! §12.6 carried over mutually authenticated TLS). Each names its run: 16 random bytes the
//! coordinator draws, so a participant keeps one state per run and refuses a message of
//! another. Strict decoders: counts are checked against what remains before anything is
//! allocated, and trailing bytes are refused.

use blindnym::threshold::MAX_EVALUATORS;
use blindnym::threshold::inversion::{Dealing, TweakRecord};

use crate::error::{Result, ServerError};

/// A run's identifier.
pub type RunId = [u8; 16];

/// The largest tweak input a peer message carries (a domain or a subject, as
/// `bulk::domain_info` and `attested::subject_info` allow).
const MAX_INPUT: usize = 65_534;

/// Which key an inversion is over, and so what its tweak input is (`spec/12-threshold.md`
/// §12.12.2): the flow B key on a domain, or the flow A key on a subject. The flow H key is
/// never inverted, and no byte can ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Flow B: the tweak of a domain.
    Bulk,
    /// Flow A: the tweak of a subject.
    Attested,
}

impl Role {
    /// Its byte on the wire and in the tweak store.
    pub fn byte(self) -> u8 {
        match self {
            Role::Bulk => b'B',
            Role::Attested => b'A',
        }
    }

    /// The role of a byte.
    ///
    /// # Errors
    /// `Protocol(Malformed)` for any other byte.
    pub fn from_byte(byte: u8) -> Result<Self> {
        match byte {
            b'B' => Ok(Role::Bulk),
            b'A' => Ok(Role::Attested),
            _ => Err(malformed()),
        }
    }
}

fn malformed() -> ServerError {
    ServerError::Protocol(blindnym::Error::Malformed)
}

/// A cursor over a peer message.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(ServerError::Protocol(blindnym::Error::InvalidLength {
                expected: n,
                actual: self.0.len(),
            }));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8> {
        match self.take(1)? {
            [byte] => Ok(*byte),
            _ => Err(malformed()),
        }
    }

    fn u16(&mut self) -> Result<u16> {
        let bytes = self.take(2)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn run(&mut self) -> Result<RunId> {
        self.take(16)?.try_into().map_err(|_| malformed())
    }

    fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// Round one, coordinator to participant: deal for `run` among `participants` on the tweak
/// of `input` under `role`. `run:16 || role:1 || count:2 || index:2 × count || input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealRequest {
    /// The run.
    pub run: RunId,
    /// The key, and what `input` is.
    pub role: Role,
    /// The participants, increasing.
    pub participants: Vec<u16>,
    /// The flow B domain or the flow A subject.
    pub input: Vec<u8>,
}

impl DealRequest {
    /// The bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.run.to_vec();
        out.push(self.role.byte());
        let count = u16::try_from(self.participants.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for index in &self.participants {
            out.extend_from_slice(&index.to_be_bytes());
        }
        out.extend_from_slice(&self.input);
        out
    }

    /// Decodes a deal request.
    ///
    /// # Errors
    /// `Protocol(InvalidLength)` for a short message, `Protocol(Malformed)` for an unknown
    /// role, a count over [`MAX_EVALUATORS`] or an overlong input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut cursor = Cursor(bytes);
        let run = cursor.run()?;
        let role = Role::from_byte(cursor.u8()?)?;
        let count = cursor.u16()?;
        if count > MAX_EVALUATORS {
            return Err(malformed());
        }
        let participants = (0..count)
            .map(|_| cursor.u16())
            .collect::<Result<Vec<_>>>()?;
        let input = cursor.rest();
        if input.len() > MAX_INPUT {
            return Err(malformed());
        }
        Ok(Self {
            run,
            role,
            participants,
            input: input.to_vec(),
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

impl ProductRequest {
    /// The bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.run.to_vec();
        let count = u16::try_from(self.dealings.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for dealing in &self.dealings {
            let bytes = dealing.to_bytes();
            out.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Decodes a product request.
    ///
    /// # Errors
    /// `Protocol(InvalidLength)` for a short message or trailing bytes, `Protocol(Malformed)`
    /// for a count over [`MAX_EVALUATORS`]; a dealing's own decoding error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut cursor = Cursor(bytes);
        let run = cursor.run()?;
        let count = cursor.u16()?;
        if count > MAX_EVALUATORS {
            return Err(malformed());
        }
        let mut dealings = Vec::new();
        for _ in 0..count {
            let len = usize::from(cursor.u16()?);
            dealings.push(Dealing::from_bytes(cursor.take(len)?)?);
        }
        let rest = cursor.rest();
        if !rest.is_empty() {
            return Err(ServerError::Protocol(blindnym::Error::InvalidLength {
                expected: bytes.len() - rest.len(),
                actual: bytes.len(),
            }));
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

impl FinishRequest {
    /// The bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.run.to_vec();
        out.extend_from_slice(&self.record.to_bytes());
        out
    }

    /// Decodes a finish request.
    ///
    /// # Errors
    /// `Protocol(InvalidLength)` for a short message; the record's own decoding error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut cursor = Cursor(bytes);
        let run = cursor.run()?;
        Ok(Self {
            run,
            record: TweakRecord::from_bytes(cursor.rest())?,
        })
    }
}
