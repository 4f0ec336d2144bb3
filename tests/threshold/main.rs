//! Threshold mode (`spec/12-threshold.md`): outputs equal the single evaluator's for every
//! `t`-subset, `t − 1` answers give nothing, and every corrupted contribution is named.
#![cfg(feature = "threshold")]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test]: a panic is a failed test"
)]

#[path = "../common/mod.rs"]
mod common;
mod coordinator;
mod reshare;
mod support;

use blindnym::pseudonym::bulk::{self, CallerId, DataHolder, Grants, MemoryQuota};
use blindnym::pseudonym::holder_derived::{self, MasterCredential};
use blindnym::pseudonym::{EvaluationBudget, MemoryNonceStore, attested};
use blindnym::threshold::flow_a::{self, AttestedShareEvaluator, ShareEvaluation, SigningRequest};
use blindnym::threshold::flow_b::{self, BulkShareEvaluator};
use blindnym::threshold::flow_h::{self, ShareEvaluator};
use blindnym::threshold::inversion::{MaskedProduct, PrivateShare, Target, TweakRecord};
use blindnym::threshold::signing::SignatureShare;
use blindnym::threshold::{ShareResponse, Threshold};
use blindnym::{Error, EvaluatedElement};
use common::*;
use support::*;

const PARAMS: [(u16, u16); 2] = [(2, 3), (3, 5)];
const CREDENTIAL: [u8; 32] = [7; 32];
const DOMAIN: &[u8] = b"tax-register";
const IDS: [&[u8]; 4] = [b"19800101-1234", b"19911231-0000", b"20000229-4321", b"x"];

fn flow_h_holder() -> holder_derived::Holder {
    holder_derived::Holder::new(
        published(),
        MasterCredential::from_bytes(&CREDENTIAL).unwrap(),
    )
}

/// The single evaluator's flow H pseudonym at `shop` under epoch 2.
fn flow_h_single() -> blindnym::Pseudonym {
    let mut rng = seeded(1);
    let holder = flow_h_holder();
    let evaluator =
        holder_derived::Evaluator::new(keys(1, 2).holder_derived(), EvaluationBudget::default());
    let (state, request) = holder
        .blind(&service("https://shop.example"), &mut rng)
        .unwrap();
    let response = evaluator.evaluate(&request, &mut rng).unwrap();
    let key = holder.finalize(state, &response, NOW).unwrap();
    key.pseudonym(&service("https://shop.example")).unwrap()
}

fn flow_h_answers(
    t: u16,
    n: u16,
    who: &[u16],
    seed: u8,
) -> (holder_derived::HolderState, Vec<ShareResponse>) {
    flow_h_answers_from(&dealt(t, n).0, who, seed)
}

/// Flow H answers at `shop` from the evaluators `who` of `evaluators`.
fn flow_h_answers_from(
    evaluators: &[blindnym::threshold::EvaluatorShares],
    who: &[u16],
    seed: u8,
) -> (holder_derived::HolderState, Vec<ShareResponse>) {
    let mut rng = seeded(seed);
    let (state, request) = flow_h_holder()
        .blind(&service("https://shop.example"), &mut rng)
        .unwrap();
    let responses = who
        .iter()
        .map(|&i| {
            let share = evaluators[usize::from(i) - 1].holder_derived.clone();
            let response = ShareEvaluator::new(2, share, EvaluationBudget::default())
                .evaluate(&request, &mut rng)
                .unwrap();
            ShareResponse::from_bytes(&response.to_bytes().unwrap()).unwrap()
        })
        .collect();
    (state, responses)
}

#[test]
fn flow_h_threshold_equals_single_evaluator_for_every_t_subset() {
    let single = flow_h_single();
    for (t, n) in PARAMS {
        let (_, public) = dealt(t, n);
        for subset in subsets(n, t) {
            let (state, responses) = flow_h_answers(t, n, &subset, 2);
            let (key, combined) = flow_h::finalize(
                &flow_h_holder(),
                state,
                &public.holder_derived,
                &responses,
                NOW,
            )
            .unwrap();
            assert_eq!(combined.used, subset);
            assert_eq!(
                key.pseudonym(&service("https://shop.example")).unwrap(),
                single,
                "({t},{n}) {subset:?}"
            );
        }
    }
}

#[test]
fn flow_h_t_minus_one_answers_give_nothing() {
    for (t, n) in PARAMS {
        let (_, public) = dealt(t, n);
        let who: Vec<u16> = (1..t).collect();
        let (state, responses) = flow_h_answers(t, n, &who, 3);
        let result = flow_h::finalize(
            &flow_h_holder(),
            state,
            &public.holder_derived,
            &responses,
            NOW,
        );
        assert_eq!(
            result.err(),
            Some(Error::TooFewShares {
                have: usize::from(t) - 1,
                need: usize::from(t)
            })
        );
    }
}

#[test]
fn flow_h_t_minus_one_shares_interpolate_to_another_key() {
    // The best t − 1 colluders can do with their shares alone: interpolate as if the
    // polynomial had degree t − 2. The result is not the key.
    use blindnym::curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT as G;
    use blindnym::curve25519_dalek::scalar::Scalar;
    for (t, n) in PARAMS {
        let (evaluators, public) = dealt(t, n);
        let colluders: Vec<u16> = (1..t).collect();
        let guess = if colluders.len() == 1 {
            evaluators[0].holder_derived.verification_share()
        } else {
            let xs: Vec<Scalar> = colluders.iter().map(|&i| Scalar::from(i)).collect();
            let mut sum = blindnym::curve25519_dalek::RistrettoPoint::default();
            for (a, &i) in colluders.iter().enumerate() {
                let mut lambda = Scalar::ONE;
                for (b, x) in xs.iter().enumerate() {
                    if a != b {
                        lambda *= x * (x - xs[a]).invert();
                    }
                }
                sum += lambda
                    * blindnym::hazmat::decode_element(
                        public.holder_derived.share(i).unwrap().as_bytes(),
                    )
                    .unwrap();
            }
            blindnym::PublicKey::from_bytes(sum.compress().as_bytes()).unwrap()
        };
        assert_ne!(&guess, public.holder_derived.group_key());
        let _ = G;
    }
}

#[test]
fn flow_h_corrupted_share_is_named_and_another_set_used() {
    for (t, n) in PARAMS {
        let (_, public) = dealt(t, n);
        let all: Vec<u16> = (1..=n).collect();
        for bad in 1..=n {
            let (state, mut responses) = flow_h_answers(t, n, &all, 4);
            // Evaluator `bad` answers with another evaluator's element: a valid point, a
            // wrong answer.
            let other = responses[usize::from(bad % n)].answer.evaluated.clone();
            responses[usize::from(bad) - 1].answer.evaluated = other;
            let (key, combined) = flow_h::finalize(
                &flow_h_holder(),
                state,
                &public.holder_derived,
                &responses,
                NOW,
            )
            .unwrap();
            if bad <= t {
                assert_eq!(combined.rejected, vec![bad]);
            }
            assert!(!combined.used.contains(&bad));
            assert_eq!(
                key.pseudonym(&service("https://shop.example")).unwrap(),
                flow_h_single()
            );
        }
    }
}

#[test]
fn flow_h_shares_for_another_key_are_refused() {
    let (_, public) = dealt(2, 3);
    let other =
        blindnym::threshold::deal_epoch(&keys(9, 2), Threshold::new(2, 3).unwrap(), &mut seeded(5))
            .unwrap()
            .1;
    let (state, responses) = flow_h_answers(2, 3, &[1, 2], 6);
    let result = flow_h::finalize(
        &flow_h_holder(),
        state,
        &other.holder_derived,
        &responses,
        NOW,
    );
    assert_eq!(result.err(), Some(Error::ThresholdParams));
    let _ = public;
}

/// The single evaluator's flow B pseudonyms for [`IDS`].
fn flow_b_single() -> Vec<blindnym::Pseudonym> {
    let mut rng = seeded(10);
    let holder = DataHolder::new(published(), DOMAIN).unwrap();
    let caller = CallerId::new(b"registry");
    let evaluator = bulk::Evaluator::new(
        keys(1, 2).bulk(),
        Grants::new().allow(&caller, DOMAIN),
        MemoryQuota::new(1_000),
        EvaluationBudget::default(),
    );
    let (batch, request) = holder.blind_batch(&IDS, &mut rng).unwrap();
    let response = evaluator
        .evaluate_batch(&caller, &request, &mut rng)
        .unwrap();
    holder.finalize_batch(&batch, &response, NOW).unwrap()
}

fn bulk_evaluators(t: u16, n: u16, seed: u8) -> (Vec<BulkShareEvaluator>, TweakRecord) {
    let (evaluators, public) = dealt(t, n);
    bulk_evaluators_from(&evaluators, &public, seed)
}

/// Flow B share evaluators of `evaluators` with a fresh record for the domain.
fn bulk_evaluators_from(
    evaluators: &[blindnym::threshold::EvaluatorShares],
    public: &blindnym::threshold::EpochShares,
    seed: u8,
) -> (Vec<BulkShareEvaluator>, TweakRecord) {
    let shares: Vec<_> = evaluators.iter().map(|e| &e.bulk).collect();
    let (record, tweak_shares) = invert(
        &shares,
        &public.bulk,
        &Target::domain(DOMAIN).unwrap(),
        seed,
    );
    let caller = CallerId::new(b"registry");
    let bulk_evaluators = tweak_shares
        .into_iter()
        .map(|share| {
            let mut evaluator = BulkShareEvaluator::new(
                2,
                share.index(),
                public.bulk.clone(),
                Grants::new().allow(&caller, DOMAIN),
                MemoryQuota::new(1_000),
                EvaluationBudget::default(),
            );
            evaluator.install(DOMAIN, share, &record).unwrap();
            evaluator
        })
        .collect();
    (bulk_evaluators, record)
}

#[test]
fn flow_b_threshold_equals_single_evaluator_for_every_t_subset() {
    let single = flow_b_single();
    for (t, n) in PARAMS {
        let (_, public) = dealt(t, n);
        let (evaluators, record) = bulk_evaluators(t, n, 11);
        let holder = DataHolder::new(published(), DOMAIN).unwrap();
        let caller = CallerId::new(b"registry");
        for subset in subsets(n, t) {
            let mut rng = seeded(12);
            let (batch, request) = holder.blind_batch(&IDS, &mut rng).unwrap();
            let responses: Vec<ShareResponse> = subset
                .iter()
                .map(|&i| {
                    let r = evaluators[usize::from(i) - 1]
                        .evaluate_batch(&caller, &request, &mut rng)
                        .unwrap();
                    ShareResponse::from_bytes(&r.to_bytes().unwrap()).unwrap()
                })
                .collect();
            let (pseudonyms, combined) =
                flow_b::finalize_batch(&holder, &batch, &public.bulk, &record, &responses, NOW)
                    .unwrap();
            assert_eq!(combined.used, subset);
            assert_eq!(pseudonyms, single, "({t},{n}) {subset:?}");
        }
        // t − 1 answers are not enough.
        let mut rng = seeded(13);
        let (batch, request) = holder.blind_batch(&IDS, &mut rng).unwrap();
        let few: Vec<ShareResponse> = evaluators[..usize::from(t) - 1]
            .iter()
            .map(|e| e.evaluate_batch(&caller, &request, &mut rng).unwrap())
            .collect();
        let result = flow_b::finalize_batch(&holder, &batch, &public.bulk, &record, &few, NOW);
        assert_eq!(
            result.err(),
            Some(Error::TooFewShares {
                have: usize::from(t) - 1,
                need: usize::from(t)
            })
        );
    }
}

#[test]
fn flow_b_record_for_another_domain_is_refused() {
    let (_, public) = dealt(2, 3);
    let (evaluators, record) = bulk_evaluators(2, 3, 14);
    let caller = CallerId::new(b"registry");
    let other = DataHolder::new(published(), b"health-register").unwrap();
    let mut rng = seeded(15);
    let (batch, request) = other.blind_batch(&IDS, &mut rng).unwrap();
    // The evaluators have no inversion for that domain...
    assert_eq!(
        evaluators[0]
            .evaluate_batch(&caller, &request, &mut rng)
            .err(),
        Some(Error::Unauthorized)
    );
    // ...and a record for the tax domain does not pass for the health domain.
    let holder = DataHolder::new(published(), DOMAIN).unwrap();
    let (_, tax_request) = holder.blind_batch(&IDS, &mut rng).unwrap();
    let responses: Vec<_> = evaluators[..2]
        .iter()
        .map(|e| e.evaluate_batch(&caller, &tax_request, &mut rng).unwrap())
        .collect();
    let result = flow_b::finalize_batch(&other, &batch, &public.bulk, &record, &responses, NOW);
    assert_eq!(result.err(), Some(Error::TweakMismatch));
}

#[test]
fn inversion_names_a_dealer_whose_share_or_commitment_is_wrong() {
    for (t, n) in PARAMS {
        let (evaluators, public) = dealt(t, n);
        let shares: Vec<_> = evaluators.iter().map(|e| &e.bulk).collect();
        let info = bulk::domain_info(DOMAIN).unwrap();
        for bad in 1..=n {
            // A wrong private share from `bad` to participant 1 (or 2 when bad is 1).
            let victim: u16 = if bad == 1 { 2 } else { 1 };
            let mut run = deal_all(&shares, &public.bulk, &info, 20);
            let slot = &mut run.privates[usize::from(victim) - 1][usize::from(bad) - 1];
            let mut bytes = slot.to_bytes().to_vec();
            bytes[4] ^= 1;
            *slot = PrivateShare::from_bytes(&bytes).unwrap();
            let results = products(&mut run, 21);
            assert_eq!(
                results[usize::from(victim) - 1].as_ref().err(),
                Some(&Error::BadDealing { dealer: bad })
            );
            // A wrong commitment in `bad`'s dealing: every other participant names it, and
            // `bad` itself refuses a dealing under its index that is not the one it drew.
            let mut run = deal_all(&shares, &public.bulk, &info, 22);
            let other = run.dealings[usize::from(bad % n)].to_bytes();
            let mut bytes = run.dealings[usize::from(bad) - 1].to_bytes();
            bytes[4..36].copy_from_slice(&other[4..36]);
            run.dealings[usize::from(bad) - 1] =
                blindnym::threshold::inversion::Dealing::from_bytes(&bytes).unwrap();
            for (i, result) in products(&mut run, 23).iter().enumerate() {
                let expected = if i + 1 == usize::from(bad) {
                    Error::TweakMismatch
                } else {
                    Error::BadDealing { dealer: bad }
                };
                assert_eq!(
                    result.as_ref().err(),
                    Some(&expected),
                    "participant {}",
                    i + 1
                );
            }
        }
    }
}

#[test]
fn inversion_names_a_wrong_masked_product_and_continues_without_it() {
    let info = bulk::domain_info(DOMAIN).unwrap();
    // With exactly 2t − 1 participants a wrong product is named and the run must restart.
    for (t, n) in PARAMS {
        let (evaluators, public) = dealt(t, n);
        let shares: Vec<_> = evaluators.iter().map(|e| &e.bulk).collect();
        for bad in 1..=n {
            let mut run = deal_all(&shares, &public.bulk, &info, 30);
            let mut products: Vec<MaskedProduct> = products(&mut run, 31)
                .into_iter()
                .map(Result::unwrap)
                .collect();
            products[usize::from(bad) - 1].w += blindnym::curve25519_dalek::Scalar::ONE;
            let result =
                TweakRecord::assemble(&public.bulk, &info, run.dealings.clone(), &products);
            assert_eq!(result.err(), Some(Error::BadProduct { evaluator: bad }));
        }
    }
    // With a spare participant (t = 2, n = 4) the record is built from the others, and the
    // pseudonyms are still the single evaluator's.
    let (evaluators, public) = dealt(2, 4);
    let shares: Vec<_> = evaluators.iter().map(|e| &e.bulk).collect();
    let mut run = deal_all(&shares, &public.bulk, &info, 32);
    let mut products: Vec<MaskedProduct> = products(&mut run, 33)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    products[0].w += blindnym::curve25519_dalek::Scalar::ONE;
    let (record, rejected) =
        TweakRecord::assemble(&public.bulk, &info, run.dealings.clone(), &products).unwrap();
    assert_eq!(rejected, vec![1]);
    let tweak_shares: Vec<_> = run
        .multiplied
        .into_iter()
        .map(|p| p.finish(&record, &info).unwrap())
        .collect();
    let holder = DataHolder::new(published(), DOMAIN).unwrap();
    let mut rng = seeded(34);
    let (batch, request) = holder.blind_batch(&IDS, &mut rng).unwrap();
    let responses: Vec<ShareResponse> = tweak_shares[2..]
        .iter()
        .map(|s| ShareResponse {
            epoch: 2,
            answer: s.answer(request.blinded(), &mut rng).unwrap(),
        })
        .collect();
    let (pseudonyms, _) =
        flow_b::finalize_batch(&holder, &batch, &public.bulk, &record, &responses, NOW).unwrap();
    assert_eq!(pseudonyms, flow_b_single());
}

#[test]
fn tampered_tweak_record_is_refused() {
    let (_, public) = dealt(2, 3);
    let (_, record) = bulk_evaluators(2, 3, 40);
    let info = bulk::domain_info(DOMAIN).unwrap();
    assert!(record.check(&public.bulk, &info).is_ok());
    let bytes = record.to_bytes();
    // w (bytes 34..66) changed: the products no longer open to it.
    let mut tampered = bytes.clone();
    tampered[34] ^= 1;
    let tampered = TweakRecord::from_bytes(&tampered).unwrap();
    assert_eq!(
        tampered.check(&public.bulk, &info).err(),
        Some(Error::TweakMismatch)
    );
    // A product's proof changed: that participant is named.
    let mut tampered = bytes.clone();
    let last = tampered.len() - 1;
    tampered[last - 40] ^= 1;
    if let Ok(tampered) = TweakRecord::from_bytes(&tampered) {
        assert_eq!(
            tampered.check(&public.bulk, &info).err(),
            Some(Error::BadProduct { evaluator: 3 })
        );
    }
    // Another tweak.
    assert_eq!(
        record.check(&public.bulk, b"another info").err(),
        Some(Error::TweakMismatch)
    );
}

struct FlowA {
    evaluators: Vec<AttestedShareEvaluator>,
    public: blindnym::threshold::EpochShares,
}

/// One flow A share evaluator per evaluator of `shares`, each with its tweak share of
/// `record` (subject `who`) installed.
fn attested_evaluators(
    shares: &[blindnym::threshold::EvaluatorShares],
    public: &blindnym::threshold::EpochShares,
    who: &str,
    tweak_shares: Vec<blindnym::threshold::inversion::TweakShare>,
    record: &TweakRecord,
) -> Vec<AttestedShareEvaluator> {
    shares
        .iter()
        .zip(tweak_shares)
        .map(|(e, share)| {
            let mut evaluator = AttestedShareEvaluator::new(
                REALM,
                2,
                public.attested.clone(),
                e.signing.clone(),
                EvaluationBudget::default(),
            );
            evaluator.install(&subject(who), share, record).unwrap();
            evaluator
        })
        .collect()
}

fn flow_a_deployment(t: u16, n: u16, who: &str, seed: u8) -> FlowA {
    let (evaluators, public) = dealt(t, n);
    flow_a_deployment_from(&evaluators, public, who, seed)
}

/// A flow A deployment of `evaluators` with a fresh record for `who`.
fn flow_a_deployment_from(
    evaluators: &[blindnym::threshold::EvaluatorShares],
    public: blindnym::threshold::EpochShares,
    who: &str,
    seed: u8,
) -> FlowA {
    let shares: Vec<_> = evaluators.iter().map(|e| &e.attested).collect();
    let (record, tweak_shares) = invert(
        &shares,
        &public.attested,
        &Target::Subject(subject(who)),
        seed,
    );
    let evaluators = attested_evaluators(evaluators, &public, who, tweak_shares, &record);
    FlowA { evaluators, public }
}

/// A threshold flow A login by `who` at `origin` through the evaluators `signers` (answers
/// from `answering`), every message as bytes where it has an encoding.
fn threshold_login(
    deployment: &FlowA,
    who: &str,
    origin: &str,
    answering: &[u16],
    corrupt_signature_of: Option<u16>,
    seed: u8,
) -> blindnym::Result<blindnym::Pseudonym> {
    let mut rng = seeded(seed);
    let (pending, challenge) = rp(origin).challenge(&mut rng, NOW);
    let holder = attested::Holder::new(published(), subject(who))?;
    let (state, request) = holder.request(&service(origin), &challenge, &channel(1), &mut rng)?;
    let mut signer_states = Vec::new();
    let mut evaluations: Vec<ShareEvaluation> = Vec::new();
    for &i in answering {
        let evaluator = &deployment.evaluators[usize::from(i) - 1];
        let (signer_state, evaluation) = evaluator.evaluate(&subject(who), &request, &mut rng)?;
        signer_states.push((i, signer_state));
        evaluations.push(ShareEvaluation::from_bytes(&evaluation.to_bytes()?)?);
    }
    let record = deployment.evaluators[usize::from(answering[0]) - 1]
        .record(&subject(who))
        .unwrap()
        .clone();
    let combination = flow_a::combine_evaluations(
        &holder,
        &state,
        &deployment.public.attested,
        &record,
        &evaluations,
        NOW,
    )?;
    let signing_request = &SigningRequest::from_bytes(&combination.request.to_bytes()?)?;
    assert_eq!(signing_request, &combination.request);
    let mut shares = Vec::new();
    for (i, signer_state) in signer_states {
        if !signing_request.commitments.iter().any(|c| c.index == i) {
            continue;
        }
        let share =
            deployment.evaluators[usize::from(i) - 1].sign(signer_state, signing_request, NOW)?;
        let mut bytes = share.to_bytes();
        if corrupt_signature_of == Some(i) {
            let last = bytes.len() - 1;
            bytes[last - 5] ^= 1;
        }
        shares.push(SignatureShare::from_bytes(&bytes)?);
    }
    let assertion = flow_a::finish(
        &holder,
        state,
        &deployment.public.signing,
        &combination,
        &shares,
        NOW,
    )?;
    // The relying party's code is the single-evaluator code, unchanged.
    let assertion = attested::Assertion::from_bytes(&assertion.to_bytes())?;
    verify_at(origin, Session { pending, assertion }, &channel(1), NOW)
}

#[test]
fn flow_a_threshold_login_verifies_at_the_unchanged_relying_party_for_every_t_subset() {
    let single = verify_at(
        "https://shop.example",
        flow_a_session(
            &attested_evaluator(1, 2),
            "alice",
            "https://shop.example",
            &channel(1),
            50,
        )
        .unwrap(),
        &channel(1),
        NOW,
    )
    .unwrap();
    for (t, n) in PARAMS {
        let deployment = flow_a_deployment(t, n, "alice", 51);
        for subset in subsets(n, t) {
            let pseudonym = threshold_login(
                &deployment,
                "alice",
                "https://shop.example",
                &subset,
                None,
                52,
            )
            .unwrap();
            assert_eq!(pseudonym, single, "({t},{n}) {subset:?}");
        }
        // t − 1 evaluators cannot log anyone in.
        let few: Vec<u16> = (1..t).collect();
        let result = threshold_login(&deployment, "alice", "https://shop.example", &few, None, 53);
        assert_eq!(
            result.err(),
            Some(Error::TooFewShares {
                have: usize::from(t) - 1,
                need: usize::from(t)
            })
        );
    }
}

#[test]
fn flow_a_bad_signature_share_is_named() {
    for (t, n) in PARAMS {
        let deployment = flow_a_deployment(t, n, "alice", 54);
        let signers: Vec<u16> = (1..=t).collect();
        for &bad in &signers {
            let result = threshold_login(
                &deployment,
                "alice",
                "https://shop.example",
                &signers,
                Some(bad),
                55,
            );
            assert_eq!(
                result.err(),
                Some(Error::BadSignatureShare { evaluator: bad })
            );
        }
    }
}

#[test]
fn flow_a_signer_refuses_a_wrong_share_answer() {
    let deployment = flow_a_deployment(2, 3, "alice", 56);
    let mut rng = seeded(57);
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
    let mut states = Vec::new();
    let mut evaluations = Vec::new();
    for evaluator in &deployment.evaluators[..2] {
        let (s, e) = evaluator
            .evaluate(&subject("alice"), &request, &mut rng)
            .unwrap();
        states.push(s);
        evaluations.push(e);
    }
    let record = deployment.evaluators[0]
        .record(&subject("alice"))
        .unwrap()
        .clone();
    let combination = flow_a::combine_evaluations(
        &holder,
        &state,
        &deployment.public.attested,
        &record,
        &evaluations,
        NOW,
    )
    .unwrap();
    // A holder (or a colluding evaluator) swaps evaluator 2's answer for a forged element:
    // evaluator 1 checks before it signs, and names evaluator 2.
    let mut forged = combination.request.clone();
    forged.answers[1].evaluated =
        vec![EvaluatedElement::from_bytes(request.blinded.as_bytes()).unwrap()];
    let signer_state = states.remove(0);
    let result = deployment.evaluators[0].sign(signer_state, &forged, NOW);
    assert_eq!(result.err(), Some(Error::BadShare { evaluator: 2 }));
    // Another subject's evaluators have no tweak for alice: no answer at all.
    let bob = flow_a_deployment(2, 3, "bob", 58);
    assert_eq!(
        bob.evaluators[0]
            .evaluate(&subject("alice"), &request, &mut rng)
            .err(),
        Some(Error::TweakMismatch)
    );
}

/// A participant's DKG state before round three: what was sent to it and every other
/// participant's transcript confirmation.
type BeforeFinish<C> = (
    blindnym::threshold::dkg::DealtKeyGeneration<C>,
    Vec<blindnym::threshold::dkg::DkgPrivate<C>>,
    Vec<(u16, [u8; 32])>,
);

fn dkg_context(role: u8) -> blindnym::threshold::dkg::DkgContext {
    blindnym::threshold::dkg::DkgContext::new(REALM, 1, role).unwrap()
}

/// One full DKG run among `n` participants, every message as bytes. `equivocate`: participant
/// 1 sends participant 3 the broadcast of a second round one of its own instead of its real
/// one (so 3 would finish with another public key if nothing compared transcripts).
fn run_dkg_with<C: blindnym::threshold::dkg::Suite>(
    params: Threshold,
    seed: u8,
    equivocate: bool,
) -> Vec<BeforeFinish<C>> {
    use blindnym::threshold::dkg::{DkgBroadcast, DkgPrivate, KeyGeneration};
    let mut rng = seeded(seed);
    let context = dkg_context(b'B');
    let mut runs = Vec::new();
    let mut broadcasts = Vec::new();
    for i in 1..=params.n() {
        let (run, broadcast) = KeyGeneration::<C>::start(i, params, &context, &mut rng).unwrap();
        runs.push(run);
        broadcasts.push(DkgBroadcast::<C>::from_bytes(&broadcast.to_bytes().unwrap()).unwrap());
    }
    let (_, second) = KeyGeneration::<C>::start(1, params, &context, &mut rng).unwrap();
    let mut privates = Vec::new();
    let mut dealt = Vec::new();
    for run in runs {
        let others: Vec<_> = broadcasts
            .iter()
            .filter(|b| b.from() != run.index())
            .map(|b| {
                if equivocate && b.from() == 1 && run.index() == 3 {
                    second.clone()
                } else {
                    b.clone()
                }
            })
            .collect();
        let (run, sent) = run.deal(&others).unwrap();
        for private in sent {
            privates.push(DkgPrivate::<C>::from_bytes(&private.to_bytes().unwrap()).unwrap());
        }
        dealt.push(run);
    }
    let digests: Vec<(u16, [u8; 32])> = dealt
        .iter()
        .map(|run| (run.index(), run.transcript_digest()))
        .collect();
    dealt
        .into_iter()
        .map(|run| {
            let mine = privates
                .iter()
                .filter(|p| p.to() == run.index())
                .cloned()
                .collect();
            let confirmations = digests
                .iter()
                .filter(|(i, _)| *i != run.index())
                .copied()
                .collect();
            (run, mine, confirmations)
        })
        .collect()
}

fn run_dkg<C: blindnym::threshold::dkg::Suite>(
    params: Threshold,
    seed: u8,
) -> Vec<BeforeFinish<C>> {
    run_dkg_with(params, seed, false)
}

/// L8 (`../shared/reviews/threshold.md`): a participant that shows different round-one
/// broadcasts to different others is caught before any key is output. Without the
/// confirmation step, participants 2 and 3 would finish with different public keys and no
/// error; with it, each of the three refuses with `TranscriptMismatch`.
#[test]
fn a_dkg_participant_showing_two_broadcasts_is_caught_before_any_key() {
    use blindnym::threshold::dkg::Ristretto255;
    let params = Threshold::new(2, 3).unwrap();
    for (run, mine, confirmations) in run_dkg_with::<Ristretto255>(params, 81, true) {
        let index = run.index();
        let result = run.finish(&confirmations, &mine);
        assert!(
            matches!(result, Err(Error::TranscriptMismatch { .. })),
            "participant {index}: {:?}",
            result.err()
        );
    }
    // One confirmation that differs (another key generation's, or a corrupted one).
    let runs = run_dkg::<Ristretto255>(params, 82);
    let (run, mine, mut confirmations) = runs.into_iter().next().unwrap();
    confirmations[0].1[0] ^= 1;
    assert_eq!(
        run.finish(&confirmations, &mine).err(),
        Some(Error::TranscriptMismatch {
            evaluator: confirmations[0].0
        })
    );
    assert_eq!(
        blindnym::threshold::dkg::DkgContext::new(REALM, 1, b'X').err(),
        Some(Error::Malformed)
    );
}

#[test]
fn dkg_keyed_deployment_works_end_to_end() {
    use blindnym::pseudonym::{EpochPublicKeys, KeySet, KeySetVerifier};
    use blindnym::threshold::dkg::{Ed25519, Ristretto255, into_oprf_share, into_signing_share};
    let params = Threshold::new(2, 3).unwrap();
    let oprf = |seed| -> Vec<_> {
        run_dkg::<Ristretto255>(params, seed)
            .into_iter()
            .map(|(run, mine, confirmations)| {
                let index = run.index();
                let (key, public) = run.finish(&confirmations, &mine).unwrap();
                into_oprf_share(params, index, &key, &public).unwrap()
            })
            .collect()
    };
    let (holder_derived, attested_keys) = (oprf(60), oprf(61));
    let signing: Vec<_> = run_dkg::<Ed25519>(params, 62)
        .into_iter()
        .map(|(run, mine, confirmations)| {
            let index = run.index();
            let (key, public) = run.finish(&confirmations, &mine).unwrap();
            into_signing_share(params, index, key, public).unwrap()
        })
        .collect();
    // Every participant ends with the same public side.
    assert!(holder_derived.windows(2).all(|w| w[0].1 == w[1].1));
    assert!(signing.windows(2).all(|w| w[0].1 == w[1].1));
    let epoch = EpochPublicKeys {
        epoch: 1,
        not_before: EPOCH_1_START,
        holder_derived: *holder_derived[0].1.group_key(),
        attested: *attested_keys[0].1.group_key(),
        attested_signing: signing[0].1.verifying_key().unwrap(),
        bulk: *attested_keys[0].1.group_key(),
    };
    let set =
        signer().sign(KeySet::new(REALM, 1, EPOCH_1_START, SET_NOT_AFTER, vec![epoch]).unwrap());
    let verified = KeySetVerifier::new(signer().verifying_key(), REALM)
        .accept(&set, NOW)
        .unwrap();

    // Flow H: two different pairs of evaluators give the holder the same service key.
    let shop = service("https://shop.example");
    let holder = holder_derived::Holder::new(
        verified.clone(),
        MasterCredential::from_bytes(&CREDENTIAL).unwrap(),
    );
    let mut rng = seeded(63);
    let mut pseudonyms = Vec::new();
    for pair in [[1u16, 2], [2, 3]] {
        let (state, request) = holder.blind(&shop, &mut rng).unwrap();
        let responses: Vec<_> = pair
            .iter()
            .map(|&i| {
                ShareEvaluator::new(
                    1,
                    holder_derived[usize::from(i) - 1].0.clone(),
                    EvaluationBudget::default(),
                )
                .evaluate(&request, &mut rng)
                .unwrap()
            })
            .collect();
        let (key, _) =
            flow_h::finalize(&holder, state, &holder_derived[0].1, &responses, NOW).unwrap();
        pseudonyms.push(key.pseudonym(&shop).unwrap());
    }
    assert_eq!(pseudonyms[0], pseudonyms[1]);

    // Flow A: inversion for alice, then a FROST-signed login the relying party accepts.
    let key_shares: Vec<_> = attested_keys.iter().map(|(k, _)| k).collect();
    let (record, tweak_shares) = invert(
        &key_shares,
        &attested_keys[0].1,
        &Target::Subject(subject("alice")),
        64,
    );
    let evaluators: Vec<_> = tweak_shares
        .into_iter()
        .zip(&signing)
        .map(|(share, (signing_share, _))| {
            let mut evaluator = AttestedShareEvaluator::new(
                REALM,
                1,
                attested_keys[0].1.clone(),
                signing_share.clone(),
                EvaluationBudget::default(),
            );
            evaluator
                .install(&subject("alice"), share, &record)
                .unwrap();
            evaluator
        })
        .collect();
    let mut logins = Vec::new();
    for pair in [[1u16, 3], [2, 3]] {
        let relying_party = attested::RelyingParty::new(verified.clone(), shop.clone()).unwrap();
        let (pending, challenge) = relying_party.challenge(&mut rng, NOW);
        let alice = attested::Holder::new(verified.clone(), subject("alice")).unwrap();
        let (state, request) = alice
            .request(&shop, &challenge, &channel(1), &mut rng)
            .unwrap();
        let mut states = Vec::new();
        let mut evaluations = Vec::new();
        for &i in &pair {
            let (s, e) = evaluators[usize::from(i) - 1]
                .evaluate(&subject("alice"), &request, &mut rng)
                .unwrap();
            states.push((i, s));
            evaluations.push(e);
        }
        let combination = flow_a::combine_evaluations(
            &alice,
            &state,
            &attested_keys[0].1,
            &record,
            &evaluations,
            NOW,
        )
        .unwrap();
        let shares: Vec<_> = states
            .into_iter()
            .map(|(i, s)| {
                evaluators[usize::from(i) - 1]
                    .sign(s, &combination.request, NOW)
                    .unwrap()
            })
            .collect();
        let assertion =
            flow_a::finish(&alice, state, &signing[0].1, &combination, &shares, NOW).unwrap();
        let pseudonym = relying_party
            .verify(
                pending,
                &assertion,
                &channel(1),
                NOW,
                &MemoryNonceStore::new(),
            )
            .unwrap();
        logins.push(pseudonym);
    }
    assert_eq!(logins[0], logins[1]);
}

#[test]
fn published_shares_are_signed_and_bound_to_the_key_set() {
    use blindnym::pseudonym::{KeySetSigner, KeySetVerifier};
    use blindnym::threshold::{EpochShares, SignedEpochShares};
    let (_, public) = dealt(2, 3);
    let verifier = KeySetVerifier::new(signer().verifying_key(), REALM);
    let signed = SignedEpochShares::sign(&signer(), &signed_set(), &public).unwrap();
    let bytes = signed.to_bytes();
    let decoded = SignedEpochShares::from_bytes(&bytes).unwrap();
    assert_eq!(
        decoded.verify(&verifier, &published(), NOW).unwrap(),
        public
    );
    assert_eq!(
        EpochShares::from_bytes(&public.to_bytes().unwrap()).unwrap(),
        public
    );
    // One changed verification share: the signature is checked first, and fails.
    let mut tampered = bytes.clone();
    tampered[8 + 32 + 5] ^= 1;
    let refused = SignedEpochShares::from_bytes(&tampered)
        .and_then(|s| s.verify(&verifier, &published(), NOW).map(|_| ()));
    assert_eq!(refused, Err(Error::KeySetSignature));
    // Signed by another key.
    let forged = SignedEpochShares::sign(
        &KeySetSigner::from_bytes(&[0x52; 32]).unwrap(),
        &signed_set(),
        &public,
    )
    .unwrap();
    assert_eq!(
        forged.verify(&verifier, &published(), NOW).err(),
        Some(Error::KeySetSignature)
    );
    // Shares of another key, signed by the right signer, do not match the key set.
    let other =
        blindnym::threshold::deal_epoch(&keys(9, 2), Threshold::new(2, 3).unwrap(), &mut seeded(5))
            .unwrap()
            .1;
    let other = SignedEpochShares::sign(&signer(), &signed_set(), &other).unwrap();
    assert_eq!(
        other.verify(&verifier, &published(), NOW).err(),
        Some(Error::ThresholdParams)
    );
}

/// L9 (`../shared/reviews/threshold.md`): published shares carry the key set they were
/// signed with, so they inherit its sequence number and validity window. Shares signed
/// beside an older key set (sequence 1) are refused beside the newer one (sequence 2), and
/// the older key set itself is refused once the newer one was accepted.
#[test]
fn shares_signed_for_an_older_key_set_are_refused_beside_a_newer_one() {
    use blindnym::pseudonym::{KeySet, KeySetVerifier};
    use blindnym::threshold::SignedEpochShares;
    let (_, public) = dealt(2, 3);
    let older = signed_set();
    let set = older.unverified();
    let newer = signer().sign(
        KeySet::new(
            REALM,
            2,
            set.not_before(),
            set.not_after(),
            set.epochs().to_vec(),
        )
        .unwrap(),
    );
    let mut verifier = KeySetVerifier::new(signer().verifying_key(), REALM);
    let current = verifier.accept(&newer, NOW).unwrap();
    let old_shares = SignedEpochShares::sign(&signer(), &older, &public).unwrap();
    assert_eq!(
        old_shares.verify(&verifier, &current, NOW).err(),
        Some(Error::KeySetSignature),
        "shares of the older key set beside the newer one"
    );
    assert_eq!(
        verifier.accept(&older, NOW).err(),
        Some(Error::KeySetRollback),
        "the older key set, to go with them"
    );
    let new_shares = SignedEpochShares::sign(&signer(), &newer, &public).unwrap();
    assert_eq!(new_shares.verify(&verifier, &current, NOW).unwrap(), public);
}

#[test]
fn a_participant_publishes_one_product_per_run() {
    // A second product over dealings that differ only in a colluder's own dealing would give
    // that colluder k_i + m. `multiply` consumes the round-one state, so a second call does
    // not compile (the `compile_fail` example in `inversion::participant`); what is left to
    // check here is that every product moved its participant on and none is left to ask.
    let (evaluators, public) = dealt(2, 3);
    let shares: Vec<_> = evaluators.iter().map(|e| &e.bulk).collect();
    let info = bulk::domain_info(DOMAIN).unwrap();
    let mut run = deal_all(&shares, &public.bulk, &info, 70);
    assert!(products(&mut run, 71).iter().all(Result::is_ok));
    assert_eq!(run.multiplied.len(), 3);
    assert!(products(&mut run, 72).is_empty());
}

#[test]
fn malformed_or_repeated_answers_are_dropped_and_named() {
    let (t, n) = (2, 3);
    let (_, public) = dealt(t, n);
    // Evaluator 1 answers a batch of two for a batch of one; evaluator 2's answer comes twice
    // (the second copy altered); evaluator 3 is honest.
    let (state, mut responses) = flow_h_answers(t, n, &[1, 2, 3], 73);
    let extra = responses[0].answer.evaluated[0];
    responses[0].answer.evaluated.push(extra);
    let mut copy = responses[1].clone();
    copy.answer.evaluated = responses[2].answer.evaluated.clone();
    responses.insert(2, copy);
    let (key, combined) = flow_h::finalize(
        &flow_h_holder(),
        state,
        &public.holder_derived,
        &responses,
        NOW,
    )
    .unwrap();
    assert_eq!(combined.rejected, vec![1, 2]);
    assert_eq!(combined.used, vec![2, 3]);
    assert_eq!(
        key.pseudonym(&service("https://shop.example")).unwrap(),
        flow_h_single()
    );
    // A response under another epoch is dropped and named too.
    let (state, mut responses) = flow_h_answers(t, n, &[1, 2, 3], 74);
    responses[1].epoch = 1;
    let (_, combined) = flow_h::finalize(
        &flow_h_holder(),
        state,
        &public.holder_derived,
        &responses,
        NOW,
    )
    .unwrap();
    assert_eq!(combined.rejected, vec![2]);
}

#[test]
fn evaluators_install_only_a_checked_record() {
    let (evaluators, public) = dealt(2, 3);
    let shares: Vec<_> = evaluators.iter().map(|e| &e.bulk).collect();
    let (record, tweak_shares) =
        invert(&shares, &public.bulk, &Target::domain(DOMAIN).unwrap(), 75);
    let caller = CallerId::new(b"registry");
    let mut evaluator = BulkShareEvaluator::new(
        2,
        1,
        public.bulk.clone(),
        Grants::new().allow(&caller, b"health-register"),
        MemoryQuota::new(1_000),
        EvaluationBudget::default(),
    );
    // The tax domain's record installed for the health domain.
    assert_eq!(
        evaluator
            .install(b"health-register", tweak_shares[0].clone(), &record)
            .err(),
        Some(Error::TweakMismatch)
    );
    // Evaluator 2's share under evaluator 1's index is not evaluator 1's share.
    let mut forged = tweak_shares[1].to_bytes();
    forged[..2].copy_from_slice(&1u16.to_be_bytes());
    let forged = blindnym::threshold::inversion::TweakShare::from_bytes(forged.as_ref()).unwrap();
    assert_eq!(
        evaluator.install(DOMAIN, forged, &record).err(),
        Some(Error::TweakMismatch)
    );
    assert_eq!(
        evaluator.install(DOMAIN, tweak_shares[0].clone(), &record),
        Ok(())
    );
}

#[test]
fn a_signer_refuses_a_signing_set_without_its_own_commitment() {
    let deployment = flow_a_deployment(2, 3, "alice", 76);
    let mut rng = seeded(77);
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
    let mut states = Vec::new();
    let mut evaluations = Vec::new();
    for evaluator in &deployment.evaluators {
        let (s, e) = evaluator
            .evaluate(&subject("alice"), &request, &mut rng)
            .unwrap();
        states.push(s);
        evaluations.push(e);
    }
    let record = deployment.evaluators[0]
        .record(&subject("alice"))
        .unwrap()
        .clone();
    let combination = flow_a::combine_evaluations(
        &holder,
        &state,
        &deployment.public.attested,
        &record,
        &evaluations,
        NOW,
    )
    .unwrap();
    assert_eq!(
        combination
            .request
            .commitments
            .iter()
            .map(|c| c.index)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    // Evaluator 3 was not chosen: it signs nothing for this set.
    let third = states.pop().unwrap();
    assert_eq!(
        deployment.evaluators[2]
            .sign(third, &combination.request, NOW)
            .err(),
        Some(Error::UnknownEvaluator { index: 3 })
    );
}

#[test]
fn published_signing_shares_must_lie_on_the_group_polynomial() {
    use blindnym::threshold::EpochShares;
    let (_, public) = dealt(2, 3);
    let mut bytes = public.to_bytes().unwrap();
    // Swap the first two Ed25519 verifying shares: valid points, wrong polynomial.
    let [one, two] = [1u16, 2].map(|i| public.signing.share_bytes(i).unwrap());
    let find = |bytes: &[u8], needle: &[u8]| bytes.windows(32).position(|w| w == needle).unwrap();
    let (a, b) = (find(&bytes, &one), find(&bytes, &two));
    bytes[a..a + 32].copy_from_slice(&two);
    bytes[b..b + 32].copy_from_slice(&one);
    assert_eq!(
        EpochShares::from_bytes(&bytes).err(),
        Some(Error::ThresholdParams)
    );
}

#[test]
fn dkg_names_a_participant_whose_share_is_wrong() {
    use blindnym::threshold::dkg::{DkgPrivate, Ristretto255};
    let params = Threshold::new(2, 3).unwrap();
    for bad in 1..=3u16 {
        let mut runs = run_dkg::<Ristretto255>(params, 80);
        // Participant `bad` sends a share to someone else that is another participant's.
        let victim: u16 = if bad == 1 { 2 } else { 1 };
        let (_, mine, _) = &mut runs[usize::from(victim) - 1];
        let position = mine.iter().position(|p| p.from() == bad).unwrap();
        let other = mine.iter().position(|p| p.from() != bad).unwrap();
        let mut bytes = mine[other].to_bytes().unwrap().to_vec();
        bytes[..2].copy_from_slice(&bad.to_be_bytes());
        mine[position] = DkgPrivate::<Ristretto255>::from_bytes(&bytes).unwrap();
        let (run, mine, confirmations) = runs.swap_remove(usize::from(victim) - 1);
        assert_eq!(
            run.finish(&confirmations, &mine).err(),
            Some(Error::BadDealing { dealer: bad })
        );
    }
}

#[test]
fn frost_signing_refusals_name_the_problem() {
    use blindnym::threshold::signing::{commit, sign};
    let (evaluators, _) = dealt(2, 3);
    let mut rng = seeded(90);
    let [(n1, c1), (n2, c2), (n3, _)] = [0, 1, 2].map(|i| commit(&evaluators[i].signing, &mut rng));
    // A signing set without this signer's own commitment.
    assert_eq!(
        sign(&evaluators[2].signing, n3, &[c1, c2], b"message").err(),
        Some(Error::UnknownEvaluator { index: 3 })
    );
    // Fewer than t signers.
    assert_eq!(
        sign(&evaluators[0].signing, n1, &[c1], b"message").err(),
        Some(Error::TooFewShares { have: 1, need: 2 })
    );
    // Another signer's nonces.
    assert_eq!(
        sign(&evaluators[0].signing, n2, &[c1, c2], b"message").err(),
        Some(Error::UnknownEvaluator { index: 2 })
    );
}

#[test]
fn flow_a_threshold_messages_decode_strictly() {
    let deployment = flow_a_deployment(2, 3, "alice", 91);
    let mut rng = seeded(92);
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
    let evaluations: Vec<ShareEvaluation> = deployment.evaluators[..2]
        .iter()
        .map(|e| e.evaluate(&subject("alice"), &request, &mut rng).unwrap().1)
        .collect();
    let bytes = evaluations[0].to_bytes().unwrap();
    assert_eq!(ShareEvaluation::from_bytes(&bytes).unwrap(), evaluations[0]);
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(
        ShareEvaluation::from_bytes(&trailing),
        Err(Error::InvalidLength { .. })
    ));
    // Evaluator 1's answer with evaluator 2's commitments.
    let mut spliced = bytes[..4 + 100].to_vec();
    spliced.extend_from_slice(&evaluations[1].to_bytes().unwrap()[4 + 100..]);
    assert_eq!(
        ShareEvaluation::from_bytes(&spliced).err(),
        Some(Error::UnknownEvaluator { index: 2 })
    );

    let record = deployment.evaluators[0]
        .record(&subject("alice"))
        .unwrap()
        .clone();
    let combination = flow_a::combine_evaluations(
        &holder,
        &state,
        &deployment.public.attested,
        &record,
        &evaluations,
        NOW,
    )
    .unwrap();
    let bytes = combination.request.to_bytes().unwrap();
    assert_eq!(
        SigningRequest::from_bytes(&bytes).unwrap(),
        combination.request
    );
    let mut none = bytes[..14].to_vec();
    none[12..14].copy_from_slice(&0u16.to_be_bytes());
    assert_eq!(
        SigningRequest::from_bytes(&none).err(),
        Some(Error::TooFewShares { have: 0, need: 1 })
    );
    let mut short = bytes.clone();
    short[12..14].copy_from_slice(&200u16.to_be_bytes());
    assert!(matches!(
        SigningRequest::from_bytes(&short),
        Err(Error::InvalidLength { .. })
    ));
}

#[test]
fn flow_h_threshold_migration_after_the_transition_window() {
    // Two days on, epoch 1 is past its transition window: ordinary logins under it are
    // refused, a migration answer is still finalized, and equals the single evaluator's.
    let later = NOW + 2 * 86_400;
    let shop = service("https://shop.example");
    let mut rng = seeded(95);
    let single = {
        let holder = flow_h_holder();
        let (state, request) = holder.blind(&shop, &mut rng).unwrap();
        let response = holder_derived::Evaluator::new(
            keys(1, 1).holder_derived(),
            EvaluationBudget::default(),
        )
        .evaluate(&request, &mut rng)
        .unwrap();
        holder
            .finalize_previous(state, &response, later)
            .unwrap()
            .pseudonym(&shop)
            .unwrap()
    };
    let (evaluators, public) = blindnym::threshold::deal_epoch(
        &keys(1, 1),
        Threshold::new(2, 3).unwrap(),
        &mut seeded(96),
    )
    .unwrap();
    let answer = |rng: &mut rand_chacha::ChaCha20Rng| {
        let (state, request) = flow_h_holder().blind(&shop, rng).unwrap();
        let responses: Vec<_> = evaluators[1..]
            .iter()
            .map(|e| {
                ShareEvaluator::new(1, e.holder_derived.clone(), EvaluationBudget::default())
                    .evaluate(&request, rng)
                    .unwrap()
            })
            .collect();
        (state, responses)
    };
    let (state, responses) = answer(&mut rng);
    assert_eq!(
        flow_h::finalize(
            &flow_h_holder(),
            state,
            &public.holder_derived,
            &responses,
            later
        )
        .err(),
        Some(Error::StaleEpoch { epoch: 1 })
    );
    let (state, responses) = answer(&mut rng);
    let (key, _) = flow_h::finalize_previous(
        &flow_h_holder(),
        state,
        &public.holder_derived,
        &responses,
        later,
    )
    .unwrap();
    assert_eq!(key.pseudonym(&shop).unwrap(), single);
}

#[test]
fn flow_a_threshold_migration_equals_the_single_evaluators() {
    use blindnym::threshold::flow_a::MigrationSigningRequest;
    let origin = "https://shop.example";
    // One evaluator per epoch: the relying party's (old, new) pseudonyms.
    let single = {
        let mut rng = seeded(100);
        let (pending, challenge) = rp(origin).challenge(&mut rng, NOW);
        let holder = attested::Holder::new(published(), subject("alice")).unwrap();
        let (state, request) = holder
            .request(&service(origin), &challenge, &channel(1), &mut rng)
            .unwrap();
        let evaluation = attested_evaluator(1, 2)
            .evaluate_migration(
                &attested_evaluator(1, 1),
                &subject("alice"),
                &request,
                NOW,
                &mut rng,
            )
            .unwrap();
        let assertion = holder.finish_migration(state, &evaluation, NOW).unwrap();
        rp(origin)
            .verify_migration(
                pending,
                &assertion,
                &channel(1),
                NOW,
                &MemoryNonceStore::new(),
            )
            .unwrap()
    };
    // Threshold (2, 3) in both epochs, dealt from the same keys.
    let deployment_for = |epoch: u32, seed: u8| {
        let (evaluators, public) = blindnym::threshold::deal_epoch(
            &keys(1, epoch),
            Threshold::new(2, 3).unwrap(),
            &mut seeded(seed),
        )
        .unwrap();
        let shares: Vec<_> = evaluators.iter().map(|e| &e.attested).collect();
        let (record, tweak_shares) = invert(
            &shares,
            &public.attested,
            &Target::Subject(subject("alice")),
            seed,
        );
        let share_evaluators: Vec<_> = evaluators
            .iter()
            .zip(tweak_shares)
            .map(|(e, share)| {
                let mut evaluator = AttestedShareEvaluator::new(
                    REALM,
                    epoch,
                    public.attested.clone(),
                    e.signing.clone(),
                    EvaluationBudget::default(),
                );
                evaluator
                    .install(&subject("alice"), share, &record)
                    .unwrap();
                evaluator
            })
            .collect::<Vec<_>>();
        (share_evaluators, public, record)
    };
    let (old, old_public, old_record) = deployment_for(1, 101);
    let (new, new_public, new_record) = deployment_for(2, 102);
    let mut rng = seeded(103);
    let (pending, challenge) = rp(origin).challenge(&mut rng, NOW);
    let holder = attested::Holder::new(published(), subject("alice")).unwrap();
    let (state, request) = holder
        .request(&service(origin), &challenge, &channel(1), &mut rng)
        .unwrap();
    let old_responses: Vec<_> = old[1..]
        .iter()
        .map(|e| e.answer(&subject("alice"), &request, &mut rng).unwrap())
        .collect();
    let mut states = Vec::new();
    let mut evaluations = Vec::new();
    for evaluator in &new[..2] {
        let (s, e) = evaluator
            .evaluate(&subject("alice"), &request, &mut rng)
            .unwrap();
        states.push(s);
        evaluations.push(e);
    }
    let combination = flow_a::combine_migration(
        &holder,
        &state,
        &old_public.attested,
        &old_record,
        &old_responses,
        &new_public.attested,
        &new_record,
        &evaluations,
        NOW,
    )
    .unwrap();
    let request_bytes = combination.request.to_bytes().unwrap();
    let signing_request = MigrationSigningRequest::from_bytes(&request_bytes).unwrap();
    assert_eq!(signing_request, combination.request);
    // Signer 1 of the new epoch, given the old epoch's answers forged, names the culprit.
    let mut forged = signing_request.clone();
    forged.old_answers[0].evaluated = forged.new.answers[0].evaluated.clone();
    let shares: Vec<_> = states
        .into_iter()
        .zip(&new)
        .zip(&old)
        .map(|((s, evaluator), previous)| {
            evaluator
                .sign_migration(previous, s, &signing_request, NOW)
                .unwrap()
        })
        .collect();
    let assertion = flow_a::finish_migration(
        &holder,
        state,
        &new_public.signing,
        &combination,
        &shares,
        NOW,
    )
    .unwrap();
    let pseudonyms = rp(origin)
        .verify_migration(
            pending,
            &assertion,
            &channel(1),
            NOW,
            &MemoryNonceStore::new(),
        )
        .unwrap();
    assert_eq!(pseudonyms, single);
    // A forged old answer is caught by every signer before it signs.
    let (state2, _) = new[0]
        .evaluate(&subject("alice"), &request, &mut rng)
        .unwrap();
    assert_eq!(
        new[0].sign_migration(&old[0], state2, &forged, NOW).err(),
        Some(Error::BadShare {
            evaluator: forged.old_answers[0].index
        })
    );
    // The wrong previous epoch is refused.
    let (state3, _) = new[0]
        .evaluate(&subject("alice"), &request, &mut rng)
        .unwrap();
    assert_eq!(
        new[0]
            .sign_migration(&new[1], state3, &signing_request, NOW)
            .err(),
        Some(Error::StaleEpoch { epoch: 2 })
    );
}

#[test]
fn flow_b_large_t_takes_the_unfused_path_and_still_equals_the_single_evaluator() {
    // t = 5 combines publicly and then unblinds (past the fused path's limit of t = 4).
    let (t, n) = (5, 9);
    let (_, public) = dealt(t, n);
    let (evaluators, record) = bulk_evaluators(t, n, 110);
    let holder = DataHolder::new(published(), DOMAIN).unwrap();
    let caller = CallerId::new(b"registry");
    let mut rng = seeded(111);
    let (batch, request) = holder.blind_batch(&IDS, &mut rng).unwrap();
    let responses: Vec<ShareResponse> = evaluators[4..]
        .iter()
        .map(|e| e.evaluate_batch(&caller, &request, &mut rng).unwrap())
        .collect();
    let (pseudonyms, selection) =
        flow_b::finalize_batch(&holder, &batch, &public.bulk, &record, &responses, NOW).unwrap();
    assert_eq!(selection.used, vec![5, 6, 7, 8, 9]);
    assert_eq!(pseudonyms, flow_b_single());
}

#[test]
fn a_participant_refuses_a_replayed_own_contribution() {
    // A transport (or coordinator) that replays run X's messages into run Y, the
    // participant's own included, would let a colluder who changes only its own dealing solve
    // the two products for k_i. The participant refuses its own dealing or share from
    // another run.
    let (evaluators, public) = dealt(2, 3);
    let shares: Vec<_> = evaluators.iter().map(|e| &e.bulk).collect();
    let info = bulk::domain_info(DOMAIN).unwrap();
    let run_x = deal_all(&shares, &public.bulk, &info, 120);
    let mut run_y = deal_all(&shares, &public.bulk, &info, 121);
    run_y.dealings = run_x.dealings.clone();
    run_y.privates = run_x.privates.clone();
    for result in products(&mut run_y, 122) {
        assert_eq!(result.err(), Some(Error::TweakMismatch));
    }
    // Only the private share to itself replayed (the dealing kept): refused as well.
    let mut run_z = deal_all(&shares, &public.bulk, &info, 123);
    run_z.privates[0][0] = run_x.privates[0][0].clone();
    assert_eq!(
        products(&mut run_z, 124)[0].as_ref().err(),
        Some(&Error::TweakMismatch)
    );
}

/// Review M2 (fix 3): a record replaced between a login's two rounds (another inversion for
/// the subject, run by any peer) neither breaks the login nor blames an honest signer: round
/// two checks the answers against the record round one answered under.
#[test]
fn flow_a_round_two_is_checked_against_round_ones_record() {
    let (shares, public) = dealt(2, 3);
    let key_shares: Vec<_> = shares.iter().map(|e| &e.attested).collect();
    let target = Target::Subject(subject("alice"));
    let (first, first_shares) = invert(&key_shares, &public.attested, &target, 1);
    let (second, second_shares) = invert(&key_shares, &public.attested, &target, 2);
    assert_ne!(first.to_bytes(), second.to_bytes());
    let mut evaluators = attested_evaluators(&shares, &public, "alice", first_shares, &first);
    let mut rng = seeded(9);
    let origin = "https://shop.example";
    let (pending, challenge) = rp(origin).challenge(&mut rng, NOW);
    let holder = attested::Holder::new(published(), subject("alice")).unwrap();
    let (state, request) = holder
        .request(&service(origin), &challenge, &channel(1), &mut rng)
        .unwrap();
    let (mut states, mut evaluations) = (Vec::new(), Vec::new());
    for evaluator in &evaluators[..2] {
        let (signer_state, evaluation) = evaluator
            .evaluate(&subject("alice"), &request, &mut rng)
            .unwrap();
        states.push(signer_state);
        evaluations.push(evaluation);
    }
    let combination =
        flow_a::combine_evaluations(&holder, &state, &public.attested, &first, &evaluations, NOW)
            .unwrap();
    // Between the rounds, every evaluator installs another record for alice.
    for (evaluator, share) in evaluators.iter_mut().zip(second_shares) {
        evaluator
            .install(&subject("alice"), share, &second)
            .unwrap();
    }
    let signature_shares: Vec<SignatureShare> = evaluators[..2]
        .iter()
        .zip(states)
        .map(|(evaluator, signer_state)| {
            evaluator
                .sign(signer_state, &combination.request, NOW)
                .unwrap()
        })
        .collect();
    let assertion = flow_a::finish(
        &holder,
        state,
        &public.signing,
        &combination,
        &signature_shares,
        NOW,
    )
    .unwrap();
    verify_at(origin, Session { pending, assertion }, &channel(1), NOW).unwrap();
}
