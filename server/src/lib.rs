//! `blindnym-server`: the blindnym evaluator as an HTTP service (flows H, A and B and the
//! signed key set), with budgets and quotas in an embedded SQLite store that survives
//! restarts, or in PostgreSQL shared by several replicas. The protocol is the `blindnym` crate's, unchanged: this crate authenticates
//! callers, moves bytes and keeps counts.
//!
//! Run `blindnym-server --dev` for a local evaluator with generated keys, or
//! `blindnym-server --config config.toml` (see `config.example.toml`).

pub mod app;
pub mod config;
pub mod dev;
pub mod error;
pub mod peer;
pub mod peer_wire;
mod postgres;
pub mod store;
pub mod threshold;
pub mod threshold_routes;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

pub use app::{AppState, router};
pub use config::Config;
pub use error::{Result, ServerError};

/// Serves `state` on `listener` until `shutdown` completes, then finishes the requests in
/// flight (graceful shutdown). With `tls`, every connection is TLS; without, plain HTTP
/// (development only).
///
/// # Errors
/// [`ServerError::Config`] when serving fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let failed = |e: std::io::Error| ServerError::Config(format!("serve: {e}"));
    match tls {
        Some(config) => axum::serve(tls::TlsListener::new(listener, config)?, router(state))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(failed),
        None => axum::serve(listener, router(state))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(failed),
    }
}
