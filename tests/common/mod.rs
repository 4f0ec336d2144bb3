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

use blindnym::pseudonym::attested::{self, Assertion};
use blindnym::pseudonym::{
    ChannelBinding, EpochKeys, EvaluationBudget, KeyRatchet, KeySet, KeySetSigner, KeySetVerifier,
    MemoryNonceStore, PendingChallenge, RootSeed, ServiceId, SignedKeySet, SubjectId,
    VerifiedKeySet,
};

pub const REALM: &[u8] = b"test realm";
/// The tests' clock: epoch 2 began an hour ago, so epoch 1 is in its transition window.
pub const NOW: u64 = 1_700_000_000;
pub const EPOCH_1_START: u64 = NOW - 30 * 86_400;
pub const EPOCH_2_START: u64 = NOW - 3_600;
/// The key set's validity window.
pub const SET_NOT_AFTER: u64 = NOW + 30 * 86_400;

pub fn root(byte: u8) -> RootSeed {
    RootSeed::from_bytes(&[byte; 32]).expect("a 32-byte seed")
}

/// The keys of `epoch` from the ratchet started at epoch 1 with root `byte`.
pub fn keys(byte: u8, epoch: u32) -> EpochKeys {
    KeyRatchet::new(&root(byte), REALM, 1)
        .and_then(|r| r.keys_for(epoch))
        .expect("derive keys")
}

/// The long-term key that signs the fixtures' key sets.
pub fn signer() -> KeySetSigner {
    KeySetSigner::from_bytes(&[0x51; 32]).expect("signer")
}

/// The signed key set every fixture trusts: root 1, epochs 1 and 2, sequence 1.
pub fn signed_set() -> SignedKeySet {
    let epochs = vec![
        keys(1, 1).public(EPOCH_1_START),
        keys(1, 2).public(EPOCH_2_START),
    ];
    signer().sign(KeySet::new(REALM, 1, EPOCH_1_START, SET_NOT_AFTER, epochs).expect("set"))
}

/// A key set with the fixtures' window and realm signed by a forger's key (not the anchor).
pub fn forged_set(sequence: u64) -> SignedKeySet {
    KeySetSigner::from_bytes(&[0x66; 32]).expect("forger").sign(
        KeySet::new(
            REALM,
            sequence,
            EPOCH_1_START,
            SET_NOT_AFTER,
            vec![keys(66, 1).public(0)],
        )
        .expect("set"),
    )
}

/// [`signed_set`], verified at [`NOW`].
pub fn published() -> VerifiedKeySet {
    KeySetVerifier::new(signer().verifying_key(), REALM)
        .accept(&signed_set(), NOW)
        .expect("verified key set")
}

pub fn service(origin: &str) -> ServiceId {
    ServiceId::from_origin(origin).expect("canonical service id")
}

pub fn subject(id: &str) -> SubjectId {
    SubjectId::new(id).expect("canonical subject id")
}

pub fn channel(byte: u8) -> ChannelBinding {
    ChannelBinding::new([byte; 32])
}

pub fn attested_evaluator(byte: u8, epoch: u32) -> attested::Evaluator {
    attested::Evaluator::new(keys(byte, epoch).attested(), EvaluationBudget::default())
}

pub fn rp(origin: &str) -> attested::RelyingParty {
    attested::RelyingParty::new(published(), service(origin)).expect("relying party")
}

/// One flow A login: the relying party at `rp_origin` challenges; the holder, whose channel
/// is authenticated as `holder_origin` with binding `holder_channel`, asks `evaluator`;
/// every message crosses the wire as bytes.
pub struct Session {
    pub pending: PendingChallenge,
    pub assertion: Assertion,
}

pub fn flow_a_session(
    evaluator: &attested::Evaluator,
    who: &str,
    holder_origin: &str,
    holder_channel: &ChannelBinding,
    seed: u8,
) -> blindnym::Result<Session> {
    let mut rng = seeded(seed);
    let (pending, challenge) = rp(holder_origin).challenge(&mut rng, NOW);
    let holder = attested::Holder::new(published(), subject(who))?;
    let (state, request) = holder.request(
        &service(holder_origin),
        &challenge,
        holder_channel,
        &mut rng,
    )?;
    let request = attested::Request::from_bytes(&request.to_bytes())?;
    // The evaluator gets the subject it authenticated, B and the session hash: no service id.
    let evaluation = evaluator.evaluate(&subject(who), &request, NOW, &mut rng)?;
    let evaluation = attested::Evaluation::from_bytes(&evaluation.to_bytes())?;
    let assertion = holder.finish(state, &evaluation, NOW)?;
    let assertion = Assertion::from_bytes(&assertion.to_bytes())?;
    Ok(Session { pending, assertion })
}

/// Verifies a session's assertion at the relying party `origin` over `channel`, with a
/// fresh nonce store.
pub fn verify_at(
    origin: &str,
    session: Session,
    channel: &ChannelBinding,
    now: u64,
) -> blindnym::Result<blindnym::Pseudonym> {
    rp(origin).verify(
        session.pending,
        &session.assertion,
        channel,
        now,
        &MemoryNonceStore::new(),
    )
}

#[cfg(feature = "transparency")]
pub mod transparency;
