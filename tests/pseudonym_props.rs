//! Property tests of the pseudonym layer's encodings (spec/04-keys.md §4.5, spec/08-encodings.md).

use blindnym::Pseudonym;
use blindnym::pseudonym::flow_a::{Assertion, Evaluation, Request};
use blindnym::pseudonym::{EvaluatorKeys, PublishedKeys, RootSeed, flow_b, flow_h};
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
        let _ = PublishedKeys::from_bytes(&bytes);
        let _ = Assertion::from_bytes(&bytes);
        let _ = Evaluation::from_bytes(&bytes);
        let _ = Request::from_bytes(&bytes);
        let _ = flow_h::Request::from_bytes(&bytes);
        let _ = flow_h::Response::from_bytes(&bytes);
        let _ = flow_b::BatchResponse::from_bytes(&bytes);
        let _ = Pseudonym::from_bytes(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn published_key_set_roundtrip(
        seed in any::<[u8; 32]>(),
        realm in prop::collection::vec(any::<u8>(), 0..40),
        epochs in prop::collection::btree_set(any::<u32>(), 1..4),
    ) {
        let root = RootSeed::from_bytes(&seed).unwrap();
        let epochs: Vec<u32> = epochs.into_iter().collect();
        let set = PublishedKeys::derive(&root, &realm, &epochs).unwrap();
        let bytes = set.to_bytes();
        prop_assert_eq!(PublishedKeys::from_bytes(&bytes), Ok(set.clone()));
        for &e in &epochs {
            prop_assert_eq!(
                set.get(e).unwrap(),
                &EvaluatorKeys::derive(&root, &realm, e).unwrap().public()
            );
        }
        // Any single flipped byte is rejected or changes the parsed set.
        let i = bytes.len() / 2;
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x40;
        prop_assert_ne!(PublishedKeys::from_bytes(&flipped), Ok(set));
    }
}
