//! Flow A (spec/06-flow-a.md): attested pairwise pseudonyms. The evaluator authenticates the
//! subject but never learns the service; the relying party learns a pseudonym but never the
//! subject. Each assertion is bound to the relying party's challenge and to the holder's
//! channel, so it is good for one login only.

use std::time::{SystemTime, UNIX_EPOCH};

use blindnym::pseudonym::attested::{Evaluator, Holder, RelyingParty};
use blindnym::pseudonym::{
    ChannelBinding, EvaluationBudget, KeyRatchet, KeySet, KeySetSigner, KeySetVerifier,
    MemoryNonceStore, PendingChallenge, RootSeed, ServiceId, SubjectId,
};
use blindnym::rand_core::Rng;

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
    let evaluator = Evaluator::new(keys.attested(), EvaluationBudget::default());

    // Holder and relying parties pin the signer's key (the trust anchor).
    let anchor = signer.verifying_key();
    let subject = SubjectId::new("subject-4711")?;
    let holder = Holder::new(
        KeySetVerifier::new(anchor, realm).accept(&signed, now)?,
        subject.clone(),
    )?;

    for origin in [
        "https://shop.example",
        "https://shop.example",
        "https://forum.example",
    ] {
        let service = ServiceId::from_origin(origin)?;
        let verified = KeySetVerifier::new(anchor, realm).accept(&signed, now)?;
        let rp = RelyingParty::new(verified, service.clone())?;
        let store = MemoryNonceStore::new();
        let mut exporter = [0u8; 32];
        rng.fill_bytes(&mut exporter);
        let channel = ChannelBinding::new(exporter);

        let (pending, challenge) = rp.challenge(&mut rng, now);
        println!(
            "{origin}: RP -> holder           challenge {}",
            hex(&challenge.to_bytes())
        );
        // The holder blinds the authenticated origin of its own channel, not what the RP says.
        let (state, request) = holder.request(&service, &challenge, &channel, &mut rng)?;
        println!(
            "  holder -> evaluator          B {} session {}",
            hex(request.blinded.as_bytes()),
            hex(&request.session)
        );
        let evaluation = evaluator.evaluate(&subject, &request, now, &mut rng)?;
        println!(
            "  evaluator -> holder          epoch {} Z {} expiry {} (+ proof, signature)",
            evaluation.epoch,
            hex(evaluation.evaluated.as_bytes()),
            evaluation.expiry
        );
        let assertion = holder.finish(state, &evaluation, now)?;
        println!(
            "  holder -> RP                 assertion of {} bytes (no proof, no subject)",
            assertion.to_bytes().len()
        );
        let saved = pending.to_bytes();
        let pseudonym = rp.verify(pending, &assertion, &channel, now, &store)?;
        println!("  RP sees pseudonym            {pseudonym}");

        let again = PendingChallenge::from_bytes(&saved)?;
        println!(
            "  answered twice:              {:?}",
            rp.verify(again, &assertion, &channel, now, &store).err()
        );

        let (later, _) = rp.challenge(&mut rng, now);
        println!(
            "  replayed in a new session:   {:?}",
            rp.verify(later, &assertion, &channel, now, &store).err()
        );
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
