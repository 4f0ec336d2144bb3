//! Known-answer vectors of the pseudonym layer (spec/11-vectors.md): a deterministic RNG,
//! the generator, and the check that regenerates a vector from its own inputs.
//!
//! Shared by `examples/gen_vectors.rs` (writes `spec/vectors/*.json`) and
//! `tests/pseudonym_vectors.rs` (checks them).
#![allow(dead_code)]

use std::convert::Infallible;

use blindnym::curve25519_dalek::scalar::Scalar;
use blindnym::hazmat::tweaked_public_key;
use blindnym::pseudonym::flow_a::{self, Nonce};
use blindnym::pseudonym::{EvaluatorKeys, Pseudonym, PublishedKeys, Purpose, RootSeed};
use blindnym::pseudonym::{epoch_keys, flow_b, flow_h};
use blindnym::rand_core::{TryCryptoRng, TryRng};
use blindnym::{PoprfClient, VoprfClient};
use serde_json::{Value, json};

/// A deterministic RNG for vectors: the blake3 XOF keyed by a 32-byte seed, with a label.
/// Never use it outside tests and vector generation.
#[derive(Clone)]
pub struct DetRng(blake3::OutputReader);

impl DetRng {
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

type Check<T> = Result<T, String>;

/// The examples' shared setup: a deterministic RNG, one epoch of evaluator keys derived
/// from a root seed drawn from it, and the matching published key set.
pub fn demo_setup(label: &str) -> Result<(DetRng, EvaluatorKeys, PublishedKeys), blindnym::Error> {
    let mut rng = DetRng::new(label, &label_seed(label));
    let root = RootSeed::generate(&mut rng);
    let keys = EvaluatorKeys::derive(&root, b"example realm", 1)?;
    let published = PublishedKeys::new(b"example realm", vec![keys.public()])?;
    Ok((rng, keys, published))
}

pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(bytes)
}

fn unhex(s: &str) -> Check<Vec<u8>> {
    hex::decode(s).map_err(|e| format!("{e}: {s}"))
}

/// A fixed 32-byte seed named by a label, so the committed vectors need no magic numbers.
fn label_seed(label: &str) -> [u8; 32] {
    blake3::derive_key("blindnym v1 test vector seed", label.as_bytes())
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

fn bytes32(v: &Value, key: &str) -> Check<[u8; 32]> {
    unhex(&text(v, key)?)?
        .try_into()
        .map_err(|_| format!("{key} is not 32 bytes"))
}

fn number(v: &Value, key: &str) -> Check<u64> {
    field(v, key)?
        .as_u64()
        .ok_or_else(|| format!("{key} is not an integer"))
}

fn strings(v: &Value, key: &str) -> Check<Vec<String>> {
    field(v, key)?
        .as_array()
        .ok_or_else(|| format!("{key} is not a list"))?
        .iter()
        .map(|s| s.as_str().map(str::to_owned).ok_or(format!("{key} entry")))
        .collect()
}

fn err(e: blindnym::Error) -> String {
    format!("blindnym error: {e}")
}

/// The evaluator keys and the one-epoch published set a vector is made under.
fn key_setup(v: &Value) -> Check<(EvaluatorKeys, PublishedKeys)> {
    let root = RootSeed::from_bytes(&bytes32(v, "root_seed")?).map_err(err)?;
    let realm = text(v, "realm")?;
    let epoch = u32::try_from(number(v, "epoch")?).map_err(|e| e.to_string())?;
    let keys = EvaluatorKeys::derive(&root, realm.as_bytes(), epoch).map_err(err)?;
    let published = PublishedKeys::new(realm.as_bytes(), vec![keys.public()]).map_err(err)?;
    Ok((keys, published))
}

fn pseudonym_json(p: &Pseudonym) -> (String, String) {
    (hex(p.as_bytes()), p.to_text())
}

// ------------------------------------------------------------------ published keys

fn published_keys(v: &Value) -> Check<Value> {
    let root_seed = bytes32(v, "root_seed")?;
    let root = RootSeed::from_bytes(&root_seed).map_err(err)?;
    let realm = text(v, "realm")?;
    let epochs = field(v, "epochs")?
        .as_array()
        .ok_or("epochs is not a list")?
        .iter()
        .map(|e| number(e, "epoch").and_then(|n| u32::try_from(n).map_err(|e| e.to_string())))
        .collect::<Check<Vec<u32>>>()?;
    let set = PublishedKeys::derive(&root, realm.as_bytes(), &epochs).map_err(err)?;
    let entries = set
        .epochs()
        .iter()
        .map(|k| {
            let info = |p| epoch_keys::key_info(p, realm.as_bytes(), k.epoch).map(hex);
            Ok(json!({
                "epoch": k.epoch,
                "key_info_flow_h": info(Purpose::FlowH)?,
                "key_info_flow_a": info(Purpose::FlowA)?,
                "key_info_flow_b": info(Purpose::FlowB)?,
                "key_info_signing": info(Purpose::Signing)?,
                "flow_h": hex(k.flow_h.as_bytes()),
                "flow_a": hex(k.flow_a.as_bytes()),
                "flow_b": hex(k.flow_b.as_bytes()),
                "signing": hex(k.signing.as_bytes()),
            }))
        })
        .collect::<Result<Vec<_>, blindnym::Error>>()
        .map_err(err)?;
    Ok(json!({
        "root_seed": hex(root_seed),
        "realm": realm,
        "epochs": entries,
        "serialized": hex(set.to_bytes()),
    }))
}

// ------------------------------------------------------------------ flow H

fn flow_h_vector(v: &Value) -> Check<Value> {
    let (keys, published) = key_setup(v)?;
    let credential = text(v, "credential")?;
    let service = text(v, "service_id")?;
    let rng_seed = bytes32(v, "rng_seed")?;
    let mut rng = DetRng::new("flow-H", &rng_seed);
    let mut shadow = rng.clone();
    let pk = keys.public().flow_h;

    let holder = flow_h::Holder::new(published);
    let (state, request) = holder
        .blind(credential.as_bytes(), service.as_bytes(), &mut rng)
        .map_err(err)?;
    let response = flow_h::Evaluator::new(keys.clone())
        .evaluate(&request, &mut rng)
        .map_err(err)?;
    let pseudonym = holder.finalize(state, &response).map_err(err)?;

    // Intermediate values through the RFC 9497 core, replaying the same RNG.
    let input = flow_h::private_input(credential.as_bytes(), service.as_bytes()).map_err(err)?;
    let client = VoprfClient::new(pk);
    let (blind, blinded) = client.blind(&input, &mut shadow).map_err(err)?;
    let output = client
        .finalize(
            &input,
            &blind,
            &response.evaluated,
            &blinded,
            &response.proof,
        )
        .map_err(err)?;
    if blinded != request.blinded || flow_h::pseudonym_from_output(&output) != pseudonym {
        return Err("flow H core and flow API disagree".into());
    }
    let (p_hex, p_text) = pseudonym_json(&pseudonym);
    Ok(json!({
        "root_seed": text(v, "root_seed")?,
        "realm": text(v, "realm")?,
        "epoch": response.epoch,
        "credential": credential,
        "service_id": service,
        "rng_seed": hex(rng_seed),
        "public_key": hex(pk.as_bytes()),
        "private_input": hex(&*input),
        "blind": hex(*blind.to_bytes()),
        "request": hex(request.to_bytes()),
        "response": hex(response.to_bytes()),
        "output": hex(output.as_bytes()),
        "pseudonym": p_hex,
        "pseudonym_text": p_text,
    }))
}

// ------------------------------------------------------------------ flow A

fn flow_a_vector(v: &Value) -> Check<Value> {
    let (keys, published) = key_setup(v)?;
    let subject = text(v, "subject")?;
    let service = text(v, "service_id")?;
    let expiry = number(v, "expiry")?;
    let rng_seed = bytes32(v, "rng_seed")?;
    let mut rng = DetRng::new("flow-A", &rng_seed);

    let nonce = Nonce::generate(&mut rng);
    let holder = flow_a::Holder::new(published.clone(), subject.as_bytes()).map_err(err)?;
    let (state, request) = holder
        .request(service.as_bytes(), &nonce, &mut rng)
        .map_err(err)?;
    let evaluation = flow_a::Evaluator::new(keys.clone())
        .evaluate(subject.as_bytes(), &request, expiry, &mut rng)
        .map_err(err)?;
    let assertion = holder.finish(state, &evaluation).map_err(err)?;
    let rp = flow_a::RelyingParty::new(published, service.as_bytes()).map_err(err)?;
    // The relying party checks one second before expiry.
    let pseudonym = rp
        .verify(&assertion, &nonce, expiry.saturating_sub(1))
        .map_err(err)?;

    let r = Scalar::from_canonical_bytes(*assertion.r.to_bytes());
    let r = Option::<Scalar>::from(r).ok_or("r not canonical")?;
    let unblinded = (r.invert() * assertion.evaluated.as_point()).compress();
    let subject_info = flow_a::subject_info(subject.as_bytes()).map_err(err)?;
    let tweaked = tweaked_public_key(&keys.public().flow_a, &subject_info).map_err(err)?;
    let (p_hex, p_text) = pseudonym_json(&pseudonym);
    Ok(json!({
        "root_seed": text(v, "root_seed")?,
        "realm": text(v, "realm")?,
        "epoch": evaluation.epoch,
        "subject": subject,
        "service_id": service,
        "expiry": expiry,
        "rng_seed": hex(rng_seed),
        "public_key": hex(keys.public().flow_a.as_bytes()),
        "signing_key": hex(keys.public().signing.as_bytes()),
        "service_input": hex(flow_a::service_input(service.as_bytes()).map_err(err)?),
        "subject_info": hex(&subject_info),
        "tweaked_key": hex(tweaked.as_bytes()),
        "nonce": hex(nonce.as_bytes()),
        "nonce_hash": hex(nonce.hash()),
        "r": hex(*assertion.r.to_bytes()),
        "request": hex(request.to_bytes()),
        "evaluation": hex(evaluation.to_bytes()),
        "assertion": hex(assertion.to_bytes()),
        "unblinded": hex(unblinded.as_bytes()),
        "pseudonym": p_hex,
        "pseudonym_text": p_text,
    }))
}

// ------------------------------------------------------------------ flow B

fn flow_b_vector(v: &Value) -> Check<Value> {
    let (keys, published) = key_setup(v)?;
    let domain = text(v, "domain")?;
    let identities = strings(v, "identities")?;
    let rng_seed = bytes32(v, "rng_seed")?;
    let mut rng = DetRng::new("flow-B", &rng_seed);
    let mut shadow = rng.clone();
    let pk = keys.public().flow_b;

    let holder = flow_b::DataHolder::new(published, domain.as_bytes()).map_err(err)?;
    let batch = holder.blind_batch(&identities, &mut rng).map_err(err)?;
    let response = flow_b::Evaluator::new(keys.clone())
        .evaluate_batch(domain.as_bytes(), batch.blinded(), &mut rng)
        .map_err(err)?;
    let pseudonyms = holder.finalize_batch(&batch, &response).map_err(err)?;

    let inputs = identities
        .iter()
        .map(|i| flow_b::identity_input(i.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let (blinds, blinded) = PoprfClient::new(pk)
        .blind_batch(&inputs, &mut shadow)
        .map_err(err)?;
    if blinded != batch.blinded() {
        return Err("flow B core and flow API disagree".into());
    }
    let info = flow_b::domain_info(domain.as_bytes()).map_err(err)?;
    Ok(json!({
        "root_seed": text(v, "root_seed")?,
        "realm": text(v, "realm")?,
        "epoch": response.epoch,
        "domain": domain,
        "identities": identities,
        "rng_seed": hex(rng_seed),
        "public_key": hex(pk.as_bytes()),
        "domain_info": hex(&info),
        "tweaked_key": hex(tweaked_public_key(&pk, &info).map_err(err)?.as_bytes()),
        "blinds": blinds.iter().map(|b| hex(*b.to_bytes())).collect::<Vec<_>>(),
        "blinded": blinded.iter().map(|b| hex(b.as_bytes())).collect::<Vec<_>>(),
        "response": hex(response.to_bytes().map_err(err)?),
        "pseudonyms": pseudonyms.iter().map(|p| hex(p.as_bytes())).collect::<Vec<_>>(),
        "pseudonym_texts": pseudonyms.iter().map(Pseudonym::to_text).collect::<Vec<_>>(),
    }))
}

// ------------------------------------------------------------------ text form

fn text_vector(v: &Value) -> Check<Value> {
    let bytes = bytes32(v, "pseudonym")?;
    let p = Pseudonym::from_array(bytes);
    let text = p.to_text();
    if text.parse::<Pseudonym>() != Ok(p) {
        return Err("text form does not round-trip".into());
    }
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

fn keys_input(extra: Value) -> Value {
    let mut base = json!({
        "root_seed": hex(label_seed("root seed")),
        "realm": "blindnym test realm",
        "epoch": 7,
    });
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    base
}

pub const FILES: &[VectorFile] = &[
    VectorFile {
        name: "published-keys.json",
        description: "Evaluator key derivation (spec/04-keys.md) and the serialized published key set.",
        generate: published_keys,
        inputs: || {
            vec![json!({
                "root_seed": hex(label_seed("root seed")),
                "realm": "blindnym test realm",
                "epochs": [{"epoch": 7}, {"epoch": 8}],
            })]
        },
    },
    VectorFile {
        name: "flow-h.json",
        description: "Flow H (spec/05-flow-h.md). Vectors 1 and 2: same credential and service, different blinds, same pseudonym.",
        generate: flow_h_vector,
        inputs: || {
            [("svc-a", "h1"), ("svc-a", "h2"), ("svc-b", "h3")]
                .iter()
                .map(|(svc, seed)| {
                    keys_input(json!({
                        "credential": "alice master credential",
                        "service_id": svc,
                        "rng_seed": hex(label_seed(seed)),
                    }))
                })
                .collect()
        },
    },
    VectorFile {
        name: "flow-a.json",
        description: "Flow A (spec/06-flow-a.md). The relying party verifies at expiry - 1. Vectors 1 and 2: same subject and service, different sessions, same pseudonym.",
        generate: flow_a_vector,
        inputs: || {
            [
                ("alice", "shop.example", "a1"),
                ("alice", "shop.example", "a2"),
                ("alice", "forum.example", "a3"),
                ("bob", "shop.example", "a4"),
            ]
            .iter()
            .map(|(subject, svc, seed)| {
                keys_input(json!({
                    "subject": subject,
                    "service_id": svc,
                    "expiry": 1_767_225_600u64,
                    "rng_seed": hex(label_seed(seed)),
                }))
            })
            .collect()
        },
    },
    VectorFile {
        name: "flow-b.json",
        description: "Flow B (spec/07-flow-b.md): one batch per vector under one batched proof.",
        generate: flow_b_vector,
        inputs: || {
            [("health", "b1"), ("tax", "b2")]
                .iter()
                .map(|(domain, seed)| {
                    keys_input(json!({
                        "domain": domain,
                        "identities": ["110101199003070000", "110101199003070011", "alice"],
                        "rng_seed": hex(label_seed(seed)),
                    }))
                })
                .collect()
        },
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
        .collect::<Check<Vec<_>>>()?;
    Ok(json!({
        "description": file.description,
        "generator": "cargo run --example gen_vectors",
        "vectors": vectors,
    }))
}

/// Checks a vector file's content: every vector is regenerated from its own inputs and must
/// equal the stored one field for field.
pub fn check_file(file: &VectorFile, content: &Value) -> Check<()> {
    let vectors = field(content, "vectors")?
        .as_array()
        .ok_or("vectors is not a list")?;
    if vectors.is_empty() {
        return Err("no vectors".into());
    }
    for (i, stored) in vectors.iter().enumerate() {
        check_vector(file, stored).map_err(|e| format!("{}: vector {i}: {e}", file.name))?;
    }
    Ok(())
}

/// Checks one vector: regenerated from its own inputs, it must equal itself.
pub fn check_vector(file: &VectorFile, stored: &Value) -> Check<()> {
    if &(file.generate)(stored)? != stored {
        return Err("differs from its regeneration".into());
    }
    Ok(())
}
