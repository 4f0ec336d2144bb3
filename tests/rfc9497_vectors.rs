//! RFC 9497 Appendix A.1 (ristretto255-SHA512), all three modes, batch vectors included.
//! Blinds and proof scalars are replayed through an injected RNG, so every intermediate
//! value — blinded element, evaluated element, proof bytes, output — is checked byte-exact.

mod common;

use blindnym::hazmat::{
    decode_scalar, poprf_blind_evaluate_with_nonce, voprf_blind_evaluate_with_nonce,
};
use blindnym::{
    BlindedElement, EvaluatedElement, KeyPair, Mode, OprfClient, OprfServer, PoprfClient,
    PoprfServer, Proof, PublicKey, SecretKey, VoprfClient, VoprfServer,
};
use common::{ReplayRng, hex_field, hex_list, load, seeded};
use serde_json::Value;

fn mode_vectors(mode: &str) -> Value {
    load("rfc9497-vectors.json")["modes"][mode].clone()
}

fn seed_and_info(m: &Value) -> ([u8; 32], Vec<u8>) {
    let seed: [u8; 32] = hex_field(m, "Seed").try_into().expect("32-byte seed");
    (seed, hex_field(m, "KeyInfo"))
}

fn as_bytes<T, const N: usize>(items: &[T], f: impl Fn(&T) -> [u8; N]) -> Vec<Vec<u8>> {
    items.iter().map(|x| f(x).to_vec()).collect()
}

fn decode_all<T>(list: &[Vec<u8>], f: impl Fn(&[u8]) -> blindnym::Result<T>) -> Vec<T> {
    list.iter()
        .map(|b| f(b).expect("vector element decodes"))
        .collect()
}

#[test]
fn context_strings_match_the_rfc() {
    let v = load("rfc9497-vectors.json");
    for (name, mode) in [
        ("OPRF", Mode::Oprf),
        ("VOPRF", Mode::Voprf),
        ("POPRF", Mode::Poprf),
    ] {
        let expected = hex_field(&v["derived_helpers_not_in_rfc"][name], "contextString_hex");
        assert_eq!(mode.context_string().to_vec(), expected, "{name}");
    }
}

#[test]
fn derive_key_pair_matches_all_modes() {
    for (name, mode) in [
        ("OPRF", Mode::Oprf),
        ("VOPRF", Mode::Voprf),
        ("POPRF", Mode::Poprf),
    ] {
        let m = mode_vectors(name);
        let (seed, info) = seed_and_info(&m);
        let keys = KeyPair::derive(mode, &seed, &info).expect("derive");
        assert_eq!(
            keys.secret().to_bytes().to_vec(),
            hex_field(&m, "skSm"),
            "{name} skS"
        );
        if name != "OPRF" {
            assert_eq!(
                keys.public().to_bytes().to_vec(),
                hex_field(&m, "pkSm"),
                "{name} pkS"
            );
        }
        let reloaded = SecretKey::from_bytes(&hex_field(&m, "skSm")).expect("skS decodes");
        assert_eq!(&reloaded, keys.secret());
    }
}

#[test]
fn oprf_vectors() {
    let m = mode_vectors("OPRF");
    let (seed, info) = seed_and_info(&m);
    let server = OprfServer::derive(&seed, &info).expect("derive");
    let vectors = m["vectors"].as_array().expect("vectors");
    assert_eq!(vectors.len(), 2);
    for v in vectors {
        let inputs = hex_list(&v["Input"]);
        let blinds = hex_list(&v["Blind"]);
        let mut rng = ReplayRng::new(blinds.clone());
        let (blind_values, blinded) = OprfClient::new()
            .blind_batch(&inputs, &mut rng)
            .expect("blind");
        assert!(rng.is_empty());
        assert_eq!(
            as_bytes(&blinded, |b| b.to_bytes()),
            hex_list(&v["BlindedElement"])
        );
        assert_eq!(as_bytes(&blind_values, |b| *b.to_bytes()), blinds);

        // Single-element API agrees with the batch API.
        let mut rng = ReplayRng::new(blinds.clone());
        let (blind0, blinded0) = OprfClient::new()
            .blind(&inputs[0], &mut rng)
            .expect("blind one");
        assert_eq!(blinded0, blinded[0]);

        let evaluated = server.blind_evaluate_batch(&blinded);
        assert_eq!(
            as_bytes(&evaluated, |e| e.to_bytes()),
            hex_list(&v["EvaluationElement"])
        );
        assert_eq!(server.blind_evaluate(&blinded[0]), evaluated[0]);

        let expected = hex_list(&v["Output"]);
        let outputs = OprfClient::new()
            .finalize_batch(&inputs, &blind_values, &evaluated)
            .expect("fin");
        assert_eq!(as_bytes(&outputs, |o| *o.as_bytes()), expected);
        let one = OprfClient::new()
            .finalize(&inputs[0], &blind0, &evaluated[0])
            .expect("finalize");
        assert_eq!(one.as_bytes().to_vec(), expected[0]);

        // The wire path: decode the vector's own evaluated elements.
        let wire = decode_all(
            &hex_list(&v["EvaluationElement"]),
            EvaluatedElement::from_bytes,
        );
        let outputs = OprfClient::new()
            .finalize_batch(&inputs, &blind_values, &wire)
            .expect("fin");
        assert_eq!(as_bytes(&outputs, |o| *o.as_bytes()), expected);

        for (input, out) in inputs.iter().zip(&expected) {
            assert_eq!(
                &server
                    .evaluate(input)
                    .expect("evaluate")
                    .as_bytes()
                    .to_vec(),
                out
            );
        }
    }
}

#[test]
fn voprf_vectors() {
    let m = mode_vectors("VOPRF");
    let (seed, info) = seed_and_info(&m);
    let server = VoprfServer::derive(&seed, &info).expect("derive");
    let client = VoprfClient::new(PublicKey::from_bytes(&hex_field(&m, "pkSm")).expect("pkS"));
    let vectors = m["vectors"].as_array().expect("vectors");
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        let inputs = hex_list(&v["Input"]);
        let blinds = hex_list(&v["Blind"]);
        let mut rng = ReplayRng::new(blinds.clone());
        let (blind_values, blinded) = client.blind_batch(&inputs, &mut rng).expect("blind");
        assert_eq!(
            as_bytes(&blinded, |b| b.to_bytes()),
            hex_list(&v["BlindedElement"])
        );

        // The RFC's proof nonce, through the hazmat path; the normal path hedges its nonce.
        let r = decode_scalar(&hex_field(v, "ProofRandomScalar")).expect("scalar");
        let (evaluated, proof) =
            voprf_blind_evaluate_with_nonce(&server, &blinded, &r).expect("eval");
        let (hedged_evaluated, hedged_proof) = server
            .blind_evaluate_batch(&blinded, &mut seeded(1))
            .expect("hedged eval");
        assert_eq!(hedged_evaluated, evaluated);
        assert_ne!(hedged_proof, proof);
        assert!(client.verify(&blinded, &evaluated, &hedged_proof).is_ok());
        assert_eq!(
            as_bytes(&evaluated, |e| e.to_bytes()),
            hex_list(&v["EvaluationElement"])
        );
        assert_eq!(proof.to_bytes().to_vec(), hex_field(v, "Proof"));

        let expected = hex_list(&v["Output"]);
        let outputs = client
            .finalize_batch(&inputs, &blind_values, &evaluated, &blinded, &proof)
            .expect("finalize");
        assert_eq!(as_bytes(&outputs, |o| *o.as_bytes()), expected);

        // The wire path: every message decoded from the vector's bytes.
        let wire_blinded = decode_all(&hex_list(&v["BlindedElement"]), BlindedElement::from_bytes);
        let wire_eval = decode_all(
            &hex_list(&v["EvaluationElement"]),
            EvaluatedElement::from_bytes,
        );
        let wire_proof = Proof::from_bytes(&hex_field(v, "Proof")).expect("proof decodes");
        let outputs = client
            .finalize_batch(
                &inputs,
                &blind_values,
                &wire_eval,
                &wire_blinded,
                &wire_proof,
            )
            .expect("finalize");
        assert_eq!(as_bytes(&outputs, |o| *o.as_bytes()), expected);

        if inputs.len() == 1 {
            let (e, p) = server
                .blind_evaluate(&blinded[0], &mut seeded(2))
                .expect("eval one");
            assert_eq!(e, evaluated[0]);
            let out = client
                .finalize(&inputs[0], &blind_values[0], &e, &blinded[0], &p)
                .expect("finalize one");
            assert_eq!(out.as_bytes().to_vec(), expected[0]);
        }
        for (input, out) in inputs.iter().zip(&expected) {
            assert_eq!(
                &server
                    .evaluate(input)
                    .expect("evaluate")
                    .as_bytes()
                    .to_vec(),
                out
            );
        }
    }
}

#[test]
fn poprf_vectors() {
    let m = mode_vectors("POPRF");
    let (seed, key_info) = seed_and_info(&m);
    let server = PoprfServer::derive(&seed, &key_info).expect("derive");
    let client = PoprfClient::new(PublicKey::from_bytes(&hex_field(&m, "pkSm")).expect("pkS"));
    let vectors = m["vectors"].as_array().expect("vectors");
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        let inputs = hex_list(&v["Input"]);
        let info = hex_field(v, "Info");
        let blinds = hex_list(&v["Blind"]);
        let mut rng = ReplayRng::new(blinds.clone());
        let (blind_values, blinded) = client.blind_batch(&inputs, &mut rng).expect("blind");
        assert_eq!(
            as_bytes(&blinded, |b| b.to_bytes()),
            hex_list(&v["BlindedElement"])
        );

        let r = decode_scalar(&hex_field(v, "ProofRandomScalar")).expect("scalar");
        let (evaluated, proof) =
            poprf_blind_evaluate_with_nonce(&server, &blinded, &info, &r).expect("eval");
        let (hedged_evaluated, hedged_proof) = server
            .blind_evaluate_batch(&blinded, &info, &mut seeded(1))
            .expect("hedged eval");
        assert_eq!(hedged_evaluated, evaluated);
        assert_ne!(hedged_proof, proof);
        assert!(
            client
                .verify(&info, &blinded, &evaluated, &hedged_proof)
                .is_ok()
        );
        assert_eq!(
            as_bytes(&evaluated, |e| e.to_bytes()),
            hex_list(&v["EvaluationElement"])
        );
        assert_eq!(proof.to_bytes().to_vec(), hex_field(v, "Proof"));

        let expected = hex_list(&v["Output"]);
        let wire_blinded = decode_all(&hex_list(&v["BlindedElement"]), BlindedElement::from_bytes);
        let wire_eval = decode_all(
            &hex_list(&v["EvaluationElement"]),
            EvaluatedElement::from_bytes,
        );
        let wire_proof = Proof::from_bytes(&hex_field(v, "Proof")).expect("proof decodes");
        let outputs = client
            .finalize_batch(
                &inputs,
                &info,
                &blind_values,
                &wire_eval,
                &wire_blinded,
                &wire_proof,
            )
            .expect("finalize");
        assert_eq!(as_bytes(&outputs, |o| *o.as_bytes()), expected);

        if inputs.len() == 1 {
            let (e, p) = server
                .blind_evaluate(&blinded[0], &info, &mut seeded(2))
                .expect("eval one");
            assert_eq!(e, evaluated[0]);
            let out = client
                .finalize(&inputs[0], &info, &blind_values[0], &e, &blinded[0], &p)
                .expect("finalize one");
            assert_eq!(out.as_bytes().to_vec(), expected[0]);
        }
        for (input, out) in inputs.iter().zip(&expected) {
            let direct = server.evaluate(input, &info).expect("evaluate");
            assert_eq!(&direct.as_bytes().to_vec(), out);
        }
    }
}
