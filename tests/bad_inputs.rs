//! One test per row of the bad-input table in `spec/09-errors.md`: each class of malformed
//! input gets its documented error, never a panic.

mod common;

use blindnym::curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use blindnym::curve25519_dalek::scalar::Scalar;
use blindnym::hazmat::expand_message_xmd;
use blindnym::{
    Blind, BlindedElement, Error, EvaluatedElement, MAX_BATCH, MAX_INPUT_LEN, Mode, OprfClient,
    OprfServer, PoprfClient, PoprfServer, Proof, PublicKey, SecretKey, VoprfClient, VoprfServer,
};
use common::seeded;

/// An encoding of the generator, a valid non-identity element.
fn valid_element() -> [u8; 32] {
    RISTRETTO_BASEPOINT_POINT.compress().to_bytes()
}

/// The group order ℓ, little-endian: the smallest non-canonical scalar.
const ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// A named decoder with its value discarded.
type Decoder = (&'static str, fn(&[u8]) -> Result<(), Error>);

fn element_decoders() -> Vec<Decoder> {
    vec![
        ("BlindedElement", |b| {
            BlindedElement::from_bytes(b).map(drop)
        }),
        ("EvaluatedElement", |b| {
            EvaluatedElement::from_bytes(b).map(drop)
        }),
        ("PublicKey", |b| PublicKey::from_bytes(b).map(drop)),
    ]
}

fn scalar_decoders() -> Vec<Decoder> {
    vec![
        ("SecretKey", |b| SecretKey::from_bytes(b).map(drop)),
        ("Blind", |b| Blind::from_bytes(b).map(drop)),
    ]
}

#[test]
fn row_1_wrong_length() {
    for len in [0usize, 1, 31, 33, 64] {
        let bytes = vec![1u8; len];
        for (name, decode) in element_decoders().into_iter().chain(scalar_decoders()) {
            assert_eq!(
                decode(&bytes),
                Err(Error::InvalidLength {
                    expected: 32,
                    actual: len
                }),
                "{name}"
            );
        }
    }
    for len in [0usize, 32, 63, 65] {
        let expected = Err(Error::InvalidLength {
            expected: 64,
            actual: len,
        });
        assert_eq!(Proof::from_bytes(&vec![0u8; len]).map(drop), expected);
        assert_eq!(
            blindnym::Output::from_bytes(&vec![0u8; len]).map(drop),
            expected
        );
    }
}

#[test]
fn row_2_trailing_bytes() {
    let mut bytes = valid_element().to_vec();
    bytes.push(0);
    for (name, decode) in element_decoders() {
        assert_eq!(
            decode(&bytes),
            Err(Error::InvalidLength {
                expected: 32,
                actual: 33
            }),
            "{name}"
        );
    }
    let mut scalar = vec![0u8; 32];
    scalar[0] = 1;
    scalar.push(0);
    for (name, decode) in scalar_decoders() {
        assert_eq!(
            decode(&scalar),
            Err(Error::InvalidLength {
                expected: 32,
                actual: 33
            }),
            "{name}"
        );
    }
    assert_eq!(
        Proof::from_bytes(&[0u8; 65]).map(drop),
        Err(Error::InvalidLength {
            expected: 64,
            actual: 65
        })
    );
}

#[test]
fn row_3_non_canonical_element() {
    // p = 2^255 - 19 encodes zero non-canonically; a set sign bit and an odd s are invalid too.
    let mut p_bytes = [0xffu8; 32];
    p_bytes[0] = 0xed;
    p_bytes[31] = 0x7f;
    let mut high_bit = valid_element();
    high_bit[31] |= 0x80;
    let mut odd = valid_element();
    odd[0] |= 1;
    for bytes in [p_bytes, high_bit, odd] {
        for (name, decode) in element_decoders() {
            assert_eq!(
                decode(&bytes),
                Err(Error::NonCanonicalElement),
                "{name} {bytes:02x?}"
            );
        }
    }
}

#[test]
fn row_4_identity_element() {
    for (name, decode) in element_decoders() {
        assert_eq!(decode(&[0u8; 32]), Err(Error::IdentityElement), "{name}");
    }
}

#[test]
fn row_5_scalar_not_below_order() {
    let mut above = ORDER;
    above[0] += 1;
    for bytes in [ORDER, above, [0xff; 32]] {
        for (name, decode) in scalar_decoders() {
            assert_eq!(decode(&bytes), Err(Error::NonCanonicalScalar), "{name}");
        }
        let mut proof = [0u8; 64];
        proof[..32].copy_from_slice(&bytes);
        assert_eq!(
            Proof::from_bytes(&proof).map(drop),
            Err(Error::NonCanonicalScalar)
        );
        proof = [0u8; 64];
        proof[32..].copy_from_slice(&bytes);
        assert_eq!(
            Proof::from_bytes(&proof).map(drop),
            Err(Error::NonCanonicalScalar)
        );
    }
}

#[test]
fn row_6_zero_secret_scalar() {
    for (name, decode) in scalar_decoders() {
        assert_eq!(decode(&[0u8; 32]), Err(Error::ZeroScalar), "{name}");
    }
    // A proof's scalars are public and may be zero (RFC 9497 DeserializeScalar); such a
    // proof decodes and then fails to verify.
    let proof = Proof::from_bytes(&[0u8; 64]).expect("zero proof scalars decode");
    let mut rng = seeded(6);
    let server = VoprfServer::generate(&mut rng).expect("key");
    let client = VoprfClient::new(*server.public_key());
    let (blind, blinded) = client.blind(b"x", &mut rng).expect("blind");
    let (evaluated, _) = server.blind_evaluate(&blinded, &mut rng).expect("evaluate");
    assert_eq!(
        client.finalize(b"x", &blind, &evaluated, &blinded, &proof),
        Err(Error::VerifyError)
    );
}

#[test]
fn row_7_oversize_input_or_info() {
    let mut rng = seeded(7);
    let max = vec![7u8; MAX_INPUT_LEN];
    let over = vec![7u8; MAX_INPUT_LEN + 1];
    assert!(OprfClient::new().blind(&max, &mut rng).is_ok());
    assert_eq!(
        OprfClient::new().blind(&over, &mut rng).map(drop),
        Err(Error::InputTooLong)
    );
    let oprf = OprfServer::generate(&mut rng).expect("key");
    assert_eq!(oprf.evaluate(&over).map(drop), Err(Error::InputTooLong));

    let poprf = PoprfServer::generate(&mut rng).expect("key");
    let client = PoprfClient::new(*poprf.public_key());
    let (blind, blinded) = client.blind(b"x", &mut rng).expect("blind");
    assert_eq!(
        poprf.blind_evaluate(&blinded, &over, &mut rng).map(drop),
        Err(Error::InputTooLong)
    );
    assert_eq!(
        poprf.evaluate(b"x", &over).map(drop),
        Err(Error::InputTooLong)
    );
    assert_eq!(
        client.tweaked_key(&over).map(drop),
        Err(Error::InputTooLong)
    );
    let (evaluated, proof) = poprf
        .blind_evaluate(&blinded, b"i", &mut rng)
        .expect("evaluate");
    assert_eq!(
        client
            .finalize(b"x", &over, &blind, &evaluated, &blinded, &proof)
            .map(drop),
        Err(Error::InputTooLong)
    );
    assert_eq!(
        blindnym::KeyPair::derive(Mode::Voprf, &[1; 32], &over).map(drop),
        Err(Error::InputTooLong)
    );
    let mut out = vec![0u8; 65536];
    assert_eq!(
        expand_message_xmd(&[b"m"], b"DST", &mut out),
        Err(Error::InputTooLong)
    );
}

#[test]
fn row_8_batch_size() {
    let mut rng = seeded(8);
    let server = VoprfServer::generate(&mut rng).expect("key");
    let client = VoprfClient::new(*server.public_key());
    assert_eq!(
        server.blind_evaluate_batch(&[], &mut rng).map(drop),
        Err(Error::EmptyBatch)
    );

    let (blinds, blinded) = client.blind_batch(&[b"a", b"b"], &mut rng).expect("blind");
    let (evaluated, proof) = server
        .blind_evaluate_batch(&blinded, &mut rng)
        .expect("evaluate");
    // Lists of different lengths.
    assert_eq!(
        client
            .finalize_batch(&[b"a"], &blinds, &evaluated, &blinded, &proof)
            .map(drop),
        Err(Error::BatchMismatch { left: 1, right: 2 })
    );
    assert_eq!(
        client.verify(&blinded[..1], &evaluated, &proof),
        Err(Error::BatchMismatch { left: 1, right: 2 })
    );
    assert_eq!(
        OprfClient::new()
            .finalize_batch(&[b"a", b"b"], &blinds[..1], &evaluated)
            .map(drop),
        Err(Error::BatchMismatch { left: 2, right: 1 })
    );

    // One element over the limit: rejected before any group work.
    let big = vec![blinded[0]; MAX_BATCH + 1];
    assert_eq!(
        server.blind_evaluate_batch(&big, &mut rng).map(drop),
        Err(Error::BatchTooLarge { len: MAX_BATCH + 1 })
    );
    let poprf = PoprfServer::generate(&mut rng).expect("key");
    assert_eq!(
        poprf.blind_evaluate_batch(&big, b"i", &mut rng).map(drop),
        Err(Error::BatchTooLarge { len: MAX_BATCH + 1 })
    );
}

#[test]
fn row_9_proof_for_another_key() {
    let mut rng = seeded(9);
    let honest = VoprfServer::generate(&mut rng).expect("key");
    let tagging = VoprfServer::generate(&mut rng).expect("key");
    let client = VoprfClient::new(*honest.public_key());
    let (blind, blinded) = client.blind(b"subject", &mut rng).expect("blind");
    let (evaluated, proof) = tagging
        .blind_evaluate(&blinded, &mut rng)
        .expect("evaluate");
    assert_eq!(
        client.finalize(b"subject", &blind, &evaluated, &blinded, &proof),
        Err(Error::VerifyError)
    );

    // POPRF: a proof under another info's tweak is a proof for another key.
    let poprf = PoprfServer::generate(&mut rng).expect("key");
    let pclient = PoprfClient::new(*poprf.public_key());
    let (blind, blinded) = pclient.blind(b"subject", &mut rng).expect("blind");
    let (evaluated, proof) = poprf
        .blind_evaluate(&blinded, b"domain-1", &mut rng)
        .expect("eval");
    assert_eq!(
        pclient.finalize(
            b"subject",
            b"domain-2",
            &blind,
            &evaluated,
            &blinded,
            &proof
        ),
        Err(Error::VerifyError)
    );
}

/// `m = HashToScalar("Info" || I2OSP(len(info), 2) || info)` under the POPRF context,
/// recomputed from public pieces.
fn info_scalar(info: &[u8]) -> Scalar {
    let mut dst = b"HashToScalar-".to_vec();
    dst.extend_from_slice(&Mode::Poprf.context_string());
    let mut wide = [0u8; 64];
    let len = u16::try_from(info.len()).expect("short info").to_be_bytes();
    expand_message_xmd(&[b"Info", &len, info], &dst, &mut wide).expect("xmd");
    Scalar::from_bytes_mod_order_wide(&wide)
}

#[test]
fn row_10_poprf_tweak_not_invertible() {
    // A key equal to -m for some info makes t = 0: the server must refuse (InverseError) and
    // the client sees an identity tweaked key (InvalidInput).
    let info = b"the info a key-holding client chose";
    let sk = SecretKey::from_bytes(&(-info_scalar(info)).to_bytes()).expect("nonzero key");
    let server = PoprfServer::new(blindnym::KeyPair::from_secret(sk));
    let client = PoprfClient::new(*server.public_key());
    let mut rng = seeded(10);
    let (_, blinded) = client.blind(b"x", &mut rng).expect("blind");
    assert_eq!(
        server.blind_evaluate(&blinded, info, &mut rng).map(drop),
        Err(Error::InverseError)
    );
    assert_eq!(
        server.evaluate(b"x", info).map(drop),
        Err(Error::InverseError)
    );
    assert_eq!(client.tweaked_key(info).map(drop), Err(Error::InvalidInput));
    // Any other info works.
    assert!(
        server
            .blind_evaluate(&blinded, b"another info", &mut rng)
            .is_ok()
    );
}

#[test]
fn row_11_broken_rng() {
    // An RNG that only yields zero bytes can never produce a nonzero scalar.
    let mut zeros = common::ReplayRng::new(std::iter::repeat_n(vec![0u8; 32], 64));
    assert_eq!(
        OprfClient::new().blind(b"x", &mut zeros).map(drop),
        Err(Error::RandomnessFailure)
    );
}

// ------------------------------------------------------------ pseudonym layer (§9.2 rows 12–22)

use blindnym::Pseudonym;
use blindnym::pseudonym::attested::{self, Assertion, MigrationAssertion, MigrationEvaluation};
use blindnym::pseudonym::bulk::{self, BatchRequest, BatchResponse, CallerId, Grants, MemoryQuota};
use blindnym::pseudonym::holder_derived::{self, LoginProof};
use blindnym::pseudonym::key_set::EPOCH_ENTRY_LEN;
use blindnym::pseudonym::{
    Challenge, EvaluationBudget, KeySet, KeySetVerifier, MemoryNonceStore, ServiceId, SignedKeySet,
    SubjectId,
};
use common::{
    EPOCH_1_START, EPOCH_2_START, NOW, REALM, SET_NOT_AFTER, attested_evaluator, channel,
    flow_a_session, forged_set, keys, published, rp, signed_set, signer, verify_at,
};

const SHOP: &str = "https://shop.example";

fn session(seed: u8) -> common::Session {
    flow_a_session(&attested_evaluator(1, 2), "alice", SHOP, &channel(1), seed)
        .expect("flow A session")
}

#[test]
fn row_12_protocol_messages_wrong_length_or_trailing() {
    type Check = (&'static str, usize, fn(&[u8]) -> Result<(), Error>);
    let messages: [Check; 9] = [
        (
            "holder_derived::Request",
            holder_derived::REQUEST_LEN,
            |b| holder_derived::Request::from_bytes(b).map(drop),
        ),
        (
            "holder_derived::Response",
            holder_derived::RESPONSE_LEN,
            |b| holder_derived::Response::from_bytes(b).map(drop),
        ),
        ("LoginProof", holder_derived::LOGIN_PROOF_LEN, |b| {
            LoginProof::from_bytes(b).map(drop)
        }),
        ("attested::Request", attested::REQUEST_LEN, |b| {
            attested::Request::from_bytes(b).map(drop)
        }),
        ("attested::Evaluation", attested::EVALUATION_LEN, |b| {
            attested::Evaluation::from_bytes(b).map(drop)
        }),
        (
            "MigrationEvaluation",
            attested::MIGRATION_EVALUATION_LEN,
            |b| MigrationEvaluation::from_bytes(b).map(drop),
        ),
        ("Assertion", attested::ASSERTION_LEN, |b| {
            Assertion::from_bytes(b).map(drop)
        }),
        (
            "MigrationAssertion",
            attested::MIGRATION_ASSERTION_LEN,
            |b| MigrationAssertion::from_bytes(b).map(drop),
        ),
        ("Challenge", 32, |b| Challenge::from_bytes(b).map(drop)),
    ];
    for (name, len, decode) in messages {
        for actual in [0, len - 1, len + 1] {
            assert_eq!(
                decode(&vec![1u8; actual]),
                Err(Error::InvalidLength {
                    expected: len,
                    actual
                }),
                "{name} with {actual} bytes"
            );
        }
    }
    let mut bytes = session(1).assertion.to_bytes().to_vec();
    bytes.push(0);
    assert!(matches!(
        Assertion::from_bytes(&bytes),
        Err(Error::InvalidLength { .. })
    ));
    let response = BatchResponse::from_bytes(&[0u8; 3]);
    assert!(
        matches!(response, Err(Error::InvalidLength { .. })),
        "{response:?}"
    );
    let request = BatchRequest::from_bytes(&[0, 1, b'd', 0, 1]);
    assert!(
        matches!(request, Err(Error::InvalidLength { .. })),
        "{request:?}"
    );
}

#[test]
fn row_13_assertion_for_another_session_or_answered_twice() {
    let s = session(2);
    let assertion = s.assertion.clone();
    let store = MemoryNonceStore::new();
    let shop = rp(SHOP);
    let (fresh, _) = shop.challenge(&mut seeded(13), NOW);
    assert_eq!(
        shop.verify(fresh, &assertion, &channel(1), NOW, &store)
            .map(drop),
        Err(Error::SessionMismatch)
    );
    let pending = s.pending.to_bytes();
    let restore = || blindnym::pseudonym::PendingChallenge::from_bytes(&pending).unwrap();
    assert!(
        shop.verify(restore(), &assertion, &channel(1), NOW, &store)
            .is_ok()
    );
    assert_eq!(
        shop.verify(restore(), &assertion, &channel(1), NOW, &store)
            .map(drop),
        Err(Error::Replayed)
    );
}

#[test]
fn row_14_expired_assertion_or_lapsed_challenge() {
    let s = session(3);
    let expiry = s.assertion.expiry;
    assert_eq!(
        verify_at(SHOP, s, &channel(1), expiry).map(drop),
        Err(Error::Expired)
    );
    // An assertion checked by a clock far behind its expiry: too far ahead to be honest.
    let s = session(3);
    assert_eq!(
        verify_at(SHOP, s, &channel(1), NOW - 3_600).map(drop),
        Err(Error::OffGridExpiry)
    );
    // A fresh assertion answering a challenge that lapsed (issued ten minutes earlier), in
    // both flows.
    let mut rng = seeded(14);
    let shop = rp(SHOP);
    let (pending, challenge) = shop.challenge(&mut rng, NOW - 600);
    let holder = attested::Holder::new(published(), common::subject("alice")).unwrap();
    let (state, request) = holder
        .request(&common::service(SHOP), &challenge, &channel(1), &mut rng)
        .unwrap();
    let evaluation = attested_evaluator(1, 2)
        .evaluate(&common::subject("alice"), &request, NOW, &mut rng)
        .unwrap();
    let assertion = holder.finish(state, &evaluation, NOW).unwrap();
    assert_eq!(
        shop.verify(
            pending,
            &assertion,
            &channel(1),
            NOW,
            &MemoryNonceStore::new()
        )
        .map(drop),
        Err(Error::Expired)
    );
    let login = holder_derived::RelyingParty::new(common::service(SHOP));
    let (pending, challenge) = login.challenge(&mut rng, NOW - 600);
    let key = {
        let evaluator = holder_derived::Evaluator::new(
            keys(1, 2).holder_derived(),
            EvaluationBudget::default(),
        );
        let holder = holder_derived::Holder::new(
            published(),
            blindnym::pseudonym::holder_derived::MasterCredential::from_bytes(&[7; 32]).unwrap(),
        );
        let (state, request) = holder.blind(&common::service(SHOP), &mut rng).unwrap();
        holder
            .finalize(state, &evaluator.evaluate(&request, &mut rng).unwrap(), NOW)
            .unwrap()
    };
    let proof = key
        .answer(&common::service(SHOP), &challenge, &channel(1))
        .unwrap();
    assert_eq!(
        login
            .verify(pending, &proof, &channel(1), NOW, &MemoryNonceStore::new())
            .map(drop),
        Err(Error::Expired)
    );
}

#[test]
fn row_15_assertion_for_another_service() {
    let s = flow_a_session(
        &attested_evaluator(1, 2),
        "alice",
        "https://forum.example",
        &channel(1),
        4,
    )
    .unwrap();
    // Presented at the shop over the same channel and session (only the service differs).
    let shop = rp(SHOP);
    assert_eq!(
        shop.verify(
            s.pending,
            &s.assertion,
            &channel(1),
            NOW,
            &MemoryNonceStore::new()
        )
        .map(drop),
        Err(Error::ServiceMismatch)
    );
}

#[test]
fn row_16_forged_or_tampered_signature() {
    let s = session(5);
    let mut later = s.assertion.clone();
    later.expiry += 300;
    assert_eq!(
        verify_at(
            SHOP,
            common::Session {
                pending: s.pending,
                assertion: later
            },
            &channel(1),
            NOW
        )
        .map(drop),
        Err(Error::BadSignature)
    );
    let rogue = attested_evaluator(77, 2);
    let mut rng = seeded(6);
    let (pending, challenge) = rp(SHOP).challenge(&mut rng, NOW);
    let holder = attested::Holder::new(published(), common::subject("alice")).unwrap();
    let (state, request) = holder
        .request(&common::service(SHOP), &challenge, &channel(1), &mut rng)
        .unwrap();
    let evaluation = rogue
        .evaluate(&common::subject("alice"), &request, NOW, &mut rng)
        .unwrap();
    // The holder refuses the rogue key's proof; forwarded anyway, the signature fails.
    assert_eq!(
        holder.finish(state, &evaluation, NOW).map(drop),
        Err(Error::VerifyError)
    );
    let forwarded = Assertion {
        epoch: evaluation.epoch,
        r: blindnym::Blind::from_bytes(&[1; 32]).unwrap(),
        blinded: request.blinded,
        evaluated: evaluation.evaluated,
        session: request.session,
        expiry: evaluation.expiry,
        signature: evaluation.signature,
    };
    assert_eq!(
        verify_at(
            SHOP,
            common::Session {
                pending,
                assertion: forwarded
            },
            &channel(1),
            NOW
        )
        .map(drop),
        Err(Error::BadSignature)
    );
}

#[test]
fn row_17_unknown_or_stale_epoch() {
    let s = flow_a_session(&attested_evaluator(1, 7), "alice", SHOP, &channel(1), 7);
    assert_eq!(s.map(drop), Err(Error::UnknownEpoch { epoch: 7 }));
    let s = flow_a_session(&attested_evaluator(1, 1), "alice", SHOP, &channel(1), 8).unwrap();
    let late = EPOCH_2_START + blindnym::pseudonym::key_set::TRANSITION_WINDOW_S;
    assert_eq!(
        verify_at(SHOP, s, &channel(1), late).map(drop),
        Err(Error::StaleEpoch { epoch: 1 })
    );
}

#[test]
fn row_18_malformed_signed_key_set() {
    let good = signed_set().to_bytes();
    assert!(SignedKeySet::from_bytes(&good).is_ok());
    let mut bad_magic = good.clone();
    bad_magic[0] ^= 1;
    let mut bad_version = good.clone();
    bad_version[4] = 1;
    for bytes in [bad_magic, bad_version] {
        assert_eq!(
            SignedKeySet::from_bytes(&bytes).map(drop),
            Err(Error::Malformed)
        );
    }
    // Epochs out of order or repeated: swap the two entries, or repeat the first.
    let entries_at = good.len() - 64 - 2 * EPOCH_ENTRY_LEN;
    let (head, rest) = good.split_at(entries_at);
    let (first, rest) = rest.split_at(EPOCH_ENTRY_LEN);
    let (second, signature) = rest.split_at(EPOCH_ENTRY_LEN);
    for (a, b) in [(second, first), (first, first)] {
        assert_eq!(
            SignedKeySet::from_bytes(&[head, a, b, signature].concat()).map(drop),
            Err(Error::Malformed)
        );
    }
    // A count of zero or over the limit, before any entry is read.
    let mut zero = head.to_vec();
    let count_at = zero.len() - 2;
    zero[count_at..].copy_from_slice(&0u16.to_be_bytes());
    assert_eq!(
        SignedKeySet::from_bytes(&zero).map(drop),
        Err(Error::Malformed)
    );
    let truncated = SignedKeySet::from_bytes(&good[..good.len() - 1]);
    assert!(
        matches!(truncated, Err(Error::InvalidLength { .. })),
        "{truncated:?}"
    );
    let trailing = SignedKeySet::from_bytes(&[good.as_slice(), &[0]].concat());
    assert!(
        matches!(trailing, Err(Error::InvalidLength { .. })),
        "{trailing:?}"
    );
    // An identity key in place of the first entry's first public key.
    let mut identity = good.clone();
    identity[entries_at + 12..entries_at + 44].fill(0);
    assert_eq!(
        SignedKeySet::from_bytes(&identity).map(drop),
        Err(Error::IdentityElement)
    );
}

#[test]
fn row_19_malformed_pseudonym_text() {
    let text = Pseudonym::from_array([7u8; 32]).to_text();
    assert_eq!(
        text.parse::<Pseudonym>(),
        Ok(Pseudonym::from_array([7u8; 32]))
    );
    let mut wrong_prefix = text.clone();
    wrong_prefix.replace_range(0..3, "bn2");
    let mut typo = text.clone().into_bytes();
    typo[10] = if typo[10] == b'q' { b'p' } else { b'q' };
    let typo = String::from_utf8(typo).unwrap();
    let cases = [
        String::new(),
        text[..text.len() - 1].to_string(),
        format!("{text}q"),
        text.to_uppercase(),
        wrong_prefix,
        typo,
        text.replace('q', "é"),
    ];
    for case in cases {
        assert_eq!(
            case.parse::<Pseudonym>(),
            Err(Error::InvalidText),
            "{case:?}"
        );
    }
}

#[test]
fn row_20_oversize_or_non_canonical_identifier() {
    for bad in ["", "alice smith", &"x".repeat(256)] {
        assert_eq!(
            SubjectId::new(bad).map(drop),
            Err(Error::NonCanonicalId),
            "{bad:?}"
        );
    }
    for bad in ["Shop.example", "shop example", ""] {
        assert_eq!(
            ServiceId::from_origin(bad).map(drop),
            Err(Error::NonCanonicalId),
            "{bad:?}"
        );
    }
    let huge = vec![b'x'; 256];
    assert_eq!(
        bulk::DataHolder::new(published(), &huge).map(drop),
        Err(Error::InputTooLong)
    );
    assert_eq!(
        BatchRequest::new(&huge, vec![]).map(drop),
        Err(Error::InputTooLong)
    );
    let data_holder = bulk::DataHolder::new(published(), b"domain").unwrap();
    let identity = vec![b'x'; 65536];
    assert_eq!(
        data_holder
            .blind_batch(&[&identity], &mut seeded(20))
            .map(drop),
        Err(Error::InputTooLong)
    );
    assert_eq!(
        blindnym::pseudonym::KeyRatchet::new(&common::root(1), &[0; 1025], 1).map(drop),
        Err(Error::InputTooLong)
    );
}

#[test]
fn row_21_key_set_refusals() {
    let forged = forged_set(5);
    let mut verifier = KeySetVerifier::new(signer().verifying_key(), REALM);
    assert_eq!(
        verifier.accept(&forged, NOW).map(drop),
        Err(Error::KeySetSignature)
    );
    assert_eq!(
        verifier.accept(&signed_set(), SET_NOT_AFTER).map(drop),
        Err(Error::KeySetExpired)
    );
    assert_eq!(
        verifier.accept(&signed_set(), EPOCH_1_START - 1).map(drop),
        Err(Error::KeySetExpired)
    );
    assert!(verifier.accept(&signed_set(), NOW).is_ok());
    let same_number = signer().sign(
        KeySet::new(
            REALM,
            1,
            EPOCH_1_START,
            SET_NOT_AFTER + 1,
            vec![keys(1, 1).public(EPOCH_1_START)],
        )
        .unwrap(),
    );
    assert_eq!(
        verifier.accept(&same_number, NOW).map(drop),
        Err(Error::KeySetRollback)
    );
    assert_eq!(
        KeySetVerifier::new(signer().verifying_key(), b"x")
            .accept(&signed_set(), NOW)
            .map(drop),
        Err(Error::RealmMismatch)
    );
}

#[test]
fn row_22_evaluator_refusals() {
    let caller = CallerId::new(b"census office");
    let evaluator = bulk::Evaluator::new(
        keys(1, 2).bulk(),
        Grants::new().allow(&caller, b"census"),
        MemoryQuota::new(1),
        EvaluationBudget::new(2),
    );
    let holder = bulk::DataHolder::new(published(), b"census").unwrap();
    let (_, one) = holder.blind_batch(&["a"], &mut seeded(1)).unwrap();
    let run = |caller: &CallerId, seed| {
        evaluator
            .evaluate_batch(caller, &one, &mut seeded(seed))
            .map(drop)
    };
    assert_eq!(run(&CallerId::new(b"someone"), 2), Err(Error::Unauthorized));
    assert_eq!(run(&caller, 3), Ok(()));
    // Policy, then budget, then quota: the quota refusal spends budget, never the reverse.
    assert_eq!(run(&caller, 4), Err(Error::QuotaExceeded));
    assert_eq!(run(&caller, 5), Err(Error::BudgetExhausted));
}
