use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;

fn request<'a>(authority: &'a str, tweak: Option<&'a str>) -> Covered<'a> {
    Covered {
        method: "POST",
        authority,
        path: "/v1/threshold/flow-b/evaluate",
        content_digest: "",
        realm: "blindnym dev",
        tweak,
        session: None,
    }
}

fn signed(tweak: Option<&str>) -> (RequestSigner, SignedHeaders) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let signer = RequestSigner::generate(&mut rng);
    let headers = signer
        .sign(
            &request("127.0.0.1:9082", tweak),
            b"body",
            1_700_000_000,
            &mut rng,
        )
        .expect("sign");
    (signer, headers)
}

fn with_digest<'a>(covered: Covered<'a>, headers: &'a SignedHeaders) -> Covered<'a> {
    Covered {
        content_digest: &headers.content_digest,
        ..covered
    }
}

/// RFC 9421 Appendix B.2.6: the Ed25519 test key of B.1.4 over the appendix's signature base
/// gives the appendix's signature (Ed25519 is deterministic), and RFC 9530's `sha-256` of
/// `{"hello": "world"}` is the value RFC 9421's examples use.
#[test]
fn rfc_9421_appendix_b_2_6_and_rfc_9530() {
    let seed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode("n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU")
        .expect("seed");
    let signer = RequestSigner::from_bytes(&seed).expect("key");
    let base = concat!(
        "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n",
        "\"@method\": POST\n",
        "\"@path\": /foo\n",
        "\"@authority\": example.com\n",
        "\"content-type\": application/json\n",
        "\"content-length\": 18\n",
        "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" ",
        "\"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\""
    );
    assert_eq!(
        STANDARD.encode(signer.sign_base(base.as_bytes())),
        "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
    );
    assert_eq!(
        content_digest(b"{\"hello\": \"world\"}"),
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    );
    assert_eq!(
        content_digest(b"{\"hello\": \"world\"}\n"),
        "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:"
    );
}

/// The profile's own vector (`spec/11-vectors.md`): a fixed key, time and nonce give fixed
/// header values.
#[test]
fn profile_vector() {
    let signer = RequestSigner::from_bytes(&[7u8; 32]).expect("key");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let headers = signer
        .sign(
            &request("eval1.example", Some("00ff")),
            b"",
            1_700_000_000,
            &mut rng,
        )
        .expect("sign");
    assert_eq!(
        headers.content_digest,
        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
    );
    let expected_input = format!(
        "blindnym=(\"@method\" \"@authority\" \"@path\" \"content-digest\" \"blindnym-realm\" \
         \"blindnym-tweak\");created=1700000000;expires=1700000300;nonce=\"{}\";keyid=\"{}\";\
         alg=\"ed25519\";tag=\"blindnym-v1\"",
        hex_lower(&{
            let mut rng = ChaCha20Rng::seed_from_u64(1);
            let mut nonce = [0u8; 16];
            rand_core::Rng::fill_bytes(&mut rng, &mut nonce);
            nonce
        }),
        hex_lower(&signer.public_key())
    );
    assert_eq!(headers.signature_input, expected_input);
    let covered = with_digest(request("eval1.example", Some("00ff")), &headers);
    let presented =
        Presented::parse(&covered, &headers.signature_input, &headers.signature).expect("parse");
    presented.verify(&covered).expect("verify");
    assert_eq!(presented.key, signer.public_key());
}

#[test]
fn a_signature_verifies_only_for_what_it_covers() {
    let (_, headers) = signed(Some("ab"));
    let good = with_digest(request("127.0.0.1:9082", Some("ab")), &headers);
    let presented =
        Presented::parse(&good, &headers.signature_input, &headers.signature).expect("parse");
    presented.verify(&good).expect("verify");
    let other_digest = content_digest(b"other body");
    for changed in [
        Covered {
            authority: "127.0.0.1:9080",
            ..good
        },
        Covered {
            path: "/v1/threshold/flow-a/sign",
            ..good
        },
        Covered {
            method: "PUT",
            ..good
        },
        Covered {
            realm: "another realm",
            ..good
        },
        Covered {
            tweak: Some("cd"),
            ..good
        },
        Covered {
            content_digest: &other_digest,
            ..good
        },
    ] {
        assert_eq!(presented.verify(&changed), Err(Error::BadSignature));
    }
    // Dropping or adding a covered header changes the component list the input must name.
    for changed in [
        Covered {
            tweak: None,
            ..good
        },
        Covered {
            session: Some("01"),
            ..good
        },
    ] {
        assert_eq!(
            Presented::parse(&changed, &headers.signature_input, &headers.signature),
            Err(Error::Malformed)
        );
        assert_eq!(presented.verify(&changed), Err(Error::Malformed));
    }
}

#[test]
fn the_body_is_bound_by_its_digest() {
    let (_, headers) = signed(None);
    check_content_digest(&headers.content_digest, b"body").expect("digest");
    assert_eq!(
        check_content_digest(&headers.content_digest, b"bodY"),
        Err(Error::VerifyError)
    );
    for spelling in [
        "sha-512=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU:",
        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=:",
        "sha-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:, sha-512=:x:",
    ] {
        assert_eq!(
            check_content_digest(spelling, b""),
            Err(Error::Malformed),
            "{spelling}"
        );
    }
}

#[test]
fn every_other_spelling_of_the_input_is_refused() {
    let (_, headers) = signed(None);
    let covered = with_digest(request("127.0.0.1:9082", None), &headers);
    let input = headers.signature_input.clone();
    let (created, rest) = input.split_once(";created=").expect("created");
    let time: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = &rest[time.len()..];
    let variants = [
        input.replacen("blindnym=", "other=", 1),
        input.replacen(
            "\"@method\" \"@authority\"",
            "\"@authority\" \"@method\"",
            1,
        ),
        input.replacen(";alg=\"ed25519\"", "", 1),
        input.replacen("alg=\"ed25519\"", "alg=\"rsa-pss-sha512\"", 1),
        input.replacen("tag=\"blindnym-v1\"", "tag=\"blindnym-v2\"", 1),
        format!("{input};x=1"),
        format!("{input}, second=()"),
        format!("{created};created=0{time}{after}"),
        // Lifetime over the maximum, and zero.
        input.replacen(";expires=1700000300", ";expires=1700000301", 1),
        input.replacen(";expires=1700000300", ";expires=1700000000", 1),
        // Upper-case hex in the keyid.
        {
            let (head, key) = input.split_once("keyid=\"").expect("keyid");
            format!("{head}keyid=\"{}", key.to_ascii_uppercase())
        },
    ];
    for variant in variants {
        assert_eq!(
            Presented::parse(&covered, &variant, &headers.signature),
            Err(Error::Malformed),
            "{variant}"
        );
    }
    let signature = headers.signature.clone();
    for variant in [
        signature.replacen("blindnym=", "other=", 1),
        signature.trim_end_matches(':').to_owned(),
        format!("{signature}, other=:AA==:"),
        signature.replacen("==:", "=:", 1),
        "blindnym=:AAAA:".to_owned(),
    ] {
        assert_eq!(
            Presented::parse(&covered, &input, &variant),
            Err(Error::Malformed),
            "{variant}"
        );
    }
    // A covered value with surrounding space or a control byte.
    for bad in [" blindnym dev", "blindnym\tdev", "blindnym dev "] {
        let changed = Covered {
            realm: bad,
            ..covered
        };
        assert_eq!(
            Presented::parse(&changed, &input, &signature),
            Err(Error::Malformed)
        );
    }
}

#[test]
fn freshness_allows_the_stated_skew_only() {
    let (_, headers) = signed(None);
    let covered = with_digest(request("127.0.0.1:9082", None), &headers);
    let presented =
        Presented::parse(&covered, &headers.signature_input, &headers.signature).expect("parse");
    assert!(presented.is_fresh(1_700_000_000, 0));
    assert!(presented.is_fresh(1_700_000_300, 0));
    assert!(!presented.is_fresh(1_700_000_301, 0));
    assert!(presented.is_fresh(1_699_999_970, 30));
    assert!(!presented.is_fresh(1_699_999_969, 30));
}

#[test]
fn authority_is_normalised_as_a_host_header_is() {
    assert_eq!(
        authority_of("https://Eval1.Example:443/v1").as_deref(),
        Ok("eval1.example")
    );
    assert_eq!(
        authority_of("http://127.0.0.1:9080").as_deref(),
        Ok("127.0.0.1:9080")
    );
    assert_eq!(
        authority_of("http://127.0.0.1:80/").as_deref(),
        Ok("127.0.0.1")
    );
    for bad in ["ftp://x", "https://", "https://user@host", "host:1"] {
        assert_eq!(authority_of(bad), Err(Error::Malformed), "{bad}");
    }
}
