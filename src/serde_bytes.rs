//! The optional `serde` feature: every protocol message (de)serializes as its canonical byte
//! encoding, through the same strict decoder as `from_bytes`, so a message read from JSON or
//! CBOR is checked exactly like one read from the wire.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, SeqAccess, Visitor};

/// Collects the bytes of a byte string or a sequence of bytes, then decodes them.
pub(crate) struct BytesVisitor<T>(PhantomData<T>, fn(&[u8]) -> crate::Result<T>);

impl<T> BytesVisitor<T> {
    pub(crate) fn new(decode: fn(&[u8]) -> crate::Result<T>) -> Self {
        Self(PhantomData, decode)
    }
}

impl<'de, T> Visitor<'de> for BytesVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the canonical byte encoding of a blindnym message")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<T, E> {
        (self.1)(bytes).map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        (self.1)(&bytes).map_err(de::Error::custom)
    }
}

/// Implements `Serialize`/`Deserialize` for message types through their byte encodings:
/// `serde_as_bytes!(Type => |m| m.to_bytes(), ...)`.
macro_rules! serde_as_bytes {
    ($($t:ty => $encode:expr),* $(,)?) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let encode: fn(&$t) -> _ = $encode;
                serializer.serialize_bytes(AsRef::<[u8]>::as_ref(&encode(self)))
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_bytes($crate::serde_bytes::BytesVisitor::new(<$t>::from_bytes))
            }
        }
    )*};
}

use crate::keys::PublicKey;
use crate::messages::{BlindedElement, EvaluatedElement, Proof};
use crate::pseudonym::attested::{
    Assertion, Evaluation, MigrationAssertion, MigrationEvaluation, Request as AttestedRequest,
};
use crate::pseudonym::bulk::{BatchRequest, BatchResponse};
use crate::pseudonym::holder_derived::{
    LoginProof, Request as HolderRequest, Response as HolderResponse,
};
use crate::pseudonym::{Challenge, Pseudonym, SignedKeySet};

serde_as_bytes!(
    BlindedElement => |m| m.to_bytes(),
    EvaluatedElement => |m| m.to_bytes(),
    PublicKey => |m| m.to_bytes(),
    Proof => |m| m.to_bytes(),
    Pseudonym => |m| m.to_bytes(),
    Challenge => |m| m.to_bytes(),
    HolderRequest => |m| m.to_bytes(),
    HolderResponse => |m| m.to_bytes(),
    LoginProof => |m| m.to_bytes(),
    AttestedRequest => |m| m.to_bytes(),
    Evaluation => |m| m.to_bytes(),
    MigrationEvaluation => |m| m.to_bytes(),
    Assertion => |m| m.to_bytes(),
    MigrationAssertion => |m| m.to_bytes(),
    BatchRequest => |m| m.to_bytes(),
    SignedKeySet => |m| m.to_bytes(),
);

impl serde::Serialize for BatchResponse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self.to_bytes().map_err(serde::ser::Error::custom)?;
        serializer.serialize_bytes(&bytes)
    }
}

impl<'de> serde::Deserialize<'de> for BatchResponse {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_bytes(BytesVisitor::new(BatchResponse::from_bytes))
    }
}
