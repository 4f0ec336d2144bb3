//! Flow B (spec/07-flow-b.md): a data holder pseudonymises a small register for two domains,
//! one batch and one batched proof per domain. The evaluator sees the caller, the domain and
//! blinded elements; it serves only the callers and domains its policy names, within quota.

use std::time::{SystemTime, UNIX_EPOCH};

use blindnym::pseudonym::bulk::{CallerId, DataHolder, Evaluator, Grants, MemoryQuota};
use blindnym::pseudonym::{
    EvaluationBudget, KeyRatchet, KeySet, KeySetSigner, KeySetVerifier, RootSeed,
};

fn main() -> Result<(), blindnym::Error> {
    let mut rng = rand::rng();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());

    // Evaluator operator: root seed → key ratchet → this epoch's keys; a separate long-term
    // key signs the published key set.
    let realm = b"example realm";
    let ratchet = KeyRatchet::new(&RootSeed::generate(&mut rng), realm, 1)?;
    let keys = ratchet.keys()?;
    let signer = KeySetSigner::generate(&mut rng);
    let set = KeySet::new(
        realm,
        1,
        now - 60,
        now + 86_400,
        vec![keys.public(now - 60)],
    )?;
    let signed = signer.sign(set);

    let office = CallerId::new(b"statistics office");
    let policy = Grants::new()
        .allow(&office, b"health research")
        .allow(&office, b"tax statistics");
    let evaluator = Evaluator::new(
        keys.bulk(),
        policy,
        MemoryQuota::new(10),
        EvaluationBudget::default(),
    );

    // The data holder pins the signer's key (the trust anchor) and verifies the set.
    let verified = KeySetVerifier::new(signer.verifying_key(), realm).accept(&signed, now)?;
    let register = [
        "110101199003070000",
        "110101199003070011",
        "440301198512120022",
    ];

    for domain in ["health research", "tax statistics"] {
        let holder = DataHolder::new(verified.clone(), domain.as_bytes())?;
        let (batch, request) = holder.blind_batch(&register, &mut rng)?;
        println!(
            "{domain}: data holder -> evaluator  {} blinded elements, {} bytes",
            batch.len(),
            request.to_bytes().len()
        );
        let response = evaluator.evaluate_batch(&office, &request, &mut rng)?;
        println!(
            "  evaluator -> data holder  epoch {}, {} bytes (one batched proof)",
            response.epoch,
            response.to_bytes()?.len()
        );
        for (identity, pseudonym) in register
            .iter()
            .zip(holder.finalize_batch(&batch, &response, now)?)
        {
            println!("  {identity} -> {pseudonym}");
        }
    }

    let (_, request) = DataHolder::new(verified, b"police")?.blind_batch(&register, &mut rng)?;
    println!(
        "police: evaluator refuses   {:?}",
        evaluator.evaluate_batch(&office, &request, &mut rng).err()
    );
    Ok(())
}
