//! Threshold known-answer vectors (`spec/12-threshold.md` §12.11, `spec/vectors/threshold.json`):
//! the committed file equals a fresh generation; every vector checks from its recorded bytes
//! alone (shares, record, answers) without the generator's RNG; its outputs equal the single
//! evaluator's; and one changed byte of the record is refused.
//!
//! `BLINDNYM_WRITE_VECTORS=1 cargo test --all-features --test threshold_vectors` rewrites the
//! file before comparing.
#![cfg(feature = "threshold")]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test]: a panic is a failed test"
)]

mod common;
#[allow(
    dead_code,
    reason = "only the seed helpers and DetRng of the generator are used here"
)]
mod kat;

use blindnym::pseudonym::EvaluationBudget;
use blindnym::pseudonym::bulk::{self, CallerId, DataHolder, Grants, MemoryQuota};
use blindnym::pseudonym::holder_derived::{self, MasterCredential};
use blindnym::threshold::flow_b;
use blindnym::threshold::flow_h::{self, ShareEvaluator};
use blindnym::threshold::inversion::{Dealing, MaskedProduct, PrivateShare, TweakRecord, deal};
use blindnym::threshold::{KeyShare, ShareResponse, Threshold, VerificationShares, deal_epoch};
use blindnym::{Error, PublicKey};
use common::*;
use kat::{DetRng, committed, committed_equals, hex, label_seed, unhex_value as unhex};
use serde_json::{Value, json};

const FILE: &str = "threshold.json";
const DOMAIN: &[u8] = b"tax-register";
const IDS: [&str; 3] = ["19800101-1234", "19911231-0000", "x"];
const CREDENTIAL: [u8; 32] = [7; 32];

fn hexes(v: &Value) -> Vec<Vec<u8>> {
    v.as_array().unwrap().iter().map(unhex).collect()
}

fn shares_json(shares: &[KeyShare]) -> Value {
    shares.iter().map(|s| hex(s.to_bytes().as_ref())).collect()
}

fn public_json(public: &VerificationShares) -> Value {
    json!({
        "group_key": hex(public.group_key().as_bytes()),
        "shares": public.shares().iter().map(|k| hex(k.as_bytes())).collect::<Vec<_>>(),
    })
}

fn generate_one(t: u16, n: u16) -> Value {
    let params = Threshold::new(t, n).unwrap();
    let seed_label = format!("threshold {t}-of-{n}");
    let seed = label_seed(&seed_label);
    let mut rng = DetRng::new("threshold", &seed);
    let (evaluators, public) = deal_epoch(&keys(1, 2), params, &mut rng).unwrap();
    let h_shares: Vec<KeyShare> = evaluators
        .iter()
        .map(|e| e.holder_derived.clone())
        .collect();
    let b_shares: Vec<KeyShare> = evaluators.iter().map(|e| e.bulk.clone()).collect();

    // Flow H: one blinded element, every evaluator's answer, the first t combined.
    let shop = service("https://shop.example");
    let holder = holder_derived::Holder::new(
        published(),
        MasterCredential::from_bytes(&CREDENTIAL).unwrap(),
    );
    let (state, request) = holder.blind(&shop, &mut rng).unwrap();
    let h_answers: Vec<ShareResponse> = h_shares
        .iter()
        .map(|s| {
            ShareEvaluator::new(2, s.clone(), EvaluationBudget::default())
                .evaluate(&request, &mut rng)
                .unwrap()
        })
        .collect();
    let (key, _) =
        flow_h::finalize(&holder, state, &public.holder_derived, &h_answers, NOW).unwrap();

    // Flow B: the inversion for the domain among all n, then one batch.
    let info = bulk::domain_info(DOMAIN).unwrap();
    let indices: Vec<u16> = (1..=n).collect();
    let mut participants = Vec::new();
    let mut dealings = Vec::new();
    let mut sent = Vec::new();
    for share in &b_shares {
        let dealt = deal(share, &public.bulk, &info, &indices, &mut rng).unwrap();
        participants.push(dealt.participant);
        dealings.push(dealt.dealing);
        sent.push(dealt.privates);
    }
    let mut products = Vec::new();
    let mut multiplied = Vec::new();
    for (p, to) in participants.into_iter().zip(&indices) {
        let mine: Vec<PrivateShare> = sent
            .iter()
            .map(|from| from.iter().find(|s| s.recipient() == *to).unwrap().clone())
            .collect();
        let (p, product) = p.multiply(&dealings, &mine, &mut rng).unwrap();
        multiplied.push(p);
        products.push(product);
    }
    let (record, _) =
        TweakRecord::assemble(&public.bulk, &info, dealings.clone(), &products).unwrap();
    let tweak_keys = record.check(&public.bulk, &info).unwrap();
    let tweak_shares: Vec<_> = multiplied
        .into_iter()
        .map(|p| p.finish(&record, &info).unwrap())
        .collect();
    let data_holder = DataHolder::new(published(), DOMAIN).unwrap();
    let (batch, batch_request) = data_holder.blind_batch(&IDS, &mut rng).unwrap();
    let b_answers: Vec<ShareResponse> = tweak_shares
        .iter()
        .map(|s| ShareResponse {
            epoch: 2,
            answer: s.answer(batch_request.blinded(), &mut rng).unwrap(),
        })
        .collect();
    let (pseudonyms, _) =
        flow_b::finalize_batch(&data_holder, &batch, &public.bulk, &record, &b_answers, NOW)
            .unwrap();

    json!({
        "t": t,
        "n": n,
        "rng_label": "threshold",
        "rng_seed_label": seed_label,
        "rng_seed": hex(seed),
        "epoch_keys": "tests/common: root seed [0x01; 32], realm \"test realm\", epoch 2",
        "holder_derived": {
            "key_shares": shares_json(&h_shares),
            "verification": public_json(&public.holder_derived),
            "service": shop.as_bytes().escape_ascii().to_string(),
            "blinded": hex(request.blinded.as_bytes()),
            "answers": h_answers.iter().map(|a| hex(a.to_bytes().unwrap())).collect::<Vec<_>>(),
            "service_key_public": hex(key.verifying_key().as_bytes()),
            "pseudonym": key.pseudonym(&shop).unwrap().to_text(),
        },
        "bulk": {
            "key_shares": shares_json(&b_shares),
            "verification": public_json(&public.bulk),
            "domain": String::from_utf8_lossy(DOMAIN),
            "info": hex(&info),
            "dealings": dealings.iter().map(|d| hex(d.to_bytes())).collect::<Vec<_>>(),
            "private_shares": sent.iter().flatten().map(|s| hex(s.to_bytes().as_ref())).collect::<Vec<_>>(),
            "products": products.iter().map(|p| hex(p.to_bytes())).collect::<Vec<_>>(),
            "record": hex(record.to_bytes()),
            "tweak_shares": tweak_keys.participants().iter().map(|&i| hex(tweak_keys.share(i).unwrap().as_bytes())).collect::<Vec<_>>(),
            "identities": IDS,
            "blinded": batch_request.blinded().iter().map(|b| hex(b.as_bytes())).collect::<Vec<_>>(),
            "answers": b_answers.iter().map(|a| hex(a.to_bytes().unwrap())).collect::<Vec<_>>(),
            "pseudonyms": pseudonyms.iter().map(|p| p.to_text()).collect::<Vec<_>>(),
        },
    })
}

fn generate() -> Value {
    json!({
        "description": "Threshold mode known answers (spec/12-threshold.md §12.11). Dealer split of the epoch keys, one flow H evaluation answered by every evaluator (the first t combine), one flow B inversion among all n and one batch. Encodings as §12.3–§12.7. The parties draw from one DetRng stream (spec/11-vectors.md) in this order: the dealer (frost-ristretto255 and frost-ed25519 split: holder-derived, attested, bulk, signing), the flow H blind, each flow H answer, each participant's dealing, each participant's product, the batch blinds, each batch answer.",
        "generator": "BLINDNYM_WRITE_VECTORS=1 cargo test --all-features --test threshold_vectors",
        "vectors": [generate_one(2, 3), generate_one(3, 5)],
    })
}

#[test]
fn committed_vectors_match_generator() {
    committed_equals(FILE, &generate());
}

fn verification(v: &Value, t: u16, n: u16) -> VerificationShares {
    let params = Threshold::new(t, n).unwrap();
    let group = PublicKey::from_bytes(&unhex(&v["group_key"])).unwrap();
    let shares = hexes(&v["shares"])
        .iter()
        .map(|b| PublicKey::from_bytes(b).unwrap())
        .collect();
    VerificationShares::new(params, group, shares).unwrap()
}

/// Checks every vector from its recorded bytes alone.
#[test]
fn committed_vectors_check_from_their_bytes() {
    let committed = committed(FILE);
    let single_b = {
        let mut rng = common::seeded(1);
        let holder = DataHolder::new(published(), DOMAIN).unwrap();
        let caller = CallerId::new(b"registry");
        let evaluator = bulk::Evaluator::new(
            keys(1, 2).bulk(),
            Grants::new().allow(&caller, DOMAIN),
            MemoryQuota::new(100),
            EvaluationBudget::default(),
        );
        let (batch, request) = holder.blind_batch(&IDS, &mut rng).unwrap();
        let response = evaluator
            .evaluate_batch(&caller, &request, &mut rng)
            .unwrap();
        holder.finalize_batch(&batch, &response, NOW).unwrap()
    };
    for vector in committed["vectors"].as_array().unwrap() {
        let t = u16::try_from(vector["t"].as_u64().unwrap()).unwrap();
        let n = u16::try_from(vector["n"].as_u64().unwrap()).unwrap();
        for role in ["holder_derived", "bulk"] {
            let public = verification(&vector[role]["verification"], t, n);
            // Each key share's K_i is the recorded verification share.
            for (i, bytes) in hexes(&vector[role]["key_shares"]).iter().enumerate() {
                let share = KeyShare::from_bytes(bytes).unwrap();
                assert_eq!(&share.verification_share(), &public.shares()[i]);
            }
        }
        // The group keys are the single evaluator's published keys.
        let epoch = &keys(1, 2).public(EPOCH_2_START);
        assert_eq!(
            verification(&vector["holder_derived"]["verification"], t, n).group_key(),
            &epoch.holder_derived
        );
        assert_eq!(
            verification(&vector["bulk"]["verification"], t, n).group_key(),
            &epoch.bulk
        );

        // The record checks and gives the recorded S_i; one changed byte is refused.
        let bulk_v = &vector["bulk"];
        let public = verification(&bulk_v["verification"], t, n);
        let info = unhex(&bulk_v["info"]);
        let record_bytes = unhex(&bulk_v["record"]);
        let record = TweakRecord::from_bytes(&record_bytes).unwrap();
        let tweak_keys = record.check(&public, &info).unwrap();
        let s: Vec<Vec<u8>> = tweak_keys
            .participants()
            .iter()
            .map(|&i| tweak_keys.share(i).unwrap().as_bytes().to_vec())
            .collect();
        assert_eq!(s, hexes(&bulk_v["tweak_shares"]));
        for position in [2usize, 40, record_bytes.len() - 1] {
            let mut bad = record_bytes.clone();
            bad[position] ^= 1;
            let refused = TweakRecord::from_bytes(&bad).and_then(|r| r.check(&public, &info));
            assert!(
                refused.is_err(),
                "byte {position} changed and still accepted"
            );
        }
        for bytes in hexes(&bulk_v["dealings"]) {
            assert_eq!(Dealing::from_bytes(&bytes).unwrap().to_bytes(), bytes);
        }
        for bytes in hexes(&bulk_v["products"]) {
            assert_eq!(
                MaskedProduct::from_bytes(&bytes)
                    .unwrap()
                    .to_bytes()
                    .to_vec(),
                bytes
            );
        }
        for bytes in hexes(&bulk_v["private_shares"]) {
            assert_eq!(
                PrivateShare::from_bytes(&bytes)
                    .unwrap()
                    .to_bytes()
                    .to_vec(),
                bytes
            );
        }
        // Every answer verifies against its S_i; the recorded pseudonyms are the single
        // evaluator's.
        let blinded: Vec<_> = hexes(&bulk_v["blinded"])
            .iter()
            .map(|b| blindnym::BlindedElement::from_bytes(b).unwrap())
            .collect();
        let request = bulk::BatchRequest::new(DOMAIN, blinded).unwrap();
        let answers: Vec<ShareResponse> = hexes(&bulk_v["answers"])
            .iter()
            .map(|b| ShareResponse::from_bytes(b).unwrap())
            .collect();
        for answer in &answers {
            tweak_keys
                .check_answer(request.blinded(), &answer.answer)
                .unwrap();
            let mut wrong = answer.answer.clone();
            wrong.evaluated.swap(0, 1);
            assert_eq!(
                tweak_keys.check_answer(request.blinded(), &wrong),
                Err(Error::BadShare {
                    evaluator: answer.answer.index
                })
            );
        }
        let texts: Vec<String> = single_b.iter().map(|p| p.to_text()).collect();
        let recorded: Vec<String> = bulk_v["pseudonyms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            recorded, texts,
            "({t},{n}) flow B pseudonyms differ from the single evaluator's"
        );
        // Flow H: the recorded pseudonym is the single evaluator's.
        let mut rng = common::seeded(2);
        let holder = holder_derived::Holder::new(
            published(),
            MasterCredential::from_bytes(&CREDENTIAL).unwrap(),
        );
        let shop = service("https://shop.example");
        let (state, h_request) = holder.blind(&shop, &mut rng).unwrap();
        let response = holder_derived::Evaluator::new(
            keys(1, 2).holder_derived(),
            EvaluationBudget::default(),
        )
        .evaluate(&h_request, &mut rng)
        .unwrap();
        let single_h = holder
            .finalize(state, &response, NOW)
            .unwrap()
            .pseudonym(&shop)
            .unwrap();
        assert_eq!(
            vector["holder_derived"]["pseudonym"].as_str().unwrap(),
            single_h.to_text()
        );
        let answers: Vec<ShareResponse> = hexes(&vector["holder_derived"]["answers"])
            .iter()
            .map(|b| ShareResponse::from_bytes(b).unwrap())
            .collect();
        assert_eq!(answers.len(), usize::from(n));
        let h_public = verification(&vector["holder_derived"]["verification"], t, n);
        let h_blinded =
            [
                blindnym::BlindedElement::from_bytes(&unhex(&vector["holder_derived"]["blinded"]))
                    .unwrap(),
            ];
        for answer in &answers {
            h_public.check_answer(&h_blinded, &answer.answer).unwrap();
        }
    }
}
