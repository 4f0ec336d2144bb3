use super::super::key_schedule::{KeyRatchet, RootSeed};
use super::*;

fn entries() -> Vec<EpochPublicKeys> {
    let ratchet = KeyRatchet::new(&RootSeed::from_bytes(&[3; 32]).unwrap(), b"r", 1).unwrap();
    vec![
        ratchet.keys().unwrap().public(1_000),
        ratchet.keys_for(2).unwrap().public(2_000),
    ]
}

#[test]
fn roundtrip_and_strict_decoding() {
    let signer = KeySetSigner::from_bytes(&[7; 32]).unwrap();
    let signed = signer.sign(KeySet::new(b"r", 1, 0, 10_000, entries()).unwrap());
    let bytes = signed.to_bytes();
    assert_eq!(SignedKeySet::from_bytes(&bytes).unwrap(), signed);
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(SignedKeySet::from_bytes(&trailing).is_err());
    assert!(SignedKeySet::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let [a, b] = <[EpochPublicKeys; 2]>::try_from(entries()).unwrap();
    assert_eq!(
        KeySet::new(b"r", 1, 0, 1, vec![b, a]),
        Err(Error::Malformed)
    );
    assert_eq!(KeySet::new(b"r", 1, 0, 1, vec![]), Err(Error::Malformed));
    assert_eq!(KeySet::new(b"r", 1, 5, 5, vec![a]), Err(Error::Malformed));
}

#[test]
fn epochs_are_accepted_only_when_current_or_in_transition() {
    let signer = KeySetSigner::from_bytes(&[7; 32]).unwrap();
    let signed = signer.sign(KeySet::new(b"r", 1, 0, u64::MAX, entries()).unwrap());
    let set = KeySetVerifier::new(signer.verifying_key(), b"r")
        .accept(&signed, 1_500)
        .unwrap();
    assert!(set.accept_epoch(1, 1_500).is_ok());
    assert_eq!(
        set.accept_epoch(2, 1_500).map(drop),
        Err(Error::StaleEpoch { epoch: 2 })
    );
    assert!(set.accept_epoch(1, 2_000 + TRANSITION_WINDOW_S - 1).is_ok());
    assert_eq!(
        set.accept_epoch(1, 2_000 + TRANSITION_WINDOW_S).map(drop),
        Err(Error::StaleEpoch { epoch: 1 })
    );
    assert_eq!(
        set.accept_epoch(9, 1_500).map(drop),
        Err(Error::UnknownEpoch { epoch: 9 })
    );
    assert_eq!(set.current(2_500).map(|e| e.epoch), Ok(2));
}
