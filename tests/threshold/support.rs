//! Runs whole threshold deployments in one process for the tests: a dealer split of the
//! fixtures' epoch 2 keys, and the shared inversion with every participant honest.

use blindnym::threshold::inversion::{
    Dealing, DealtParticipant, MaskedProduct, MultipliedParticipant, PrivateShare, Target,
    TweakRecord, TweakShare, deal, run_in_one_process,
};
use blindnym::threshold::{
    EpochShares, EvaluatorShares, KeyShare, Threshold, VerificationShares, deal_epoch,
};

use crate::common::{keys, seeded};

/// Shares of the fixtures' epoch 2 keys (root 1), dealt for `(t, n)`.
pub fn dealt(t: u16, n: u16) -> (Vec<EvaluatorShares>, EpochShares) {
    let params = Threshold::new(t, n).expect("params");
    deal_epoch(&keys(1, 2), params, &mut seeded(90)).expect("deal")
}

/// Every `t`-subset of `1..=n`, in lexicographic order.
pub fn subsets(n: u16, t: u16) -> Vec<Vec<u16>> {
    fn extend(start: u16, n: u16, t: usize, current: &mut Vec<u16>, out: &mut Vec<Vec<u16>>) {
        if current.len() == t {
            out.push(current.clone());
            return;
        }
        for i in start..=n {
            current.push(i);
            extend(i + 1, n, t, current, out);
            current.pop();
        }
    }
    let mut out = Vec::new();
    extend(1, n, usize::from(t), &mut Vec::new(), &mut out);
    out
}

/// Round one and two of an inversion among the holders of `shares`; a test may change what
/// each participant receives before round two. Round two moves each participant from
/// `participants` to `multiplied` (one product per run: the types allow no second).
pub struct Run {
    pub participants: Vec<DealtParticipant>,
    pub multiplied: Vec<MultipliedParticipant>,
    pub dealings: Vec<Dealing>,
    pub privates: Vec<Vec<PrivateShare>>,
}

pub fn deal_all(shares: &[&KeyShare], public: &VerificationShares, info: &[u8], seed: u8) -> Run {
    let mut rng = seeded(seed);
    let indices: Vec<u16> = shares.iter().map(|s| s.index()).collect();
    let mut participants = Vec::new();
    let mut dealings = Vec::new();
    let mut sent = Vec::new();
    for share in shares {
        let dealt = deal(share, public, info, &indices, &mut rng).expect("round one");
        // Every message crosses the wire as bytes.
        let dealing = Dealing::from_bytes(&dealt.dealing.to_bytes()).expect("dealing decodes");
        participants.push(dealt.participant);
        dealings.push(dealing);
        sent.push(dealt.privates);
    }
    // privates[i] = what participant i receives, one per dealer, in dealer order.
    let privates = indices
        .iter()
        .map(|&to| {
            sent.iter()
                .map(|from| {
                    let share = from
                        .iter()
                        .find(|p| p.recipient() == to)
                        .expect("addressed");
                    PrivateShare::from_bytes(share.to_bytes().as_ref()).expect("private decodes")
                })
                .collect()
        })
        .collect();
    Run {
        participants,
        multiplied: Vec::new(),
        dealings,
        privates,
    }
}

/// Round two for every participant: the products, and each participant that published one
/// kept in `run.multiplied`.
pub fn products(run: &mut Run, seed: u8) -> Vec<blindnym::Result<MaskedProduct>> {
    let mut rng = seeded(seed);
    let participants = std::mem::take(&mut run.participants);
    let mut results = Vec::new();
    for (p, privates) in participants.into_iter().zip(&run.privates) {
        results.push(
            p.multiply(&run.dealings, privates, &mut rng)
                .map(|(multiplied, m)| {
                    run.multiplied.push(multiplied);
                    MaskedProduct::from_bytes(&m.to_bytes()).expect("product decodes")
                }),
        );
    }
    results
}

/// A whole honest inversion: the record (through its bytes) and each participant's share.
pub fn invert(
    shares: &[&KeyShare],
    public: &VerificationShares,
    target: &Target,
    seed: u8,
) -> (TweakRecord, Vec<TweakShare>) {
    let (record, tweak_shares) =
        run_in_one_process(shares, public, target, &mut seeded(seed)).expect("inversion");
    let decoded = TweakRecord::from_bytes(&record.to_bytes()).expect("record decodes");
    assert_eq!(decoded, record);
    (record, tweak_shares)
}
