//! Flow H (spec/05-flow-h.md): a holder derives its pairwise pseudonym for two services.
//! The evaluator sees 32 bytes of blinded element per request and nothing else.
//! Deterministic: a fixed seed drives every random choice.

mod kat;

use blindnym::pseudonym::flow_h;

fn main() -> Result<(), blindnym::Error> {
    let (mut rng, keys, published) = kat::demo_setup("example flow H")?;
    println!("published key set: {} bytes", published.to_bytes().len());

    let evaluator = flow_h::Evaluator::new(keys);
    let holder = flow_h::Holder::new(published);
    for (session, service) in [
        (1, "mail.example"),
        (2, "mail.example"),
        (3, "shop.example"),
    ] {
        let (state, request) =
            holder.blind(b"alice's master credential", service.as_bytes(), &mut rng)?;
        println!(
            "session {session}: holder -> evaluator  {}",
            kat::hex(request.to_bytes())
        );
        let response = evaluator.evaluate(&request, &mut rng)?;
        println!(
            "           evaluator -> holder  epoch {} Z {}",
            response.epoch,
            kat::hex(response.evaluated.as_bytes())
        );
        let pseudonym = holder.finalize(state, &response)?;
        println!("           holder's pseudonym at {service}: {pseudonym}");
    }
    Ok(())
}
