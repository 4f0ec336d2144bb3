//! Batch decoding keeps order and rejects what single decoding rejects.

use blindnym::{BlindedElement, Error, EvaluatedElement, Mode, hash_to_group};

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
