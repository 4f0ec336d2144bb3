//! Keys over years in threshold mode (`spec/12-threshold.md` §12.13): a new epoch's keys by
//! DKG, a proactive refresh and a committee change, each keeping every pseudonym.

use blindnym::Error;
use blindnym::pseudonym::bulk::{CallerId, DataHolder};
use blindnym::threshold::generation::{EpochGeneration, EpochPrivate};
use blindnym::threshold::reshare::{ReshareContext, ReshareMessage, ReshareReceiver, deal_reshare};
use blindnym::threshold::{EpochShares, EvaluatorShares, ShareResponse, Threshold};

use super::*;

/// Runs a resharing of `old` (public side `public`) to `new` by `dealers`, every party honest.
fn reshare(
    old: &[EvaluatorShares],
    public: &EpochShares,
    new: Threshold,
    dealers: &[u16],
) -> Vec<(EvaluatorShares, EpochShares)> {
    let context = ReshareContext::new(REALM, public.epoch, public.params(), new, dealers).unwrap();
    let mut rng = seeded(70);
    let dealt: Vec<Vec<ReshareMessage>> = dealers
        .iter()
        .map(|&d| deal_reshare(&context, &old[usize::from(d) - 1], public, &mut rng).unwrap())
        .collect();
    let received: Vec<_> = (1..=new.n())
        .map(|j| {
            // Every message crosses the wire as bytes.
            let mine: Vec<ReshareMessage> = dealt
                .iter()
                .flatten()
                .filter(|m| m.to() == j)
                .map(|m| ReshareMessage::from_bytes(&m.to_bytes()).unwrap())
                .collect();
            ReshareReceiver::new(&context, j, public)
                .unwrap()
                .receive(&mine)
                .unwrap()
        })
        .collect();
    let digests: Vec<(u16, [u8; 32])> = (1..=new.n())
        .zip(&received)
        .map(|(j, r)| (j, r.transcript_digest()))
        .collect();
    received
        .into_iter()
        .enumerate()
        .map(|(position, r)| {
            let others: Vec<_> = digests
                .iter()
                .filter(|(j, _)| usize::from(*j) != position + 1)
                .copied()
                .collect();
            r.finish(&others).unwrap()
        })
        .collect()
}

/// Flow H at `shop` through `who` of `shares`, checked against `public`.
fn flow_h_with(
    shares: &[EvaluatorShares],
    public: &EpochShares,
    who: &[u16],
) -> blindnym::Result<blindnym::Pseudonym> {
    let (state, responses) = flow_h_answers_from(shares, who, 3);
    let (key, _) = flow_h::finalize(
        &flow_h_holder(),
        state,
        &public.holder_derived,
        &responses,
        NOW,
    )?;
    key.pseudonym(&service("https://shop.example"))
}

/// Flow B of `IDS` through `who` of `shares`.
fn flow_b_with(
    shares: &[EvaluatorShares],
    public: &EpochShares,
    who: &[u16],
) -> Vec<blindnym::Pseudonym> {
    let (evaluators, record) = bulk_evaluators_from(shares, public, 14);
    let holder = DataHolder::new(published(), DOMAIN).unwrap();
    let caller = CallerId::new(b"registry");
    let mut rng = seeded(15);
    let (batch, request) = holder.blind_batch(&IDS, &mut rng).unwrap();
    let responses: Vec<ShareResponse> = who
        .iter()
        .map(|&i| {
            evaluators[usize::from(i) - 1]
                .evaluate_batch(&caller, &request, &mut rng)
                .unwrap()
        })
        .collect();
    flow_b::finalize_batch(&holder, &batch, &public.bulk, &record, &responses, NOW)
        .unwrap()
        .0
}

/// Flow A login by alice through `who` of `shares`.
fn flow_a_with(
    shares: &[EvaluatorShares],
    public: &EpochShares,
    who: &[u16],
) -> blindnym::Pseudonym {
    let deployment = flow_a_deployment_from(shares, public.clone(), "alice", 54);
    threshold_login(&deployment, "alice", "https://shop.example", who, None, 55).unwrap()
}

fn split(result: Vec<(EvaluatorShares, EpochShares)>) -> (Vec<EvaluatorShares>, EpochShares) {
    let public = result[0].1.clone();
    assert!(result.iter().all(|(_, p)| *p == public), "one public side");
    (result.into_iter().map(|(s, _)| s).collect(), public)
}

#[test]
fn a_refresh_keeps_every_pseudonym_and_old_shares_no_longer_combine_with_new() {
    let (old, public) = dealt(2, 3);
    let (new, refreshed) = split(reshare(&old, &public, public.params(), &[1, 3]));
    // Same group keys, new verification shares.
    assert_eq!(
        refreshed.public_keys(0).unwrap(),
        public.public_keys(0).unwrap()
    );
    assert_ne!(
        refreshed.holder_derived.shares(),
        public.holder_derived.shares()
    );
    for subset in subsets(3, 2) {
        assert_eq!(
            flow_h_with(&new, &refreshed, &subset).unwrap(),
            flow_h_single()
        );
        assert_eq!(flow_b_with(&new, &refreshed, &subset), flow_b_single());
        assert_eq!(
            flow_a_with(&new, &refreshed, &subset),
            flow_a_with(&old, &public, &subset)
        );
    }
    // One old share beside one new one: checked against either public side, one of the two
    // answers fails its proof, and alone the other is too few.
    let mixed = [old[0].clone(), new[1].clone(), new[2].clone()];
    for side in [&public, &refreshed] {
        assert!(matches!(
            flow_h_with(&mixed, side, &[1, 2]),
            Err(Error::BadShare { .. } | Error::TooFewShares { .. })
        ));
    }
    // Interpolated at zero, an old share and a new one give another key: 2·K_1 − K_2 ≠ pk.
    let point = |k: &blindnym::PublicKey| {
        curve25519_dalek::ristretto::CompressedRistretto(*k.as_bytes())
            .decompress()
            .unwrap()
    };
    let two = curve25519_dalek::Scalar::from(2u8);
    let mixed_key = two * point(&old[0].holder_derived.verification_share())
        - point(&new[1].holder_derived.verification_share());
    assert_ne!(mixed_key, point(public.holder_derived.group_key()));
}

#[test]
fn a_committee_change_from_2_of_3_to_3_of_5_keeps_every_pseudonym() {
    let (old, public) = dealt(2, 3);
    let new_params = Threshold::new(3, 5).unwrap();
    let (new, changed) = split(reshare(&old, &public, new_params, &[2, 3]));
    assert_eq!(changed.params(), new_params);
    assert_eq!(
        changed.public_keys(0).unwrap(),
        public.public_keys(0).unwrap()
    );
    let single_a = flow_a_with(&old, &public, &[1, 2]);
    for subset in [vec![1, 2, 3], vec![2, 4, 5], vec![1, 3, 5]] {
        assert_eq!(
            flow_h_with(&new, &changed, &subset).unwrap(),
            flow_h_single()
        );
        assert_eq!(flow_b_with(&new, &changed, &subset), flow_b_single());
        assert_eq!(flow_a_with(&new, &changed, &subset), single_a);
    }
    // Two of the new committee no longer suffice.
    assert_eq!(
        flow_h_with(&new, &changed, &[4, 5]).err(),
        Some(Error::TooFewShares { have: 2, need: 3 })
    );
}

#[test]
fn a_dealer_resharing_another_value_is_named() {
    let (old, public) = dealt(2, 3);
    let context = ReshareContext::refresh(REALM, 2, public.params(), &[1, 2]).unwrap();
    let mut rng = seeded(71);
    // Dealer 2 reshares dealer 3's share as if it were its own.
    let mut wrong = old[2].clone();
    let honest = deal_reshare(&context, &old[0], &public, &mut rng).unwrap();
    assert_eq!(
        deal_reshare(&context, &old[2], &public, &mut rng).err(),
        Some(Error::UnknownEvaluator { index: 3 }),
        "a non-dealer cannot deal"
    );
    wrong.holder_derived = blindnym::threshold::KeyShare::from_bytes(
        &[&[0u8, 2][..], &old[2].holder_derived.to_bytes()[2..]].concat(),
    )
    .unwrap();
    let forged = deal_reshare(&context, &wrong, &public, &mut rng).unwrap();
    let messages = [honest[0].clone(), forged[0].clone()];
    let result = ReshareReceiver::new(&context, 1, &public)
        .unwrap()
        .receive(&messages);
    assert_eq!(result.err(), Some(Error::BadDealing { dealer: 2 }));
    // A value that does not match its commitments is named too.
    let mut bytes = honest[1].to_bytes().to_vec();
    let last = bytes.len() - 40;
    bytes[last] ^= 1;
    let tampered = ReshareMessage::from_bytes(&bytes).unwrap();
    let honest_2 = deal_reshare(&context, &old[1], &public, &mut rng).unwrap();
    let result = ReshareReceiver::new(&context, 2, &public)
        .unwrap()
        .receive(&[tampered, honest_2[1].clone()]);
    assert_eq!(result.err(), Some(Error::BadDealing { dealer: 1 }));
}

#[test]
fn a_dealer_showing_two_polynomials_is_caught_by_the_confirmation() {
    let (old, public) = dealt(2, 3);
    let context = ReshareContext::refresh(REALM, 2, public.params(), &[1, 2]).unwrap();
    let mut rng = seeded(72);
    let one = deal_reshare(&context, &old[0], &public, &mut rng).unwrap();
    // Dealer 1 deals twice and sends member 3 the second dealing.
    let two = deal_reshare(&context, &old[0], &public, &mut rng).unwrap();
    let other = deal_reshare(&context, &old[1], &public, &mut rng).unwrap();
    let received: Vec<_> = (1..=3u16)
        .map(|j| {
            let first = if j == 3 { &two } else { &one };
            let messages = [
                first[usize::from(j) - 1].clone(),
                other[usize::from(j) - 1].clone(),
            ];
            ReshareReceiver::new(&context, j, &public)
                .unwrap()
                .receive(&messages)
                .unwrap()
        })
        .collect();
    let digests: Vec<_> = received.iter().map(|r| r.transcript_digest()).collect();
    let result = received
        .into_iter()
        .next()
        .unwrap()
        .finish(&[(2, digests[1]), (3, digests[2])]);
    assert_eq!(
        result.err(),
        Some(Error::TranscriptMismatch { evaluator: 3 })
    );
}

#[test]
fn reshare_messages_decode_strictly() {
    let (old, public) = dealt(2, 3);
    let context = ReshareContext::refresh(REALM, 2, public.params(), &[1, 2]).unwrap();
    let message = deal_reshare(&context, &old[0], &public, &mut seeded(73)).unwrap()[0].clone();
    let bytes = message.to_bytes().to_vec();
    assert!(ReshareMessage::from_bytes(&bytes).is_ok());
    assert!(matches!(
        ReshareMessage::from_bytes(&[bytes.as_slice(), &[0]].concat()),
        Err(Error::InvalidLength { .. })
    ));
    assert!(matches!(
        ReshareMessage::from_bytes(&bytes[..bytes.len() - 1]),
        Err(Error::InvalidLength { .. })
    ));
    let mut identity = bytes.clone();
    identity[6..38].fill(0);
    assert_eq!(
        ReshareMessage::from_bytes(&identity).err(),
        Some(Error::IdentityElement)
    );
    let mut high = bytes.clone();
    let at = bytes.len() - 32;
    high[at..].fill(0xff);
    assert_eq!(
        ReshareMessage::from_bytes(&high).err(),
        Some(Error::NonCanonicalScalar)
    );
    let mut zero_from = bytes;
    zero_from[..2].fill(0);
    assert_eq!(
        ReshareMessage::from_bytes(&zero_from).err(),
        Some(Error::UnknownEvaluator { index: 0 })
    );
    // Too few dealers, or dealers out of order, are no context.
    let params = public.params();
    assert_eq!(
        ReshareContext::refresh(REALM, 2, params, &[1]).err(),
        Some(Error::ThresholdParams)
    );
    assert_eq!(
        ReshareContext::refresh(REALM, 2, params, &[2, 1]).err(),
        Some(Error::ThresholdParams)
    );
}

#[test]
fn an_epoch_generation_without_a_dealer_gives_every_participant_one_public_side() {
    let params = Threshold::new(2, 3).unwrap();
    let mut rng = seeded(74);
    let started: Vec<_> = (1..=3)
        .map(|i| EpochGeneration::start(i, params, REALM, 3, &mut rng).unwrap())
        .collect();
    let broadcasts: Vec<_> = started.iter().map(|(_, b)| b.clone()).collect();
    let mut dealt = Vec::new();
    for (run, own) in started {
        let others: Vec<_> = broadcasts
            .iter()
            .filter(|b| b.from() != own.from())
            .map(|b| {
                blindnym::threshold::generation::EpochBroadcast::from_bytes(&b.to_bytes().unwrap())
                    .unwrap()
            })
            .collect();
        dealt.push(run.deal(&others).unwrap());
    }
    let privates: Vec<EpochPrivate> = dealt
        .iter()
        .flat_map(|(_, p, _)| p.iter())
        .map(|p| EpochPrivate::from_bytes(&p.to_bytes().unwrap()).unwrap())
        .collect();
    let confirmations: Vec<_> = dealt.iter().map(|(_, _, c)| *c).collect();
    let finished: Vec<_> = dealt
        .into_iter()
        .enumerate()
        .map(|(position, (run, _, _))| {
            let me = u16::try_from(position + 1).unwrap();
            let mine: Vec<_> = privates.iter().filter(|p| p.to() == me).cloned().collect();
            let others: Vec<_> = confirmations
                .iter()
                .filter(|c| c.from() != me)
                .copied()
                .collect();
            run.finish(&others, &mine).unwrap()
        })
        .collect();
    let (shares, public) = split(finished);
    assert_eq!(public.epoch, 3);
    // Fresh keys, each share the one its public side names.
    let (_, epoch_2) = super::dealt(2, 3);
    assert_ne!(
        public.holder_derived.group_key(),
        epoch_2.holder_derived.group_key()
    );
    for share in &shares {
        assert_eq!(
            *public.holder_derived.share(share.index()).unwrap(),
            share.holder_derived.verification_share()
        );
    }
    // A refresh of the generated epoch keeps its group keys.
    let (_, refreshed) = split(reshare(&shares, &public, params, &[2, 3]));
    assert_eq!(
        refreshed.public_keys(0).unwrap(),
        public.public_keys(0).unwrap()
    );
}
