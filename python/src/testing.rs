//! Functions for checking the binding against known answers: the pseudonym text form, the
//! RFC 9497 key derivation and evaluation, and the non-blind flow B evaluation under a root
//! seed (the reference a distributed run is compared with). Not for deployments: a root seed
//! is the evaluator's secret.

use blindnym::pseudonym::bulk::{Evaluator, Grants, MemoryQuota};
use blindnym::pseudonym::{EvaluationBudget, KeyRatchet, Pseudonym, RootSeed};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_arrow::PyArray;

use crate::arrow_io::{identities, texts};
use crate::errors::{invalid, to_py};

/// The text form of a 32-byte pseudonym (`spec/08-encodings.md` §8.4).
#[pyfunction]
pub fn pseudonym_text(pseudonym: &[u8]) -> PyResult<String> {
    Ok(Pseudonym::from_bytes(pseudonym).map_err(to_py)?.to_text())
}

/// The 32 bytes of a pseudonym's text form; raises `InvalidInput` (`InvalidText`) for a
/// mistyped one.
#[pyfunction]
pub fn pseudonym_parse<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(
        py,
        Pseudonym::parse(text).map_err(to_py)?.as_bytes(),
    ))
}

/// Flow B without blinding, under the key of `epoch` of the ratchet started at `first_epoch`
/// from the root seed for `realm` (`spec/04-keys.md` §4.2): the reference pseudonyms of `ids`
/// in `domain` (pyarrow UTF-8).
#[pyfunction]
pub fn evaluate_direct<'py>(
    py: Python<'py>,
    root_seed: &[u8],
    realm: &[u8],
    first_epoch: u32,
    epoch: u32,
    domain: &[u8],
    ids: PyArray,
) -> PyResult<Bound<'py, PyAny>> {
    let root = RootSeed::from_bytes(root_seed).map_err(to_py)?;
    let keys = KeyRatchet::new(&root, realm, first_epoch)
        .and_then(|ratchet| ratchet.keys_for(epoch))
        .map_err(to_py)?;
    let evaluator = Evaluator::new(
        keys.bulk(),
        Grants::new(),
        MemoryQuota::new(0),
        EvaluationBudget::default(),
    );
    let pseudonyms = identities(ids.array())?
        .iter()
        .map(|id| evaluator.evaluate_direct(domain, id))
        .collect::<blindnym::Result<Vec<_>>>()
        .map_err(to_py)?;
    texts(py, &pseudonyms)
}

fn seed(seed: &[u8]) -> PyResult<[u8; 32]> {
    seed.try_into()
        .map_err(|_| invalid("InvalidLength", "an RFC 9497 seed is 32 bytes"))
}

/// RFC 9497 §3.2.1 DeriveKeyPair for `mode` ("OPRF", "VOPRF" or "POPRF"): `(skS, pkS)`.
#[pyfunction]
pub fn rfc9497_derive_key_pair<'py>(
    py: Python<'py>,
    mode: &str,
    seed_bytes: &[u8],
    key_info: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let seed = seed(seed_bytes)?;
    let (secret, public) = match mode {
        "OPRF" => {
            let server = blindnym::OprfServer::derive(&seed, key_info).map_err(to_py)?;
            let secret = server.secret_key().to_bytes();
            (secret, None)
        }
        "VOPRF" => {
            let server = blindnym::VoprfServer::derive(&seed, key_info).map_err(to_py)?;
            (
                server.key_pair().secret().to_bytes(),
                Some(server.public_key().to_bytes()),
            )
        }
        "POPRF" => {
            let server = blindnym::PoprfServer::derive(&seed, key_info).map_err(to_py)?;
            (
                server.key_pair().secret().to_bytes(),
                Some(server.public_key().to_bytes()),
            )
        }
        other => return Err(invalid("InvalidInput", format!("unknown mode {other:?}"))),
    };
    Ok((
        PyBytes::new(py, secret.as_ref()),
        PyBytes::new(py, public.as_ref().map_or(&[][..], |p| &p[..])),
    ))
}

/// RFC 9497 Evaluate (the server's non-blind evaluation) under the key derived from `seed`
/// and `key_info`, for `mode`; `info` only for POPRF.
#[pyfunction]
#[pyo3(signature = (mode, seed_bytes, key_info, input, info=None))]
pub fn rfc9497_evaluate<'py>(
    py: Python<'py>,
    mode: &str,
    seed_bytes: &[u8],
    key_info: &[u8],
    input: &[u8],
    info: Option<&[u8]>,
) -> PyResult<Bound<'py, PyBytes>> {
    let seed = seed(seed_bytes)?;
    let output = match mode {
        "OPRF" => blindnym::OprfServer::derive(&seed, key_info)
            .and_then(|s| s.evaluate(input))
            .map_err(to_py)?,
        "VOPRF" => blindnym::VoprfServer::derive(&seed, key_info)
            .and_then(|s| s.evaluate(input))
            .map_err(to_py)?,
        "POPRF" => blindnym::PoprfServer::derive(&seed, key_info)
            .and_then(|s| s.evaluate(input, info.unwrap_or_default()))
            .map_err(to_py)?,
        other => return Err(invalid("InvalidInput", format!("unknown mode {other:?}"))),
    };
    Ok(PyBytes::new(py, output.as_bytes()))
}
