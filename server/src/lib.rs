//! `blindnym-server`: the blindnym evaluator as an HTTP service (flows H, A and B and the
//! signed key set), with budgets and quotas in an embedded SQLite store that survives
//! restarts, or in PostgreSQL shared by several replicas. The protocol is the `blindnym`
//! crate's, unchanged: this crate authenticates callers, moves bytes and keeps counts.
//!
//! The layers, each importing only those below it:
//!
//! - [`api`]: axum only — one router per mode, the public, threshold and peer routes, and
//!   the layers every request passes;
//! - [`state`]: what the handlers share, with the evaluator as one `Mode`;
//! - the services, without axum: `auth` (callers), [`store`] (budgets and quotas), `single`
//!   (a single evaluator's keys), [`threshold`] (one evaluator of a set) and [`peer`] (its
//!   client of the others and the peer listener's TLS) and [`ceremony`] (key generation,
//!   refresh and committee change among the evaluators);
//! - the kit: [`error`], [`config`], [`tls`], `kit` (clock, octets, blocking, PEM) and
//!   [`dev`] (a development set).
//!
//! Run `blindnym-server --dev` for a local evaluator with generated keys, or
//! `blindnym-server --config config.toml` (see `config.example.toml`).

pub mod api;
mod auth;
pub mod ceremony;
pub mod config;
pub mod dev;
pub mod error;
mod kit;
mod metrics;
pub mod peer;
mod rate;
pub mod single;
pub mod state;
pub mod store;
pub mod threshold;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

pub use api::peer::serve as serve_peers;
pub use api::router;
pub use config::Config;
pub use error::{Result, ServerError};
pub use state::AppState;

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
