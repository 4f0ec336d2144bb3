//! A ceremony's one route on the peer listener (`spec/12-threshold.md` §12.13.3):
//! `POST /peer/v1/ceremony/{plan digest}/{round}`, mutual TLS, the sender known by its
//! certificate. A ceremony process serves nothing else.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path as UrlPath, State};
use axum::response::Response;
use axum::routing::post;
use tokio_rustls::rustls::ServerConfig;

use crate::ceremony::Mailbox;
use crate::error::{AuthRefusal, Result, ServerError};
use crate::kit::octets;
use crate::peer::{PeerClient, PeerIdentity};
use crate::tls::TlsListener;

/// The largest ceremony message: a generation's bundled broadcast at `t = 255` is under
/// 64 KiB.
const MAX_CEREMONY_BODY: usize = 256 * 1024;

type Shared = (Arc<Mailbox>, Arc<PeerClient>);

async fn message(
    State((mailbox, peers)): State<Shared>,
    ConnectInfo(identity): ConnectInfo<PeerIdentity>,
    UrlPath((digest, round)): UrlPath<(String, u8)>,
    body: Bytes,
) -> Result<Response> {
    let from = identity
        .0
        .and_then(|digest| peers.index_of(&digest))
        .ok_or(ServerError::Unauthenticated(AuthRefusal::UnknownCaller))?;
    let digest: [u8; 32] = hex::decode(&digest)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(ServerError::Protocol(blindnym::Error::Malformed))?;
    mailbox.put(&digest, round, from, &body)?;
    Ok(octets(Vec::new()))
}

/// Serves `mailbox` on `listener` (mutual TLS with `tls`, senders known through `peers`)
/// until `shutdown`.
///
/// # Errors
/// [`ServerError::Config`] when serving fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    mailbox: Arc<Mailbox>,
    peers: Arc<PeerClient>,
    tls: Arc<ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let router = Router::new()
        .route("/peer/v1/ceremony/{digest}/{round}", post(message))
        .layer(DefaultBodyLimit::max(MAX_CEREMONY_BODY))
        .with_state((mailbox, peers));
    axum::serve(
        TlsListener::new(listener, tls)?,
        router.into_make_service_with_connect_info::<PeerIdentity>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(|e| ServerError::Config(format!("serve ceremony: {e}")))
}
