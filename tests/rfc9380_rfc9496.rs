//! RFC 9380 Appendix K.3 (`expand_message_xmd` with SHA-512) and RFC 9496 Appendix A
//! (ristretto255 encodings, invalid encodings, element derivation).

mod common;

use blindnym::Error;
use blindnym::curve25519_dalek::ristretto::RistrettoPoint;
use blindnym::hazmat::{decode_element, expand_message_xmd};
use common::{hex_field, load, unhex};

#[test]
fn expand_message_xmd_sha512_k3() {
    let v = load("rfc9380-xmd-sha512-vectors.json");
    let dst = v["DST"].as_str().expect("DST").as_bytes();
    let tests = v["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 10);
    for t in tests {
        let msg = t["msg"].as_str().expect("msg").as_bytes();
        let len_hex = t["len_in_bytes"]
            .as_str()
            .expect("len")
            .trim_start_matches("0x");
        let len = usize::from_str_radix(len_hex, 16).expect("hex length");
        let mut out = vec![0u8; len];
        expand_message_xmd(&[msg], dst, &mut out).expect("xmd");
        assert_eq!(
            out,
            hex_field(t, "uniform_bytes"),
            "msg {:?} len {len}",
            t["msg"]
        );
        // The same message split into parts gives the same bytes.
        let (a, b) = msg.split_at(msg.len() / 2);
        let mut split = vec![0u8; len];
        expand_message_xmd(&[a, b], dst, &mut split).expect("xmd");
        assert_eq!(split, out);
    }
}

#[test]
fn expand_message_xmd_rejects_out_of_range_requests() {
    let mut too_long = vec![0u8; 255 * 64 + 1];
    assert_eq!(
        expand_message_xmd(&[b"m"], b"DST", &mut too_long),
        Err(Error::InputTooLong)
    );
    let mut out = [0u8; 32];
    assert_eq!(
        expand_message_xmd(&[b"m"], &[b'x'; 256], &mut out),
        Err(Error::InputTooLong)
    );
    assert_eq!(
        expand_message_xmd(&[b"m"], b"", &mut out),
        Err(Error::InvalidInput)
    );
    assert_eq!(
        expand_message_xmd(&[b"m"], b"DST", &mut []),
        Err(Error::InvalidInput)
    );
}

#[test]
fn ristretto_multiples_of_the_generator() {
    let v = load("rfc9496-vectors.json");
    let encodings = v["A1_multiples_of_generator"]["encodings"]
        .as_array()
        .expect("list");
    assert_eq!(encodings.len(), 16);
    let g = blindnym::curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
    let mut multiple = RistrettoPoint::default();
    for (k, enc) in encodings.iter().enumerate() {
        let bytes = unhex(enc.as_str().expect("hex"));
        assert_eq!(multiple.compress().to_bytes().to_vec(), bytes, "{k}·B");
        if k == 0 {
            assert_eq!(decode_element(&bytes), Err(Error::IdentityElement));
        } else {
            assert_eq!(decode_element(&bytes), Ok(multiple), "{k}·B decodes");
        }
        multiple += g;
    }
}

#[test]
fn ristretto_invalid_encodings_are_rejected() {
    let v = load("rfc9496-vectors.json");
    let bad = v["A2_invalid_encodings"]["encodings"]
        .as_array()
        .expect("list");
    assert_eq!(bad.len(), 29);
    for entry in bad {
        let bytes = unhex(entry["encoding"].as_str().expect("hex"));
        assert_eq!(
            decode_element(&bytes),
            Err(Error::NonCanonicalElement),
            "{entry}"
        );
    }
}

#[test]
fn ristretto_element_derivation() {
    let v = load("rfc9496-vectors.json");
    let a3 = &v["A3_element_derivation"];
    let vectors = a3["vectors"].as_array().expect("list");
    assert!(!vectors.is_empty());
    for t in vectors {
        let input: [u8; 64] = hex_field(t, "I").try_into().expect("64 bytes");
        let point = RistrettoPoint::from_uniform_bytes(&input);
        assert_eq!(point.compress().to_bytes().to_vec(), hex_field(t, "O"));
    }
    let equivalent = a3["equivalent_inputs"].clone();
    let groups: Vec<serde_json::Value> = match equivalent {
        serde_json::Value::Array(a) => a,
        other => vec![other],
    };
    let mut checked = 0;
    for group in groups {
        let output = hex_field(&group, "O");
        for input in group["I"].as_array().expect("inputs") {
            let bytes: [u8; 64] = unhex(input.as_str().expect("hex")).try_into().expect("64");
            let point = RistrettoPoint::from_uniform_bytes(&bytes);
            assert_eq!(point.compress().to_bytes().to_vec(), output);
            checked += 1;
        }
    }
    assert!(checked > 0);
}
