//! Threshold mode against the single evaluator, measured in the same run on one thread
//! (`spec/12-threshold.md`; the closing note reports the ratios):
//!
//! - `threshold_share/*`: one evaluator's share answer against the single evaluator's answer
//!   for the same batch (flow B batch of 1024, flow H one element). Target: equal within 5%.
//! - `threshold_combine/*`: the data holder's verify + combine + finalize of a 1024 batch
//!   from `t` answers (`t = 2..5`) against the single evaluator's verify + finalize.
//! - `threshold_inversion/*`: one whole inversion per tweak with `2t − 1` participants in
//!   one process (divide by `2t − 1` for the cost per participant).
//! - `threshold_login/*`: a flow A login end to end, threshold `(2, 3)` against single.
//!
//! `cargo bench --features threshold --bench threshold`

use std::hint::black_box;
use std::time::Duration;

use blindnym::pseudonym::attested::{self, RelyingParty};
use blindnym::pseudonym::bulk::{self, CallerId, DataHolder, Grants, MemoryQuota};
use blindnym::pseudonym::holder_derived;
use blindnym::pseudonym::{
    ChannelBinding, EpochKeys, EvaluationBudget, KeyRatchet, KeySet, KeySetSigner, KeySetVerifier,
    MemoryNonceStore, RootSeed, ServiceId, SubjectId, VerifiedKeySet,
};
use blindnym::threshold::flow_a::{self, AttestedShareEvaluator};
use blindnym::threshold::flow_b;
use blindnym::threshold::flow_h::ShareEvaluator;
use blindnym::threshold::inversion::{Target, TweakRecord, TweakShare, run_in_one_process};
use blindnym::threshold::{
    EpochShares, EvaluatorShares, KeyShare, ShareResponse, Threshold, VerificationShares,
    deal_epoch,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

const REALM: &[u8] = b"bench realm";
const NOW: u64 = 1_700_000_000;
const DOMAIN: &[u8] = b"tax-register";
const BATCH: usize = 1024;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0x7468_7265_7368)
}

fn epoch_keys() -> EpochKeys {
    let root = RootSeed::from_bytes(&[1; 32]).expect("seed");
    KeyRatchet::new(&root, REALM, 1)
        .and_then(|r| r.keys())
        .expect("keys")
}

fn published(keys: &EpochKeys) -> VerifiedKeySet {
    let signer = KeySetSigner::from_bytes(&[0x51; 32]).expect("signer");
    let set = KeySet::new(
        REALM,
        1,
        NOW - 10,
        NOW + 86_400,
        vec![keys.public(NOW - 10)],
    )
    .expect("set");
    KeySetVerifier::new(signer.verifying_key(), REALM)
        .accept(&signer.sign(set), NOW)
        .expect("verified")
}

fn identities() -> Vec<Vec<u8>> {
    (0..BATCH)
        .map(|i| format!("{:018}", 110_101_190_001_010_000u64 + i as u64).into_bytes())
        .collect()
}

/// A whole inversion among the holders of `shares`.
fn invert(
    shares: &[&KeyShare],
    public: &VerificationShares,
    target: &Target,
    rng: &mut ChaCha20Rng,
) -> (TweakRecord, Vec<TweakShare>) {
    run_in_one_process(shares, public, target, rng).expect("inversion")
}

/// The flow B target of the benches' domain.
fn domain_target() -> Target {
    Target::domain(DOMAIN).expect("domain")
}

fn dealt(keys: &EpochKeys, t: u16, n: u16) -> (Vec<EvaluatorShares>, EpochShares) {
    deal_epoch(keys, Threshold::new(t, n).expect("params"), &mut rng()).expect("deal")
}

fn share_cost(c: &mut Criterion, keys: &EpochKeys, set: &VerifiedKeySet) {
    let mut rng = rng();
    let (evaluators, public) = dealt(keys, 2, 3);
    let shares: Vec<&KeyShare> = evaluators.iter().map(|e| &e.bulk).collect();
    let (_, tweak_shares) = invert(&shares, &public.bulk, &domain_target(), &mut rng);
    let holder = DataHolder::new(set.clone(), DOMAIN).expect("holder");
    let (_, request) = holder.blind_batch(&identities(), &mut rng).expect("blind");
    let caller = CallerId::new(b"bench");
    let single = bulk::Evaluator::new(
        keys.bulk(),
        Grants::new().allow(&caller, DOMAIN),
        MemoryQuota::new(u64::MAX),
        EvaluationBudget::default(),
    );
    let mut group = c.benchmark_group("threshold_share");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("flow_b_1024/single", |b| {
        b.iter(|| {
            black_box(
                single
                    .evaluate_batch(&caller, &request, &mut rng)
                    .expect("evaluate"),
            )
        })
    });
    group.bench_function("flow_b_1024/share", |b| {
        b.iter(|| {
            black_box(
                tweak_shares[0]
                    .answer(request.blinded(), &mut rng)
                    .expect("answer"),
            )
        })
    });
    group.throughput(Throughput::Elements(1));
    let h_single =
        holder_derived::Evaluator::new(keys.holder_derived(), EvaluationBudget::default());
    let h_share = ShareEvaluator::new(
        keys.epoch(),
        evaluators[0].holder_derived.clone(),
        EvaluationBudget::default(),
    );
    let credential = holder_derived::MasterCredential::from_bytes(&[7; 32]).expect("credential");
    let h_holder = holder_derived::Holder::new(set.clone(), credential);
    let shop = ServiceId::from_origin("https://shop.example").expect("service");
    let (_, h_request) = h_holder.blind(&shop, &mut rng).expect("blind");
    group.bench_function("flow_h_1/single", |b| {
        b.iter(|| black_box(h_single.evaluate(&h_request, &mut rng).expect("evaluate")))
    });
    group.bench_function("flow_h_1/share", |b| {
        b.iter(|| black_box(h_share.evaluate(&h_request, &mut rng).expect("evaluate")))
    });
    group.finish();
}

fn combine_cost(c: &mut Criterion, keys: &EpochKeys, set: &VerifiedKeySet) {
    let mut rng = rng();
    let holder = DataHolder::new(set.clone(), DOMAIN).expect("holder");
    let caller = CallerId::new(b"bench");
    let single = bulk::Evaluator::new(
        keys.bulk(),
        Grants::new().allow(&caller, DOMAIN),
        MemoryQuota::new(u64::MAX),
        EvaluationBudget::default(),
    );
    let (batch, request) = holder.blind_batch(&identities(), &mut rng).expect("blind");
    let response = single
        .evaluate_batch(&caller, &request, &mut rng)
        .expect("evaluate");
    let mut group = c.benchmark_group("threshold_combine");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("flow_b_1024/single", |b| {
        b.iter(|| {
            black_box(
                holder
                    .finalize_batch(&batch, &response, NOW)
                    .expect("finalize"),
            )
        })
    });
    for t in 2..=5u16 {
        let n = 2 * t - 1;
        let (evaluators, public) = dealt(keys, t, n);
        let shares: Vec<&KeyShare> = evaluators.iter().map(|e| &e.bulk).collect();
        let (record, tweak_shares) = invert(&shares, &public.bulk, &domain_target(), &mut rng);
        let responses: Vec<ShareResponse> = tweak_shares[..usize::from(t)]
            .iter()
            .map(|s| ShareResponse {
                epoch: keys.epoch(),
                answer: s.answer(request.blinded(), &mut rng).expect("answer"),
            })
            .collect();
        group.bench_function(BenchmarkId::new("flow_b_1024/threshold", t), |b| {
            b.iter(|| {
                black_box(
                    flow_b::finalize_batch(&holder, &batch, &public.bulk, &record, &responses, NOW)
                        .expect("finalize"),
                )
            })
        });
    }
    group.finish();
}

fn inversion_cost(c: &mut Criterion, keys: &EpochKeys) {
    let mut rng = rng();
    let mut group = c.benchmark_group("threshold_inversion");
    for t in 2..=5u16 {
        let n = 2 * t - 1;
        let (evaluators, public) = dealt(keys, t, n);
        let shares: Vec<&KeyShare> = evaluators.iter().map(|e| &e.bulk).collect();
        group.bench_function(BenchmarkId::new("whole_run", format!("t{t}_n{n}")), |b| {
            b.iter(|| black_box(invert(&shares, &public.bulk, &domain_target(), &mut rng)))
        });
    }
    group.finish();
}

fn login_cost(c: &mut Criterion, keys: &EpochKeys, set: &VerifiedKeySet) {
    let mut rng = rng();
    let shop = ServiceId::from_origin("https://shop.example").expect("service");
    let alice = SubjectId::new("alice").expect("subject");
    let channel = ChannelBinding::new([1; 32]);
    let relying_party = RelyingParty::new(set.clone(), shop.clone()).expect("rp");
    let holder = attested::Holder::new(set.clone(), alice.clone()).expect("holder");
    let single = attested::Evaluator::new(keys.attested(), EvaluationBudget::default());
    let mut group = c.benchmark_group("threshold_login");
    group.bench_function("flow_a/single", |b| {
        b.iter(|| {
            let (pending, challenge) = relying_party.challenge(&mut rng, NOW);
            let (state, request) = holder
                .request(&shop, &challenge, &channel, &mut rng)
                .expect("request");
            let evaluation = single
                .evaluate(&alice, &request, NOW, &mut rng)
                .expect("evaluate");
            let assertion = holder.finish(state, &evaluation, NOW).expect("finish");
            black_box(
                relying_party
                    .verify(pending, &assertion, &channel, NOW, &MemoryNonceStore::new())
                    .expect("verify"),
            )
        })
    });
    let (evaluators, public) = dealt(keys, 2, 3);
    let shares: Vec<&KeyShare> = evaluators.iter().map(|e| &e.attested).collect();
    let (record, tweak_shares) = invert(
        &shares,
        &public.attested,
        &Target::Subject(alice.clone()),
        &mut rng,
    );
    let share_evaluators: Vec<AttestedShareEvaluator> = evaluators
        .iter()
        .zip(tweak_shares)
        .map(|(e, share)| {
            let mut evaluator = AttestedShareEvaluator::new(
                REALM,
                keys.epoch(),
                public.attested.clone(),
                e.signing.clone(),
                EvaluationBudget::default(),
            );
            evaluator.install(&alice, share, &record).expect("install");
            evaluator
        })
        .collect();
    group.bench_function("flow_a/threshold_2_of_3", |b| {
        b.iter(|| {
            let (pending, challenge) = relying_party.challenge(&mut rng, NOW);
            let (state, request) = holder
                .request(&shop, &challenge, &channel, &mut rng)
                .expect("request");
            let mut states = Vec::new();
            let mut evaluations = Vec::new();
            for evaluator in &share_evaluators[..2] {
                let (s, e) = evaluator
                    .evaluate(&alice, &request, &mut rng)
                    .expect("evaluate");
                states.push(s);
                evaluations.push(e);
            }
            let combination = flow_a::combine_evaluations(
                &holder,
                &state,
                &public.attested,
                &record,
                &evaluations,
                NOW,
            )
            .expect("combine");
            let signature_shares: Vec<_> = states
                .into_iter()
                .zip(&share_evaluators)
                .map(|(s, evaluator)| evaluator.sign(s, &combination.request, NOW).expect("sign"))
                .collect();
            let assertion = flow_a::finish(
                &holder,
                state,
                &public.signing,
                &combination,
                &signature_shares,
                NOW,
            )
            .expect("finish");
            black_box(
                relying_party
                    .verify(pending, &assertion, &channel, NOW, &MemoryNonceStore::new())
                    .expect("verify"),
            )
        })
    });
    group.finish();
}

fn all(c: &mut Criterion) {
    let mut c = std::mem::take(c)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10);
    let keys = epoch_keys();
    let set = published(&keys);
    // One thread for every party: the ratios compare like with like.
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("a one-thread global pool");
    share_cost(&mut c, &keys, &set);
    combine_cost(&mut c, &keys, &set);
    inversion_cost(&mut c, &keys);
    login_cost(&mut c, &keys, &set);
}

criterion_group!(benches, all);
criterion_main!(benches);
