//! One test per hole that pseudonym layer v2 closes (spec/02-threat-model.md §2.6): each
//! performs the attack and shows it fail with its named error. Without the defence, each
//! attack would succeed (the comment on each test says which check it defeats).

mod common;

use blindnym::Error;
use blindnym::pseudonym::attested::{self, MigrationAssertion};
use blindnym::pseudonym::bulk::{self, BatchRequest, CallerId, Grants, MemoryQuota};
use blindnym::pseudonym::holder_derived::{self, LoginProof, MasterCredential};
use blindnym::pseudonym::key_set::TRANSITION_WINDOW_S;
use blindnym::pseudonym::{EvaluationBudget, KeyRatchet, KeySet, KeySetVerifier, MemoryNonceStore};
use common::*;

/// Hole 1 — relay by a phishing relying party. The phisher fetches a challenge from the
/// bank and passes it to the holder as its own. The holder's channel is with the phisher,
/// so it blinds the phisher's origin and binds the session to the phisher's channel.
/// Defeats: the session hash (nonce alone would match) and the origin-typed service id.
#[test]
fn hole_1_relay_across_relying_parties_fails_at_the_real_one() {
    let mut rng = seeded(1);
    let bank = rp("https://bank.example");
    let (bank_pending, bank_challenge) = bank.challenge(&mut rng, NOW);
    let holder = attested::Holder::new(published(), subject("alice")).unwrap();
    let phisher_origin = service("https://bank-login.example");
    let holder_to_phisher = channel(0xa1);
    let (state, request) = holder
        .request(
            &phisher_origin,
            &bank_challenge,
            &holder_to_phisher,
            &mut rng,
        )
        .unwrap();
    let evaluation = attested_evaluator(1, 2)
        .evaluate(&subject("alice"), &request, NOW, &mut rng)
        .unwrap();
    let assertion = holder.finish(state, &evaluation, NOW).unwrap();

    // The phisher presents it over its own channel to the bank.
    let phisher_to_bank = channel(0xb2);
    let store = MemoryNonceStore::new();
    assert_eq!(
        bank.verify(bank_pending, &assertion, &phisher_to_bank, NOW, &store)
            .map(drop),
        Err(Error::SessionMismatch)
    );
    // Even over a channel with the same binding, the origin gives it away.
    let (pending, challenge) = bank.challenge(&mut rng, NOW);
    let (state, request) = holder
        .request(&phisher_origin, &challenge, &phisher_to_bank, &mut rng)
        .unwrap();
    let evaluation = attested_evaluator(1, 2)
        .evaluate(&subject("alice"), &request, NOW, &mut rng)
        .unwrap();
    let assertion = holder.finish(state, &evaluation, NOW).unwrap();
    assert_eq!(
        bank.verify(pending, &assertion, &phisher_to_bank, NOW, &store)
            .map(drop),
        Err(Error::ServiceMismatch)
    );
}

/// Hole 2a — enumerating a low-entropy master credential through the anonymous flow H
/// evaluator. The credential is a type that only holds 32 bytes: an 18-digit resident
/// number cannot be one. Defeats: raw-bytes credentials.
#[test]
fn hole_2a_identity_number_is_refused_as_a_master_credential() {
    assert_eq!(
        MasterCredential::from_bytes(b"110101199003070000").map(drop),
        Err(Error::InvalidLength {
            expected: 32,
            actual: 18
        })
    );
}

/// Hole 2b — a caller the evaluator serves for one domain re-identifies another domain by
/// evaluating the whole register there; an authorised caller evaluates beyond its register.
/// Defeats: the authorisation policy and the per-caller quota.
#[test]
fn hole_2b_register_enumeration_is_refused_by_policy_and_quota() {
    let census = CallerId::new(b"census office");
    let evaluator = bulk::Evaluator::new(
        keys(1, 2).bulk(),
        Grants::new().allow(&census, b"census"),
        MemoryQuota::new(3),
        EvaluationBudget::default(),
    );
    let holder = bulk::DataHolder::new(published(), b"health").unwrap();
    let (_, request) = holder
        .blind_batch(&["110101199003070000"], &mut seeded(2))
        .unwrap();
    assert_eq!(
        evaluator
            .evaluate_batch(&census, &request, &mut seeded(3))
            .map(drop),
        Err(Error::Unauthorized)
    );

    let holder = bulk::DataHolder::new(published(), b"census").unwrap();
    let (_, request) = holder
        .blind_batch(&["a", "b", "c"], &mut seeded(4))
        .unwrap();
    assert!(
        evaluator
            .evaluate_batch(&census, &request, &mut seeded(5))
            .is_ok()
    );
    let (_, request) = holder.blind_batch(&["d"], &mut seeded(6)).unwrap();
    assert_eq!(
        evaluator
            .evaluate_batch(&census, &request, &mut seeded(7))
            .map(drop),
        Err(Error::QuotaExceeded)
    );
}

/// Hole 3a — one key answering without limit. Defeats: the evaluation budget.
#[test]
fn hole_3a_key_refuses_past_its_budget() {
    let evaluator = attested::Evaluator::new(keys(1, 2).attested(), EvaluationBudget::new(2));
    let run = |seed| {
        flow_a_session(
            &evaluator,
            "alice",
            "https://shop.example",
            &channel(1),
            seed,
        )
        .map(drop)
    };
    assert_eq!(run(1), Ok(()));
    assert_eq!(run(2), Ok(()));
    assert_eq!(run(3), Err(Error::BudgetExhausted));
}

fn migration(
    who: &str,
    seed: u8,
) -> blindnym::Result<(blindnym::pseudonym::PendingChallenge, MigrationAssertion)> {
    let mut rng = seeded(seed);
    let shop = rp("https://shop.example");
    let (pending, challenge) = shop.challenge(&mut rng, NOW);
    let holder = attested::Holder::new(published(), subject(who))?;
    let (state, request) = holder.request(
        &service("https://shop.example"),
        &challenge,
        &channel(1),
        &mut rng,
    )?;
    let evaluation = attested_evaluator(1, 2).evaluate_migration(
        &attested_evaluator(1, 1),
        &subject(who),
        &request,
        NOW,
        &mut rng,
    )?;
    let evaluation = attested::MigrationEvaluation::from_bytes(&evaluation.to_bytes())?;
    let assertion = holder.finish_migration(state, &evaluation, NOW)?;
    Ok((
        pending,
        MigrationAssertion::from_bytes(&assertion.to_bytes())?,
    ))
}

/// Hole 3b — rotation without migration. The holder carries old and new pseudonyms under
/// one nonce and one signature; the relying party maps its account. Splicing another
/// subject's new answer in fails. Defeats: the one signature over both answers.
#[test]
fn hole_3b_migration_maps_old_to_new_for_the_same_subject_only() {
    let shop = rp("https://shop.example");
    let store = MemoryNonceStore::new();
    let (pending, alice) = migration("alice", 1).unwrap();
    let (old, new) = shop
        .verify_migration(pending, &alice, &channel(1), NOW, &store)
        .unwrap();
    let old_login = flow_a_session(
        &attested_evaluator(1, 1),
        "alice",
        "https://shop.example",
        &channel(1),
        2,
    )
    .unwrap();
    let new_login = flow_a_session(
        &attested_evaluator(1, 2),
        "alice",
        "https://shop.example",
        &channel(1),
        3,
    )
    .unwrap();
    assert_eq!(
        verify_at("https://shop.example", old_login, &channel(1), NOW),
        Ok(old)
    );
    assert_eq!(
        verify_at("https://shop.example", new_login, &channel(1), NOW),
        Ok(new)
    );

    // Mallory splices her new-epoch answer into Alice's migration to take over Alice's
    // account: she needs Alice's r, which Alice's assertion carries.
    let (pending, mallory) = migration("mallory", 4).unwrap();
    let mut spliced = alice.clone();
    spliced.new_evaluated = mallory.new_evaluated;
    assert_eq!(
        shop.verify_migration(pending, &spliced, &channel(1), NOW, &store)
            .map(drop),
        Err(Error::BadSignature)
    );
}

/// Hole 4a — a tagging expiry: the evaluator signs an expiry of its choosing (here, one
/// hour ahead: an on-grid value that a clock-skew excuse cannot explain). Defeats: the
/// holder's grid check against its own clock.
#[test]
fn hole_4a_holder_refuses_an_expiry_off_the_grid_window() {
    let mut rng = seeded(1);
    let (_, challenge) = rp("https://shop.example").challenge(&mut rng, NOW);
    let holder = attested::Holder::new(published(), subject("alice")).unwrap();
    let (state, request) = holder
        .request(
            &service("https://shop.example"),
            &challenge,
            &channel(1),
            &mut rng,
        )
        .unwrap();
    let tagged = attested_evaluator(1, 2)
        .evaluate(&subject("alice"), &request, NOW + 3_600, &mut rng)
        .unwrap();
    assert_eq!(
        holder.finish(state, &tagged, NOW).map(drop),
        Err(Error::OffGridExpiry)
    );
}

/// Hole 4b — a tagging epoch: the evaluator answers one person under an old published epoch.
/// Defeats: accepting only the current epoch and the previous one in its window.
#[test]
fn hole_4b_holder_refuses_a_stale_epoch() {
    let late = EPOCH_2_START + TRANSITION_WINDOW_S;
    let mut rng = seeded(1);
    let (_, challenge) = rp("https://shop.example").challenge(&mut rng, NOW);
    let holder = attested::Holder::new(published(), subject("alice")).unwrap();
    let (state, request) = holder
        .request(
            &service("https://shop.example"),
            &challenge,
            &channel(1),
            &mut rng,
        )
        .unwrap();
    let stale = attested_evaluator(1, 1)
        .evaluate(&subject("alice"), &request, late, &mut rng)
        .unwrap();
    assert_eq!(
        holder.finish(state, &stale, late).map(drop),
        Err(Error::StaleEpoch { epoch: 1 })
    );
}

/// Hole 5 — an unauthenticated key set: a forger shows a relying party a set with its own
/// keys (to log in as anyone), or shows a holder an older set (to tag it). Defeats: the
/// signature under the pinned anchor, the validity window, the sequence number.
#[test]
fn hole_5_unsigned_expired_or_rolled_back_key_sets_are_refused() {
    let forged = forged_set(9);
    let mut verifier = KeySetVerifier::new(signer().verifying_key(), REALM);
    assert_eq!(
        verifier.accept(&forged, NOW).map(drop),
        Err(Error::KeySetSignature)
    );
    assert_eq!(
        verifier.accept(&signed_set(), SET_NOT_AFTER).map(drop),
        Err(Error::KeySetExpired)
    );

    let newer = signer().sign(
        KeySet::new(
            REALM,
            2,
            EPOCH_1_START,
            SET_NOT_AFTER,
            vec![keys(1, 2).public(EPOCH_2_START)],
        )
        .unwrap(),
    );
    assert!(verifier.accept(&newer, NOW).is_ok());
    assert_eq!(
        verifier.accept(&signed_set(), NOW).map(drop),
        Err(Error::KeySetRollback)
    );
    let mut other_realm = KeySetVerifier::new(signer().verifying_key(), b"elsewhere");
    assert_eq!(
        other_realm.accept(&signed_set(), NOW).map(drop),
        Err(Error::RealmMismatch)
    );
}

/// Hole 6 — flow H pseudonyms as bearer identifiers: someone who learned a pseudonym, its
/// public key and an old login proof (from logs) tries to log in. Defeats: the signature
/// over the fresh session.
#[test]
fn hole_6_flow_h_login_needs_the_key_not_the_pseudonym() {
    let shop = service("https://shop.example");
    let evaluator =
        holder_derived::Evaluator::new(keys(1, 2).holder_derived(), EvaluationBudget::default());
    let holder =
        holder_derived::Holder::new(published(), MasterCredential::from_bytes(&[7; 32]).unwrap());
    let mut rng = seeded(1);
    let (state, request) = holder.blind(&shop, &mut rng).unwrap();
    let response = evaluator.evaluate(&request, &mut rng).unwrap();
    let key = holder.finalize(state, &response, NOW).unwrap();

    let rp = holder_derived::RelyingParty::new(shop.clone());
    let store = MemoryNonceStore::new();
    let (pending, challenge) = rp.challenge(&mut rng, NOW);
    let logged = LoginProof::from_bytes(
        &key.answer(&shop, &challenge, &channel(1))
            .unwrap()
            .to_bytes(),
    )
    .unwrap();
    assert_eq!(
        rp.verify(pending, &logged, &channel(1), NOW, &store),
        key.pseudonym(&shop)
    );

    // The thief replays the logged proof in a new session.
    let (pending, _) = rp.challenge(&mut rng, NOW);
    assert_eq!(
        rp.verify(pending, &logged, &channel(2), NOW, &store)
            .map(drop),
        Err(Error::BadSignature)
    );
}

/// Hole 7 — root-seed compromise after rotation. Defeats: the one-way ratchet.
#[test]
fn hole_7_a_stolen_ratchet_cannot_rederive_past_epochs() {
    let mut ratchet = KeyRatchet::new(&root(1), REALM, 1).unwrap();
    ratchet.advance().unwrap();
    let stolen = KeyRatchet::from_bytes(&ratchet.to_bytes()).unwrap();
    assert_eq!(stolen.keys_for(1).map(drop), Err(Error::EpochErased));
    assert_eq!(stolen.keys().unwrap().public(0), keys(1, 2).public(0));
}

/// Hole 9 — a batch request whose count promises more than it carries is refused before
/// any element is decoded (a decoded garbage element would say `NonCanonicalElement`).
#[test]
fn hole_9_batch_request_count_is_checked_before_decoding() {
    let mut bytes = vec![0, 6];
    bytes.extend_from_slice(b"census");
    bytes.extend_from_slice(&2u16.to_be_bytes());
    bytes.extend_from_slice(&[0xff; 32]);
    assert_eq!(
        BatchRequest::from_bytes(&bytes),
        Err(Error::InvalidLength {
            expected: 74,
            actual: 42
        })
    );
    let holder = attested::Holder::new(published(), subject("110101199003070000")).unwrap();
    assert!(!format!("{holder:?}").contains("1101011990"));
}

/// Hole 9b — RNG state reuse (a restored VM snapshot answers twice with one RNG state).
/// With RFC 9497's `RandomScalar` nonce, two proofs sharing `r` give away the key:
/// `k = (s1 - s2) / (c2 - c1)`. Defeats: the hedged nonce, which mixes in the key and the
/// transcript.
#[test]
fn hole_9b_a_repeated_rng_state_does_not_leak_the_key() {
    use blindnym::curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
    use blindnym::curve25519_dalek::scalar::Scalar;
    use blindnym::hazmat::{decode_scalar, voprf_blind_evaluate_with_nonce};
    use blindnym::{VoprfClient, VoprfServer};

    let server = VoprfServer::derive(&[9; 32], b"victim").unwrap();
    let client = VoprfClient::new(*server.public_key());
    let (_, first) = client.blind(b"first", &mut seeded(1)).unwrap();
    let (_, second) = client.blind(b"second", &mut seeded(2)).unwrap();
    let recover = |p1: blindnym::Proof, p2: blindnym::Proof| {
        let (b1, b2) = (p1.to_bytes(), p2.to_bytes());
        let [c1, s1, c2, s2] =
            [&b1[..32], &b1[32..], &b2[..32], &b2[32..]].map(|x| decode_scalar(x).unwrap());
        let k: Scalar = (s1 - s2) * (c2 - c1).invert();
        (&k * RISTRETTO_BASEPOINT_TABLE).compress().to_bytes() == server.public_key().to_bytes()
    };
    // Without the hedge: the same nonce twice reveals the key.
    let r = decode_scalar(&[5; 32]).unwrap();
    let (_, p1) = voprf_blind_evaluate_with_nonce(&server, &[first], &r).unwrap();
    let (_, p2) = voprf_blind_evaluate_with_nonce(&server, &[second], &r).unwrap();
    assert!(recover(p1, p2));
    // With it: the same RNG state twice does not.
    let (_, p1) = server.blind_evaluate(&first, &mut seeded(7)).unwrap();
    let (_, p2) = server.blind_evaluate(&second, &mut seeded(7)).unwrap();
    assert!(!recover(p1, p2));
}

/// Split view (`spec/13-transparency.md` §13.7): a state holding the key-set signer (and the
/// log's key) shows one targeted holder a validly signed set with the same sequence number
/// and a key of its own. Unlogged, the set is refused; logged in a fork, the witnesses that
/// cosigned the honest history refuse the forked checkpoint, so it lacks the quorum; and a
/// holder that kept the honest checkpoint detects the fork even if witnesses collude.
/// Defeats: the inclusion check, the witnesses' consistency check and each party's own.
#[cfg(feature = "transparency")]
#[test]
fn split_view_key_set_is_refused() {
    use blindnym::transparency::Log;
    use common::transparency::*;

    let mut log = Log::new(log_signer()).unwrap();
    let (mut w1, mut w2, mut w3) = (witness(1), witness(2), witness(3));
    let honest = set(1, 1);
    let honest_proof = logged(&mut log, &honest, &mut [&mut w1, &mut w2, &mut w3]);
    let mut neighbour = logged_verifier();
    neighbour.accept(&honest, &honest_proof, &[], NOW).unwrap();

    // The targeted holder's set: the same sequence, the state's own keys, validly signed.
    let targeted = set(1, 66);
    assert_ne!(targeted.digest(), honest.digest());
    assert!(
        KeySetVerifier::new(signer().verifying_key(), REALM)
            .accept(&targeted, NOW)
            .is_ok(),
        "the anchor signature alone accepts it"
    );
    // Not logged: the honest set's proof does not prove it.
    assert_eq!(
        logged_verifier()
            .accept(&targeted, &honest_proof, &[], NOW)
            .unwrap_err(),
        Error::NotLogged
    );

    // Logged in a fork: a tree of the same size holding the targeted set, and a longer one.
    let mut fork = Log::new(log_signer()).unwrap();
    fork.append(&targeted.digest()).unwrap();
    let note = fork.checkpoint().unwrap();
    for w in [&mut w1, &mut w2, &mut w3] {
        assert_eq!(w.cosign(&note, 1, &[], NOW).unwrap_err(), Error::LogFork);
    }
    fork.append(&[0xee; 32]).unwrap();
    let longer = fork.checkpoint().unwrap();
    let lie = fork.consistency(1, 2).unwrap();
    for w in [&mut w1, &mut w2, &mut w3] {
        assert_eq!(w.cosign(&longer, 1, &lie, NOW).unwrap_err(), Error::LogFork);
    }
    let forked = fork.bundle(&targeted.digest(), &longer).unwrap();
    assert_eq!(
        logged_verifier()
            .accept(&targeted, &forked, &[], NOW)
            .unwrap_err(),
        Error::WitnessQuorum { have: 0, need: 2 }
    );

    // Colluding witnesses (their keys, none of their state) cosign the fork: the target
    // alone cannot tell, but the neighbour, who kept the honest checkpoint, detects it at
    // the same size and past it.
    let (mut c1, mut c2) = (witness(1), witness(2));
    let colluded = cosigned(&fork, &mut [&mut c1, &mut c2]);
    let forked = fork.bundle(&targeted.digest(), &colluded).unwrap();
    assert!(
        logged_verifier()
            .accept(&targeted, &forked, &[], NOW)
            .is_ok()
    );
    assert_eq!(
        neighbour
            .clone()
            .accept(&targeted, &forked, &lie, NOW)
            .unwrap_err(),
        Error::LogFork
    );
    let mut same_size = Log::new(log_signer()).unwrap();
    same_size.append(&targeted.digest()).unwrap();
    let (mut c1, mut c2) = (witness(1), witness(2));
    let colluded = cosigned(&same_size, &mut [&mut c1, &mut c2]);
    let forked = same_size.bundle(&targeted.digest(), &colluded).unwrap();
    assert_eq!(
        neighbour.accept(&targeted, &forked, &[], NOW).unwrap_err(),
        Error::LogFork
    );
}
