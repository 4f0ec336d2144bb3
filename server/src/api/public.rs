//! The routes both modes serve: the signed key set, health and metrics.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ServerError;
use crate::kit::octets;
use crate::state::AppState;

async fn key_set(State(state): State<Arc<AppState>>) -> Response {
    octets(state.key_set.clone())
}

async fn health() -> &'static str {
    "ok\n"
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let budgets = crate::kit::blocking({
        let state = state.clone();
        move || Ok(state.budgets_left())
    })
    .await
    .unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(state.answering_epoch(), &budgets),
    )
        .into_response()
}

/// `GET /v1/key-set`, `GET /healthz`, `GET /metrics`.
pub(super) fn routes(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/key-set", get(key_set))
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// The refusal of a route the other mode serves.
pub(super) fn not_served(mode: &'static str) -> ServerError {
    ServerError::NotServed(mode)
}
