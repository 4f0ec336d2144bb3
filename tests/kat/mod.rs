//! Known-answer vectors of the pseudonym layer, version 2 (spec/11-vectors.md): the
//! deterministic RNG, the generator of `spec/vectors/*.json`, the check that regenerates a
//! vector from its own inputs, and the negative (Wycheproof-style) cases.
//!
//! `tests/pseudonym_vectors.rs` checks the committed files against this generator;
//! `BLINDNYM_WRITE_VECTORS=1 cargo test --test pseudonym_vectors` rewrites them.
//!
//! Every vector is made twice over: once through the flow API (holder, evaluator, relying
//! party, every message crossing as bytes) and once from the spec's formulas through the
//! RFC 9497 core, BLAKE3 and Ed25519 directly; the two must agree or generation fails.

use std::convert::Infallible;

use blindnym::curve25519_dalek::scalar::Scalar;
use blindnym::ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use blindnym::hazmat::{hash_to_group, tweaked_public_key};
use blindnym::pseudonym::attested::{
    self, Assertion, Evaluation, MigrationAssertion, MigrationEvaluation,
};
use blindnym::pseudonym::bulk::{
    self, BatchRequest, BatchResponse, BlindBatch, CallerId, Grants, MemoryQuota,
};
use blindnym::pseudonym::holder_derived::{self, LoginProof, MasterCredential};
use blindnym::pseudonym::key_schedule::{Purpose, key_info};
use blindnym::pseudonym::session::grid_expiry;
use blindnym::pseudonym::{
    Challenge, ChannelBinding, EpochKeys, EvaluationBudget, KeyRatchet, KeySet, KeySetSigner,
    KeySetVerifier, MemoryNonceStore, PendingChallenge, RootSeed, ServiceId, SignedKeySet,
    SubjectId, VerifiedKeySet,
};
use blindnym::pseudonym::{context, frame};
use blindnym::rand_core::{TryCryptoRng, TryRng};
use blindnym::{Error, Mode, PoprfClient, Pseudonym, VoprfClient};
use serde_json::{Value, json};

/// The command that writes the vector files; every file's `"generator"` field says it.
pub const GENERATOR: &str = "BLINDNYM_WRITE_VECTORS=1 cargo test --test pseudonym_vectors";

/// The deterministic RNG of the vectors. Never use it outside tests and vector generation.
///
/// `DetRng::new(label, seed)` is an endless byte stream: the BLAKE3 extendable output (XOF)
/// of the keyed hash `BLAKE3-keyed(key = seed, message = UTF-8 bytes of label)`, read from
/// its first byte on. Each flow uses one stream, labelled `flow-H`, `flow-A` or `flow-B`,
/// keyed by the vector's `rng_seed`. Every draw takes the next bytes of the stream:
///
/// - `fill_bytes(n)` takes the next `n` bytes;
/// - `next_u32` and `next_u64` take the next 4 and 8 bytes, read little-endian (the library
///   never calls them).
///
/// The library draws 32 bytes at a time: a blind is RFC 9497 `RandomScalar` (§4.7.1) as
/// `spec/03-oprf-core.md` §3 gives it (32 bytes, the top four bits of the last byte cleared,
/// read little-endian; a zero is drawn again); a DLEQ proof takes 32 fresh bytes for its
/// hedged nonce (`spec/03-oprf-core.md` §3.6); a challenge nonce is 32 bytes as drawn.
/// Ed25519 signing is deterministic and draws nothing. The parties draw from the one stream
/// in protocol order, which each file's description states.
///
/// Seeds are named, never magic: a seed named `name` is
/// `BLAKE3-derive_key(context = "blindnym v1 test vector seed", key material = UTF-8 name)`
/// (see [`label_seed`]), and every vector records each name next to its seed
/// (`rng_seed_label` and `rng_seed`, `root_seed_label` and `root_seed`, ...).
#[derive(Clone)]
pub struct DetRng(blake3::OutputReader);

impl DetRng {
    /// The stream labelled `label` under `seed`.
    pub fn new(label: &str, seed: &[u8; 32]) -> Self {
        let mut hasher = blake3::Hasher::new_keyed(seed);
        hasher.update(label.as_bytes());
        Self(hasher.finalize_xof())
    }
}

impl TryRng for DetRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill(dst);
        Ok(())
    }
}

impl TryCryptoRng for DetRng {}

/// The context of [`label_seed`]. Still "v1": the seed naming did not change with the
/// protocol, and keeping it keeps `pseudonym-text.json` as it was.
pub const SEED_CONTEXT: &str = "blindnym v1 test vector seed";

/// The 32-byte seed named `label`: `BLAKE3-derive_key(SEED_CONTEXT, label)`.
pub fn label_seed(label: &str) -> [u8; 32] {
    blake3::derive_key(SEED_CONTEXT, label.as_bytes())
}

type Check<T> = Result<T, String>;

/// `spec/vectors/<file>`.
pub fn vector_path(file: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("spec/vectors")
        .join(file)
}

/// The bytes of a hex string in a vector file.
#[allow(
    dead_code,
    reason = "the threshold and reshare vector tests read hex fields"
)]
pub fn unhex_value(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("a hex string")).expect("hex")
}

/// Asserts that the committed `spec/vectors/<file>` equals `fresh`; with
/// `BLINDNYM_WRITE_VECTORS` set, writes `fresh` there first (beside it, then renamed: a test
/// reading the file never sees half of it).
pub fn committed_equals(file: &str, fresh: &Value) {
    let path = vector_path(file);
    if std::env::var_os("BLINDNYM_WRITE_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(fresh).expect("json") + "\n";
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text).expect("write vectors");
        std::fs::rename(&temporary, &path).expect("rename vectors");
    }
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read vectors")).expect("json");
    assert_eq!(&committed, fresh, "{file} is stale");
}

/// The committed `spec/vectors/<file>`.
pub fn committed(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(vector_path(file)).expect("read vectors"))
        .expect("json")
}

pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(bytes)
}

fn unhex(s: &str) -> Check<Vec<u8>> {
    hex::decode(s).map_err(|e| format!("{e}: {s}"))
}

fn err(e: Error) -> String {
    format!("blindnym error: {e:?}")
}

fn ensure(condition: bool, what: &str) -> Check<()> {
    if condition {
        Ok(())
    } else {
        Err(what.to_owned())
    }
}

fn field<'a>(v: &'a Value, key: &str) -> Check<&'a Value> {
    v.get(key).ok_or_else(|| format!("missing field {key}"))
}

fn text(v: &Value, key: &str) -> Check<String> {
    field(v, key)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{key} is not a string"))
}

fn hex_field(v: &Value, key: &str) -> Check<Vec<u8>> {
    unhex(&text(v, key)?)
}

fn number(v: &Value, key: &str) -> Check<u64> {
    field(v, key)?
        .as_u64()
        .ok_or_else(|| format!("{key} is not an unsigned integer"))
}

fn epoch_number(v: &Value, key: &str) -> Check<u32> {
    u32::try_from(number(v, key)?).map_err(|e| format!("{key}: {e}"))
}

fn list<'a>(v: &'a Value, key: &str) -> Check<&'a Vec<Value>> {
    field(v, key)?
        .as_array()
        .ok_or_else(|| format!("{key} is not a list"))
}

fn strings(v: &Value, key: &str) -> Check<Vec<String>> {
    list(v, key)?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or(format!("{key}: not a string"))
        })
        .collect()
}

/// A seed named by the field `{name}_label`: the label and the seed, for the output.
fn named_seed(v: &Value, name: &str) -> Check<(String, [u8; 32])> {
    let label = text(v, &format!("{name}_label"))?;
    let seed = label_seed(&label);
    Ok((label, seed))
}

fn pseudonym_fields(out: &mut Value, p: &Pseudonym) {
    out["pseudonym"] = json!(hex(p.as_bytes()));
    out["pseudonym_text"] = json!(p.to_text());
}

/// `blake3.derive_key(context, frame(fields))`, straight from `spec/08-encodings.md` §8.1.
fn derive(context: &str, fields: &[&[u8]]) -> Check<[u8; 32]> {
    Ok(blake3::derive_key(context, &frame(fields).map_err(err)?))
}

// ------------------------------------------------------------------ key set

/// Day length in seconds.
const DAY: u64 = 86_400;
/// 2026-01-01T00:00:00Z: epoch 7 begins. The flow vectors run at this very second.
pub const EPOCH_7_START: u64 = 1_767_225_600;
/// 2026-02-01T00:00:00Z: epoch 8 begins.
pub const EPOCH_8_START: u64 = 1_769_904_000;
/// 2026-03-01T00:00:00Z: epoch 9 begins.
pub const EPOCH_9_START: u64 = 1_772_323_200;
/// 2026-04-01T00:00:00Z.
const APRIL_2026: u64 = 1_775_001_600;
const REALM: &str = "blindnym test realm";

/// The inputs of a key set: the evaluator's root seed and ratchet start, the epochs it
/// publishes with their start times, and the long-term key that signs the set.
fn key_set_inputs(sequence: u64, epochs: &[(u32, u64)], not_before: u64, not_after: u64) -> Value {
    json!({
        "root_seed_label": "root seed",
        "realm": REALM,
        "first_epoch": 1,
        "epochs": epochs
            .iter()
            .map(|(epoch, start)| json!({ "epoch": epoch, "not_before": start }))
            .collect::<Vec<_>>(),
        "signer_seed_label": "key set signer",
        "sequence": sequence,
        "not_before": not_before,
        "not_after": not_after,
    })
}

/// The key set every flow vector runs under: epochs 7 and 8, published a week before epoch 7
/// begins, valid until epoch 9 begins.
fn flow_key_set() -> Value {
    key_set_inputs(
        1,
        &[(7, EPOCH_7_START), (8, EPOCH_8_START)],
        EPOCH_7_START - 7 * DAY,
        EPOCH_9_START,
    )
}

/// A key set built from its inputs.
struct KeySetup {
    root_label: String,
    root_seed: [u8; 32],
    realm: String,
    first_epoch: u32,
    /// `(epoch, not_before)` of every listed epoch.
    epochs: Vec<(u32, u64)>,
    signer_label: String,
    signer_seed: [u8; 32],
    signer: KeySetSigner,
    sequence: u64,
    not_before: u64,
    not_after: u64,
    signed: SignedKeySet,
}

impl KeySetup {
    fn read(v: &Value) -> Check<Self> {
        let (root_label, root_seed) = named_seed(v, "root_seed")?;
        let (signer_label, signer_seed) = named_seed(v, "signer_seed")?;
        let realm = text(v, "realm")?;
        let first_epoch = epoch_number(v, "first_epoch")?;
        let epochs = list(v, "epochs")?
            .iter()
            .map(|e| Ok((epoch_number(e, "epoch")?, number(e, "not_before")?)))
            .collect::<Check<Vec<_>>>()?;
        let (sequence, not_before, not_after) = (
            number(v, "sequence")?,
            number(v, "not_before")?,
            number(v, "not_after")?,
        );
        let root = RootSeed::from_bytes(&root_seed).map_err(err)?;
        let ratchet = KeyRatchet::new(&root, realm.as_bytes(), first_epoch).map_err(err)?;
        let public = epochs
            .iter()
            .map(|&(epoch, start)| Ok(ratchet.keys_for(epoch).map_err(err)?.public(start)))
            .collect::<Check<Vec<_>>>()?;
        let set =
            KeySet::new(realm.as_bytes(), sequence, not_before, not_after, public).map_err(err)?;
        let signer = KeySetSigner::from_bytes(&signer_seed).map_err(err)?;
        let signed = signer.sign(set);
        Ok(Self {
            root_label,
            root_seed,
            realm,
            first_epoch,
            epochs,
            signer_label,
            signer_seed,
            signer,
            sequence,
            not_before,
            not_after,
            signed,
        })
    }

    fn ratchet(&self) -> Check<KeyRatchet> {
        let root = RootSeed::from_bytes(&self.root_seed).map_err(err)?;
        KeyRatchet::new(&root, self.realm.as_bytes(), self.first_epoch).map_err(err)
    }

    fn keys(&self, epoch: u32) -> Check<EpochKeys> {
        self.ratchet()?.keys_for(epoch).map_err(err)
    }

    /// The set as a holder or relying party that pins the anchor accepts it at `now`.
    fn verified(&self, now: u64) -> Check<VerifiedKeySet> {
        KeySetVerifier::new(self.signer.verifying_key(), self.realm.as_bytes())
            .accept(&self.signed, now)
            .map_err(err)
    }

    /// The inputs, the seeds they name, the anchor and the digest: how a flow vector records
    /// the key set it runs under.
    fn summary(&self) -> Value {
        json!({
            "root_seed_label": self.root_label,
            "root_seed": hex(self.root_seed),
            "realm": self.realm,
            "first_epoch": self.first_epoch,
            "epochs": self
                .epochs
                .iter()
                .map(|(epoch, start)| json!({ "epoch": epoch, "not_before": start }))
                .collect::<Vec<_>>(),
            "signer_seed_label": self.signer_label,
            "signer_seed": hex(self.signer_seed),
            "anchor": hex(self.signer.verifying_key().as_bytes()),
            "sequence": self.sequence,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "digest": hex(self.signed.digest()),
        })
    }
}

/// The flow vectors' shared inputs: the key set, the evaluator's epoch and the clock.
struct FlowSetup {
    keys: KeySetup,
    epoch: u32,
    now: u64,
    verified: VerifiedKeySet,
}

impl FlowSetup {
    /// Reads `key_set`, `epoch` and `now`. `now` must be a second at which `epoch` is current
    /// while one second earlier it is not: the vector pins the clock exactly.
    fn read(v: &Value) -> Check<Self> {
        let keys = KeySetup::read(field(v, "key_set")?)?;
        let epoch = epoch_number(v, "epoch")?;
        let now = number(v, "now")?;
        let verified = keys.verified(now)?;
        ensure(
            verified.current(now).map(|e| e.epoch) == Ok(epoch),
            "the vector's epoch is not current at now",
        )?;
        Ok(Self {
            keys,
            epoch,
            now,
            verified,
        })
    }

    fn epoch_keys(&self) -> Check<EpochKeys> {
        self.keys.keys(self.epoch)
    }

    /// The start of every flow vector's output.
    fn summary(&self) -> Value {
        json!({
            "key_set": self.keys.summary(),
            "epoch": self.epoch,
            "now": self.now,
        })
    }

    /// Checks that one second before `now` the holder or relying party refuses the epoch.
    fn refused_one_second_early<T>(&self, result: blindnym::Result<T>) -> Check<()> {
        ensure(
            result.map(drop) == Err(Error::StaleEpoch { epoch: self.epoch }),
            "the epoch was accepted one second before now: now is not its first second",
        )
    }
}

fn key_set_vector(v: &Value) -> Check<Value> {
    let setup = KeySetup::read(v)?;
    let realm = setup.realm.as_bytes();
    let mut ratchet = setup.ratchet()?;
    let mut entries = Vec::new();
    let mut body_entries = Vec::new();
    for &(epoch, start) in &setup.epochs {
        while ratchet.epoch() < epoch {
            ratchet.advance().map_err(err)?;
        }
        ensure(
            ratchet.epoch() == epoch,
            "epochs must not lie before first_epoch",
        )?;
        let state = ratchet.to_bytes();
        let restored = KeyRatchet::from_bytes(&state).map_err(err)?;
        let public = restored.keys().map_err(err)?.public(start);
        ensure(
            public == setup.keys(epoch)?.public(start),
            "restored ratchet disagrees",
        )?;
        ensure(
            state.get(..4) == Some(&epoch.to_be_bytes()[..])
                && state.get(36..) == Some(&frame(&[realm]).map_err(err)?[..]),
            "ratchet state layout",
        )?;
        let info = |p| key_info(p, realm, epoch).map(hex).map_err(err);
        entries.push(json!({
            "epoch": epoch,
            "not_before": start,
            "ratchet_state": hex(&*state),
            "key_info_holder_derived": info(Purpose::HolderDerived)?,
            "key_info_attested": info(Purpose::Attested)?,
            "key_info_attested_signing": info(Purpose::AttestedSigning)?,
            "key_info_bulk": info(Purpose::Bulk)?,
            "holder_derived": hex(public.holder_derived.as_bytes()),
            "attested": hex(public.attested.as_bytes()),
            "attested_verifying_key": hex(public.attested_signing.as_bytes()),
            "bulk": hex(public.bulk.as_bytes()),
        }));
        body_entries.extend_from_slice(&epoch.to_be_bytes());
        body_entries.extend_from_slice(&start.to_be_bytes());
        for key in [
            public.holder_derived.as_bytes(),
            public.attested.as_bytes(),
            public.attested_signing.as_bytes(),
            public.bulk.as_bytes(),
        ] {
            body_entries.extend_from_slice(key);
        }
    }

    // The serialization from spec/04-keys.md §4.5, written out by hand.
    let count = u16::try_from(setup.epochs.len()).map_err(|e| e.to_string())?;
    let body = [
        &b"BNKS\x02"[..],
        &frame(&[realm]).map_err(err)?,
        &setup.sequence.to_be_bytes(),
        &setup.not_before.to_be_bytes(),
        &setup.not_after.to_be_bytes(),
        &count.to_be_bytes(),
        &body_entries,
    ]
    .concat();
    let bytes = setup.signed.to_bytes();
    let (signed_body, signature) = bytes.split_at(bytes.len() - 64);
    ensure(
        signed_body == body.as_slice(),
        "key set body differs from §4.5",
    )?;
    let signature = Signature::from_slice(signature).map_err(|e| e.to_string())?;
    let message = [context::KEY_SET_SIGNATURE.as_bytes(), &body].concat();
    setup
        .signer
        .verifying_key()
        .verify_strict(&message, &signature)
        .map_err(|e| e.to_string())?;
    let digest = blake3::derive_key(context::KEY_SET_DIGEST, &bytes);
    ensure(digest == setup.signed.digest(), "digest")?;
    ensure(
        SignedKeySet::from_bytes(&bytes).as_ref() == Ok(&setup.signed),
        "signed key set does not decode to itself",
    )?;
    let verified = setup.verified(setup.not_before)?;
    ensure(verified.digest() == &digest, "verified digest")?;

    Ok(json!({
        "root_seed_label": setup.root_label,
        "root_seed": hex(setup.root_seed),
        "realm": setup.realm,
        "first_epoch": setup.first_epoch,
        "epochs": entries,
        "signer_seed_label": setup.signer_label,
        "signer_seed": hex(setup.signer_seed),
        "anchor": hex(setup.signer.verifying_key().as_bytes()),
        "sequence": setup.sequence,
        "not_before": setup.not_before,
        "not_after": setup.not_after,
        "signed_key_set": hex(&bytes),
        "digest": hex(digest),
    }))
}

// ------------------------------------------------------------------ flow H

fn flow_h_vector(v: &Value) -> Check<Value> {
    let setup = FlowSetup::read(v)?;
    let (credential_label, credential) = named_seed(v, "credential")?;
    let service_id = text(v, "service_id")?;
    let service = ServiceId::from_origin(&service_id).map_err(err)?;
    let (rng_label, rng_seed) = named_seed(v, "rng_seed")?;
    let (channel_label, channel_bytes) = named_seed(v, "channel_binding")?;
    let channel = ChannelBinding::new(channel_bytes);
    let mut rng = DetRng::new("flow-H", &rng_seed);
    let mut shadow = rng.clone();
    let keys = setup.epoch_keys()?;
    let pk = keys.public(0).holder_derived;

    // Holder → evaluator → holder, every message as bytes.
    let holder = holder_derived::Holder::new(
        setup.verified.clone(),
        MasterCredential::from_bytes(&credential).map_err(err)?,
    );
    let (state, request) = holder.blind(&service, &mut rng).map_err(err)?;
    let request = holder_derived::Request::from_bytes(&request.to_bytes()).map_err(err)?;
    let evaluator =
        holder_derived::Evaluator::new(keys.holder_derived(), EvaluationBudget::default());
    let response = evaluator.evaluate(&request, &mut rng).map_err(err)?;
    let response = holder_derived::Response::from_bytes(&response.to_bytes()).map_err(err)?;
    let saved = state.to_bytes();
    let early = holder_derived::HolderState::from_bytes(&saved).map_err(err)?;
    setup.refused_one_second_early(holder.finalize(early, &response, setup.now - 1))?;
    let key = holder.finalize(state, &response, setup.now).map_err(err)?;

    // Relying party → holder → relying party: the login.
    let rp = holder_derived::RelyingParty::new(service.clone());
    let (pending, challenge) = rp.challenge(&mut rng, setup.now);
    let challenge = Challenge::from_bytes(&challenge.to_bytes()).map_err(err)?;
    let proof = key.answer(&service, &challenge, &channel).map_err(err)?;
    let proof = LoginProof::from_bytes(&proof.to_bytes()).map_err(err)?;
    let pseudonym = rp
        .verify(
            pending,
            &proof,
            &channel,
            setup.now,
            &MemoryNonceStore::new(),
        )
        .map_err(err)?;
    ensure(
        Ok(pseudonym) == key.pseudonym(&service),
        "holder and relying party disagree",
    )?;

    // The same values from the spec's formulas (spec/05-flow-h.md).
    let input = frame(&[
        context::FLOW_H_INPUT.as_bytes(),
        &credential,
        service.as_bytes(),
    ])
    .map_err(err)?;
    let library_input = holder_derived::private_input(
        &MasterCredential::from_bytes(&credential).map_err(err)?,
        &service,
    )
    .map_err(err)?;
    ensure(*library_input == input, "private input")?;
    let client = VoprfClient::new(pk);
    let (blind, blinded) = client.blind(&input, &mut shadow).map_err(err)?;
    ensure(blinded == request.blinded, "blinded element")?;
    let output = client
        .finalize(
            &input,
            &blind,
            &response.evaluated,
            &blinded,
            &response.proof,
        )
        .map_err(err)?;
    let signing = SigningKey::from_bytes(&blake3::derive_key(
        context::FLOW_H_SIGNING_KEY,
        output.as_bytes(),
    ));
    let verifying = signing.verifying_key();
    ensure(verifying == key.verifying_key(), "per-service key")?;
    let expected = derive(
        context::FLOW_H_PSEUDONYM,
        &[service.as_bytes(), verifying.as_bytes()],
    )?;
    ensure(&expected == pseudonym.as_bytes(), "pseudonym formula")?;
    let session = derive(context::SESSION, &[&challenge.to_bytes(), &channel_bytes])?;
    let message = frame(&[
        context::FLOW_H_LOGIN.as_bytes(),
        service.as_bytes(),
        &session,
    ])
    .map_err(err)?;
    verifying
        .verify_strict(&message, &proof.signature)
        .map_err(|e| format!("login signature: {e}"))?;
    ensure(
        response.epoch == setup.epoch && proof.key == verifying,
        "response epoch or proof key",
    )?;

    let mut out = setup.summary();
    out["credential_label"] = json!(credential_label);
    out["credential"] = json!(hex(credential));
    out["service_id"] = json!(service_id);
    out["rng_seed_label"] = json!(rng_label);
    out["rng_seed"] = json!(hex(rng_seed));
    out["channel_binding_label"] = json!(channel_label);
    out["channel_binding"] = json!(hex(channel_bytes));
    out["public_key"] = json!(hex(pk.as_bytes()));
    out["private_input"] = json!(hex(&input));
    out["blind"] = json!(hex(*blind.to_bytes()));
    out["request"] = json!(hex(request.to_bytes()));
    out["response"] = json!(hex(response.to_bytes()));
    out["service_verifying_key"] = json!(hex(verifying.as_bytes()));
    out["challenge"] = json!(hex(challenge.to_bytes()));
    out["session_hash"] = json!(hex(session));
    out["login_proof"] = json!(hex(proof.to_bytes()));
    pseudonym_fields(&mut out, &pseudonym);
    Ok(out)
}

// ------------------------------------------------------------------ flow A

fn flow_a_vector(v: &Value) -> Check<Value> {
    let setup = FlowSetup::read(v)?;
    let subject_id = text(v, "subject")?;
    let subject = SubjectId::new(&subject_id).map_err(err)?;
    let service_id = text(v, "service_id")?;
    let service = ServiceId::from_origin(&service_id).map_err(err)?;
    let (rng_label, rng_seed) = named_seed(v, "rng_seed")?;
    let (channel_label, channel_bytes) = named_seed(v, "channel_binding")?;
    let channel = ChannelBinding::new(channel_bytes);
    let mut rng = DetRng::new("flow-A", &rng_seed);
    let keys = setup.epoch_keys()?;
    let public = keys.public(0);
    let now = setup.now;

    let rp = attested::RelyingParty::new(setup.verified.clone(), service.clone()).map_err(err)?;
    let (pending, challenge) = rp.challenge(&mut rng, now);
    let challenge = Challenge::from_bytes(&challenge.to_bytes()).map_err(err)?;
    let holder = attested::Holder::new(setup.verified.clone(), subject.clone()).map_err(err)?;
    let (state, request) = holder
        .request(&service, &challenge, &channel, &mut rng)
        .map_err(err)?;
    let request = attested::Request::from_bytes(&request.to_bytes()).map_err(err)?;
    let evaluator = attested::Evaluator::new(keys.attested(), EvaluationBudget::default());
    let evaluation = evaluator
        .evaluate(&subject, &request, now, &mut rng)
        .map_err(err)?;
    let evaluation = Evaluation::from_bytes(&evaluation.to_bytes()).map_err(err)?;
    let assertion = holder.finish(state, &evaluation, now).map_err(err)?;
    let assertion = Assertion::from_bytes(&assertion.to_bytes()).map_err(err)?;
    let saved = pending.to_bytes();
    let pseudonym = rp
        .verify(pending, &assertion, &channel, now, &MemoryNonceStore::new())
        .map_err(err)?;
    let pending = PendingChallenge::from_bytes(&saved).map_err(err)?;
    setup.refused_one_second_early(rp.verify(
        pending,
        &assertion,
        &channel,
        now - 1,
        &MemoryNonceStore::new(),
    ))?;

    // The same values from the spec's formulas (spec/06-flow-a.md).
    let service_input =
        frame(&[context::FLOW_A_SERVICE.as_bytes(), service.as_bytes()]).map_err(err)?;
    let subject_info =
        frame(&[context::FLOW_A_SUBJECT.as_bytes(), subject.as_bytes()]).map_err(err)?;
    ensure(
        attested::service_input(&service).as_ref() == Ok(&service_input)
            && attested::subject_info(&subject).as_ref() == Ok(&subject_info),
        "service input or subject info",
    )?;
    let session = derive(context::SESSION, &[&challenge.to_bytes(), &channel_bytes])?;
    ensure(
        request.session == session && assertion.session == session,
        "session hash",
    )?;
    let r = Option::<Scalar>::from(Scalar::from_canonical_bytes(*assertion.r.to_bytes()))
        .ok_or("r is not canonical")?;
    let base = hash_to_group(Mode::Poprf, &service_input).map_err(err)?;
    ensure(
        (r * base).compress().to_bytes() == request.blinded.to_bytes(),
        "B = r·HashToGroup(service input)",
    )?;
    let expiry = grid_expiry(now);
    ensure(
        evaluation.expiry == expiry && assertion.expiry == expiry,
        "expiry is not on the grid after now",
    )?;
    let signed = frame(&[
        context::FLOW_A_SIGNATURE.as_bytes(),
        setup.keys.realm.as_bytes(),
        &setup.epoch.to_be_bytes(),
        request.blinded.as_bytes(),
        evaluation.evaluated.as_bytes(),
        &session,
        &expiry.to_be_bytes(),
    ])
    .map_err(err)?;
    public
        .attested_signing
        .verify_strict(&signed, &assertion.signature)
        .map_err(|e| format!("evaluation signature: {e}"))?;
    PoprfClient::new(public.attested)
        .verify(
            &subject_info,
            &[request.blinded],
            &[evaluation.evaluated],
            &evaluation.proof,
        )
        .map_err(err)?;
    let tweaked = tweaked_public_key(&public.attested, &subject_info).map_err(err)?;
    let unblinded = (r.invert() * assertion.evaluated.as_point())
        .compress()
        .to_bytes();
    let expected = derive(context::FLOW_A_PSEUDONYM, &[service.as_bytes(), &unblinded])?;
    ensure(&expected == pseudonym.as_bytes(), "pseudonym formula")?;

    let mut out = setup.summary();
    out["subject"] = json!(subject_id);
    out["service_id"] = json!(service_id);
    out["rng_seed_label"] = json!(rng_label);
    out["rng_seed"] = json!(hex(rng_seed));
    out["channel_binding_label"] = json!(channel_label);
    out["channel_binding"] = json!(hex(channel_bytes));
    out["public_key"] = json!(hex(public.attested.as_bytes()));
    out["attested_verifying_key"] = json!(hex(public.attested_signing.as_bytes()));
    out["service_input"] = json!(hex(&service_input));
    out["subject_info"] = json!(hex(&subject_info));
    out["tweaked_key"] = json!(hex(tweaked.as_bytes()));
    out["challenge"] = json!(hex(challenge.to_bytes()));
    out["session_hash"] = json!(hex(session));
    out["r"] = json!(hex(*assertion.r.to_bytes()));
    out["request"] = json!(hex(request.to_bytes()));
    out["expiry"] = json!(expiry);
    out["evaluation"] = json!(hex(evaluation.to_bytes()));
    out["assertion"] = json!(hex(assertion.to_bytes()));
    out["unblinded"] = json!(hex(unblinded));
    pseudonym_fields(&mut out, &pseudonym);
    Ok(out)
}

// ------------------------------------------------------------------ flow B

fn flow_b_vector(v: &Value) -> Check<Value> {
    let setup = FlowSetup::read(v)?;
    let domain = text(v, "domain")?;
    let identities = strings(v, "identities")?;
    let caller_name = text(v, "caller")?;
    let caller = CallerId::new(caller_name.as_bytes());
    let grants = list(v, "grants")?
        .iter()
        .map(|g| Ok((text(g, "caller")?, text(g, "domain")?)))
        .collect::<Check<Vec<_>>>()?;
    let policy = grants.iter().fold(Grants::new(), |policy, (c, d)| {
        policy.allow(&CallerId::new(c.as_bytes()), d.as_bytes())
    });
    let (rng_label, rng_seed) = named_seed(v, "rng_seed")?;
    let mut rng = DetRng::new("flow-B", &rng_seed);
    let mut shadow = rng.clone();
    let keys = setup.epoch_keys()?;
    let pk = keys.public(0).bulk;
    let quota = u64::try_from(identities.len()).map_err(|e| e.to_string())?;

    let holder = bulk::DataHolder::new(setup.verified.clone(), domain.as_bytes()).map_err(err)?;
    let (batch, request) = holder.blind_batch(&identities, &mut rng).map_err(err)?;
    let request = BatchRequest::from_bytes(&request.to_bytes()).map_err(err)?;
    let evaluator = bulk::Evaluator::new(
        keys.bulk(),
        policy,
        MemoryQuota::new(quota),
        EvaluationBudget::default(),
    );
    let response = evaluator
        .evaluate_batch(&caller, &request, &mut rng)
        .map_err(err)?;
    let response_bytes = response.to_bytes().map_err(err)?;
    let response = BatchResponse::from_bytes(&response_bytes).map_err(err)?;
    setup.refused_one_second_early(holder.finalize_batch(&batch, &response, setup.now - 1))?;
    let pseudonyms = holder
        .finalize_batch(&batch, &response, setup.now)
        .map_err(err)?;

    // The same values from the spec's formulas (spec/07-flow-b.md).
    let inputs = identities
        .iter()
        .map(|i| frame(&[context::FLOW_B_IDENTITY.as_bytes(), i.as_bytes()]))
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let info = frame(&[context::FLOW_B_DOMAIN.as_bytes(), domain.as_bytes()]).map_err(err)?;
    let client = PoprfClient::new(pk);
    let (blinds, blinded) = client.blind_batch(&inputs, &mut shadow).map_err(err)?;
    let count = u16::try_from(blinded.len()).map_err(|e| e.to_string())?;
    let request_bytes = [
        frame(&[domain.as_bytes()]).map_err(err)?,
        count.to_be_bytes().to_vec(),
        blinded.iter().flat_map(|b| b.to_bytes()).collect(),
    ]
    .concat();
    ensure(request.to_bytes() == request_bytes, "batch request layout")?;
    let outputs = client
        .finalize_batch(
            &inputs,
            &info,
            &blinds,
            &response.evaluated,
            &blinded,
            &response.proof,
        )
        .map_err(err)?;
    for ((output, pseudonym), identity) in outputs.iter().zip(&pseudonyms).zip(&identities) {
        let expected = blake3::derive_key(context::FLOW_B_PSEUDONYM, output.as_bytes());
        ensure(&expected == pseudonym.as_bytes(), "pseudonym formula")?;
        let direct = evaluator
            .evaluate_direct(domain.as_bytes(), identity.as_bytes())
            .map_err(err)?;
        ensure(&direct == pseudonym, "direct evaluation")?;
    }
    ensure(
        response.epoch == setup.epoch && pseudonyms.len() == identities.len(),
        "response epoch or count",
    )?;

    let mut out = setup.summary();
    out["domain"] = json!(domain);
    out["identities"] = json!(identities);
    out["caller"] = json!(caller_name);
    out["grants"] = json!(
        grants
            .iter()
            .map(|(c, d)| json!({ "caller": c, "domain": d }))
            .collect::<Vec<_>>()
    );
    out["rng_seed_label"] = json!(rng_label);
    out["rng_seed"] = json!(hex(rng_seed));
    out["public_key"] = json!(hex(pk.as_bytes()));
    out["domain_info"] = json!(hex(&info));
    out["tweaked_key"] = json!(hex(tweaked_public_key(&pk, &info).map_err(err)?.as_bytes()));
    out["blinds"] = json!(
        blinds
            .iter()
            .map(|b| hex(*b.to_bytes()))
            .collect::<Vec<_>>()
    );
    out["request"] = json!(hex(&request_bytes));
    out["response"] = json!(hex(&response_bytes));
    out["pseudonyms"] = json!(
        pseudonyms
            .iter()
            .map(|p| hex(p.as_bytes()))
            .collect::<Vec<_>>()
    );
    out["pseudonym_texts"] = json!(
        pseudonyms
            .iter()
            .map(Pseudonym::to_text)
            .collect::<Vec<_>>()
    );
    Ok(out)
}

// ------------------------------------------------------------------ text form

fn text_vector(v: &Value) -> Check<Value> {
    let bytes: [u8; 32] = hex_field(v, "pseudonym")?
        .try_into()
        .map_err(|_| "pseudonym is not 32 bytes")?;
    let p = Pseudonym::from_array(bytes);
    let text = p.to_text();
    ensure(
        text.parse::<Pseudonym>() == Ok(p),
        "text form does not round-trip",
    )?;
    Ok(json!({ "pseudonym": hex(bytes), "text": text }))
}

// ------------------------------------------------------------------ files

/// One vector file: its name, what it holds, the function that regenerates a vector from
/// its inputs, and the inputs of the committed vectors.
pub struct VectorFile {
    pub name: &'static str,
    pub description: &'static str,
    pub generate: fn(&Value) -> Check<Value>,
    pub inputs: fn() -> Vec<Value>,
}

/// The inputs every flow vector starts from.
fn flow_input(extra: Value) -> Value {
    let mut base = json!({
        "key_set": flow_key_set(),
        "epoch": 7,
        "now": EPOCH_7_START,
    });
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    base
}

fn flow_h_inputs() -> Vec<Value> {
    [
        ("alice credential", "https://svc-a.example", "h1"),
        ("alice credential", "https://svc-a.example", "h2"),
        ("alice credential", "https://svc-b.example", "h3"),
        ("bob credential", "https://svc-a.example", "h4"),
    ]
    .iter()
    .map(|(credential, service, seed)| {
        flow_input(json!({
            "credential_label": credential,
            "service_id": service,
            "rng_seed_label": seed,
            "channel_binding_label": format!("channel {seed}"),
        }))
    })
    .collect()
}

fn flow_a_inputs() -> Vec<Value> {
    [
        ("alice", "https://shop.example", "a1"),
        ("alice", "https://shop.example", "a2"),
        ("alice", "https://forum.example", "a3"),
        ("bob", "https://shop.example", "a4"),
    ]
    .iter()
    .map(|(subject, service, seed)| {
        flow_input(json!({
            "subject": subject,
            "service_id": service,
            "rng_seed_label": seed,
            "channel_binding_label": format!("channel {seed}"),
        }))
    })
    .collect()
}

fn flow_b_inputs() -> Vec<Value> {
    [("health", "b1"), ("tax", "b2")]
        .iter()
        .map(|(domain, seed)| {
            flow_input(json!({
                "domain": domain,
                "identities": ["110101199003070000", "110101199003070011", "alice"],
                "caller": "statistics office",
                "grants": [{ "caller": "statistics office", "domain": domain }],
                "rng_seed_label": seed,
            }))
        })
        .collect()
}

pub const FILES: &[VectorFile] = &[
    VectorFile {
        name: "key-set.json",
        description: "Key schedule and signed key set (spec/04-keys.md). The ratchet starts at first_epoch from the root seed and advances to each listed epoch; ratchet_state is KeyRatchet::to_bytes at that epoch and is SECRET test material (it derives every later epoch's keys). Each epoch's keys are derived from its chain key with the key_info_* strings; the set lists their public keys (attested_verifying_key is the Ed25519 key that verifies flow A evaluations) and is signed by the long-term key from signer_seed, whose verifying key is the anchor holders and relying parties pin. signed_key_set is the §4.5 serialization with its signature; digest is its transparency-log leaf. Vector 2 is the next set after a rotation (same ratchet).",
        generate: key_set_vector,
        inputs: || {
            vec![
                flow_key_set(),
                key_set_inputs(
                    2,
                    &[(8, EPOCH_8_START), (9, EPOCH_9_START)],
                    EPOCH_8_START - 7 * DAY,
                    APRIL_2026,
                ),
            ]
        },
    },
    VectorFile {
        name: "flow-h.json",
        description: "Flow H (spec/05-flow-h.md) under the key set of key-set.json vector 1 (summarised in key_set: inputs, anchor, digest), evaluated with epoch 7 at now, the first second of epoch 7 (one second earlier the holder refuses the epoch). Randomness: DetRng(\"flow-H\", rng_seed), drawn in this order: the holder's blind, the evaluator's proof nonce, the relying party's challenge nonce. The OPRF output is internal; service_verifying_key is the per-service Ed25519 key it seeds, the pseudonym is derived from it, and login_proof answers the challenge over channel_binding. Vectors 1 and 2: same credential and service, different blinds, same key and pseudonym.",
        generate: flow_h_vector,
        inputs: flow_h_inputs,
    },
    VectorFile {
        name: "flow-a.json",
        description: "Flow A (spec/06-flow-a.md) under the key set of key-set.json vector 1 (summarised in key_set), evaluated with epoch 7. now is the evaluator's, the holder's and the relying party's clock: the first second of epoch 7 (one second earlier the relying party refuses the epoch); expiry = grid_expiry(now). Randomness: DetRng(\"flow-A\", rng_seed), drawn in this order: the relying party's challenge nonce, the holder's r, the evaluator's proof nonce. Vectors 1 and 2: same subject and service, different sessions, same pseudonym.",
        generate: flow_a_vector,
        inputs: flow_a_inputs,
    },
    VectorFile {
        name: "flow-b.json",
        description: "Flow B (spec/07-flow-b.md) under the key set of key-set.json vector 1 (summarised in key_set), evaluated with epoch 7 at now, the first second of epoch 7 (one second earlier the data holder refuses the epoch). The evaluator's policy is grants (it refuses a caller or domain not listed); its quota is the number of identities. Randomness: DetRng(\"flow-B\", rng_seed), drawn in this order: the blinds in identity order, the evaluator's proof nonce. One batch per vector under one batched proof.",
        generate: flow_b_vector,
        inputs: flow_b_inputs,
    },
    VectorFile {
        name: "pseudonym-text.json",
        description: "Pseudonym text form (spec/08-encodings.md §8.4).",
        generate: text_vector,
        inputs: || {
            let counting: Vec<u8> = (0u8..32).collect();
            [
                vec![0u8; 32],
                vec![0xff; 32],
                counting,
                label_seed("text").to_vec(),
            ]
            .iter()
            .map(|b| json!({ "pseudonym": hex(b) }))
            .collect()
        },
    },
];

/// The whole content of a vector file, generated from its fixed inputs.
pub fn generate_file(file: &VectorFile) -> Check<Value> {
    let vectors = (file.inputs)()
        .iter()
        .map(file.generate)
        .collect::<Check<Vec<_>>>()
        .map_err(|e| format!("{}: {e}", file.name))?;
    Ok(json!({
        "description": file.description,
        "generator": GENERATOR,
        "vectors": vectors,
    }))
}

/// Checks a vector file's content: every vector is regenerated from its own inputs and must
/// equal the stored one field for field.
pub fn check_file(file: &VectorFile, content: &Value) -> Check<()> {
    let vectors = list(content, "vectors")?;
    ensure(!vectors.is_empty(), "no vectors")?;
    for (i, stored) in vectors.iter().enumerate() {
        check_vector(file, stored).map_err(|e| format!("{}: vector {i}: {e}", file.name))?;
    }
    Ok(())
}

/// Checks one vector: regenerated from its own inputs, it must equal itself.
pub fn check_vector(file: &VectorFile, stored: &Value) -> Check<()> {
    ensure(
        &(file.generate)(stored)? == stored,
        "differs from its regeneration",
    )
}

// ------------------------------------------------------------------ negative vectors

/// The file of negative vectors.
pub const NEGATIVE: &str = "negative.json";

const NEGATIVE_DESCRIPTION: &str = "Negative vectors (Wycheproof style): inputs every decoder of the pseudonym layer must refuse, each with the exact error the reference implementation returns (the Debug form of blindnym::Error; spec/09-errors.md). decoder names the function that parses input (hex); for the decoders that take text (SubjectId::new, ServiceId::from_origin, Pseudonym::parse) input is the hex of the UTF-8 text, also given as input_text. operation KeySetVerifier::accept runs a verifier pinned to anchor for realm, at now, on the signed key set input. The malformed messages are genuine ones from flow-h.json, flow-a.json, flow-b.json and key-set.json (vector 1 each) with one field broken.";

/// The group order ℓ, little-endian: the smallest non-canonical scalar.
const ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// A ristretto255 encoding of the field element `p` itself: not canonical (RFC 9496 §A.2).
const NON_CANONICAL: [u8; 32] = {
    let mut e = [0xff; 32];
    e[0] = 0xed;
    e[31] = 0x7f;
    e
};

/// A ristretto255 encoding of a negative field element (`s = 1`): refused (RFC 9496 §A.2).
const NEGATIVE_S: [u8; 32] = {
    let mut e = [0; 32];
    e[0] = 1;
    e
};

/// The encoding of the identity, in ristretto255 and as an Ed25519 point (`y = 1` is the
/// Ed25519 identity, a small-order "weak" key).
const RISTRETTO_IDENTITY: [u8; 32] = [0; 32];
const ED25519_IDENTITY: [u8; 32] = NEGATIVE_S;

/// `bytes` with the bytes from `at` on overwritten by `with`.
fn patch(bytes: &[u8], at: usize, with: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at..at + with.len()].copy_from_slice(with);
    out
}

fn truncated(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len() - 1].to_vec()
}

fn extended(bytes: &[u8]) -> Vec<u8> {
    [bytes, &[0]].concat()
}

fn short(expected: usize) -> Error {
    Error::InvalidLength {
        expected,
        actual: expected - 1,
    }
}

fn long(expected: usize) -> Error {
    Error::InvalidLength {
        expected,
        actual: expected + 1,
    }
}

/// Runs decoder or operation `name` on `input` with the case's other fields.
fn run_case(name: &str, input: &[u8], case: &Value) -> Check<Result<(), Error>> {
    let utf8 = || std::str::from_utf8(input).map_err(|e| format!("input is not UTF-8: {e}"));
    Ok(match name {
        "holder_derived::Request::from_bytes" => {
            holder_derived::Request::from_bytes(input).map(drop)
        }
        "holder_derived::Response::from_bytes" => {
            holder_derived::Response::from_bytes(input).map(drop)
        }
        "holder_derived::LoginProof::from_bytes" => LoginProof::from_bytes(input).map(drop),
        "holder_derived::HolderState::from_bytes" => {
            holder_derived::HolderState::from_bytes(input).map(drop)
        }
        "holder_derived::MasterCredential::from_bytes" => {
            MasterCredential::from_bytes(input).map(drop)
        }
        "attested::Request::from_bytes" => attested::Request::from_bytes(input).map(drop),
        "attested::Evaluation::from_bytes" => Evaluation::from_bytes(input).map(drop),
        "attested::MigrationEvaluation::from_bytes" => {
            MigrationEvaluation::from_bytes(input).map(drop)
        }
        "attested::Assertion::from_bytes" => Assertion::from_bytes(input).map(drop),
        "attested::MigrationAssertion::from_bytes" => {
            MigrationAssertion::from_bytes(input).map(drop)
        }
        "attested::HolderState::from_bytes" => attested::HolderState::from_bytes(input).map(drop),
        "bulk::BatchRequest::from_bytes" => BatchRequest::from_bytes(input).map(drop),
        "bulk::BatchResponse::from_bytes" => BatchResponse::from_bytes(input).map(drop),
        "bulk::BlindBatch::from_bytes" => BlindBatch::from_bytes(input).map(drop),
        "SignedKeySet::from_bytes" => SignedKeySet::from_bytes(input).map(drop),
        "KeyRatchet::from_bytes" => KeyRatchet::from_bytes(input).map(drop),
        "RootSeed::from_bytes" => RootSeed::from_bytes(input).map(drop),
        "KeySetSigner::from_bytes" => KeySetSigner::from_bytes(input).map(drop),
        "Challenge::from_bytes" => Challenge::from_bytes(input).map(drop),
        "PendingChallenge::from_bytes" => PendingChallenge::from_bytes(input).map(drop),
        "ChannelBinding::from_bytes" => ChannelBinding::from_bytes(input).map(drop),
        "Pseudonym::from_bytes" => Pseudonym::from_bytes(input).map(drop),
        "SubjectId::new" => SubjectId::new(utf8()?).map(drop),
        "ServiceId::from_origin" => ServiceId::from_origin(utf8()?).map(drop),
        "Pseudonym::parse" => Pseudonym::parse(utf8()?).map(drop),
        "KeySetVerifier::accept" => {
            let anchor: [u8; 32] = hex_field(case, "anchor")?
                .try_into()
                .map_err(|_| "anchor is not 32 bytes")?;
            let anchor = VerifyingKey::from_bytes(&anchor).map_err(|e| e.to_string())?;
            let realm = text(case, "realm")?;
            let now = number(case, "now")?;
            SignedKeySet::from_bytes(input).and_then(|signed| {
                KeySetVerifier::new(anchor, realm.as_bytes())
                    .accept(&signed, now)
                    .map(drop)
            })
        }
        other => return Err(format!("unknown decoder or operation {other}")),
    })
}

/// Whether a decoder takes text (its input is recorded as UTF-8 hex plus `input_text`).
fn takes_text(decoder: &str) -> bool {
    matches!(
        decoder,
        "SubjectId::new" | "ServiceId::from_origin" | "Pseudonym::parse"
    )
}

/// The negative cases under construction: each is run as it is added, and generation fails
/// unless the library refuses it with the error the case was written for. The first failure
/// is kept and ends the collection.
struct Cases(Check<Vec<Value>>);

impl Cases {
    fn decoder(&mut self, decoder: &str, name: &str, input: &[u8], expected: Error) {
        let mut case = json!({ "name": name, "decoder": decoder, "input": hex(input) });
        if takes_text(decoder) {
            case["input_text"] = json!(String::from_utf8_lossy(input));
        }
        self.add(decoder, case, input, expected);
    }

    fn all<const N: usize>(&mut self, decoder: &str, cases: [(&str, Vec<u8>, Error); N]) {
        for (name, input, expected) in cases {
            self.decoder(decoder, name, &input, expected);
        }
    }

    fn accept(
        &mut self,
        name: &str,
        input: &[u8],
        anchor: &VerifyingKey,
        realm: &str,
        now: u64,
        expected: Error,
    ) {
        let operation = "KeySetVerifier::accept";
        let case = json!({
            "name": name,
            "operation": operation,
            "input": hex(input),
            "anchor": hex(anchor.as_bytes()),
            "realm": realm,
            "now": now,
        });
        self.add(operation, case, input, expected);
    }

    fn add(&mut self, runner: &str, mut case: Value, input: &[u8], expected: Error) {
        let outcome = run_case(runner, input, &case).and_then(|result| match result {
            Err(actual) if actual == expected => Ok(format!("{actual:?}")),
            other => Err(format!(
                "negative case {}: expected Err({expected:?}), the library returned {other:?}",
                case["name"]
            )),
        });
        match (&mut self.0, outcome) {
            (Ok(cases), Ok(error)) => {
                case["error"] = json!(error);
                cases.push(case);
            }
            (Ok(_), Err(e)) => self.0 = Err(e),
            (Err(_), _) => {}
        }
    }
}

/// The first vector of a positive file, as generated.
fn first_vector(name: &str) -> Check<Value> {
    let file = FILES
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| format!("no file {name}"))?;
    let first = (file.inputs)().into_iter().next().ok_or("no inputs")?;
    (file.generate)(&first)
}

/// A pseudonym text whose last payload character differs only in the four padding bits,
/// with the parity character fixed up: well-formed but for the padding.
fn nonzero_padding_text() -> Check<String> {
    const ALPHABET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let text = Pseudonym::from_array([0; 32]).to_text();
    let mut symbols = text
        .bytes()
        .skip(4)
        .map(|c| {
            ALPHABET
                .iter()
                .position(|&a| a == c)
                .ok_or("not in the alphabet")
        })
        .collect::<Result<Vec<_>, _>>()?;
    symbols[51] ^= 1;
    symbols[56] ^= 1;
    Ok(std::iter::once("bn1-".to_owned())
        .chain(symbols.iter().map(|&s| char::from(ALPHABET[s]).to_string()))
        .collect())
}

/// Every negative case, one a line. Each is run as it is added: generation fails unless the
/// library refuses it with the error written next to it.
#[rustfmt::skip]
fn negative_cases() -> Check<Vec<Value>> {
    use Error::*;
    let mut c = Cases(Ok(Vec::new()));
    let (h, a, b, k) = (
        first_vector("flow-h.json")?,
        first_vector("flow-a.json")?,
        first_vector("flow-b.json")?,
        first_vector("key-set.json")?,
    );

    // Flow H.
    let request = hex_field(&h, "request")?;
    c.all("holder_derived::Request::from_bytes", [
        ("31 bytes", request[..31].to_vec(), short(32)),
        ("trailing byte", extended(&request), long(32)),
        ("non-canonical element", NON_CANONICAL.to_vec(), NonCanonicalElement),
        ("negative field element", NEGATIVE_S.to_vec(), NonCanonicalElement),
        ("identity element", RISTRETTO_IDENTITY.to_vec(), IdentityElement),
    ]);
    let response = hex_field(&h, "response")?;
    c.all("holder_derived::Response::from_bytes", [
        ("99 bytes", truncated(&response), short(100)),
        ("trailing byte", extended(&response), long(100)),
        ("evaluated element non-canonical", patch(&response, 4, &NON_CANONICAL), NonCanonicalElement),
        ("evaluated element is the identity", patch(&response, 4, &RISTRETTO_IDENTITY), IdentityElement),
        ("proof c = group order", patch(&response, 36, &ORDER), NonCanonicalScalar),
        ("proof s = 2^256 - 1", patch(&response, 68, &[0xff; 32]), NonCanonicalScalar),
    ]);
    let proof = hex_field(&h, "login_proof")?;
    c.all("holder_derived::LoginProof::from_bytes", [
        ("95 bytes", truncated(&proof), short(96)),
        ("trailing byte", extended(&proof), long(96)),
        ("verifying key non-canonical (y = p)", patch(&proof, 0, &NON_CANONICAL), NonCanonicalElement),
        ("verifying key of small order (identity)", patch(&proof, 0, &ED25519_IDENTITY), IdentityElement),
    ]);
    let state = [&[0u8; 32][..], &request, &frame(&[b"input"]).map_err(err)?].concat();
    c.all("holder_derived::HolderState::from_bytes", [
        ("zero blind", state.clone(), ZeroScalar),
        ("blind = group order", patch(&state, 0, &ORDER), NonCanonicalScalar),
    ]);
    c.all("holder_derived::MasterCredential::from_bytes", [
        ("an 18-digit identity number", b"110101199003070000".to_vec(), InvalidLength { expected: 32, actual: 18 }),
    ]);

    // Flow A.
    let request = hex_field(&a, "request")?;
    c.all("attested::Request::from_bytes", [
        ("63 bytes", truncated(&request), short(64)),
        ("trailing byte", extended(&request), long(64)),
        ("blinded element non-canonical", patch(&request, 0, &NON_CANONICAL), NonCanonicalElement),
        ("blinded element is the identity", patch(&request, 0, &RISTRETTO_IDENTITY), IdentityElement),
    ]);
    let evaluation = hex_field(&a, "evaluation")?;
    c.all("attested::Evaluation::from_bytes", [
        ("171 bytes", truncated(&evaluation), short(172)),
        ("trailing byte", extended(&evaluation), long(172)),
        ("evaluated element non-canonical", patch(&evaluation, 4, &NON_CANONICAL), NonCanonicalElement),
        ("evaluated element is the identity", patch(&evaluation, 4, &RISTRETTO_IDENTITY), IdentityElement),
        ("proof s = group order", patch(&evaluation, 68, &ORDER), NonCanonicalScalar),
    ]);
    // A well-formed migration evaluation: the evaluation's answer twice, then its expiry and
    // signature (the decoder checks encodings, not signatures).
    let migration = [&evaluation[..100], &evaluation[..100], &evaluation[100..]].concat();
    ensure(MigrationEvaluation::from_bytes(&migration).is_ok(), "migration evaluation base")?;
    c.all("attested::MigrationEvaluation::from_bytes", [
        ("271 bytes", truncated(&migration), short(272)),
        ("new evaluated element is the identity", patch(&migration, 104, &RISTRETTO_IDENTITY), IdentityElement),
        ("old proof c = group order", patch(&migration, 36, &ORDER), NonCanonicalScalar),
    ]);
    let assertion = hex_field(&a, "assertion")?;
    c.all("attested::Assertion::from_bytes", [
        ("203 bytes", truncated(&assertion), short(204)),
        ("trailing byte", extended(&assertion), long(204)),
        ("r = 0", patch(&assertion, 4, &[0; 32]), ZeroScalar),
        ("r = group order", patch(&assertion, 4, &ORDER), NonCanonicalScalar),
        ("blinded element non-canonical", patch(&assertion, 36, &NON_CANONICAL), NonCanonicalElement),
        ("evaluated element is the identity", patch(&assertion, 68, &RISTRETTO_IDENTITY), IdentityElement),
    ]);
    // A well-formed migration assertion built from the assertion's fields.
    let migration = [&assertion[..4], &assertion[..4], &assertion[4..100], &assertion[68..100], &assertion[100..]].concat();
    ensure(MigrationAssertion::from_bytes(&migration).is_ok(), "migration assertion base")?;
    c.all("attested::MigrationAssertion::from_bytes", [
        ("239 bytes", truncated(&migration), short(240)),
        ("r = 0", patch(&migration, 8, &[0; 32]), ZeroScalar),
        ("new evaluated element non-canonical", patch(&migration, 104, &NON_CANONICAL), NonCanonicalElement),
    ]);
    let state = [&[0u8; 32][..], &request].concat();
    c.all("attested::HolderState::from_bytes", [
        ("r = 0", state.clone(), ZeroScalar),
        ("95 bytes", truncated(&state), short(96)),
    ]);

    // Flow B.
    let request = hex_field(&b, "request")?;
    let count_at = 2 + usize::from(u16::from_be_bytes([request[0], request[1]]));
    let len = request.len();
    let long_domain = [&frame(&[&[b'd'; 256]]).map_err(err)?, &1u16.to_be_bytes()[..], &request[count_at + 2..count_at + 34]].concat();
    c.all("bulk::BatchRequest::from_bytes", [
        ("count exceeds the body", patch(&request, count_at, &4u16.to_be_bytes()), InvalidLength { expected: len + 32, actual: len }),
        ("count below the body", patch(&request, count_at, &2u16.to_be_bytes()), InvalidLength { expected: len - 32, actual: len }),
        ("zero count", patch(&request, count_at, &[0, 0]), EmptyBatch),
        ("trailing byte", extended(&request), InvalidLength { expected: len, actual: len + 1 }),
        ("blinded element non-canonical", patch(&request, count_at + 2 + 32, &NON_CANONICAL), NonCanonicalElement),
        ("blinded element is the identity", patch(&request, count_at + 2, &RISTRETTO_IDENTITY), IdentityElement),
        ("domain of 256 bytes", long_domain, InputTooLong),
        ("1 byte", request[..1].to_vec(), InvalidLength { expected: 2, actual: 1 }),
    ]);
    let response = hex_field(&b, "response")?;
    let len = response.len();
    c.all("bulk::BatchResponse::from_bytes", [
        ("zero count", patch(&response, 4, &[0, 0]), EmptyBatch),
        ("count exceeds the body", patch(&response, 4, &4u16.to_be_bytes()), InvalidLength { expected: len + 32, actual: len }),
        ("trailing byte", extended(&response), InvalidLength { expected: len, actual: len + 1 }),
        ("evaluated element non-canonical", patch(&response, 6, &NON_CANONICAL), NonCanonicalElement),
        ("proof c = group order", patch(&response, len - 64, &ORDER), NonCanonicalScalar),
    ]);
    c.all("bulk::BlindBatch::from_bytes", [
        ("zero count", vec![0, 0], EmptyBatch),
        ("count exceeds the body", [&[0, 2][..], &[1; 66]].concat(), InvalidLength { expected: 134, actual: 68 }),
    ]);

    // Key set (spec/04-keys.md §4.5): realm at 7, then sequence, not_before, not_after, count.
    let set = hex_field(&k, "signed_key_set")?;
    let realm_len = usize::from(u16::from_be_bytes([set[5], set[6]]));
    let (sequence_at, not_before_at, not_after_at) = (7 + realm_len, 15 + realm_len, 23 + realm_len);
    let count_at = 31 + realm_len;
    let entries_at = count_at + 2;
    let len = set.len();
    let swapped = [&set[..entries_at], &set[entries_at + 140..entries_at + 280], &set[entries_at..entries_at + 140], &set[entries_at + 280..]].concat();
    let empty_window = patch(&set, not_after_at, &set[not_before_at..not_before_at + 8]);
    c.all("SignedKeySet::from_bytes", [
        ("bad magic", patch(&set, 0, b"BNPK"), Malformed),
        ("version 1", patch(&set, 4, &[1]), Malformed),
        ("zero count", patch(&set, count_at, &[0, 0]), Malformed),
        ("count 1025 (over MAX_EPOCHS)", patch(&set, count_at, &1025u16.to_be_bytes()), Malformed),
        ("count above the entries (3 for 2)", patch(&set, count_at, &3u16.to_be_bytes()), InvalidLength { expected: entries_at + 3 * 140 + 64, actual: len }),
        ("count below the entries (1 for 2)", patch(&set, count_at, &1u16.to_be_bytes()), InvalidLength { expected: entries_at + 140 + 64, actual: len }),
        ("trailing byte", extended(&set), InvalidLength { expected: len, actual: len + 1 }),
        ("signature cut short", truncated(&set), InvalidLength { expected: len, actual: len - 1 }),
        ("epochs out of order", swapped, Malformed),
        ("empty validity window", empty_window, Malformed),
        ("holder-derived key non-canonical", patch(&set, entries_at + 12, &NON_CANONICAL), NonCanonicalElement),
        ("bulk key is the identity", patch(&set, entries_at + 108, &RISTRETTO_IDENTITY), IdentityElement),
        ("attested verifying key of small order", patch(&set, entries_at + 76, &ED25519_IDENTITY), IdentityElement),
    ]);

    let setup = KeySetup::read(&flow_key_set())?;
    let anchor = setup.signer.verifying_key();
    let now = setup.not_before;
    let forger = KeySetSigner::from_bytes(&label_seed("forger")).map_err(err)?;
    let forged = forger.sign(setup.signed.unverified().clone()).to_bytes();
    c.accept("signed by another key (seed named \"forger\")", &forged, &anchor, REALM, now, KeySetSignature);
    c.accept("sequence changed after signing", &patch(&set, sequence_at, &9u64.to_be_bytes()), &anchor, REALM, now, KeySetSignature);
    c.accept("verifier configured for another realm", &set, &anchor, "another realm", now, RealmMismatch);
    c.accept("at not_after", &set, &anchor, REALM, setup.not_after, KeySetExpired);
    c.accept("one second before not_before", &set, &anchor, REALM, setup.not_before - 1, KeySetExpired);

    let state = setup.ratchet()?.to_bytes().to_vec();
    let len = state.len();
    let long_realm = [&state[..36], &frame(&[&[b'r'; 1025]]).map_err(err)?].concat();
    c.all("KeyRatchet::from_bytes", [
        ("cut short", truncated(&state), InvalidLength { expected: len, actual: len - 1 }),
        ("trailing byte", extended(&state), InvalidLength { expected: len, actual: len + 1 }),
        ("realm of 1025 bytes", long_realm, InputTooLong),
    ]);
    c.all("RootSeed::from_bytes", [("31 bytes", vec![7; 31], short(32))]);
    c.all("KeySetSigner::from_bytes", [("33 bytes", vec![7; 33], long(32))]);

    // Sessions.
    let challenge = hex_field(&a, "challenge")?;
    c.all("Challenge::from_bytes", [
        ("31 bytes", challenge[..31].to_vec(), short(32)),
        ("trailing byte", extended(&challenge), long(32)),
    ]);
    // A saved pending challenge is the nonce and its 8-byte expiry: the nonce alone is short.
    c.all("PendingChallenge::from_bytes", [("nonce without its expiry", challenge.clone(), InvalidLength { expected: 40, actual: 32 })]);
    c.all("ChannelBinding::from_bytes", [("empty", Vec::new(), InvalidLength { expected: 32, actual: 0 })]);

    // Identifiers.
    c.all("SubjectId::new", [
        ("empty", Vec::new(), NonCanonicalId),
        ("leading space", b" alice".to_vec(), NonCanonicalId),
        ("inner space", b"al ice".to_vec(), NonCanonicalId),
        ("non-ASCII", "ålice".as_bytes().to_vec(), NonCanonicalId),
        ("newline", b"alice\n".to_vec(), NonCanonicalId),
        ("256 bytes", vec![b'x'; 256], NonCanonicalId),
    ]);
    c.all("ServiceId::from_origin", [
        ("empty", Vec::new(), NonCanonicalId),
        ("upper case", b"https://Shop.example".to_vec(), NonCanonicalId),
        ("space", b"https://shop example".to_vec(), NonCanonicalId),
        ("query character", b"https://shop.example/?a".to_vec(), NonCanonicalId),
        ("256 bytes", format!("https://{}", "s".repeat(248)).into_bytes(), NonCanonicalId),
    ]);

    // Pseudonyms.
    let pseudonym = hex_field(&a, "pseudonym")?;
    c.all("Pseudonym::from_bytes", [
        ("31 bytes", pseudonym[..31].to_vec(), short(32)),
        ("trailing byte", extended(&pseudonym), long(32)),
    ]);
    let good = text(&a, "pseudonym_text")?.into_bytes();
    let substituted = patch(&good, 10, if good[10] == b'q' { b"p" } else { b"q" });
    let upper = [&good[..4], &good[4..].to_ascii_uppercase()].concat();
    c.all("Pseudonym::parse", [
        ("empty", Vec::new(), InvalidText),
        ("prefix only", b"bn1-".to_vec(), InvalidText),
        ("prefix bn2-", patch(&good, 2, b"2"), InvalidText),
        ("payload in upper case", upper, InvalidText),
        ("one character substituted", substituted, InvalidText),
        ("last character missing", truncated(&good), InvalidText),
        ("trailing character", [&good[..], b"q"].concat(), InvalidText),
        ("character outside the alphabet (b)", patch(&good, 4, b"b"), InvalidText),
        ("nonzero padding bits", nonzero_padding_text()?.into_bytes(), InvalidText),
    ]);
    c.0
}

/// The whole content of `negative.json`.
pub fn generate_negative() -> Check<Value> {
    Ok(json!({
        "description": NEGATIVE_DESCRIPTION,
        "generator": GENERATOR,
        "vectors": negative_cases()?,
    }))
}

/// Checks one negative case: its decoder or operation refuses its input with exactly its
/// error.
pub fn check_negative(case: &Value) -> Check<()> {
    let runner = match (case.get("decoder"), case.get("operation")) {
        (Some(d), None) => d.as_str().ok_or("decoder is not a string")?,
        (None, Some(o)) => o.as_str().ok_or("operation is not a string")?,
        _ => return Err("a case names one decoder or one operation".into()),
    };
    let input = hex_field(case, "input")?;
    if let Some(t) = case.get("input_text") {
        ensure(
            t.as_str().map(str::as_bytes) == Some(&input[..]),
            "input_text differs from input",
        )?;
    }
    let expected = text(case, "error")?;
    match run_case(runner, &input, case)? {
        Err(e) if format!("{e:?}") == expected => Ok(()),
        other => Err(format!(
            "{:?}: expected {expected}, got {other:?}",
            case["name"]
        )),
    }
}
