//! A data holder's request key (`blindnym::caller_auth`): every request to an evaluator is
//! signed with it for that evaluator alone (RFC 9421), so no evaluator can replay it to
//! another. The secret seed never crosses into Python objects after it is read.

use std::collections::HashMap;

use blindnym::caller_auth::RequestSigner;
use pyo3::prelude::*;

use crate::errors::{invalid, to_py};

/// A caller's Ed25519 request key, from the text of a key file (64 hex digits;
/// `blindnym keygen` or `blindnym-server --dev` writes one).
#[pyclass(frozen, module = "blindnym._blindnym")]
pub struct RequestKey(RequestSigner);

impl std::fmt::Debug for RequestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestKey(<redacted>)")
    }
}

#[pymethods]
impl RequestKey {
    /// The key from a key file's text.
    ///
    /// Raises `InvalidInput` for any other text.
    #[new]
    fn new(text: &str) -> PyResult<Self> {
        RequestSigner::from_hex(text)
            .map(Self)
            .map_err(|_| invalid("InvalidInput", "a request key is 64 hex digits"))
    }

    /// The public key (64 hex digits) the evaluators' `[[callers]]` list.
    fn public_key_hex(&self) -> String {
        self.0.public_key_hex()
    }

    /// The headers that sign a POST of `body` to `url` for `realm`, with `Blindnym-Tweak`
    /// when `tweak` is given: `Content-Digest`, `Signature-Input`, `Signature`,
    /// `Blindnym-Realm` (and the tweak).
    ///
    /// Raises `InvalidInput` for a URL without http(s) or a realm that is not a plain header
    /// value.
    #[pyo3(signature = (url, realm, body, tweak=None))]
    fn sign(
        &self,
        url: &str,
        realm: &str,
        body: &[u8],
        tweak: Option<&str>,
    ) -> PyResult<HashMap<String, String>> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let signed = self
            .0
            .sign_post(url, realm, tweak, None, body, now, &mut rand::rng())
            .map_err(to_py)?;
        let mut headers = HashMap::from([
            ("Content-Digest".to_owned(), signed.content_digest),
            ("Signature-Input".to_owned(), signed.signature_input),
            ("Signature".to_owned(), signed.signature),
            ("Blindnym-Realm".to_owned(), realm.to_owned()),
        ]);
        if let Some(tweak) = tweak {
            headers.insert("Blindnym-Tweak".to_owned(), tweak.to_owned());
        }
        Ok(headers)
    }
}
