//! Flow A (spec/06-flow-a.md): attested pairwise pseudonyms. The evaluator authenticates the
//! subject but never learns the service; the relying party learns a pseudonym but never the
//! subject. Deterministic: a fixed seed drives every random choice.

mod kat;

use blindnym::pseudonym::flow_a::{Evaluator, Holder, RelyingParty};

fn main() -> Result<(), blindnym::Error> {
    let (mut rng, keys, published) = kat::demo_setup("example flow A")?;
    let evaluator = Evaluator::new(keys);
    let holder = Holder::new(published.clone(), b"subject 4711")?;
    let now = 1_767_225_600;

    for service in ["shop.example", "shop.example", "forum.example"] {
        let rp = RelyingParty::new(published.clone(), service.as_bytes())?;
        let nonce = rp.challenge(&mut rng);
        println!(
            "{service}: RP -> holder        service id + nonce {}",
            kat::hex(nonce.as_bytes())
        );
        let (state, request) = holder.request(service.as_bytes(), &nonce, &mut rng)?;
        println!(
            "  holder -> evaluator          B {} H(nonce) {}",
            kat::hex(request.blinded.as_bytes()),
            kat::hex(request.nonce_hash)
        );
        let evaluation = evaluator.evaluate(b"subject 4711", &request, now + 300, &mut rng)?;
        println!(
            "  evaluator -> holder          Z {} (+ proof, signature)",
            kat::hex(evaluation.evaluated.as_bytes())
        );
        let assertion = holder.finish(state, &evaluation)?;
        println!(
            "  holder -> RP                 assertion of {} bytes (no proof, no T)",
            assertion.to_bytes().len()
        );
        let pseudonym = rp.verify(&assertion, &nonce, now)?;
        println!("  RP sees pseudonym            {pseudonym}");
        println!(
            "  replayed later: {:?}",
            rp.verify(&assertion, &rp.challenge(&mut rng), now).err()
        );
    }
    Ok(())
}
