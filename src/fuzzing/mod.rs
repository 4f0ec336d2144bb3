//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`; not a stable API).
//!
//! Each function takes arbitrary bytes, must never panic on its own, and panics only when a
//! property the crate promises is broken — that is the finding a fuzzer reports.

use std::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};

use crate::hazmat::{decode_element, decode_scalar};
use crate::{
    Blind, BlindedElement, EvaluatedElement, KeyPair, Mode, OprfClient, OprfServer, Output,
    PoprfClient, PoprfServer, Proof, PublicKey, SecretKey, VoprfClient, VoprfServer,
};

/// A deterministic RNG for fuzzing: the BLAKE3 extendable output of the fuzzer's bytes, so
/// every run of an input replays identically. Crate-private: the `fuzzing` feature exports
/// entry points that take bytes, never a predictable RNG a dependency could pick up.
pub(crate) struct FuzzRng(blake3::OutputReader);

impl core::fmt::Debug for FuzzRng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FuzzRng(<stream>)")
    }
}

impl FuzzRng {
    /// An RNG whose stream is determined by `seed`.
    pub(crate) fn new(seed: &[u8]) -> Self {
        let mut hasher = blake3::Hasher::new_derive_key("blindnym fuzzing rng v1");
        hasher.update(seed);
        Self(hasher.finalize_xof())
    }
}

impl TryRng for FuzzRng {
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

impl TryCryptoRng for FuzzRng {}

/// Asserts the decode/encode contract: whatever decodes re-encodes to exactly the input.
fn round_trips<T, const N: usize>(
    data: &[u8],
    decode: impl Fn(&[u8]) -> crate::Result<T>,
    encode: impl Fn(&T) -> [u8; N],
) {
    if let Ok(value) = decode(data) {
        assert_eq!(
            &encode(&value)[..],
            data,
            "decoded value re-encodes differently"
        );
    }
}

/// Every decoder of the core on the same bytes, and on every 32- and 64-byte window of them.
pub fn decoders(data: &[u8]) {
    let windows = [data]
        .into_iter()
        .chain(data.chunks(32))
        .chain(data.chunks(64));
    for bytes in windows {
        round_trips(bytes, BlindedElement::from_bytes, BlindedElement::to_bytes);
        round_trips(
            bytes,
            EvaluatedElement::from_bytes,
            EvaluatedElement::to_bytes,
        );
        round_trips(bytes, PublicKey::from_bytes, PublicKey::to_bytes);
        round_trips(bytes, Proof::from_bytes, Proof::to_bytes);
        round_trips(bytes, SecretKey::from_bytes, |k| *k.to_bytes());
        round_trips(bytes, Blind::from_bytes, |b| *b.to_bytes());
        round_trips(bytes, Output::from_bytes, |o| *o.as_bytes());
        round_trips(bytes, decode_scalar, |s| s.to_bytes());
        round_trips(bytes, decode_element, |p| p.compress().to_bytes());
    }
}

/// The key-derivation info the RFC 9497 Appendix A vectors use, so vector seeds give the
/// vectors' keys and the seed corpus reaches the accepting path.
const VECTOR_KEY_INFO: &[u8] = b"test key";

/// Proof verification on arbitrary bytes: `seed (32) || mode (1) || info_len (1) || info ||
/// proof (64) || n × (blinded (32) || evaluated (32))`. The verifier's key is derived from
/// `seed`, so the target knows the true statement: a proof may only verify when every
/// evaluated element really is the key applied to its blinded element (soundness).
/// Returns whether the proof was accepted.
pub fn verify_proof(data: &[u8]) -> bool {
    let Some((seed, rest)) = data.split_first_chunk::<32>() else {
        return false;
    };
    let Some((&mode, rest)) = rest.split_first() else {
        return false;
    };
    let Some((&info_len, rest)) = rest.split_first() else {
        return false;
    };
    let Some((info, rest)) = rest.split_at_checked(usize::from(info_len)) else {
        return false;
    };
    let Some((proof, rest)) = rest.split_first_chunk::<64>() else {
        return false;
    };
    let Ok(proof) = Proof::from_bytes(proof) else {
        return false;
    };
    let mut blinded = Vec::new();
    let mut evaluated = Vec::new();
    for pair in rest.chunks_exact(64) {
        let (b, e) = pair.split_at(32);
        match (
            BlindedElement::from_bytes(b),
            EvaluatedElement::from_bytes(e),
        ) {
            (Ok(b), Ok(e)) => {
                blinded.push(b);
                evaluated.push(e);
            }
            _ => return false,
        }
    }
    let mut rng = FuzzRng::new(data);
    if mode & 1 == 0 {
        let Ok(keys) = KeyPair::derive(Mode::Voprf, seed, VECTOR_KEY_INFO) else {
            return false;
        };
        let server = VoprfServer::new(keys);
        let verdict = VoprfClient::new(*server.public_key()).verify(&blinded, &evaluated, &proof);
        if verdict.is_ok() {
            let (honest, _) = server
                .blind_evaluate_batch(&blinded, &mut rng)
                .expect("a verified batch has a valid size");
            assert_eq!(honest, evaluated, "VOPRF proof verified a false statement");
        }
        verdict.is_ok()
    } else {
        let Ok(keys) = KeyPair::derive(Mode::Poprf, seed, VECTOR_KEY_INFO) else {
            return false;
        };
        let server = PoprfServer::new(keys);
        let client = PoprfClient::new(*server.public_key());
        let verdict = client.verify(info, &blinded, &evaluated, &proof);
        if verdict.is_ok() {
            let (honest, _) = server
                .blind_evaluate_batch(&blinded, info, &mut rng)
                .expect("a verified batch has a valid size and tweak");
            assert_eq!(honest, evaluated, "POPRF proof verified a false statement");
        }
        verdict.is_ok()
    }
}

/// Differential check: `seed (32) || mode (1) || info_len (1) || info || input`. The blind →
/// evaluate → finalize path and the direct `Evaluate` must agree in every mode, batched and
/// single, and the finalize must accept the honest proof.
pub fn differential(data: &[u8]) {
    let Some((seed, rest)) = data.split_first_chunk::<32>() else {
        return;
    };
    let Some((&mode, rest)) = rest.split_first() else {
        return;
    };
    let Some((&info_len, rest)) = rest.split_first() else {
        return;
    };
    let Some((info, input)) = rest.split_at_checked(usize::from(info_len)) else {
        return;
    };
    let mut rng = FuzzRng::new(data);
    match mode % 3 {
        0 => {
            let Ok(server) = OprfServer::derive(seed, info) else {
                return;
            };
            let (blind, blinded) = OprfClient::new().blind(input, &mut rng).expect("blind");
            let evaluated = server.blind_evaluate(&blinded);
            let output = OprfClient::new()
                .finalize(input, &blind, &evaluated)
                .expect("finalize");
            assert_eq!(output, server.evaluate(input).expect("evaluate"));
            let batch = server.blind_evaluate_batch(&[blinded, blinded]);
            assert_eq!(batch, [evaluated, evaluated]);
        }
        1 => {
            let Ok(keys) = KeyPair::derive(Mode::Voprf, seed, info) else {
                return;
            };
            let server = VoprfServer::new(keys);
            let client = VoprfClient::new(*server.public_key());
            let (blind, blinded) = client.blind(input, &mut rng).expect("blind");
            let (evaluated, proof) = server.blind_evaluate(&blinded, &mut rng).expect("eval");
            let output = client
                .finalize(input, &blind, &evaluated, &blinded, &proof)
                .expect("honest proof verifies");
            assert_eq!(output, server.evaluate(input).expect("evaluate"));
        }
        _ => {
            let Ok(server) = PoprfServer::derive(seed, b"fuzz") else {
                return;
            };
            let client = PoprfClient::new(*server.public_key());
            let (blind, blinded) = client.blind(input, &mut rng).expect("blind");
            let (evaluated, proof) = server
                .blind_evaluate(&blinded, info, &mut rng)
                .expect("eval");
            let output = client
                .finalize(input, info, &blind, &evaluated, &blinded, &proof)
                .expect("honest proof verifies");
            assert_eq!(output, server.evaluate(input, info).expect("evaluate"));
        }
    }
}

// ------------------------------------------------------------------ pseudonym layer

use std::sync::OnceLock;

use crate::pseudonym::attested::{self, Assertion, MigrationAssertion, MigrationEvaluation};
use crate::pseudonym::bulk::{BatchRequest, BatchResponse};
use crate::pseudonym::holder_derived::{self, LoginProof};
use crate::pseudonym::session::PENDING_CHALLENGE_LEN;
use crate::pseudonym::{
    Challenge, ChannelBinding, EvaluationBudget, KeyRatchet, KeySet, KeySetSigner, KeySetVerifier,
    MemoryNonceStore, PendingChallenge, Pseudonym, RootSeed, ServiceId, SignedKeySet, SubjectId,
};

/// Every decoder of the pseudonym layer: protocol messages, the signed key set and the
/// pseudonym text form. Whatever decodes re-encodes to exactly the input.
pub fn protocol_decoders(data: &[u8]) {
    use holder_derived::{Request as HRequest, Response as HResponse};
    round_trips(data, HRequest::from_bytes, HRequest::to_bytes);
    round_trips(data, HResponse::from_bytes, HResponse::to_bytes);
    round_trips(data, LoginProof::from_bytes, LoginProof::to_bytes);
    round_trips(
        data,
        attested::Request::from_bytes,
        attested::Request::to_bytes,
    );
    round_trips(
        data,
        attested::Evaluation::from_bytes,
        attested::Evaluation::to_bytes,
    );
    round_trips(
        data,
        MigrationEvaluation::from_bytes,
        MigrationEvaluation::to_bytes,
    );
    round_trips(data, Assertion::from_bytes, Assertion::to_bytes);
    round_trips(
        data,
        MigrationAssertion::from_bytes,
        MigrationAssertion::to_bytes,
    );
    round_trips(data, Challenge::from_bytes, Challenge::to_bytes);
    round_trips(data, Pseudonym::from_bytes, Pseudonym::to_bytes);
    if let Ok(request) = BatchRequest::from_bytes(data) {
        assert_eq!(
            request.to_bytes(),
            data,
            "batch request re-encodes differently"
        );
    }
    if let Ok(response) = BatchResponse::from_bytes(data) {
        assert_eq!(
            response.to_bytes().as_deref(),
            Ok(data),
            "batch response re-encodes differently"
        );
    }
    if let Ok(set) = SignedKeySet::from_bytes(data) {
        assert_eq!(
            set.to_bytes(),
            data,
            "signed key set re-encodes differently"
        );
    }
    if let Ok(text) = core::str::from_utf8(data)
        && let Ok(pseudonym) = Pseudonym::parse(text)
    {
        assert_eq!(
            pseudonym.to_text(),
            text,
            "pseudonym text re-encodes differently"
        );
    }
}

/// The fixed world of the relying-party target: one evaluator, its signed key set, one
/// relying party, the challenge it issued, and the one assertion the evaluator signed for it.
struct RelyingPartyWorld {
    relying_party: attested::RelyingParty,
    pending: [u8; PENDING_CHALLENGE_LEN],
    channel: ChannelBinding,
    genuine: Assertion,
}

/// Time at which the genuine assertion was made; it is valid until its grid expiry.
const FUZZ_NOW: u64 = 1_800_000_000;

fn relying_party_world() -> &'static RelyingPartyWorld {
    static WORLD: OnceLock<RelyingPartyWorld> = OnceLock::new();
    WORLD.get_or_init(|| {
        let realm = b"blindnym fuzz realm";
        let mut rng = FuzzRng::new(b"relying party world");
        let ratchet = KeyRatchet::new(&RootSeed::from_bytes(&[0x5a; 32]).expect("seed"), realm, 1)
            .expect("ratchet");
        let keys = ratchet.keys().expect("keys");
        let signer = KeySetSigner::from_bytes(&[0x5b; 32]).expect("signer");
        let set = KeySet::new(
            realm,
            1,
            FUZZ_NOW - 86_400,
            FUZZ_NOW + 86_400,
            vec![keys.public(0)],
        )
        .expect("set");
        let verified = KeySetVerifier::new(signer.verifying_key(), realm)
            .accept(&signer.sign(set), FUZZ_NOW)
            .expect("verified set");
        let service = ServiceId::from_origin("https://shop.example").expect("service");
        let subject = SubjectId::new("alice").expect("subject");
        let relying_party =
            attested::RelyingParty::new(verified.clone(), service.clone()).expect("rp");
        let (pending, challenge) = relying_party.challenge(&mut rng, FUZZ_NOW);
        let channel = ChannelBinding::new([0x5c; 32]);
        let holder = attested::Holder::new(verified, subject.clone()).expect("holder");
        let (state, request) = holder
            .request(&service, &challenge, &channel, &mut rng)
            .expect("request");
        let evaluation = attested::Evaluator::new(keys.attested(), EvaluationBudget::default())
            .evaluate(&subject, &request, FUZZ_NOW, &mut rng)
            .expect("evaluation");
        let genuine = holder
            .finish(state, &evaluation, FUZZ_NOW)
            .expect("assertion");
        RelyingPartyWorld {
            relying_party,
            pending: pending.to_bytes(),
            channel,
            genuine,
        }
    })
}

/// Inputs that reach the relying party's accepting path: `now (8, big-endian) || assertion`
/// with the genuine assertion at a time it is valid. The fuzz corpus holds them.
pub fn relying_party_seeds() -> Vec<Vec<u8>> {
    let world = relying_party_world();
    [FUZZ_NOW, world.genuine.expiry - 1]
        .iter()
        .map(|now| [&now.to_be_bytes()[..], &world.genuine.to_bytes()].concat())
        .collect()
}

/// Flow A relying-party verification on arbitrary assertions:
/// `now (8, big-endian) || assertion`. The evaluator signed exactly one assertion, so the
/// relying party may accept nothing else, and what it accepts must give the genuine
/// pseudonym. Returns whether the input was accepted.
pub fn relying_party(data: &[u8]) -> bool {
    let Some((now, assertion)) = data.split_first_chunk::<8>() else {
        return false;
    };
    let Ok(assertion) = Assertion::from_bytes(assertion) else {
        return false;
    };
    let world = relying_party_world();
    let now = u64::from_be_bytes(*now);
    let verify = |assertion: &Assertion, now: u64| {
        let pending = PendingChallenge::from_bytes(&world.pending).expect("saved challenge");
        world.relying_party.verify(
            pending,
            assertion,
            &world.channel,
            now,
            &MemoryNonceStore::new(),
        )
    };
    match verify(&assertion, now) {
        Ok(pseudonym) => {
            assert_eq!(
                assertion, world.genuine,
                "relying party accepted a forged assertion"
            );
            let expected = verify(&world.genuine, FUZZ_NOW).expect("genuine assertion verifies");
            assert_eq!(
                pseudonym, expected,
                "accepted assertion gave another pseudonym"
            );
            true
        }
        Err(_) => false,
    }
}

#[cfg(feature = "threshold")]
mod threshold;
#[cfg(feature = "threshold")]
pub use threshold::*;
#[cfg(feature = "transparency")]
mod transparency;
#[cfg(feature = "transparency")]
pub use transparency::*;

/// The caller's fixed request key in [`request_signature`]'s world.
const FUZZ_CALLER_KEY: [u8; 32] = [0x5d; 32];

/// Splits the bytes of a [`request_signature`] input into its ten fields.
fn request_fields(data: &[u8]) -> Option<([&str; 9], &[u8])> {
    let parts: Vec<&[u8]> = data.splitn(10, |&b| b == 0).collect();
    if parts.len() < 9 {
        return None;
    }
    let mut texts = [""; 9];
    for (text, part) in texts.iter_mut().zip(&parts) {
        *text = core::str::from_utf8(part).ok()?;
    }
    Some((texts, parts.get(9).copied().unwrap_or(&[])))
}

/// The evaluator's first look at an untrusted request (`caller_auth`, `spec/12-threshold.md`
/// §12.12.6): method, authority, path, `Content-Digest`, realm, tweak, session (empty: absent),
/// `Signature-Input` and `Signature`, separated by 0x00, then the body. Parsing the
/// signature, its freshness, its verification and the body's digest never panic. Returns
/// whether the request is one the fixed caller key signed, fresh at the fixed time, over
/// exactly these values and this body.
pub fn request_signature(data: &[u8]) -> bool {
    use crate::caller_auth::{Covered, Presented, check_content_digest};
    let Some((
        [
            method,
            authority,
            path,
            digest,
            realm,
            tweak,
            session,
            input,
            signature,
        ],
        body,
    )) = request_fields(data)
    else {
        return false;
    };
    let covered = Covered {
        method,
        authority,
        path,
        content_digest: digest,
        realm,
        tweak: (!tweak.is_empty()).then_some(tweak),
        session: (!session.is_empty()).then_some(session),
    };
    let body_matches = check_content_digest(digest, body).is_ok();
    let Ok(presented) = Presented::parse(&covered, input, signature) else {
        return false;
    };
    let caller = crate::caller_auth::RequestSigner::from_bytes(&FUZZ_CALLER_KEY)
        .map(|signer| signer.public_key());
    let fresh = presented.is_fresh(FUZZ_NOW, 60);
    let verified = presented.verify(&covered).is_ok();
    verified && fresh && body_matches && caller.is_ok_and(|key| key == presented.key)
}

/// One seed request: path, tweak, session, body.
type SeedRequest = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static [u8],
);

/// Seeds for [`request_signature`]: genuine signed requests of the fixed caller, a flow B
/// batch (no tweak or session) and a flow A round two (both).
///
/// # Panics
/// Never: the inputs are fixed and valid.
pub fn request_signature_seeds() -> Vec<Vec<u8>> {
    use crate::caller_auth::{Covered, RequestSigner};
    let signer = RequestSigner::from_bytes(&FUZZ_CALLER_KEY).expect("key");
    let mut rng = FuzzRng::new(b"request signature seeds");
    let requests: [SeedRequest; 2] = [
        ("/v1/flow-b/evaluate", None, None, b"a batch"),
        (
            "/v1/threshold/flow-a/sign",
            Some("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
            Some("0123456789abcdef0123456789abcdef"),
            b"a signing request",
        ),
    ];
    requests
        .iter()
        .map(|&(path, tweak, session, body)| {
            let covered = Covered {
                method: "POST",
                authority: "evaluator.example:8443",
                path,
                content_digest: "",
                realm: "blindnym fuzz realm",
                tweak,
                session,
            };
            let headers = signer
                .sign(&covered, body, FUZZ_NOW, &mut rng)
                .expect("signed");
            let fields = [
                covered.method,
                covered.authority,
                covered.path,
                &headers.content_digest,
                covered.realm,
                tweak.unwrap_or(""),
                session.unwrap_or(""),
                &headers.signature_input,
                &headers.signature,
            ];
            let mut seed = fields.join("\0").into_bytes();
            seed.push(0);
            seed.extend_from_slice(body);
            seed
        })
        .collect()
}
