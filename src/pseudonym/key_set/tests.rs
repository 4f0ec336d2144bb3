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
    let signed = signer.sign(KeySet::new(b"r", 1, 0, MAX_WINDOW_S, entries()).unwrap());
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

/// A signer that shows two histories: a later set (a higher sequence number, validly
/// signed) that lists an epoch an accepted set listed, with other keys, is refused; so is
/// one that moves the epoch's start. A verifier restored from the persisted set refuses it
/// too, and a later set that only adds an epoch and drops an old one is accepted.
#[test]
fn a_later_set_that_rekeys_a_known_epoch_is_refused() {
    let signer = KeySetSigner::from_bytes(&[7; 32]).unwrap();
    let [one, two] = <[EpochPublicKeys; 2]>::try_from(entries()).unwrap();
    let first = signer.sign(KeySet::new(b"r", 1, 0, 10_000, vec![one]).unwrap());
    let other = KeyRatchet::new(&RootSeed::from_bytes(&[4; 32]).unwrap(), b"r", 1)
        .unwrap()
        .keys()
        .unwrap()
        .public(1_000);
    let rekeyed = signer.sign(KeySet::new(b"r", 2, 0, 10_000, vec![other]).unwrap());
    let moved = EpochPublicKeys {
        not_before: 900,
        ..one
    };
    let moved = signer.sign(KeySet::new(b"r", 2, 0, 10_000, vec![moved]).unwrap());
    let mut verifier = KeySetVerifier::new(signer.verifying_key(), b"r");
    verifier.accept(&first, 1_500).unwrap();
    assert_eq!(
        verifier.accept(&rekeyed, 1_500).map(drop),
        Err(Error::KeySetEquivocation)
    );
    assert_eq!(
        verifier.accept(&moved, 1_500).map(drop),
        Err(Error::KeySetEquivocation)
    );
    let persisted =
        SignedKeySet::from_bytes(&verifier.last_accepted_set().unwrap().to_bytes()).unwrap();
    let mut restored =
        KeySetVerifier::with_last_accepted_set(signer.verifying_key(), b"r", &persisted).unwrap();
    assert_eq!(
        restored.accept(&rekeyed, 1_500).map(drop),
        Err(Error::KeySetEquivocation)
    );
    let next = signer.sign(KeySet::new(b"r", 2, 0, 10_000, vec![one, two]).unwrap());
    assert!(restored.accept(&next, 1_500).is_ok());
    let later = signer.sign(KeySet::new(b"r", 3, 0, 10_000, vec![two]).unwrap());
    assert!(restored.accept(&later, 2_500).is_ok());
    // A number far ahead would leave no room for the honest sets after it.
    let jump =
        signer.sign(KeySet::new(b"r", 3 + MAX_SEQUENCE_STEP + 1, 0, 10_000, vec![two]).unwrap());
    assert_eq!(
        restored.accept(&jump, 2_500).map(drop),
        Err(Error::KeySetEquivocation)
    );
    assert_eq!(
        KeySetVerifier::with_last_accepted_set(signer.verifying_key(), b"other", &persisted)
            .map(drop),
        Err(Error::RealmMismatch)
    );
}

/// A window longer than 92 days, or a sequence number past `2^32 − 1`, is not a key set:
/// a compelled signer cannot hand out a set that stays good for years, or one after which no
/// honest set could follow.
#[test]
fn an_unbounded_window_is_refused() {
    let [one, _] = <[EpochPublicKeys; 2]>::try_from(entries()).unwrap();
    assert!(KeySet::new(b"r", 1, 0, MAX_WINDOW_S, vec![one]).is_ok());
    assert_eq!(
        KeySet::new(b"r", 1, 0, MAX_WINDOW_S + 1, vec![one]),
        Err(Error::Malformed)
    );
    assert_eq!(
        KeySet::new(b"r", 1, 0, u64::MAX, vec![one]),
        Err(Error::Malformed)
    );
    assert_eq!(
        KeySet::new(b"r", MAX_SEQUENCE + 1, 0, 10, vec![one]),
        Err(Error::Malformed)
    );
    // The decoder applies the same rules: a signed body with a year-long window is refused.
    let signer = KeySetSigner::from_bytes(&[7; 32]).unwrap();
    let mut bytes = signer
        .sign(KeySet::new(b"r", 1, 0, 10, vec![one]).unwrap())
        .to_bytes();
    // not_after sits after magic, version, the framed realm, sequence and not_before.
    let at = 4 + 1 + 2 + 1 + 8 + 8;
    bytes[at..at + 8].copy_from_slice(&(365 * 86_400u64).to_be_bytes());
    assert_eq!(SignedKeySet::from_bytes(&bytes), Err(Error::Malformed));
}

/// A signature made outside the crate (an HSM) over `signed_message` joins its set only when
/// it verifies under the anchor: the same bytes as the crate's own signer, and a wrong
/// signature or anchor refused before any verifier sees the set.
#[test]
fn an_external_signature_is_checked_when_joined() {
    use ed25519_dalek::Signer as _;
    let key = SigningKey::from_bytes(&[7; 32]);
    let set = || KeySet::new(b"r", 1, 0, 10_000, entries()).unwrap();
    let signature = key.sign(&set().signed_message()).to_bytes();
    let joined = SignedKeySet::from_signature(set(), &signature, &key.verifying_key()).unwrap();
    let own = KeySetSigner::from_bytes(&[7; 32]).unwrap().sign(set());
    assert_eq!(joined.to_bytes(), own.to_bytes());
    let mut wrong = signature;
    wrong[0] ^= 1;
    assert_eq!(
        SignedKeySet::from_signature(set(), &wrong, &key.verifying_key()),
        Err(Error::KeySetSignature)
    );
    let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
    assert_eq!(
        SignedKeySet::from_signature(set(), &signature, &other),
        Err(Error::KeySetSignature)
    );
    assert!(matches!(
        SignedKeySet::from_signature(set(), &signature[..63], &key.verifying_key()),
        Err(Error::InvalidLength { .. })
    ));
}
