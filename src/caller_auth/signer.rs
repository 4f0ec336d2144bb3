//! The caller's side: its key, and the three header values of each request it sends.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey};
use rand_core::CryptoRng;

use super::{Covered, MAX_LIFETIME_SECS, SignedHeaders, content_digest, params_suffix};
use crate::error::{Error, Result};

/// A caller's request-signing key (Ed25519). The evaluators store only its public key
/// ([`RequestSigner::public_key`]); the seed stays with the caller.
pub struct RequestSigner(SigningKey);

impl core::fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RequestSigner(<redacted>)")
    }
}

impl RequestSigner {
    /// A fresh key from `rng`.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self(SigningKey::from_bytes(&seed))
    }

    /// The key from its 32-byte seed.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let seed = zeroize::Zeroizing::new(crate::group::exact::<32>(bytes)?);
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The key from a key file's text: the seed as 64 lower-case hex digits, surrounding
    /// whitespace ignored (the form [`RequestSigner::to_hex`] writes).
    ///
    /// # Errors
    /// [`Error::Malformed`] for any other text.
    pub fn from_hex(text: &str) -> Result<Self> {
        let seed = zeroize::Zeroizing::new(super::hex_exact::<32>(text.trim())?);
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The seed as a key file's text (64 lower-case hex digits and a newline), to write with
    /// mode 0600.
    pub fn to_hex(&self) -> zeroize::Zeroizing<String> {
        // Built at its final capacity: no reallocation leaves a copy of the seed behind.
        let mut text = zeroize::Zeroizing::new(String::with_capacity(65));
        super::push_hex(&mut text, self.to_bytes().as_ref());
        text.push('\n');
        text
    }

    /// The public key as 64 lower-case hex digits (an evaluator configuration's
    /// `public_key`).
    pub fn public_key_hex(&self) -> String {
        super::hex_lower(&self.public_key())
    }

    /// The 32-byte seed, to write to the caller's key file (mode 0600).
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes())
    }

    /// The public key an evaluator's configuration lists for this caller.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// Signs one request for the evaluator at `covered.authority`: `created` is now (seconds
    /// since the Unix epoch), the signature expires [`MAX_LIFETIME_SECS`] later, and the nonce
    /// comes from `rng`. `covered.content_digest` is ignored: it is computed from `body`.
    ///
    /// # Errors
    /// [`Error::Malformed`] when a covered value is not a plain header value (visible ASCII,
    /// no surrounding spaces).
    pub fn sign(
        &self,
        covered: &Covered<'_>,
        body: &[u8],
        created: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<SignedHeaders> {
        let digest = content_digest(body);
        let covered = Covered {
            content_digest: &digest,
            ..*covered
        };
        covered.check_values()?;
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let expires = created
            .checked_add(MAX_LIFETIME_SECS)
            .ok_or(Error::Malformed)?;
        let params = format!(
            "{}{}",
            covered.components(),
            params_suffix(created, expires, &nonce, &self.public_key())
        );
        let signature = self.0.sign(&covered.base(&params));
        Ok(SignedHeaders {
            content_digest: digest,
            signature_input: format!("{}={params}", super::LABEL),
            signature: format!(
                "{}=:{}:",
                super::LABEL,
                STANDARD.encode(signature.to_bytes())
            ),
        })
    }

    /// Signs a `POST` of `body` to `url` (`http(s)://host[:port]/path`) for `realm`, with
    /// the `Blindnym-Tweak` and `Blindnym-Session` values the request will carry: what a
    /// client calls for each request ([`RequestSigner::sign`] with the URL's authority and
    /// path).
    ///
    /// # Errors
    /// [`Error::Malformed`] for a URL [`super::authority_of`] refuses or a value that is not
    /// a plain header value.
    #[allow(
        clippy::too_many_arguments,
        reason = "each is one covered value of the request"
    )]
    pub fn sign_post(
        &self,
        url: &str,
        realm: &str,
        tweak: Option<&str>,
        session: Option<&str>,
        body: &[u8],
        created: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<SignedHeaders> {
        let authority = super::authority_of(url)?;
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let path = after_scheme
            .find(['?', '#'])
            .map_or(after_scheme, |end| &after_scheme[..end]);
        let path = path.find('/').map_or("/", |start| &path[start..]);
        let covered = Covered {
            method: "POST",
            authority: &authority,
            path,
            content_digest: "",
            realm,
            tweak,
            session,
        };
        self.sign(&covered, body, created, rng)
    }

    /// Signs `base` as it is. For the RFC 9421 Appendix B.2.6 check only.
    #[cfg(test)]
    pub(crate) fn sign_base(&self, base: &[u8]) -> [u8; 64] {
        self.0.sign(base).to_bytes()
    }
}
