//! Property tests: blind → evaluate → finalize equals direct evaluation in every mode, batched
//! equals unbatched, encodings round-trip, tampering is detected, and decoders never panic.

mod common;

use blindnym::{
    Blind, BlindedElement, EvaluatedElement, KeyPair, Mode, OprfClient, OprfServer, PoprfClient,
    PoprfServer, Proof, PublicKey, SecretKey, VoprfClient, VoprfServer,
};
use common::seeded;
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..96)
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn oprf_blind_evaluate_finalize_equals_evaluate(seed in any::<[u8; 32]>(), x in input(), r in any::<u8>()) {
        let mut rng = seeded(r);
        let server = OprfServer::derive(&seed, b"prop").unwrap();
        let (blind, blinded) = OprfClient::new().blind(&x, &mut rng).unwrap();
        let out = OprfClient::new().finalize(&x, &blind, &server.blind_evaluate(&blinded)).unwrap();
        prop_assert_eq!(out, server.evaluate(&x).unwrap());
    }

    #[test]
    fn voprf_blind_evaluate_finalize_equals_evaluate(seed in any::<[u8; 32]>(), x in input(), r in any::<u8>()) {
        let mut rng = seeded(r);
        let server = VoprfServer::derive(&seed, b"prop").unwrap();
        let client = VoprfClient::new(*server.public_key());
        let (blind, blinded) = client.blind(&x, &mut rng).unwrap();
        let (evaluated, proof) = server.blind_evaluate(&blinded, &mut rng).unwrap();
        let out = client.finalize(&x, &blind, &evaluated, &blinded, &proof).unwrap();
        prop_assert_eq!(out, server.evaluate(&x).unwrap());
    }

    #[test]
    fn poprf_blind_evaluate_finalize_equals_evaluate(seed in any::<[u8; 32]>(), x in input(), info in input(), r in any::<u8>()) {
        let mut rng = seeded(r);
        let server = PoprfServer::derive(&seed, b"prop").unwrap();
        let client = PoprfClient::new(*server.public_key());
        let (blind, blinded) = client.blind(&x, &mut rng).unwrap();
        let (evaluated, proof) = server.blind_evaluate(&blinded, &info, &mut rng).unwrap();
        let out = client.finalize(&x, &info, &blind, &evaluated, &blinded, &proof).unwrap();
        prop_assert_eq!(out, server.evaluate(&x, &info).unwrap());
    }

    #[test]
    fn batched_equals_unbatched(seed in any::<[u8; 32]>(), inputs in prop::collection::vec(input(), 1..12), r in any::<u8>()) {
        let mut rng = seeded(r);
        let voprf = VoprfServer::derive(&seed, b"batch").unwrap();
        let vclient = VoprfClient::new(*voprf.public_key());
        let (blinds, blinded) = vclient.blind_batch(&inputs, &mut rng).unwrap();
        let (evaluated, proof) = voprf.blind_evaluate_batch(&blinded, &mut rng).unwrap();
        let outputs = vclient.finalize_batch(&inputs, &blinds, &evaluated, &blinded, &proof).unwrap();
        for (i, x) in inputs.iter().enumerate() {
            let (e, p) = voprf.blind_evaluate(&blinded[i], &mut rng).unwrap();
            prop_assert_eq!(e, evaluated[i]);
            prop_assert_eq!(&vclient.finalize(x, &blinds[i], &e, &blinded[i], &p).unwrap(), &outputs[i]);
        }

        let poprf = PoprfServer::derive(&seed, b"batch").unwrap();
        let pclient = PoprfClient::new(*poprf.public_key());
        let (blinds, blinded) = pclient.blind_batch(&inputs, &mut rng).unwrap();
        let (evaluated, proof) = poprf.blind_evaluate_batch(&blinded, b"domain", &mut rng).unwrap();
        let outputs = pclient
            .finalize_batch(&inputs, b"domain", &blinds, &evaluated, &blinded, &proof)
            .unwrap();
        for (x, out) in inputs.iter().zip(&outputs) {
            prop_assert_eq!(&poprf.evaluate(x, b"domain").unwrap(), out);
        }

        let oprf = OprfServer::derive(&seed, b"batch").unwrap();
        let (blinds, blinded) = OprfClient::new().blind_batch(&inputs, &mut rng).unwrap();
        let evaluated = oprf.blind_evaluate_batch(&blinded);
        let outputs = OprfClient::new().finalize_batch(&inputs, &blinds, &evaluated).unwrap();
        for (i, x) in inputs.iter().enumerate() {
            prop_assert_eq!(oprf.blind_evaluate(&blinded[i]), evaluated[i]);
            prop_assert_eq!(&oprf.evaluate(x).unwrap(), &outputs[i]);
        }
    }

    #[test]
    fn encodings_round_trip(seed in any::<[u8; 32]>(), x in input(), r in any::<u8>()) {
        let mut rng = seeded(r);
        let keys = KeyPair::derive(Mode::Voprf, &seed, b"codec").unwrap();
        let sk = SecretKey::from_bytes(&*keys.secret().to_bytes()).unwrap();
        prop_assert_eq!(&sk, keys.secret());
        prop_assert_eq!(PublicKey::from_bytes(&keys.public().to_bytes()).unwrap(), *keys.public());

        let server = VoprfServer::new(keys);
        let client = VoprfClient::new(*server.public_key());
        let (blind, blinded) = client.blind(&x, &mut rng).unwrap();
        let (evaluated, proof) = server.blind_evaluate(&blinded, &mut rng).unwrap();
        prop_assert_eq!(&Blind::from_bytes(&*blind.to_bytes()).unwrap(), &blind);
        prop_assert_eq!(BlindedElement::from_bytes(&blinded.to_bytes()).unwrap(), blinded);
        prop_assert_eq!(EvaluatedElement::from_bytes(&evaluated.to_bytes()).unwrap(), evaluated);
        prop_assert_eq!(Proof::from_bytes(&proof.to_bytes()).unwrap(), proof);
        let out = client.finalize(&x, &blind, &evaluated, &blinded, &proof).unwrap();
        prop_assert_eq!(blindnym::Output::from_bytes(out.as_bytes()).unwrap(), out);
    }

    #[test]
    fn tampering_makes_verifiable_finalize_fail(seed in any::<[u8; 32]>(), x in input(), r in any::<u8>(), byte in 0usize..64, bit in 0u8..8) {
        let mut rng = seeded(r);
        let server = VoprfServer::derive(&seed, b"tamper").unwrap();
        let client = VoprfClient::new(*server.public_key());
        let (blind, blinded) = client.blind(&x, &mut rng).unwrap();
        let (evaluated, proof) = server.blind_evaluate(&blinded, &mut rng).unwrap();

        // A flipped proof bit either fails to decode or fails to verify.
        let mut bytes = proof.to_bytes();
        bytes[byte] ^= 1 << bit;
        if let Ok(bad) = Proof::from_bytes(&bytes) {
            prop_assert_eq!(client.finalize(&x, &blind, &evaluated, &blinded, &bad), Err(blindnym::Error::VerifyError));
        }
        // Another element in place of the evaluation.
        let other = server.blind_evaluate(&client.blind(b"other", &mut rng).unwrap().1, &mut rng).unwrap().0;
        prop_assert_eq!(client.finalize(&x, &blind, &other, &blinded, &proof), Err(blindnym::Error::VerifyError));
        // Another key: the proof was made for the server's key.
        let stranger = VoprfServer::derive(&[seed[0] ^ 1; 32], b"tamper").unwrap();
        let wrong_client = VoprfClient::new(*stranger.public_key());
        prop_assert_eq!(wrong_client.finalize(&x, &blind, &evaluated, &blinded, &proof), Err(blindnym::Error::VerifyError));

        // The same for POPRF, with another info as the tampered key.
        let pserver = PoprfServer::derive(&seed, b"tamper").unwrap();
        let pclient = PoprfClient::new(*pserver.public_key());
        let (blind, blinded) = pclient.blind(&x, &mut rng).unwrap();
        let (evaluated, proof) = pserver.blind_evaluate(&blinded, b"info", &mut rng).unwrap();
        prop_assert_eq!(pclient.finalize(&x, b"other info", &blind, &evaluated, &blinded, &proof), Err(blindnym::Error::VerifyError));
        let mut bytes = proof.to_bytes();
        bytes[byte] ^= 1 << bit;
        if let Ok(bad) = Proof::from_bytes(&bytes) {
            prop_assert_eq!(pclient.finalize(&x, b"info", &blind, &evaluated, &blinded, &bad), Err(blindnym::Error::VerifyError));
        }
    }
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        // Each decoder returns a value or an error; a value re-encodes to the same bytes.
        if let Ok(v) = BlindedElement::from_bytes(&bytes) { prop_assert_eq!(&v.to_bytes()[..], &bytes[..]); }
        if let Ok(v) = EvaluatedElement::from_bytes(&bytes) { prop_assert_eq!(&v.to_bytes()[..], &bytes[..]); }
        if let Ok(v) = PublicKey::from_bytes(&bytes) { prop_assert_eq!(&v.to_bytes()[..], &bytes[..]); }
        if let Ok(v) = Proof::from_bytes(&bytes) { prop_assert_eq!(&v.to_bytes()[..], &bytes[..]); }
        if let Ok(v) = SecretKey::from_bytes(&bytes) { prop_assert_eq!(&v.to_bytes()[..], &bytes[..]); }
        if let Ok(v) = Blind::from_bytes(&bytes) { prop_assert_eq!(&v.to_bytes()[..], &bytes[..]); }
        if let Ok(v) = blindnym::Output::from_bytes(&bytes) { prop_assert_eq!(v.as_bytes().as_slice(), &bytes[..]); }
        let _ = blindnym::hazmat::decode_scalar(&bytes);
        let _ = blindnym::hazmat::decode_element(&bytes);
    }

    #[test]
    fn random_32_bytes_decode_consistently(bytes in any::<[u8; 32]>()) {
        // Decoding succeeds exactly when the encoding is canonical and not the identity.
        let decoded = blindnym::hazmat::decode_element(&bytes);
        match blindnym::curve25519_dalek::ristretto::CompressedRistretto(bytes).decompress() {
            Some(p) if p.compress().to_bytes() == bytes && bytes != [0u8; 32] => prop_assert_eq!(decoded, Ok(p)),
            Some(_) => prop_assert_eq!(decoded, Err(blindnym::Error::IdentityElement)),
            None => prop_assert_eq!(decoded, Err(blindnym::Error::NonCanonicalElement)),
        }
    }
}
