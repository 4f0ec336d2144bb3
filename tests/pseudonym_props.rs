//! Property tests of the pseudonym layer's encodings (spec/04-keys.md §4.5, spec/08-encodings.md).

use blindnym::Pseudonym;
use blindnym::pseudonym::attested::{
    Assertion, Evaluation, MigrationAssertion, MigrationEvaluation, Request,
};
use blindnym::pseudonym::bulk::{BatchRequest, BatchResponse, BlindBatch};
use blindnym::pseudonym::holder_derived::{self, LoginProof};
use blindnym::pseudonym::{
    KeyRatchet, KeySet, KeySetSigner, KeySetVerifier, RootSeed, SignedKeySet,
};
use proptest::prelude::*;

const ALPHABET: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

proptest! {
    #[test]
    fn text_roundtrip(bytes in any::<[u8; 32]>()) {
        let p = Pseudonym::from_array(bytes);
        let text = p.to_string();
        prop_assert_eq!(text.parse::<Pseudonym>(), Ok(p));
    }

    #[test]
    fn any_single_character_change_is_rejected(
        bytes in any::<[u8; 32]>(),
        pos in 0usize..blindnym::pseudonym::TEXT_LEN,
        replacement in prop::sample::select(
            format!("{ALPHABET}bio1-QPZ").chars().collect::<Vec<_>>()
        ),
    ) {
        let text = Pseudonym::from_array(bytes).to_string();
        let mut chars: Vec<char> = text.chars().collect();
        prop_assume!(chars[pos] != replacement);
        chars[pos] = replacement;
        let changed: String = chars.into_iter().collect();
        prop_assert_eq!(changed.parse::<Pseudonym>(), Err(blindnym::Error::InvalidText));
    }

    #[test]
    fn parse_never_panics(text in ".{0,80}") {
        let _ = text.parse::<Pseudonym>();
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = SignedKeySet::from_bytes(&bytes);
        let _ = Assertion::from_bytes(&bytes);
        let _ = MigrationAssertion::from_bytes(&bytes);
        let _ = Evaluation::from_bytes(&bytes);
        let _ = MigrationEvaluation::from_bytes(&bytes);
        let _ = Request::from_bytes(&bytes);
        let _ = holder_derived::Request::from_bytes(&bytes);
        let _ = holder_derived::Response::from_bytes(&bytes);
        let _ = holder_derived::HolderState::from_bytes(&bytes);
        let _ = LoginProof::from_bytes(&bytes);
        let _ = BatchRequest::from_bytes(&bytes);
        let _ = BatchResponse::from_bytes(&bytes);
        let _ = BlindBatch::from_bytes(&bytes);
        let _ = KeyRatchet::from_bytes(&bytes);
        let _ = Pseudonym::from_bytes(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn signed_key_set_roundtrip(
        seed in any::<[u8; 32]>(),
        realm in prop::collection::vec(any::<u8>(), 0..40),
        sequence in 0..=blindnym::pseudonym::key_set::MAX_SEQUENCE,
        epochs in prop::collection::btree_set(1u32..50, 1..4),
    ) {
        let ratchet = KeyRatchet::new(&RootSeed::from_bytes(&seed).unwrap(), &realm, 1).unwrap();
        let entries: Vec<_> = epochs
            .iter()
            .map(|&e| ratchet.keys_for(e).unwrap().public(u64::from(e) * 1000))
            .collect();
        let signer = KeySetSigner::from_bytes(&seed).unwrap();
        let signed = signer.sign(KeySet::new(&realm, sequence, 0, blindnym::pseudonym::key_set::MAX_WINDOW_S, entries.clone()).unwrap());
        let bytes = signed.to_bytes();
        prop_assert_eq!(SignedKeySet::from_bytes(&bytes), Ok(signed.clone()));
        let verified = KeySetVerifier::new(signer.verifying_key(), &realm).accept(&signed, 0).unwrap();
        prop_assert_eq!(verified.set().epochs(), entries.as_slice());
        // Any single flipped byte is rejected, by the decoder or by the signature check.
        let i = bytes.len() / 2;
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x40;
        if let Ok(tampered) = SignedKeySet::from_bytes(&flipped) {
            let mut verifier = KeySetVerifier::new(signer.verifying_key(), &realm);
            prop_assert!(verifier.accept(&tampered, 0).is_err());
        }
    }
}
