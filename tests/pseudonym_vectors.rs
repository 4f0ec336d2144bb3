//! The pseudonym layer's own known-answer vectors (spec/11-vectors.md): the committed files
//! equal a fresh generation, every vector regenerates from its own inputs, changing one
//! byte of any field makes the check fail, and every negative vector is refused with exactly
//! its recorded error.
//!
//! `BLINDNYM_WRITE_VECTORS=1 cargo test --test pseudonym_vectors` rewrites `spec/vectors/`
//! from the generator in `tests/kat/` before comparing.

mod kat;

use kat::{committed, committed_equals};
use serde_json::Value;

#[test]
fn committed_vectors_match_generator() {
    for file in kat::FILES {
        committed_equals(file.name, &kat::generate_file(file).unwrap());
    }
    committed_equals(kat::NEGATIVE, &kat::generate_negative().unwrap());
}

#[test]
fn committed_vectors_check() {
    for file in kat::FILES {
        kat::check_file(file, &committed(file.name)).unwrap();
    }
}

#[test]
fn negative_vectors_are_refused_with_their_error() {
    let content = committed(kat::NEGATIVE);
    let cases = content["vectors"].as_array().expect("vectors array");
    assert!(!cases.is_empty());
    for case in cases {
        kat::check_negative(case).unwrap();
    }
    // The check notices a wrong expectation.
    let mut wrong = cases[0].clone();
    wrong["error"] = Value::String("Malformed".into());
    assert!(kat::check_negative(&wrong).is_err());
}

/// One-byte changes of a leaf: for hex strings the last decoded byte, for other strings the
/// first character, for numbers the low bit.
fn mutations(leaf: &Value) -> Vec<Value> {
    match leaf {
        Value::String(s) if !s.is_empty() && s.len() % 2 == 0 && hex::decode(s).is_ok() => {
            let mut b = hex::decode(s).expect("hex field");
            *b.last_mut().expect("non-empty field") ^= 0x01;
            vec![Value::String(hex::encode(b))]
        }
        Value::String(s) => {
            let mut c: Vec<char> = s.chars().collect();
            match c.first_mut() {
                Some(first) => *first = if *first == 'x' { 'y' } else { 'x' },
                None => c.push('x'),
            }
            vec![Value::String(c.into_iter().collect())]
        }
        Value::Number(n) => vec![Value::from(n.as_u64().expect("an unsigned number") ^ 1)],
        _ => vec![],
    }
}

/// JSON pointers of every leaf under `v`.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| leaves(x, format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| leaves(x, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

/// Every field of every vector: a one-byte change must make the check fail.
#[test]
fn changing_any_field_fails_the_check() {
    for file in kat::FILES {
        let vectors = committed(file.name)["vectors"].clone();
        let vectors = vectors.as_array().expect("vectors array");
        assert!(!vectors.is_empty(), "{}", file.name);
        for (index, vector) in vectors.iter().enumerate() {
            let mut paths = Vec::new();
            leaves(vector, String::new(), &mut paths);
            assert!(paths.len() > 1, "{}", file.name);
            for path in paths {
                for mutated in mutations(vector.pointer(&path).unwrap()) {
                    let mut changed = vector.clone();
                    *changed.pointer_mut(&path).unwrap() = mutated;
                    assert!(
                        kat::check_vector(file, &changed).is_err(),
                        "{} vector {index}: changing {path} went unnoticed",
                        file.name
                    );
                }
            }
        }
    }
}
