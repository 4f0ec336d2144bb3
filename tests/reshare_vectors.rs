//! Resharing known-answer vectors (`spec/12-threshold.md` §12.13.2, `spec/vectors/reshare.json`):
//! a refresh of a 2-of-3 epoch and a committee change from 2 of 3 to 3 of 4. The committed file
//! equals a fresh generation; each vector checks from its recorded bytes alone (the old public
//! side and the messages in, each member's transcript digest, new shares and the new public
//! side out); the group keys are unchanged; one changed byte of a value names its dealer.
//!
//! `BLINDNYM_WRITE_VECTORS=1 cargo test --all-features --test reshare_vectors` rewrites the
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

use blindnym::Error;
use blindnym::threshold::reshare::{ReshareContext, ReshareMessage, ReshareReceiver, deal_reshare};
use blindnym::threshold::{EpochShares, EvaluatorShares, Threshold, deal_epoch};
use common::*;
use kat::{DetRng, committed, committed_equals, hex, label_seed, unhex_value as unhex};
use serde_json::{Value, json};

const FILE: &str = "reshare.json";

fn u16s(v: &Value) -> Vec<u16> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| u16::try_from(x.as_u64().unwrap()).unwrap())
        .collect()
}

/// A member's four new shares as saved: flow H, flow A and flow B key shares, then the
/// signing share.
fn shares_json(shares: &EvaluatorShares) -> Value {
    json!({
        "holder_derived": hex(shares.holder_derived.to_bytes().as_ref()),
        "attested": hex(shares.attested.to_bytes().as_ref()),
        "bulk": hex(shares.bulk.to_bytes().as_ref()),
        "signing": hex(shares.signing.to_bytes().unwrap().as_slice()),
    })
}

fn context_of(public: &EpochShares, new: Threshold, dealers: &[u16]) -> ReshareContext {
    ReshareContext::new(REALM, public.epoch, public.params(), new, dealers).unwrap()
}

fn generate_one(old: (u16, u16), new: (u16, u16), dealers: &[u16]) -> Value {
    let label = format!("reshare {}-of-{} to {}-of-{}", old.0, old.1, new.0, new.1);
    let mut rng = DetRng::new("reshare", &label_seed(&label));
    let (evaluators, public) =
        deal_epoch(&keys(1, 2), Threshold::new(old.0, old.1).unwrap(), &mut rng).unwrap();
    let new = Threshold::new(new.0, new.1).unwrap();
    let context = context_of(&public, new, dealers);
    let messages: Vec<ReshareMessage> = dealers
        .iter()
        .flat_map(|&d| {
            deal_reshare(&context, &evaluators[usize::from(d) - 1], &public, &mut rng).unwrap()
        })
        .collect();
    let received: Vec<_> = (1..=new.n())
        .map(|j| {
            let mine: Vec<ReshareMessage> =
                messages.iter().filter(|m| m.to() == j).cloned().collect();
            ReshareReceiver::new(&context, j, &public)
                .unwrap()
                .receive(&mine)
                .unwrap()
        })
        .collect();
    let digests: Vec<(u16, [u8; 32])> = (1..=new.n())
        .zip(&received)
        .map(|(j, r)| (j, r.transcript_digest()))
        .collect();
    let mut members = Vec::new();
    let mut new_public = None;
    for (j, r) in (1..=new.n()).zip(received) {
        let others: Vec<_> = digests.iter().filter(|(m, _)| *m != j).copied().collect();
        let digest = r.transcript_digest();
        let (shares, public) = r.finish(&others).unwrap();
        members.push(json!({
            "index": j,
            "transcript_digest": hex(digest),
            "shares": shares_json(&shares),
        }));
        new_public = Some(public);
    }
    json!({
        "rng_label": "reshare",
        "rng_seed": label,
        "realm": String::from_utf8(REALM.to_vec()).unwrap(),
        "epoch": public.epoch,
        "old": {"t": old.0, "n": old.1},
        "new": {"t": new.t(), "n": new.n()},
        "dealers": dealers,
        "old_public": hex(public.to_bytes().unwrap()),
        "messages": messages.iter().map(|m| hex(m.to_bytes().as_slice())).collect::<Vec<_>>(),
        "members": members,
        "new_public": hex(new_public.unwrap().to_bytes().unwrap()),
    })
}

fn generate() -> Value {
    json!({
        "description": "Resharing known answers (spec/12-threshold.md §12.13.2): a refresh of a 2-of-3 epoch dealt by evaluators 2 and 3, and a committee change from 2 of 3 to 3 of 4 dealt by evaluators 1 and 3. The old epoch is a dealer split of the test keys (realm \"test realm\", epoch 2). The parties draw from one DetRng stream (spec/11-vectors.md) in this order: the dealer split (holder-derived, attested, bulk, signing), then each dealer in order (for each key H, A, B, S: the t' - 1 random coefficients). Messages are listed dealer by dealer, each to members 1..n'. Each member's transcript digest, saved new shares and the common new public side (EpochShares, §12.3) follow from the old public side and the messages alone.",
        "generator": "BLINDNYM_WRITE_VECTORS=1 cargo test --all-features --test reshare_vectors",
        "vectors": [generate_one((2, 3), (2, 3), &[2, 3]), generate_one((2, 3), (3, 4), &[1, 3])],
    })
}

#[test]
fn committed_vectors_match_generator() {
    committed_equals(FILE, &generate());
}

/// Checks every vector from its recorded bytes alone: no RNG, no old secret share.
#[test]
fn committed_vectors_check_from_their_bytes() {
    let committed = committed(FILE);
    for v in committed["vectors"].as_array().unwrap() {
        let old = EpochShares::from_bytes(&unhex(&v["old_public"])).unwrap();
        let new = Threshold::new(
            u16::try_from(v["new"]["t"].as_u64().unwrap()).unwrap(),
            u16::try_from(v["new"]["n"].as_u64().unwrap()).unwrap(),
        )
        .unwrap();
        let dealers = u16s(&v["dealers"]);
        let context = context_of(&old, new, &dealers);
        let messages: Vec<ReshareMessage> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| ReshareMessage::from_bytes(&unhex(m)).unwrap())
            .collect();
        let members = v["members"].as_array().unwrap();
        let digests: Vec<(u16, [u8; 32])> = members
            .iter()
            .map(|m| {
                (
                    u16::try_from(m["index"].as_u64().unwrap()).unwrap(),
                    unhex(&m["transcript_digest"]).try_into().unwrap(),
                )
            })
            .collect();
        let expected_public = unhex(&v["new_public"]);
        for (member, &(j, digest)) in members.iter().zip(&digests) {
            let mine: Vec<ReshareMessage> =
                messages.iter().filter(|m| m.to() == j).cloned().collect();
            // Re-encoding is byte for byte.
            for m in &mine {
                assert!(
                    v["messages"]
                        .as_array()
                        .unwrap()
                        .contains(&json!(hex(m.to_bytes().as_slice())))
                );
            }
            let received = ReshareReceiver::new(&context, j, &old)
                .unwrap()
                .receive(&mine)
                .unwrap();
            assert_eq!(received.transcript_digest(), digest);
            let others: Vec<_> = digests.iter().filter(|(m, _)| *m != j).copied().collect();
            let (shares, public) = received.finish(&others).unwrap();
            assert_eq!(shares_json(&shares), member["shares"]);
            assert_eq!(public.to_bytes().unwrap(), expected_public);
            // The group keys, hence every pseudonym, are the old ones.
            assert_eq!(public.public_keys(0).unwrap(), old.public_keys(0).unwrap());
        }

        // One changed byte (the lowest) of a message's last value names its dealer.
        let first = &messages[0];
        let mut bytes = first.to_bytes().to_vec();
        let low = bytes.len() - 32;
        bytes[low] ^= 1;
        let mut tampered: Vec<ReshareMessage> = messages
            .iter()
            .filter(|m| m.to() == first.to() && m.from() != first.from())
            .cloned()
            .chain([ReshareMessage::from_bytes(&bytes).unwrap()])
            .collect();
        tampered.sort_by_key(ReshareMessage::from);
        let refused = ReshareReceiver::new(&context, first.to(), &old)
            .unwrap()
            .receive(&tampered)
            .unwrap_err();
        assert_eq!(
            refused,
            Error::BadDealing {
                dealer: first.from()
            }
        );
    }
}
