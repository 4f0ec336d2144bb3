//! The peer API's routes (`/peer/v1/inversion/*`, `spec/12-threshold.md` §12.12.2) on their
//! own listener with mutual TLS. They see only the threshold state, never the public API's.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path as UrlPath, State};
use axum::response::Response;
use axum::routing::{get, post};
use blindnym::threshold::inversion::{DealRequest, FinishRequest, ProductRequest, RunId};
use tokio_rustls::rustls::ServerConfig;

use crate::error::{Result, ServerError};
use crate::kit::{blocking, octets};
use crate::peer::{MAX_PEER_BODY, PeerIdentity};
use crate::state::AppState;
use crate::threshold::ThresholdState;
use crate::tls::TlsListener;

/// The index of the authenticated peer on this connection.
fn caller(threshold: &ThresholdState, identity: PeerIdentity) -> Result<u16> {
    identity
        .0
        .and_then(|digest| threshold.peer_index(&digest))
        .ok_or(ServerError::Unauthenticated(
            crate::error::AuthRefusal::UnknownCaller,
        ))
}

async fn deal(
    State(threshold): State<Arc<ThresholdState>>,
    ConnectInfo(identity): ConnectInfo<PeerIdentity>,
    body: Bytes,
) -> Result<Response> {
    let coordinator = caller(&threshold, identity)?;
    let dealing =
        blocking(move || threshold.deal(&DealRequest::from_bytes(&body)?, coordinator)).await?;
    Ok(octets(dealing.to_bytes()))
}

async fn private(
    State(threshold): State<Arc<ThresholdState>>,
    ConnectInfo(identity): ConnectInfo<PeerIdentity>,
    UrlPath((coordinator, run)): UrlPath<(u16, String)>,
) -> Result<Response> {
    // The share goes only to the peer it is for, known by its certificate.
    let recipient = caller(&threshold, identity)?;
    let run: RunId = hex::decode(&run)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(ServerError::Protocol(blindnym::Error::Malformed))?;
    let share = threshold.private_share(coordinator, &run, recipient)?;
    Ok(octets(share.to_bytes().to_vec()))
}

async fn product(
    State(threshold): State<Arc<ThresholdState>>,
    ConnectInfo(identity): ConnectInfo<PeerIdentity>,
    body: Bytes,
) -> Result<Response> {
    let coordinator = caller(&threshold, identity)?;
    // Decoding checks every point of every dealing: off the async workers too.
    let request = blocking(move || Ok(ProductRequest::from_bytes(&body)?)).await?;
    let product = threshold.product(request, coordinator).await?;
    Ok(octets(product.to_bytes().to_vec()))
}

async fn finish(
    State(threshold): State<Arc<ThresholdState>>,
    ConnectInfo(identity): ConnectInfo<PeerIdentity>,
    body: Bytes,
) -> Result<Response> {
    let coordinator = caller(&threshold, identity)?;
    blocking(move || threshold.finish(&FinishRequest::from_bytes(&body)?, coordinator)).await?;
    Ok(octets(Vec::new()))
}

/// The peer API's routes.
pub fn router(threshold: Arc<ThresholdState>) -> Router {
    Router::new()
        .route("/peer/v1/inversion/deal", post(deal))
        .route(
            "/peer/v1/inversion/{coordinator}/{run}/private",
            get(private),
        )
        .route("/peer/v1/inversion/product", post(product))
        .route("/peer/v1/inversion/finish", post(finish))
        .layer(DefaultBodyLimit::max(MAX_PEER_BODY))
        .with_state(threshold)
}

/// Serves the peer API of `state`'s threshold evaluator on `listener` (mutually
/// authenticated TLS) until `shutdown`.
///
/// # Errors
/// [`ServerError::NotServed`] for a single evaluator; [`ServerError::Config`] when serving
/// fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    tls: Arc<ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let threshold = state.threshold()?.clone();
    axum::serve(
        TlsListener::new(listener, tls)?,
        router(threshold).into_make_service_with_connect_info::<PeerIdentity>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(|e| ServerError::Config(format!("serve peers: {e}")))
}
