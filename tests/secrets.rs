//! Secret values never print, zeroize on drop and compare in constant time.

mod common;

use blindnym::{Blind, KeyPair, Output, SecretKey, VoprfClient, VoprfServer};
use common::seeded;
use subtle::ConstantTimeEq;
use zeroize::ZeroizeOnDrop;

/// Every way a secret's bytes could leak into a formatted string.
fn leaks(text: &str, secret: &[u8]) -> bool {
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let hex_upper = hex.to_uppercase();
    let decimal = format!("{secret:?}");
    let first_bytes = format!("{:?}", &secret[..4]);
    text.contains(&hex)
        || text.contains(&hex_upper)
        || text.contains(&decimal)
        || text.contains(&first_bytes[1..first_bytes.len() - 1])
}

#[test]
fn debug_never_prints_secret_bytes() {
    let mut rng = seeded(1);
    let server = VoprfServer::generate(&mut rng).expect("key");
    let client = VoprfClient::new(*server.public_key());
    let (blind, blinded) = client.blind(b"secret input", &mut rng).expect("blind");
    let (evaluated, proof) = server.blind_evaluate(&blinded, &mut rng).expect("evaluate");
    let output = client
        .finalize(b"secret input", &blind, &evaluated, &blinded, &proof)
        .expect("finalize");

    let sk = server.key_pair().secret().to_bytes();
    for text in [
        format!("{:?}", server.key_pair().secret()),
        format!("{:#?}", server.key_pair()),
        format!("{server:?}"),
    ] {
        assert!(!leaks(&text, &*sk), "secret key leaked in {text}");
        assert!(text.contains("redacted"), "{text}");
    }
    let blind_bytes = blind.to_bytes();
    let text = format!("{blind:?}");
    assert!(
        !leaks(&text, &*blind_bytes) && text.contains("redacted"),
        "{text}"
    );
    let text = format!("{output:?}");
    assert!(
        !leaks(&text, output.as_bytes()) && text.contains("redacted"),
        "{text}"
    );

    // Public values do print, so the check above is not vacuous.
    let public = format!("{:?}", server.public_key());
    assert!(leaks(&public, server.public_key().as_bytes()));
}

#[test]
fn secrets_zeroize_on_drop() {
    fn zeroizes_on_drop<T: ZeroizeOnDrop>() {}
    zeroizes_on_drop::<SecretKey>();
    zeroizes_on_drop::<Blind>();
    zeroizes_on_drop::<Output>();
}

#[test]
fn secret_comparisons_are_constant_time_and_correct() {
    let a = KeyPair::derive(blindnym::Mode::Oprf, &[1; 32], b"a").expect("key");
    let b = KeyPair::derive(blindnym::Mode::Oprf, &[1; 32], b"b").expect("key");
    assert!(bool::from(a.secret().ct_eq(a.secret())));
    assert!(!bool::from(a.secret().ct_eq(b.secret())));
    assert_ne!(a.secret(), b.secret());
    let x = Output::from_bytes(&[3u8; 64]).expect("64 bytes");
    let mut other = [3u8; 64];
    other[63] = 4;
    let y = Output::from_bytes(&other).expect("64 bytes");
    assert!(bool::from(x.ct_eq(&x.clone())));
    assert!(!bool::from(x.ct_eq(&y)));
}
