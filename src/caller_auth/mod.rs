//! Caller authentication that no evaluator can carry to another (`spec/12-threshold.md`
//! §12.12.6, `spec/02-threat-model.md` §2.8): every request a caller (a subject's holder, a
//! data holder) sends to an evaluator is signed with the caller's own Ed25519 key as an HTTP
//! Message Signature (RFC 9421, algorithm `ed25519`, §3.3.6) over a fixed profile, with the
//! body bound by `Content-Digest` (RFC 9530, `sha-256`).
//!
//! The profile covers `@method`, `@authority` (the audience: the evaluator the request is for),
//! `@path`, `content-digest`, `blindnym-realm` and, when the request carries them,
//! `blindnym-tweak` and `blindnym-session`, in that order, with the parameters `created`,
//! `expires`, `nonce`, `keyid`, `alg` and `tag`, in that order. An evaluator that sees a
//! request can replay it only to itself, where its nonce is already spent: to another
//! evaluator its authority is wrong, and a changed authority breaks the signature.
//!
//! Sans-IO: [`RequestSigner::sign`] returns the three header values; [`Presented::parse`]
//! and [`Presented::verify`] check them from the header values alone, before any body is read,
//! and [`check_content_digest`] checks the body once it is.

mod signer;
#[cfg(test)]
mod tests;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub use signer::RequestSigner;

/// The signature's label in `Signature-Input` and `Signature`.
pub const LABEL: &str = "blindnym";
/// The `tag` parameter: this profile, version 1 (RFC 9421 §2.3).
pub const TAG: &str = "blindnym-v1";
/// The longest validity a signature may claim, `expires − created`, in seconds.
pub const MAX_LIFETIME_SECS: u64 = 300;
/// The header naming the realm a request is for.
pub const REALM_HEADER: &str = "blindnym-realm";
/// The optional covered headers, in their order in the profile.
pub const OPTIONAL_FIELDS: [&str; 2] = ["blindnym-tweak", "blindnym-session"];

/// What a signature covers: the request as the evaluator sees it. Field values are the header
/// values as sent, one instance each (RFC 9421 §2.1 strips surrounding whitespace; this
/// profile refuses it instead).
#[derive(Debug, Clone, Copy)]
pub struct Covered<'a> {
    /// `@method`, upper case (`POST`, `GET`).
    pub method: &'a str,
    /// `@authority`: host and port as the caller addressed the evaluator, lower case, without
    /// a default port (RFC 9421 §2.2.3).
    pub authority: &'a str,
    /// `@path`: the request path, without the query.
    pub path: &'a str,
    /// The `Content-Digest` header value.
    pub content_digest: &'a str,
    /// The `Blindnym-Realm` header value.
    pub realm: &'a str,
    /// `Blindnym-Tweak`, when the request carries it.
    pub tweak: Option<&'a str>,
    /// `Blindnym-Session`, when the request carries it.
    pub session: Option<&'a str>,
}

impl Covered<'_> {
    fn optional(&self) -> [(&'static str, Option<&str>); 2] {
        [
            (OPTIONAL_FIELDS[0], self.tweak),
            (OPTIONAL_FIELDS[1], self.session),
        ]
    }

    /// The inner list of covered components (RFC 9421 §2.3), as this profile orders it.
    fn components(&self) -> String {
        let mut list = String::from("(\"@method\" \"@authority\" \"@path\" \"content-digest\"");
        list.push_str(" \"");
        list.push_str(REALM_HEADER);
        list.push('"');
        for (name, value) in self.optional() {
            if value.is_some() {
                list.push_str(" \"");
                list.push_str(name);
                list.push('"');
            }
        }
        list.push(')');
        list
    }

    /// Each covered value must be a visible-ASCII header value without surrounding spaces.
    fn check_values(&self) -> Result<()> {
        let mut values = vec![
            self.method,
            self.authority,
            self.path,
            self.content_digest,
            self.realm,
        ];
        values.extend(self.tweak);
        values.extend(self.session);
        let clean = |v: &str| {
            !v.is_empty()
                && v.bytes().all(|b| (0x20..0x7f).contains(&b))
                && !v.starts_with(' ')
                && !v.ends_with(' ')
        };
        if values.into_iter().all(clean) {
            Ok(())
        } else {
            Err(Error::Malformed)
        }
    }

    /// The signature base (RFC 9421 §2.5) for `params` (the serialized `@signature-params`).
    fn base(&self, params: &str) -> Vec<u8> {
        let mut base = format!(
            "\"@method\": {}\n\"@authority\": {}\n\"@path\": {}\n\"content-digest\": {}\n\"{REALM_HEADER}\": {}\n",
            self.method, self.authority, self.path, self.content_digest, self.realm
        );
        for (name, value) in self.optional() {
            if let Some(value) = value {
                base.push_str(&format!("\"{name}\": {value}\n"));
            }
        }
        base.push_str("\"@signature-params\": ");
        base.push_str(params);
        base.into_bytes()
    }
}

/// The parameters of one signature (RFC 9421 §2.3), as this profile fixes them.
#[derive(Clone, PartialEq, Eq)]
pub struct Presented {
    /// `created`, seconds since the Unix epoch.
    pub created: u64,
    /// `expires`, seconds since the Unix epoch: after `created`, at most
    /// [`MAX_LIFETIME_SECS`] later.
    pub expires: u64,
    /// `nonce`: 16 random bytes, spent once per evaluator.
    pub nonce: [u8; 16],
    /// `keyid`: the caller's Ed25519 public key.
    pub key: [u8; 32],
    signature: [u8; 64],
    components: String,
}

impl core::fmt::Debug for Presented {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Presented")
            .field("created", &self.created)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// `@signature-params` without the component list: the parameters in the profile's order.
fn params_suffix(created: u64, expires: u64, nonce: &[u8; 16], key: &[u8; 32]) -> String {
    format!(
        ";created={created};expires={expires};nonce=\"{}\";keyid=\"{}\";alg=\"ed25519\";tag=\"{TAG}\"",
        hex_lower(nonce),
        hex_lower(key)
    )
}

fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
}

/// Exactly `N` bytes from `2N` lower-case hex digits.
fn hex_exact<const N: usize>(text: &str) -> Result<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return Err(Error::Malformed);
    }
    let value = |d: u8| match d {
        b'0'..=b'9' => Ok(d - b'0'),
        b'a'..=b'f' => Ok(d - b'a' + 10),
        _ => Err(Error::Malformed),
    };
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (value(pair[0])? << 4) | value(pair[1])?;
    }
    Ok(out)
}

/// A decimal integer without sign or leading zeros (RFC 8941 §3.3.1, non-negative).
fn decimal(text: &str) -> Result<u64> {
    if text.is_empty()
        || text.len() > 15
        || (text.len() > 1 && text.starts_with('0'))
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Error::Malformed);
    }
    text.parse().map_err(|_| Error::Malformed)
}

/// `label=:base64:` (an RFC 8941 byte sequence) holding exactly `N` bytes, canonically encoded.
fn byte_sequence<const N: usize>(value: &str, label: &str) -> Result<[u8; N]> {
    let inner = value
        .strip_prefix(label)
        .and_then(|v| v.strip_prefix("=:"))
        .and_then(|v| v.strip_suffix(':'))
        .ok_or(Error::Malformed)?;
    let bytes = STANDARD.decode(inner).map_err(|_| Error::Malformed)?;
    // The decoder refuses non-zero trailing bits; re-encoding refuses any other spelling.
    if STANDARD.encode(&bytes) != inner {
        return Err(Error::Malformed);
    }
    bytes.try_into().map_err(|_| Error::Malformed)
}

/// The `Content-Digest` value of `body` (RFC 9530 §2, `sha-256`).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

/// Checks that `header` is exactly the `Content-Digest` of `body`.
///
/// # Errors
/// [`Error::Malformed`] for another algorithm or spelling; [`Error::VerifyError`] when the
/// digest is of other bytes.
pub fn check_content_digest(header: &str, body: &[u8]) -> Result<()> {
    let digest: [u8; 32] = byte_sequence(header, "sha-256")?;
    if digest == <[u8; 32]>::from(Sha256::digest(body)) {
        Ok(())
    } else {
        Err(Error::VerifyError)
    }
}

impl Presented {
    /// Parses the `Signature-Input` and `Signature` header values of a request whose covered
    /// headers are `covered` (which fixes the component list the input must name). One
    /// signature, labelled [`LABEL`], in the profile's exact form; anything else is refused.
    ///
    /// # Errors
    /// [`Error::Malformed`] for any other form: another label, component list, parameter
    /// order or algorithm, a second signature, a non-canonical number or encoding, a lifetime
    /// of zero or over [`MAX_LIFETIME_SECS`].
    pub fn parse(covered: &Covered<'_>, signature_input: &str, signature: &str) -> Result<Self> {
        covered.check_values()?;
        let components = covered.components();
        let rest = signature_input
            .strip_prefix(LABEL)
            .and_then(|r| r.strip_prefix('='))
            .and_then(|r| r.strip_prefix(components.as_str()))
            .ok_or(Error::Malformed)?;
        let mut fields = rest.strip_prefix(';').ok_or(Error::Malformed)?.split(';');
        let mut param = |name: &str| {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name))
                .and_then(|f| f.strip_prefix('='))
                .ok_or(Error::Malformed)
        };
        let created = decimal(param("created")?)?;
        let expires = decimal(param("expires")?)?;
        let quoted = |v: &str| {
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned)
                .ok_or(Error::Malformed)
        };
        let nonce = hex_exact::<16>(&quoted(param("nonce")?)?)?;
        let key = hex_exact::<32>(&quoted(param("keyid")?)?)?;
        if quoted(param("alg")?)? != "ed25519" || quoted(param("tag")?)? != TAG {
            return Err(Error::Malformed);
        }
        if expires <= created || expires - created > MAX_LIFETIME_SECS {
            return Err(Error::Malformed);
        }
        // Nothing after the last parameter, and no second spelling of the same values.
        if fields.next().is_some()
            || signature_input
                != format!(
                    "{LABEL}={components}{}",
                    params_suffix(created, expires, &nonce, &key)
                )
        {
            return Err(Error::Malformed);
        }
        Ok(Self {
            created,
            expires,
            nonce,
            key,
            signature: byte_sequence(signature, LABEL)?,
            components,
        })
    }

    /// Whether the signature is fresh at `now` (seconds), allowing `skew` seconds of clock
    /// difference: `created ≤ now + skew` and `now ≤ expires + skew`.
    pub fn is_fresh(&self, now: u64, skew: u64) -> bool {
        self.created <= now.saturating_add(skew) && now <= self.expires.saturating_add(skew)
    }

    /// Verifies the signature over `covered` with the caller's key (`keyid`), strictly
    /// (RFC 8032 §5.1.7, no small-order keys or malleable signatures).
    ///
    /// # Errors
    /// [`Error::Malformed`] when `covered` is not the request the input was parsed for;
    /// [`Error::NonCanonicalElement`] for a key that is not a valid point;
    /// [`Error::BadSignature`] when the signature is not the caller's over these values.
    pub fn verify(&self, covered: &Covered<'_>) -> Result<()> {
        covered.check_values()?;
        if covered.components() != self.components {
            return Err(Error::Malformed);
        }
        let key = VerifyingKey::from_bytes(&self.key).map_err(|_| Error::NonCanonicalElement)?;
        let params = format!(
            "{}{}",
            self.components,
            params_suffix(self.created, self.expires, &self.nonce, &self.key)
        );
        key.verify_strict(
            &covered.base(&params),
            &Signature::from_bytes(&self.signature),
        )
        .map_err(|_| Error::BadSignature)
    }
}

/// The header values a signed request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `Content-Digest`.
    pub content_digest: String,
    /// `Signature-Input`.
    pub signature_input: String,
    /// `Signature`.
    pub signature: String,
}

/// The `@authority` of `url` (`scheme://host[:port]/…`): lower case, without the scheme's
/// default port (RFC 9421 §2.2.3), as an evaluator sees it in `Host`.
///
/// # Errors
/// [`Error::Malformed`] for a URL without `http://` or `https://`, or with user information.
pub fn authority_of(url: &str) -> Result<String> {
    let (rest, default_port) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, ":443")
    } else if let Some(rest) = url.strip_prefix("http://") {
        (rest, ":80")
    } else {
        return Err(Error::Malformed);
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(Error::Malformed);
    }
    let authority = authority.to_ascii_lowercase();
    Ok(authority
        .strip_suffix(default_port)
        .map_or(authority.clone(), str::to_owned))
}
