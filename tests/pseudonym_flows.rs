//! End-to-end properties of the three pseudonym flows (spec/05, 06, 07).

mod common;

use blindnym::Error;
use blindnym::ed25519_dalek::{Signer, SigningKey};
use blindnym::pseudonym::flow_a::{self, Assertion, Nonce};
use blindnym::pseudonym::{flow_b, flow_h};
use common::{EXPIRY, NOW, flow_a_session, keys, published, root, rp, seeded};

// ---------------------------------------------------------------- flow H

fn flow_h_run(
    evaluator: &flow_h::Evaluator,
    cred: &[u8],
    service: &[u8],
    seed: u8,
) -> blindnym::Result<blindnym::Pseudonym> {
    let mut rng = seeded(seed);
    let holder = flow_h::Holder::new(published());
    let (state, request) = holder.blind(cred, service, &mut rng)?;
    // The evaluator's only input is the request: 32 bytes of blinded element.
    let request = flow_h::Request::from_bytes(&request.to_bytes())?;
    let response = evaluator.evaluate(&request, &mut rng)?;
    let response = flow_h::Response::from_bytes(&response.to_bytes())?;
    holder.finalize(state, &response)
}

#[test]
fn flow_h_stable_per_service_and_distinct_across_services() {
    let evaluator = flow_h::Evaluator::new(keys(1, 1));
    let a1 = flow_h_run(&evaluator, b"master credential", b"svc-a", 1).unwrap();
    let a2 = flow_h_run(&evaluator, b"master credential", b"svc-a", 2).unwrap();
    let b = flow_h_run(&evaluator, b"master credential", b"svc-b", 3).unwrap();
    let other = flow_h_run(&evaluator, b"other credential", b"svc-a", 4).unwrap();
    assert_eq!(a1, a2);
    assert_ne!(a1, b);
    assert_ne!(a1, other);
    // Framing: ("ab","c") and ("a","bc") are different tuples.
    let x = flow_h_run(&evaluator, b"ab", b"c", 5).unwrap();
    let y = flow_h_run(&evaluator, b"a", b"bc", 6).unwrap();
    assert_ne!(x, y);
}

#[test]
fn flow_h_rejects_tagging_key_and_unknown_epoch() {
    let tagger = flow_h::Evaluator::new(keys(99, 1));
    assert_eq!(flow_h_run(&tagger, b"c", b"s", 1), Err(Error::VerifyError));
    let unpublished = flow_h::Evaluator::new(keys(1, 7));
    assert_eq!(
        flow_h_run(&unpublished, b"c", b"s", 1),
        Err(Error::UnknownEpoch)
    );
    // After rotation, the published epoch 2 works and gives another pseudonym.
    let rotated = flow_h::Evaluator::new(keys(1, 2));
    let current = flow_h::Evaluator::new(keys(1, 1));
    assert_ne!(
        flow_h_run(&rotated, b"c", b"s", 1).unwrap(),
        flow_h_run(&current, b"c", b"s", 1).unwrap()
    );
}

// ---------------------------------------------------------------- flow A

#[test]
fn flow_a_stable_per_subject_and_service() {
    let evaluator = flow_a::Evaluator::new(keys(1, 2));
    let run = |subject: &[u8], service: &[u8], seed| {
        let s = flow_a_session(&evaluator, subject, service, seed).unwrap();
        rp(service).verify(&s.assertion, &s.nonce, NOW).unwrap()
    };
    let p1 = run(b"alice", b"shop.example", 1);
    let p2 = run(b"alice", b"shop.example", 2);
    let q = run(b"alice", b"forum.example", 3);
    let r = run(b"bob", b"shop.example", 4);
    assert_eq!(p1, p2);
    assert_ne!(p1, q);
    assert_ne!(p1, r);
}

#[test]
fn flow_a_rp_rejections_are_distinct() {
    let evaluator = flow_a::Evaluator::new(keys(1, 1));
    let shop = rp(b"shop.example");
    let s = flow_a_session(&evaluator, b"alice", b"shop.example", 1).unwrap();
    assert!(shop.verify(&s.assertion, &s.nonce, NOW).is_ok());

    // Replayed into a new session (another nonce).
    let fresh = shop.challenge(&mut seeded(50));
    assert_eq!(
        shop.verify(&s.assertion, &fresh, NOW),
        Err(Error::NonceMismatch)
    );

    // Expired.
    assert_eq!(
        shop.verify(&s.assertion, &s.nonce, EXPIRY),
        Err(Error::Expired)
    );

    // Re-targeted: the holder blinded the forum's service id but presents it to the shop.
    let t = flow_a_session(&evaluator, b"alice", b"forum.example", 2).unwrap();
    assert_eq!(
        shop.verify(&t.assertion, &t.nonce, NOW),
        Err(Error::ServiceMismatch)
    );

    // Forged: signed by a key other than the published one.
    let mut forged = s.assertion.clone();
    let message_key = SigningKey::from_bytes(&[42u8; 32]);
    forged.signature = message_key.sign(b"anything");
    assert_eq!(
        shop.verify(&forged, &s.nonce, NOW),
        Err(Error::BadSignature)
    );

    // An evaluator of another (unpublished) root signs a valid-looking evaluation: the
    // holder refuses it already; if forwarded anyway, the RP sees a bad signature.
    let rogue = flow_a::Evaluator::new(keys(77, 1));
    assert_eq!(
        flow_a_session(&rogue, b"alice", b"shop.example", 3).err(),
        Some(Error::VerifyError)
    );

    // Unknown epoch.
    let mut later = s.assertion.clone();
    later.epoch = 9;
    assert_eq!(shop.verify(&later, &s.nonce, NOW), Err(Error::UnknownEpoch));
}

#[test]
fn flow_a_any_tampered_byte_is_rejected() {
    let evaluator = flow_a::Evaluator::new(keys(1, 1));
    let shop = rp(b"shop.example");
    let s = flow_a_session(&evaluator, b"alice", b"shop.example", 7).unwrap();
    let bytes = s.assertion.to_bytes();
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut t = bytes;
            t[i] ^= bit;
            let verdict = Assertion::from_bytes(&t).and_then(|a| shop.verify(&a, &s.nonce, NOW));
            assert!(verdict.is_err(), "byte {i} bit {bit:#x} accepted");
        }
    }
}

#[test]
fn flow_a_holder_rejects_tagging() {
    // Published key set has root 1; a tagging evaluator uses root 2 for this subject.
    let tagger = flow_a::Evaluator::new(keys(2, 1));
    assert_eq!(
        flow_a_session(&tagger, b"alice", b"shop.example", 1).err(),
        Some(Error::VerifyError)
    );
    // Evaluating under another subject's tweak is also caught by the holder.
    let honest_keys = flow_a::Evaluator::new(keys(1, 1));
    let mut rng = seeded(3);
    let holder = flow_a::Holder::new(published(), b"alice").unwrap();
    let nonce = Nonce::generate(&mut rng);
    let (state, request) = holder.request(b"shop.example", &nonce, &mut rng).unwrap();
    let evaluation = honest_keys
        .evaluate(b"mallory", &request, EXPIRY, &mut rng)
        .unwrap();
    assert_eq!(
        holder.finish(state, &evaluation).err(),
        Some(Error::VerifyError)
    );
}

// ---------------------------------------------------------------- flow B

fn flow_b_run(
    evaluator: &flow_b::Evaluator,
    domain: &[u8],
    ids: &[&str],
    seed: u8,
) -> blindnym::Result<Vec<blindnym::Pseudonym>> {
    let mut rng = seeded(seed);
    let holder = flow_b::DataHolder::new(published(), domain)?;
    let batch = holder.blind_batch(ids, &mut rng)?;
    let response = evaluator.evaluate_batch(domain, batch.blinded(), &mut rng)?;
    let response = flow_b::BatchResponse::from_bytes(&response.to_bytes()?)?;
    holder.finalize_batch(&batch, &response)
}

#[test]
fn flow_b_stable_and_domain_separated() {
    let evaluator = flow_b::Evaluator::new(keys(1, 1));
    let ids = ["110101199003070000", "110101199003070011", "alice"];
    let health = flow_b_run(&evaluator, b"health", &ids, 1).unwrap();
    let again = flow_b_run(&evaluator, b"health", &ids[1..], 2).unwrap();
    let tax = flow_b_run(&evaluator, b"tax", &ids, 3).unwrap();
    assert_eq!(health.len(), 3);
    assert_eq!(&health[1..], &again[..]);
    assert_ne!(health[0], health[1]);
    for (h, t) in health.iter().zip(&tax) {
        assert_ne!(h, t);
    }
}

#[test]
fn flow_b_rejects_wrong_key_and_wrong_domain() {
    let rogue = flow_b::Evaluator::new(keys(5, 1));
    assert_eq!(
        flow_b_run(&rogue, b"health", &["a", "b"], 1),
        Err(Error::VerifyError)
    );

    let evaluator = flow_b::Evaluator::new(keys(1, 1));
    let mut rng = seeded(9);
    let holder = flow_b::DataHolder::new(published(), b"health").unwrap();
    let batch = holder.blind_batch(&["a", "b"], &mut rng).unwrap();
    let response = evaluator
        .evaluate_batch(b"tax", batch.blinded(), &mut rng)
        .unwrap();
    assert_eq!(
        holder.finalize_batch(&batch, &response),
        Err(Error::VerifyError)
    );
    let empty: [&str; 0] = [];
    assert_eq!(
        holder.blind_batch(&empty, &mut rng).err(),
        Some(Error::BatchSize)
    );
}

#[test]
fn holder_states_never_print_secrets() {
    let mut rng = seeded(1);
    let holder = flow_h::Holder::new(published());
    let (state, _) = holder
        .blind(b"SECRET-CREDENTIAL", b"svc", &mut rng)
        .unwrap();
    assert!(!format!("{state:?}").contains("SECRET"));
    let data = flow_b::DataHolder::new(published(), b"d").unwrap();
    let batch = data.blind_batch(&["SECRET-ID"], &mut rng).unwrap();
    assert!(!format!("{batch:?}").contains("SECRET"));
    let seed = root(0xab);
    assert!(!format!("{seed:?}").to_lowercase().contains("abab"));
}

#[test]
fn flow_b_batch_equals_direct_evaluation() {
    let evaluator = flow_b::Evaluator::new(keys(1, 1));
    let holder = flow_b::DataHolder::new(published(), b"census").unwrap();
    let identities = [&b"110101199003070000"[..], b"440301198512120022", b""];
    let mut rng = seeded(9);
    let batch = holder.blind_batch(&identities, &mut rng).unwrap();
    let response = evaluator
        .evaluate_batch(b"census", batch.blinded(), &mut rng)
        .unwrap();
    let pseudonyms = holder.finalize_batch(&batch, &response).unwrap();
    for (identity, pseudonym) in identities.iter().zip(&pseudonyms) {
        assert_eq!(
            &evaluator.evaluate_direct(b"census", identity).unwrap(),
            pseudonym
        );
        assert_ne!(
            &evaluator.evaluate_direct(b"tax", identity).unwrap(),
            pseudonym
        );
    }
}
