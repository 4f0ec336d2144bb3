//! Flow B (spec/07-flow-b.md): a data holder pseudonymises a small register for two domains,
//! one batch and one batched proof per domain. Deterministic: a fixed seed drives every
//! random choice.

mod kat;

use blindnym::pseudonym::flow_b::{DataHolder, Evaluator};

fn main() -> Result<(), blindnym::Error> {
    let (mut rng, keys, published) = kat::demo_setup("example flow B")?;
    let evaluator = Evaluator::new(keys);
    let register = [
        "110101199003070000",
        "110101199003070011",
        "440301198512120022",
    ];

    for domain in ["health research", "tax statistics"] {
        let holder = DataHolder::new(published.clone(), domain.as_bytes())?;
        let batch = holder.blind_batch(&register, &mut rng)?;
        println!(
            "{domain}: data holder -> evaluator {} blinded elements",
            batch.len()
        );
        let response = evaluator.evaluate_batch(domain.as_bytes(), batch.blinded(), &mut rng)?;
        println!(
            "  evaluator -> data holder {} bytes (one batched proof)",
            response.to_bytes()?.len()
        );
        for (identity, pseudonym) in register
            .iter()
            .zip(holder.finalize_batch(&batch, &response)?)
        {
            println!("  {identity} -> {pseudonym}");
        }
    }
    Ok(())
}
