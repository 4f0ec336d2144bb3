//! The service's one error type and how each maps to an HTTP status and a JSON body. A caller
//! sees the reason, never a stack trace; no error message holds a subject or an element.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Everything the service can refuse or fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// No `Authorization: Bearer` header, or a token no caller has.
    Unauthenticated,
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
    /// The route is not served in this mode (`"threshold mode"` or `"a single evaluator"`).
    NotServed(&'static str),
}

impl core::fmt::Display for ServerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ServerError::Unauthenticated => f.write_str("missing or unknown bearer token"),
            ServerError::Unauthorized => f.write_str("caller may not use this flow or domain"),
            ServerError::Protocol(e) => write!(f, "{e}"),
            ServerError::Config(e) => write!(f, "configuration: {e}"),
            ServerError::Store(e) => write!(f, "store: {e}"),
            ServerError::Peers(e) => write!(f, "other evaluators: {e}"),
            ServerError::NotServed(mode) => write!(f, "this route is served by {mode} only"),
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
            ServerError::Unauthenticated => "Unauthenticated",
            ServerError::Unauthorized => "Unauthorized",
            ServerError::Protocol(e) => e.code(),
            ServerError::Config(_) => "Config",
            ServerError::Store(_) => "Store",
            ServerError::Peers(_) => "PeersUnavailable",
            ServerError::NotServed(_) => "NotServed",
        }
    }

    /// The HTTP status of the refusal.
    pub fn status(&self) -> StatusCode {
        use blindnym::Error as E;
        match self {
            ServerError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ServerError::Unauthorized => StatusCode::FORBIDDEN,
            ServerError::Protocol(E::QuotaExceeded) => StatusCode::TOO_MANY_REQUESTS,
            ServerError::Protocol(E::BudgetExhausted) => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::Protocol(E::RandomnessFailure) => StatusCode::INTERNAL_SERVER_ERROR,
            // Another record, or none yet: the data holder fetches the current one.
            ServerError::Protocol(E::TweakMismatch) => StatusCode::CONFLICT,
            ServerError::Peers(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::NotServed(_) => StatusCode::NOT_FOUND,
            ServerError::Protocol(_) => StatusCode::BAD_REQUEST,
            ServerError::Config(_) | ServerError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code(), "message": self.to_string() });
        (self.status(), axum::Json(body)).into_response()
    }
}

/// Shorthand for the service's results.
pub type Result<T> = core::result::Result<T, ServerError>;
