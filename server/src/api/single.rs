//! A single evaluator's flows (`spec/05`–`spec/07`): `/v1/flow-{h,a,b}/evaluate`, and for
//! accounts moving across a rotation (`spec/04-keys.md` §4.7) `/v1/flow-h/evaluate/previous`
//! and `/v1/flow-a/migrate`. Flow B names its epoch in `Blindnym-Epoch` (§4.6).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use blindnym::pseudonym::{attested, holder_derived};

use super::public::not_served as refusal;
use super::{bulk_batch, evaluate_one};
use crate::auth::Authenticated;
use crate::error::{Result, ServerError};
use crate::kit::{now, octets};
use crate::single::{EpochEvaluators, Single};
use crate::state::AppState;

/// The header in which a flow B caller names the epoch of its run (decimal): a run keeps one
/// epoch, and may finish under the previous one during the transition window.
pub const EPOCH_HEADER: &str = "blindnym-epoch";

type Served = State<(Arc<AppState>, Arc<Single>)>;

/// A flow H evaluation under the epoch `pick` chooses. Flow H takes no caller
/// (`spec/05-flow-h.md` §5.8): the rate limit needs no identity.
async fn holder_derived_under(
    state: Arc<AppState>,
    single: Arc<Single>,
    headers: &HeaderMap,
    body: &[u8],
    pick: fn(&Single, u64) -> Result<&EpochEvaluators>,
) -> Result<Response> {
    super::anonymous(&state, headers)?;
    let request = holder_derived::Request::from_bytes(body)?;
    // One clock reading: the epoch charged is the epoch that evaluates.
    let at = now();
    let epoch = [pick(&single, at)?.epoch];
    let response = evaluate_one(&state, ("holder-derived", &epoch), "H", move || {
        Ok(pick(&single, at)?
            .holder_derived
            .evaluate(&request, &mut rand::rng())?)
    })
    .await?;
    Ok(octets(response.to_bytes().to_vec()))
}

async fn flow_h(
    State((state, single)): Served,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    holder_derived_under(state, single, &headers, &body, |single, now| {
        Ok(single.answering(now))
    })
    .await
}

/// The previous epoch's answer, for `Holder::finalize_previous` (`spec/05-flow-h.md` §5.6).
async fn flow_h_previous(
    State((state, single)): Served,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    holder_derived_under(state, single, &headers, &body, |single, now| {
        Ok(single.migration(now)?.0)
    })
    .await
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
    let at = now();
    let epoch = [single.answering(at).epoch];
    let evaluation = evaluate_one(&state, ("attested", &epoch), "A", move || {
        Ok(single
            .answering(at)
            .attested
            .evaluate(&subject, &request, at, &mut rand::rng())?)
    })
    .await?;
    Ok(octets(evaluation.to_bytes().to_vec()))
}

/// A flow A migration (`spec/06-flow-a.md` §6.7): the request answered under the previous
/// and the current epoch, each key's budget charged, signed by the current epoch's key.
async fn flow_a_migrate(
    State((state, single)): Served,
    caller: Authenticated,
    body: Bytes,
) -> Result<Response> {
    let subject = caller.caller.subject()?;
    caller.check_body(&body)?;
    let request = attested::Request::from_bytes(&body)?;
    let at = now();
    let (previous, current) = single.migration(at)?;
    let epochs = [previous.epoch, current.epoch];
    let evaluation = evaluate_one(&state, ("attested", &epochs), "A", move || {
        let (previous, current) = single.migration(at)?;
        Ok(current.attested.evaluate_migration(
            &previous.attested,
            &subject,
            &request,
            at,
            &mut rand::rng(),
        )?)
    })
    .await?;
    Ok(octets(evaluation.to_bytes().to_vec()))
}

/// The epoch a flow B request names, or the answering one.
fn named_epoch(headers: &HeaderMap) -> Result<Option<u32>> {
    headers
        .get(EPOCH_HEADER)
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|text| text.parse().ok())
                .ok_or(ServerError::Protocol(blindnym::Error::Malformed))
        })
        .transpose()
}

async fn flow_b(
    State((state, single)): Served,
    caller: Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let at = now();
    let epoch = match named_epoch(&headers)? {
        Some(epoch) => single.named(epoch, at)?.epoch,
        None => single.answering(at).epoch,
    };
    let answer = bulk_batch(
        state,
        epoch,
        &caller,
        body,
        |_| Ok(()),
        move |id, request| {
            Ok(single
                .named(epoch, at)?
                .bulk
                .evaluate_batch(id, request, &mut rand::rng())?
                .to_bytes()?)
        },
    )
    .await?;
    Ok(octets(answer))
}

const PATHS: [&str; 5] = [
    "/v1/flow-h/evaluate",
    "/v1/flow-h/evaluate/previous",
    "/v1/flow-a/evaluate",
    "/v1/flow-a/migrate",
    "/v1/flow-b/evaluate",
];

/// The single evaluator's routes.
pub(super) fn routes(state: Arc<AppState>, single: Arc<Single>) -> Router {
    Router::new()
        .route(PATHS[0], post(flow_h))
        .route(PATHS[1], post(flow_h_previous))
        .route(PATHS[2], post(flow_a))
        .route(PATHS[3], post(flow_a_migrate))
        .route(PATHS[4], post(flow_b))
        .with_state((state, single))
}

/// The same paths, each refused as not served by `mode`.
pub(super) fn not_served(mode: &'static str) -> Router {
    PATHS.iter().fold(Router::new(), |router, path| {
        router.route(path, post(move || async move { refusal(mode) }))
    })
}
