//! End-to-end properties of the three pseudonym flows (spec/05, 06, 07), every message
//! crossing as bytes. The attacks each defence stops are in `tests/attacks.rs`.

mod common;

use blindnym::Error;
use blindnym::pseudonym::bulk::{
    self, BatchRequest, BatchResponse, BlindBatch, CallerId, Grants, MemoryQuota,
};
use blindnym::pseudonym::holder_derived::{self, LoginProof, MasterCredential};
use blindnym::pseudonym::{EvaluationBudget, MemoryNonceStore, PendingChallenge};
use common::*;

// ---------------------------------------------------------------- flow H

fn flow_h_key(
    evaluator: &holder_derived::Evaluator,
    credential: &[u8; 32],
    origin: &str,
    seed: u8,
) -> blindnym::Result<holder_derived::ServiceKey> {
    let mut rng = seeded(seed);
    let holder =
        holder_derived::Holder::new(published(), MasterCredential::from_bytes(credential)?);
    let (state, request) = holder.blind(&service(origin), &mut rng)?;
    // Saved and restored, as a browser that navigates away would.
    let state = holder_derived::HolderState::from_bytes(&state.to_bytes())?;
    let request = holder_derived::Request::from_bytes(&request.to_bytes())?;
    let response = evaluator.evaluate(&request, &mut rng)?;
    let response = holder_derived::Response::from_bytes(&response.to_bytes())?;
    holder.finalize(state, &response, NOW)
}

fn flow_h_evaluator(byte: u8, epoch: u32) -> holder_derived::Evaluator {
    holder_derived::Evaluator::new(
        keys(byte, epoch).holder_derived(),
        EvaluationBudget::default(),
    )
}

#[test]
fn flow_h_stable_per_service_distinct_across_services_and_logs_in() {
    let evaluator = flow_h_evaluator(1, 2);
    let shop = service("https://shop.example");
    let a1 = flow_h_key(&evaluator, &[7; 32], "https://shop.example", 1).unwrap();
    let a2 = flow_h_key(&evaluator, &[7; 32], "https://shop.example", 2).unwrap();
    let b = flow_h_key(&evaluator, &[7; 32], "https://forum.example", 3).unwrap();
    let other = flow_h_key(&evaluator, &[8; 32], "https://shop.example", 4).unwrap();
    assert_eq!(a1.pseudonym(&shop), a2.pseudonym(&shop));
    assert_ne!(a1.verifying_key(), b.verifying_key());
    assert_ne!(a1.pseudonym(&shop), other.pseudonym(&shop));

    let rp = holder_derived::RelyingParty::new(shop.clone());
    let (pending, challenge) = rp.challenge(&mut seeded(9), NOW);
    let proof = a2.answer(&shop, &challenge, &channel(1)).unwrap();
    let proof = LoginProof::from_bytes(&proof.to_bytes()).unwrap();
    let store = MemoryNonceStore::new();
    assert_eq!(
        rp.verify(pending, &proof, &channel(1), NOW, &store),
        a1.pseudonym(&shop)
    );
}

#[test]
fn flow_h_rejects_tagging_keys_and_unpublished_epochs() {
    let tagger = flow_h_evaluator(99, 2);
    assert_eq!(
        flow_h_key(&tagger, &[7; 32], "https://s.example", 1).map(drop),
        Err(Error::VerifyError)
    );
    let unpublished = flow_h_evaluator(1, 7);
    assert_eq!(
        flow_h_key(&unpublished, &[7; 32], "https://s.example", 1).map(drop),
        Err(Error::UnknownEpoch { epoch: 7 })
    );
}

#[test]
fn flow_h_migration_maps_old_to_new() {
    let shop = service("https://shop.example");
    let old = flow_h_key(&flow_h_evaluator(1, 1), &[7; 32], "https://shop.example", 1).unwrap();
    let new = flow_h_key(&flow_h_evaluator(1, 2), &[7; 32], "https://shop.example", 2).unwrap();
    let rp = holder_derived::RelyingParty::new(shop.clone());
    let (pending, challenge) = rp.challenge(&mut seeded(3), NOW);
    let (old_proof, new_proof) = (
        old.answer(&shop, &challenge, &channel(1)).unwrap(),
        new.answer(&shop, &challenge, &channel(1)).unwrap(),
    );
    let mapped = rp.verify_migration(
        pending,
        &old_proof,
        &new_proof,
        &channel(1),
        NOW,
        &MemoryNonceStore::new(),
    );
    assert_eq!(
        mapped,
        Ok((old.pseudonym(&shop).unwrap(), new.pseudonym(&shop).unwrap()))
    );
}

// ---------------------------------------------------------------- flow A

#[test]
fn flow_a_stable_per_subject_and_service() {
    let evaluator = attested_evaluator(1, 2);
    let run = |who: &str, origin: &str, seed| {
        let s = flow_a_session(&evaluator, who, origin, &channel(1), seed).unwrap();
        verify_at(origin, s, &channel(1), NOW).unwrap()
    };
    let p1 = run("alice", "https://shop.example", 1);
    let p2 = run("alice", "https://shop.example", 2);
    let q = run("alice", "https://forum.example", 3);
    let r = run("bob", "https://shop.example", 4);
    assert_eq!(p1, p2);
    assert_ne!(p1, q);
    assert_ne!(p1, r);
}

#[test]
fn flow_a_pending_challenge_and_holder_state_survive_a_restart() {
    let evaluator = attested_evaluator(1, 2);
    let mut rng = seeded(5);
    let shop = rp("https://shop.example");
    let (pending, challenge) = shop.challenge(&mut rng, NOW);
    let saved_challenge = pending.to_bytes();
    let holder = blindnym::pseudonym::attested::Holder::new(published(), subject("alice")).unwrap();
    let (state, request) = holder
        .request(
            &service("https://shop.example"),
            &challenge,
            &channel(2),
            &mut rng,
        )
        .unwrap();
    let state =
        blindnym::pseudonym::attested::HolderState::from_bytes(state.to_bytes().as_ref()).unwrap();
    let evaluation = evaluator
        .evaluate(&subject("alice"), &request, NOW, &mut rng)
        .unwrap();
    let assertion = holder.finish(state, &evaluation, NOW).unwrap();
    let pending = PendingChallenge::from_bytes(&saved_challenge).unwrap();
    assert!(
        shop.verify(
            pending,
            &assertion,
            &channel(2),
            NOW,
            &MemoryNonceStore::new()
        )
        .is_ok()
    );
}

#[test]
fn flow_a_previous_epoch_is_accepted_only_during_its_transition() {
    let old = attested_evaluator(1, 1);
    let s = flow_a_session(&old, "alice", "https://shop.example", &channel(1), 1).unwrap();
    assert!(verify_at("https://shop.example", s, &channel(1), NOW).is_ok());
    let late = EPOCH_2_START + blindnym::pseudonym::key_set::TRANSITION_WINDOW_S;
    let s = flow_a_session(&old, "alice", "https://shop.example", &channel(1), 2).unwrap();
    assert_eq!(
        verify_at("https://shop.example", s, &channel(1), late).map(drop),
        Err(Error::StaleEpoch { epoch: 1 })
    );
}

// ---------------------------------------------------------------- flow B

fn bulk_evaluator(
    byte: u8,
    epoch: u32,
    caller: &CallerId,
    domain: &[u8],
    quota: u64,
) -> bulk::Evaluator {
    bulk::Evaluator::new(
        keys(byte, epoch).bulk(),
        Grants::new().allow(caller, domain),
        MemoryQuota::new(quota),
        EvaluationBudget::default(),
    )
}

fn flow_b_run(
    evaluator: &bulk::Evaluator,
    caller: &CallerId,
    domain: &[u8],
    ids: &[&str],
    seed: u8,
) -> blindnym::Result<Vec<blindnym::Pseudonym>> {
    let mut rng = seeded(seed);
    let holder = bulk::DataHolder::new(published(), domain)?;
    let (batch, request) = holder.blind_batch(ids, &mut rng)?;
    let batch = BlindBatch::from_bytes(&batch.to_bytes())?;
    let request = BatchRequest::from_bytes(&request.to_bytes())?;
    let response = evaluator.evaluate_batch(caller, &request, &mut rng)?;
    let response = BatchResponse::from_bytes(&response.to_bytes()?)?;
    holder.finalize_batch(&batch, &response, NOW)
}

#[test]
fn flow_b_matches_direct_evaluation_and_separates_domains() {
    let census = CallerId::new(b"census office");
    let ids = [
        "110101199003070000",
        "110101199003070011",
        "440301198512120022",
    ];
    let evaluator = bulk_evaluator(1, 2, &census, b"census", 100);
    let pseudonyms = flow_b_run(&evaluator, &census, b"census", &ids, 1).unwrap();
    for (id, p) in ids.iter().zip(&pseudonyms) {
        assert_eq!(
            &evaluator.evaluate_direct(b"census", id.as_bytes()).unwrap(),
            p
        );
        assert_ne!(
            &evaluator.evaluate_direct(b"tax", id.as_bytes()).unwrap(),
            p
        );
    }
    assert_ne!(pseudonyms[0], pseudonyms[1]);
}

#[test]
fn flow_b_refuses_empty_and_oversized_batches_before_any_work() {
    let holder = bulk::DataHolder::new(published(), b"census").unwrap();
    let empty: [&str; 0] = [];
    assert_eq!(
        holder.blind_batch(&empty, &mut seeded(1)).map(drop),
        Err(Error::EmptyBatch)
    );
    let too_many = vec!["x"; blindnym::MAX_BATCH + 1];
    assert_eq!(
        holder.blind_batch(&too_many, &mut seeded(1)).map(drop),
        Err(Error::BatchTooLarge {
            len: blindnym::MAX_BATCH + 1
        })
    );
}

#[test]
fn migration_still_works_after_the_transition_window() {
    use blindnym::pseudonym::attested;
    let late = EPOCH_2_START + blindnym::pseudonym::key_set::TRANSITION_WINDOW_S + 86_400;
    // Flow A: one assertion, both epochs, a week after the switch.
    let mut rng = seeded(8);
    let shop = rp("https://shop.example");
    let (pending, challenge) = shop.challenge(&mut rng, late);
    let holder = attested::Holder::new(published(), subject("alice")).unwrap();
    let (state, request) = holder
        .request(
            &service("https://shop.example"),
            &challenge,
            &channel(1),
            &mut rng,
        )
        .unwrap();
    let evaluation = attested_evaluator(1, 2)
        .evaluate_migration(
            &attested_evaluator(1, 1),
            &subject("alice"),
            &request,
            late,
            &mut rng,
        )
        .unwrap();
    let assertion = holder.finish_migration(state, &evaluation, late).unwrap();
    let (old, new) = shop
        .verify_migration(
            pending,
            &assertion,
            &channel(1),
            late,
            &MemoryNonceStore::new(),
        )
        .unwrap();
    assert_ne!(old, new);

    // Flow H: the holder asks the previous epoch's evaluator itself.
    let holder =
        holder_derived::Holder::new(published(), MasterCredential::from_bytes(&[7; 32]).unwrap());
    let (state, request) = holder
        .blind(&service("https://shop.example"), &mut rng)
        .unwrap();
    let response = flow_h_evaluator(1, 1).evaluate(&request, &mut rng).unwrap();
    let old_key = holder.finalize_previous(state, &response, late).unwrap();
    assert_eq!(old_key.epoch(), 1);
    let (state, request) = holder
        .blind(&service("https://shop.example"), &mut rng)
        .unwrap();
    let response = flow_h_evaluator(1, 1).evaluate(&request, &mut rng).unwrap();
    assert_eq!(
        holder.finalize(state, &response, late).map(drop),
        Err(Error::StaleEpoch { epoch: 1 })
    );
}
