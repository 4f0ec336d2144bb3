//! The `serde` feature: messages travel as their canonical bytes and are decoded as strictly
//! as `from_bytes` decodes them.
#![cfg(feature = "serde")]

mod common;

use blindnym::pseudonym::attested::Assertion;
use blindnym::pseudonym::{Pseudonym, SignedKeySet};
use common::{attested_evaluator, channel, flow_a_session, signed_set};

#[test]
fn messages_round_trip_through_json_and_bad_bytes_are_refused() {
    let s = flow_a_session(
        &attested_evaluator(1, 2),
        "alice",
        "https://shop.example",
        &channel(1),
        1,
    )
    .unwrap();
    let json = serde_json::to_string(&s.assertion).unwrap();
    assert_eq!(
        serde_json::from_str::<Assertion>(&json).unwrap(),
        s.assertion
    );
    let set: SignedKeySet =
        serde_json::from_str(&serde_json::to_string(&signed_set()).unwrap()).unwrap();
    assert_eq!(set, signed_set());

    let short = serde_json::to_string(&vec![1u8; 31]).unwrap();
    let error = serde_json::from_str::<Pseudonym>(&short)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("wrong length: expected 32 bytes, got 31"),
        "{error}"
    );
}
