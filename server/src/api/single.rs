//! A single evaluator's flows (`spec/05`–`spec/07`): `/v1/flow-{h,a,b}/evaluate`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use blindnym::pseudonym::{attested, holder_derived};

use super::public::not_served as refusal;
use super::{bulk_batch, evaluate_one};
use crate::auth::Authenticated;
use crate::error::Result;
use crate::kit::{now, octets};
use crate::single::Single;
use crate::state::AppState;

type Served = State<(Arc<AppState>, Arc<Single>)>;

/// Flow H takes no caller (`spec/05-flow-h.md` §5.8): the rate limit needs no identity.
async fn flow_h(
    State((state, single)): Served,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response> {
    super::anonymous(&state, &headers)?;
    let request = holder_derived::Request::from_bytes(&body)?;
    let response = evaluate_one(&state, "holder-derived", "H", move || {
        Ok(single.holder_derived.evaluate(&request, &mut rand::rng())?)
    })
    .await?;
    Ok(octets(response.to_bytes().to_vec()))
}

async fn flow_a(
    State((state, single)): Served,
    caller: Authenticated,
    body: Bytes,
) -> Result<Response> {
    // The subject comes from the authentication layer, never from the body.
    let subject = caller.caller.subject()?;
    caller.check_body(&body)?;
    let request = attested::Request::from_bytes(&body)?;
    let evaluation = evaluate_one(&state, "attested", "A", move || {
        Ok(single
            .attested
            .evaluate(&subject, &request, now(), &mut rand::rng())?)
    })
    .await?;
    Ok(octets(evaluation.to_bytes().to_vec()))
}

async fn flow_b(
    State((state, single)): Served,
    caller: Authenticated,
    body: Bytes,
) -> Result<Response> {
    let answer = bulk_batch(
        state,
        &caller,
        body,
        |_| Ok(()),
        move |id, request| {
            Ok(single
                .bulk
                .evaluate_batch(id, request, &mut rand::rng())?
                .to_bytes()?)
        },
    )
    .await?;
    Ok(octets(answer))
}

const PATHS: [&str; 3] = [
    "/v1/flow-h/evaluate",
    "/v1/flow-a/evaluate",
    "/v1/flow-b/evaluate",
];

/// The single evaluator's routes.
pub(super) fn routes(state: Arc<AppState>, single: Arc<Single>) -> Router {
    Router::new()
        .route(PATHS[0], post(flow_h))
        .route(PATHS[1], post(flow_a))
        .route(PATHS[2], post(flow_b))
        .with_state((state, single))
}

/// The same paths, each refused as not served by `mode`.
pub(super) fn not_served(mode: &'static str) -> Router {
    PATHS.iter().fold(Router::new(), |router, path| {
        router.route(path, post(move || async move { refusal(mode) }))
    })
}
