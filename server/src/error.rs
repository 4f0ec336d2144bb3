//! The service's one error type and how each maps to an HTTP status and a JSON body. A caller
//! sees the reason, never a stack trace; no error message holds a subject or an element.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Everything the service can refuse or fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// The request's signature is missing or was refused (`spec/12-threshold.md` §12.12.6).
    Unauthenticated(AuthRefusal),
    /// The caller may not use this flow or domain.
    Unauthorized,
    /// A protocol refusal of the library (quota, budget, malformed bytes, …).
    Protocol(blindnym::Error),
    /// The configuration or a secret file is unusable.
    Config(String),
    /// The store failed.
    Store(String),
    /// Threshold mode: too few other evaluators answered for what was asked.
    Peers(String),
    /// Too many anonymous flow H evaluations this second; retry after a second.
    RateLimited,
    /// A flow H request carried a credential (`Signature`, `Authorization`, `Cookie`): flow H
    /// is anonymous, and a client that names itself there is refused rather than recorded.
    CredentialOnAnonymousRoute,
    /// The route is not served in this mode (`"threshold mode"` or `"a single evaluator"`).
    NotServed(&'static str),
}

/// Why a request's signature was refused: each a `401` with its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthRefusal {
    /// No `Signature-Input` and `Signature` headers.
    Missing,
    /// Not the `blindnym` profile of RFC 9421: another form, a repeated header, a missing
    /// `Content-Digest` or `Blindnym-Realm`.
    MalformedSignature,
    /// The `keyid` is no configured caller's key.
    UnknownCaller,
    /// The signature is not the caller's over this request.
    BadSignature,
    /// A genuine signature for another evaluator (`@authority`): a replay from another
    /// evaluator of the set.
    WrongAudience,
    /// A genuine signature for another realm.
    WrongRealm,
    /// Signed too long ago, or for the future, past the allowed clock difference.
    StaleSignature,
    /// This evaluator has already accepted the signature's nonce.
    ReplayedNonce,
    /// The body is not the one the signed `Content-Digest` names.
    ContentDigestMismatch,
}

impl AuthRefusal {
    /// The code of the JSON body.
    pub fn code(self) -> &'static str {
        match self {
            AuthRefusal::Missing => "Unauthenticated",
            AuthRefusal::MalformedSignature => "MalformedSignature",
            AuthRefusal::UnknownCaller => "UnknownCaller",
            AuthRefusal::BadSignature => "BadRequestSignature",
            AuthRefusal::WrongAudience => "WrongAudience",
            AuthRefusal::WrongRealm => "WrongRealm",
            AuthRefusal::StaleSignature => "StaleSignature",
            AuthRefusal::ReplayedNonce => "ReplayedNonce",
            AuthRefusal::ContentDigestMismatch => "ContentDigestMismatch",
        }
    }

    fn message(self) -> &'static str {
        match self {
            AuthRefusal::Missing => "no request signature (Signature-Input, Signature)",
            AuthRefusal::MalformedSignature => {
                "the request signature is not the blindnym profile of RFC 9421"
            }
            AuthRefusal::UnknownCaller => "the signing key is no caller's",
            AuthRefusal::BadSignature => "the signature does not verify over this request",
            AuthRefusal::WrongAudience => "the request was signed for another evaluator",
            AuthRefusal::WrongRealm => "the request was signed for another realm",
            AuthRefusal::StaleSignature => "the signature is outside its validity time",
            AuthRefusal::ReplayedNonce => "this evaluator has already accepted this signature",
            AuthRefusal::ContentDigestMismatch => "the body is not the one signed",
        }
    }
}

impl core::fmt::Display for ServerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ServerError::Unauthenticated(reason) => f.write_str(reason.message()),
            ServerError::Unauthorized => f.write_str("caller may not use this flow or domain"),
            ServerError::Protocol(e) => write!(f, "{e}"),
            ServerError::Config(e) => write!(f, "configuration: {e}"),
            ServerError::Store(e) => write!(f, "store: {e}"),
            ServerError::Peers(e) => write!(f, "other evaluators: {e}"),
            ServerError::NotServed(mode) => write!(f, "this route is served by {mode} only"),
            ServerError::RateLimited => f.write_str("too many flow H evaluations; retry later"),
            ServerError::CredentialOnAnonymousRoute => {
                f.write_str("flow H is anonymous: send no Signature, Authorization or Cookie")
            }
        }
    }
}

impl std::error::Error for ServerError {}

impl From<blindnym::Error> for ServerError {
    fn from(error: blindnym::Error) -> Self {
        match error {
            blindnym::Error::Unauthorized => ServerError::Unauthorized,
            other => ServerError::Protocol(other),
        }
    }
}

impl From<rusqlite::Error> for ServerError {
    fn from(error: rusqlite::Error) -> Self {
        ServerError::Store(error.to_string())
    }
}

impl ServerError {
    /// The machine-readable code of the JSON body: the library's [`blindnym::Error::code`], or
    /// the service's own.
    pub fn code(&self) -> &'static str {
        match self {
            ServerError::Unauthenticated(reason) => reason.code(),
            ServerError::Unauthorized => "Unauthorized",
            ServerError::Protocol(e) => e.code(),
            ServerError::Config(_) => "Config",
            ServerError::Store(_) => "Store",
            ServerError::Peers(_) => "PeersUnavailable",
            ServerError::NotServed(_) => "NotServed",
            ServerError::RateLimited => "RateLimited",
            ServerError::CredentialOnAnonymousRoute => "CredentialOnAnonymousRoute",
        }
    }

    /// The HTTP status of the refusal.
    pub fn status(&self) -> StatusCode {
        use blindnym::Error as E;
        match self {
            ServerError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ServerError::Unauthorized => StatusCode::FORBIDDEN,
            ServerError::Protocol(E::QuotaExceeded) => StatusCode::TOO_MANY_REQUESTS,
            ServerError::Protocol(E::BudgetExhausted) => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::Protocol(E::RandomnessFailure) => StatusCode::INTERNAL_SERVER_ERROR,
            // Another record, or none yet: the data holder fetches the current one.
            ServerError::Protocol(E::TweakMismatch) => StatusCode::CONFLICT,
            ServerError::Protocol(E::StaleEpoch { .. } | E::UnknownEpoch { .. }) => {
                StatusCode::CONFLICT
            }
            ServerError::Peers(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::NotServed(_) => StatusCode::NOT_FOUND,
            ServerError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ServerError::CredentialOnAnonymousRoute => StatusCode::BAD_REQUEST,
            ServerError::Protocol(_) => StatusCode::BAD_REQUEST,
            ServerError::Config(_) | ServerError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.code(), "message": self.to_string() });
        // The evaluator or dealer a refusal names (`Error::culprit`): a peer's accusation
        // reaches the coordinator as data, not prose (review M1).
        if let ServerError::Protocol(error) = &self
            && let Some(culprit) = error.culprit()
        {
            body["culprit"] = serde_json::json!(culprit);
        }
        let mut response = (self.status(), axum::Json(body)).into_response();
        if matches!(self, ServerError::RateLimited) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

/// Shorthand for the service's results.
pub type Result<T> = core::result::Result<T, ServerError>;
