//! Small helpers with no domain in them, used by every layer above: the clock, the octet
//! response, running CPU-bound work off the async workers, hex headers and PEM files.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::{Result, ServerError};

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A `200` response with `application/octet-stream` bytes (`spec/08-encodings.md`).
pub(crate) fn octets(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

/// Runs CPU-bound protocol work off the async workers.
///
/// # Errors
/// `f`'s error; [`ServerError::Store`] when the worker panicked or was cancelled.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServerError::Store(format!("worker: {e}")))?
}

/// The `N` bytes a header carries in hex.
///
/// # Errors
/// `Protocol(TweakMismatch)` for a missing or malformed header: both headers that use it
/// (`Blindnym-Tweak`, `Blindnym-Session`) name state the caller must fetch again.
pub(crate) fn hex_header<const N: usize>(headers: &HeaderMap, name: &str) -> Result<[u8; N]> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| hex::decode(v).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or(ServerError::Protocol(blindnym::Error::TweakMismatch))
}

/// The certificates of a PEM file, at least one.
///
/// # Errors
/// [`ServerError::Config`] for an unreadable file or one without a certificate.
pub(crate) fn pem_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bad = |e: &dyn std::fmt::Display| ServerError::Config(format!("{}: {e}", path.display()));
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .collect::<core::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    if chain.is_empty() {
        return Err(bad(&"no certificate"));
    }
    Ok(chain)
}

/// A file's bytes.
///
/// # Errors
/// [`ServerError::Config`] naming the file.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
}
