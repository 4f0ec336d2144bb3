//! Flow H (spec/05-flow-h.md): a holder derives its per-service key and pairwise pseudonym
//! for two services, then logs in with it. The evaluator sees 32 bytes of blinded element per
//! request and nothing else; the relying party sees a public key and a signature over its own
//! challenge, never the credential.

use std::time::{SystemTime, UNIX_EPOCH};

use blindnym::pseudonym::holder_derived::{Evaluator, Holder, MasterCredential, RelyingParty};
use blindnym::pseudonym::{
    ChannelBinding, EvaluationBudget, KeyRatchet, KeySet, KeySetSigner, KeySetVerifier,
    MemoryNonceStore, RootSeed, ServiceId,
};
use blindnym::rand_core::Rng;

fn main() -> Result<(), blindnym::Error> {
    let mut rng = rand::rng();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());

    // Evaluator operator: root seed → key ratchet → this epoch's keys (the root seed is then
    // destroyed); a separate long-term key signs the published key set.
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
    println!("published key set: {} bytes", signed.to_bytes().len());

    // The holder pins the signer's key (the trust anchor) and verifies the set.
    let verified = KeySetVerifier::new(signer.verifying_key(), realm).accept(&signed, now)?;
    let evaluator = Evaluator::new(keys.holder_derived(), EvaluationBudget::default());
    let holder = Holder::new(verified, MasterCredential::generate(&mut rng));

    for (session, origin) in [
        (1, "https://mail.example"),
        (2, "https://mail.example"),
        (3, "https://shop.example"),
    ] {
        // The service id is the authenticated origin of the holder's own channel.
        let service = ServiceId::from_origin(origin)?;
        let (state, request) = holder.blind(&service, &mut rng)?;
        println!(
            "session {session}: holder -> evaluator   {}",
            hex(&request.to_bytes())
        );
        let response = evaluator.evaluate(&request, &mut rng)?;
        println!(
            "           evaluator -> holder   epoch {} Z {} (+ DLEQ proof)",
            response.epoch,
            hex(response.evaluated.as_bytes())
        );
        let key = holder.finalize(state, &response, now)?;

        // Login: the relying party's challenge, answered over this channel.
        let rp = RelyingParty::new(service.clone());
        let (pending, challenge) = rp.challenge(&mut rng, now);
        let mut exporter = [0u8; 32];
        rng.fill_bytes(&mut exporter);
        let channel = ChannelBinding::new(exporter);
        println!(
            "           RP -> holder          challenge {}",
            hex(&challenge.to_bytes())
        );
        let proof = key.answer(&service, &challenge, &channel)?;
        println!(
            "           holder -> RP          per-service key {} + signature",
            hex(proof.key.as_bytes())
        );
        let pseudonym = rp.verify(pending, &proof, &channel, now, &MemoryNonceStore::new())?;
        println!("           RP sees pseudonym     {pseudonym}");
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
