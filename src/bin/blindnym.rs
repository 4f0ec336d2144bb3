//! The blindnym runner. For now: a small end-to-end VOPRF batch, printed.

use std::time::Instant;

use blindnym::{VoprfClient, VoprfServer};

fn main() -> Result<(), blindnym::Error> {
    let mut rng = rand::rng();
    let server = VoprfServer::generate(&mut rng)?;
    let client = VoprfClient::new(*server.public_key());
    let subjects: Vec<String> = (0..1024).map(|i| format!("subject-{i:08}|service-a")).collect();
    let start = Instant::now();
    let (blinds, blinded) = client.blind_batch(&subjects, &mut rng)?;
    let (evaluated, proof) = server.blind_evaluate_batch(&blinded, &mut rng)?;
    let outputs = client.finalize_batch(&subjects, &blinds, &evaluated, &blinded, &proof)?;
    let elapsed = start.elapsed();
    for (subject, output) in subjects.iter().zip(&outputs).take(4) {
        let hex: String = output.as_bytes()[..16].iter().map(|b| format!("{b:02x}")).collect();
        println!("{subject} -> {hex}…");
    }
    println!("{} derivations in {:.1} ms", outputs.len(), elapsed.as_secs_f64() * 1e3);
    Ok(())
}
