//! The HTTP API (`server/openapi.yaml`): one router per `Mode` (`state`), the
//! routes common to both, and the layers every request passes (body limit, time limit, one log
//! line and the counters). Element paths take and return the project's own wire formats
//! (`application/octet-stream`, `spec/08-encodings.md`); the handlers' refusals are JSON
//! `{"error": code, "message": …}` with a status per refusal (`ServerError::status`). Two come
//! before a handler and are plain text: 413 for a body over the limit, 408 for a request past
//! its time limit. A request that times out may still have spent budget and quota: its
//! evaluation was already under way.

pub mod ceremony;
pub mod peer;
mod public;
mod signed;
mod single;
mod threshold;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

pub use single::EPOCH_HEADER;
pub use threshold::{SESSION_HEADER, TWEAK_HEADER};

use axum::body::Bytes;
use blindnym::pseudonym::bulk::{BatchRequest, CallerId};

use crate::auth::Authenticated;
use crate::error::{Result, ServerError};
use crate::kit::blocking;
use crate::state::{AppState, Mode};

/// The routes, and the label every other path is counted and logged under.
const ROUTES: [&str; 17] = [
    "/v1/threshold/flow-a/record",
    "/v1/threshold/flow-a/record/renew",
    "/v1/threshold/flow-a/evaluate",
    "/v1/threshold/flow-a/sign",
    "/v1/key-set",
    "/v1/flow-h/evaluate",
    "/v1/flow-h/evaluate/previous",
    "/v1/flow-a/evaluate",
    "/v1/flow-a/migrate",
    "/v1/flow-b/evaluate",
    "/v1/threshold/epoch-shares",
    "/v1/threshold/flow-h/evaluate",
    "/v1/threshold/flow-b/tweak",
    "/v1/threshold/flow-b/tweak/renew",
    "/v1/threshold/flow-b/evaluate",
    "/healthz",
    "/metrics",
];

fn route_label(path: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|r| **r == path)
        .copied()
        .unwrap_or("other")
}

/// One log line per request: method, route, status, milliseconds. Never a body, a subject,
/// a token or an element.
async fn log_and_count(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    // A fixed label, never the client's path: the metrics stay bounded and the log holds
    // nothing the client chose.
    let (method, route) = (request.method().clone(), route_label(request.uri().path()));
    let started = Instant::now();
    let response = match tokio::time::timeout(state.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "request timed out\n").into_response(),
    };
    let status = response.status().as_u16();
    state.metrics.request(route, status);
    eprintln!(
        "{method} {route} {status} {}ms",
        started.elapsed().as_millis()
    );
    response
}

/// The service's routes (`openapi.yaml` describes them): the common ones, this mode's, and
/// the other mode's answered `404 NotServed`.
pub fn router(state: Arc<AppState>) -> Router {
    let served = match &state.mode {
        Mode::Single(single) => single::routes(state.clone(), single.clone())
            .merge(threshold::not_served("threshold mode")),
        Mode::Threshold(threshold) => threshold::routes(state.clone(), threshold.clone())
            .merge(single::not_served("a single evaluator")),
    };
    public::routes(state.clone())
        .merge(served)
        .layer(DefaultBodyLimit::max(state.max_body))
        .layer(middleware::from_fn_with_state(state.clone(), log_and_count))
}

/// A flow B batch, single or threshold: the caller's flow and body digest, then (off the
/// async workers, after decoding) its grant, `check` (threshold mode: the named record), the
/// key's budget and `evaluate` (which charges the caller's quota), in the order of
/// `spec/07-flow-b.md` §7.4.
async fn bulk_batch(
    state: Arc<AppState>,
    epoch: u32,
    caller: &Authenticated,
    body: Bytes,
    check: impl FnOnce(&BatchRequest) -> Result<()> + Send + 'static,
    evaluate: impl FnOnce(&CallerId, &BatchRequest) -> Result<Vec<u8>> + Send + 'static,
) -> Result<Vec<u8>> {
    caller.caller.require(crate::auth::Flow::B)?;
    caller.check_body(&body)?;
    let id = caller.caller.id.clone();
    let s = state.clone();
    let (response, count) = blocking(move || {
        // The count is checked before any element is decoded (`BatchRequest::from_bytes`).
        let request = BatchRequest::from_bytes(&body)?;
        if !blindnym::pseudonym::bulk::Policy::allows(s.callers.grants(), &id, request.domain()) {
            return Err(ServerError::Unauthorized);
        }
        check(&request)?;
        let count = u64::try_from(request.blinded().len()).map_err(|_| {
            ServerError::Protocol(blindnym::Error::BatchTooLarge {
                len: request.blinded().len(),
            })
        })?;
        s.store
            .charge_budget(&s.budget_key(epoch, "bulk"), s.budget, count)?;
        Ok((evaluate(&id, &request)?, count))
    })
    .await?;
    state.metrics.evaluated("B", count);
    Ok(response)
}

/// Flow H's entry check (`spec/05-flow-h.md` §5.8): no credential on the request, then one
/// evaluation from the rate limit that needs no identity.
///
/// # Errors
/// [`ServerError::CredentialOnAnonymousRoute`]; [`ServerError::RateLimited`].
fn anonymous(state: &AppState, headers: &axum::http::HeaderMap) -> Result<()> {
    let named = ["signature", "signature-input", "authorization", "cookie"]
        .iter()
        .any(|name| headers.contains_key(*name));
    if named {
        return Err(ServerError::CredentialOnAnonymousRoute);
    }
    state.flow_h_rate.take()
}

/// One evaluation of flow H or A: `role`'s budget charged in each of `epochs` (two for a
/// migration, `spec/04-keys.md` §4.3; off the async workers), then `f`, then the flow
/// counted.
async fn evaluate_one<T: Send + 'static>(
    state: &Arc<AppState>,
    (role, epochs): (&'static str, &[u32]),
    flow: &'static str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let s = state.clone();
    let keys: Vec<String> = epochs.iter().map(|e| s.budget_key(*e, role)).collect();
    let out = blocking(move || {
        for key in &keys {
            s.store.charge_budget(key, s.budget, 1)?;
        }
        f()
    })
    .await?;
    state.metrics.evaluated(flow, 1);
    Ok(out)
}
