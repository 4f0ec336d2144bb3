//! Batch decoding keeps order and rejects what single decoding rejects.

use blindnym::hazmat::hash_to_group;
use blindnym::{BlindedElement, Error, EvaluatedElement, Mode};

#[test]
fn batch_decode_matches_single_decode() {
    let wire: Vec<[u8; 32]> = (0..300u32)
        .map(|i| {
            hash_to_group(Mode::Voprf, &i.to_be_bytes())
                .expect("hash")
                .compress()
                .to_bytes()
        })
        .collect();
    let batch = BlindedElement::from_bytes_batch(&wire).expect("valid");
    for (w, e) in wire.iter().zip(&batch) {
        assert_eq!(*e, BlindedElement::from_bytes(w).expect("valid"));
    }
    let batch = EvaluatedElement::from_bytes_batch(&wire).expect("valid");
    assert_eq!(batch.len(), wire.len());
    assert!(
        BlindedElement::from_bytes_batch(&[])
            .expect("empty")
            .is_empty()
    );
}

#[test]
fn batch_decode_rejects_bad_elements() {
    let mut wire: Vec<[u8; 32]> = (0..200u32)
        .map(|i| {
            hash_to_group(Mode::Poprf, &i.to_be_bytes())
                .expect("hash")
                .compress()
                .to_bytes()
        })
        .collect();
    wire[150] = [0u8; 32];
    assert_eq!(
        BlindedElement::from_bytes_batch(&wire),
        Err(Error::IdentityElement)
    );
    wire[150] = [0xff; 32];
    assert_eq!(
        EvaluatedElement::from_bytes_batch(&wire),
        Err(Error::NonCanonicalElement)
    );
}

/// Large batches take the parallel paths (chunked compression, split composite sums); their
/// results must verify and match the non-blind evaluation, as small ones do.
#[test]
fn large_batches_verify_and_match_evaluate() {
    use blindnym::{PoprfClient, PoprfServer, VoprfClient, VoprfServer};
    let mut rng = rand::rng();
    let inputs: Vec<Vec<u8>> = (0..600u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let info = b"domain";

    let server = VoprfServer::generate(&mut rng).expect("rng");
    let client = VoprfClient::new(*server.public_key());
    let (blinds, blinded) = client.blind_batch(&inputs, &mut rng).expect("blind");
    let (evaluated, proof) = server
        .blind_evaluate_batch(&blinded, &mut rng)
        .expect("evaluate");
    let outputs = client
        .finalize_batch(&inputs, &blinds, &evaluated, &blinded, &proof)
        .expect("finalize");
    for i in [0, 1, 299, 599] {
        assert_eq!(outputs[i], server.evaluate(&inputs[i]).expect("evaluate"));
    }
    let mut swapped = evaluated.clone();
    swapped.swap(10, 500);
    assert_eq!(
        client.finalize_batch(&inputs, &blinds, &swapped, &blinded, &proof),
        Err(Error::VerifyError)
    );

    let server = PoprfServer::generate(&mut rng).expect("rng");
    let client = PoprfClient::new(*server.public_key());
    let (blinds, blinded) = client.blind_batch(&inputs, &mut rng).expect("blind");
    let (evaluated, proof) = server
        .blind_evaluate_batch(&blinded, info, &mut rng)
        .expect("evaluate");
    let outputs = client
        .finalize_batch(&inputs, info, &blinds, &evaluated, &blinded, &proof)
        .expect("finalize");
    for i in [0, 1, 299, 599] {
        assert_eq!(
            outputs[i],
            server.evaluate(&inputs[i], info).expect("evaluate")
        );
    }
    assert_eq!(
        client.finalize_batch(&inputs, b"other", &blinds, &evaluated, &blinded, &proof),
        Err(Error::VerifyError)
    );
}
