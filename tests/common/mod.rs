//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};

/// An RNG that replays fixed byte strings: each `fill_bytes` call takes the next queued
/// string, which must have exactly the requested length. Running dry or a length mismatch
/// is a test bug and panics.
pub struct ReplayRng {
    queue: VecDeque<Vec<u8>>,
}

impl ReplayRng {
    pub fn new<I: IntoIterator<Item = Vec<u8>>>(items: I) -> Self {
        Self {
            queue: items.into_iter().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

impl TryRng for ReplayRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        let next = self.queue.pop_front().expect("replay RNG ran dry");
        assert_eq!(next.len(), dst.len(), "replay RNG length mismatch");
        dst.copy_from_slice(&next);
        Ok(())
    }
}

impl TryCryptoRng for ReplayRng {}

/// A seeded ChaCha20 RNG for deterministic randomized tests.
pub fn seeded(seed: u8) -> rand_chacha::ChaCha20Rng {
    use rand_core::SeedableRng;
    rand_chacha::ChaCha20Rng::from_seed([seed; 32])
}

pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test vector hex")
}

pub fn load(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("vector file");
    serde_json::from_str(&text).expect("vector JSON")
}

pub fn hex_list(v: &serde_json::Value) -> Vec<Vec<u8>> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| unhex(x.as_str().expect("hex string")))
        .collect()
}

pub fn hex_field(v: &serde_json::Value, key: &str) -> Vec<u8> {
    unhex(v[key].as_str().expect("hex field"))
}

// ------------------------------------------------------------ pseudonym-layer fixtures

use blindnym::pseudonym::flow_a::{self, Assertion, Nonce};
use blindnym::pseudonym::{EvaluatorKeys, PublishedKeys, RootSeed};

pub const REALM: &[u8] = b"test realm";
pub const NOW: u64 = 1_700_000_000;
pub const EXPIRY: u64 = NOW + 300;

pub fn root(byte: u8) -> RootSeed {
    RootSeed::from_bytes(&[byte; 32]).expect("a 32-byte seed")
}

pub fn keys(byte: u8, epoch: u32) -> EvaluatorKeys {
    EvaluatorKeys::derive(&root(byte), REALM, epoch).expect("derive keys")
}

/// The key set every fixture's holder and relying party trust: root 1, epochs 1 and 2.
pub fn published() -> PublishedKeys {
    PublishedKeys::derive(&root(1), REALM, &[1, 2]).expect("derive key set")
}

pub fn rp(service: &[u8]) -> flow_a::RelyingParty {
    flow_a::RelyingParty::new(published(), service).expect("relying party")
}

pub struct Session {
    pub assertion: Assertion,
    pub nonce: Nonce,
}

/// Runs flow A for `subject` while the holder blinds `holder_service`; every message
/// crosses the wire as bytes.
pub fn flow_a_session(
    evaluator: &flow_a::Evaluator,
    subject: &[u8],
    holder_service: &[u8],
    seed: u8,
) -> blindnym::Result<Session> {
    let mut rng = seeded(seed);
    let nonce = Nonce::generate(&mut rng);
    let holder = flow_a::Holder::new(published(), subject)?;
    let (state, request) = holder.request(holder_service, &nonce, &mut rng)?;
    let request = flow_a::Request::from_bytes(&request.to_bytes())?;
    // The evaluator gets the subject it authenticated, B and H(nonce) — no service id.
    let evaluation = evaluator.evaluate(subject, &request, EXPIRY, &mut rng)?;
    let evaluation = flow_a::Evaluation::from_bytes(&evaluation.to_bytes())?;
    let assertion = holder.finish(state, &evaluation)?;
    let assertion = Assertion::from_bytes(&assertion.to_bytes())?;
    Ok(Session { assertion, nonce })
}
