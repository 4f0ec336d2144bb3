//! The public routes of an evaluator in threshold mode (`spec/12-threshold.md` §12.5, §12.7,
//! §12.8, §12.12): the signed verification shares, flow H share answers, the tweak record of a
//! flow B domain or of the authenticated flow A subject (running the shared inversion with the
//! peers when there is none yet), flow B share answers under a named record, and flow A's two
//! rounds. Callers sign each request for this evaluator alone (`crate::auth`); flow A's
//! subject comes from the caller's key, never from a body; flow H takes no caller.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use blindnym::pseudonym::{attested, holder_derived};
use blindnym::threshold::flow_a::SigningRequest;
use blindnym::threshold::inversion::{RunId, Target};

use super::public::not_served as refusal;
use super::{bulk_batch, evaluate_one};
use crate::auth::{Authenticated, Flow};
use crate::error::Result;
use crate::kit::{blocking, hex_header, octets};
use crate::state::AppState;
use crate::threshold::ThresholdState;

/// The header naming the record (SHA-256 of its bytes, hex) a flow B batch or a flow A
/// round one is answered under.
pub const TWEAK_HEADER: &str = "blindnym-tweak";
/// The header carrying a flow A login's session between its two rounds (hex, 16 bytes).
pub const SESSION_HEADER: &str = "blindnym-session";

type Served = State<(Arc<AppState>, Arc<ThresholdState>)>;

/// `GET /v1/threshold/epoch-shares`: the signed verification shares.
async fn epoch_shares(State((_, threshold)): Served) -> Response {
    octets(threshold.epoch_shares().to_vec())
}

/// `POST /v1/threshold/flow-h/evaluate`: this evaluator's share answer with its proof.
/// Flow H takes no caller (`spec/05-flow-h.md` §5.8): the rate limit needs no identity.
async fn flow_h(
    State((state, threshold)): Served,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    super::anonymous(&state, &headers)?;
    let request = holder_derived::Request::from_bytes(&body)?;
    let epoch = [threshold.epoch()];
    let response = evaluate_one(&state, ("holder-derived", &epoch), "H", move || {
        Ok(threshold
            .holder_derived()
            .evaluate(&request, &mut rand::rng())?
            .to_bytes()?)
    })
    .await?;
    Ok(octets(response))
}

/// The record of `target`, running its inversion when there is none yet or `renew` asks.
async fn record(threshold: Arc<ThresholdState>, target: Target, renew: bool) -> Result<Response> {
    let installed = match threshold.installed(&target) {
        Some(installed) if !renew => installed,
        _ => threshold.coordinate(&target, renew).await?,
    };
    Ok(octets(installed.record))
}

/// A data holder's domain, from the body, after its flow, body digest and grant are checked.
fn granted_domain(state: &AppState, caller: &Authenticated, body: &[u8]) -> Result<Target> {
    caller.caller.require(Flow::B)?;
    caller.check_body(body)?;
    if !blindnym::pseudonym::bulk::Policy::allows(state.callers.grants(), &caller.caller.id, body) {
        return Err(crate::error::ServerError::Unauthorized);
    }
    Ok(Target::domain(body)?)
}

/// `POST /v1/threshold/flow-b/tweak` (body: the domain): the record this evaluator's answers
/// for the domain are made under; the first request for a domain runs the inversion.
async fn tweak(
    State((state, threshold)): Served,
    caller: Authenticated,
    body: Bytes,
) -> Result<Response> {
    let domain = granted_domain(&state, &caller, &body)?;
    record(threshold, domain, false).await
}

/// `POST /v1/threshold/flow-b/tweak/renew` (body: the domain): a new inversion among the
/// evaluators that answer now, when too few hold a share under the current record.
async fn renew(
    State((state, threshold)): Served,
    caller: Authenticated,
    body: Bytes,
) -> Result<Response> {
    let domain = granted_domain(&state, &caller, &body)?;
    record(threshold, domain, true).await
}

/// `POST /v1/threshold/flow-b/evaluate`: a batch answered with this evaluator's tweak share
/// under the record named by the `Blindnym-Tweak` header.
async fn flow_b(
    State((state, threshold)): Served,
    caller: Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let tweak: [u8; 32] = hex_header(&headers, TWEAK_HEADER)?;
    let check = threshold.clone();
    // The record is checked before the budget or quota is charged (§12.12.4).
    let epoch = threshold.epoch();
    let answer = bulk_batch(
        state,
        epoch,
        &caller,
        body,
        move |request| check.check_installed(&Target::domain(request.domain())?, &tweak),
        move |id, request| threshold.evaluate_bulk(id, request, &tweak),
    )
    .await?;
    Ok(octets(answer))
}

/// `POST /v1/threshold/flow-a/record`: the tweak record of the authenticated subject; the
/// first request runs the subject's inversion with the peers.
async fn subject_record(State((_, threshold)): Served, caller: Authenticated) -> Result<Response> {
    let subject = caller.caller.subject()?;
    record(threshold, Target::Subject(subject), false).await
}

/// `POST /v1/threshold/flow-a/record/renew`: a new inversion for the authenticated subject.
async fn subject_renew(State((_, threshold)): Served, caller: Authenticated) -> Result<Response> {
    let subject = caller.caller.subject()?;
    record(threshold, Target::Subject(subject), true).await
}

/// `POST /v1/threshold/flow-a/evaluate`: round one for the authenticated subject under the
/// record named by `Blindnym-Tweak`; the answer and commitments, and the session round two
/// names (`Blindnym-Session`).
async fn flow_a(
    State((state, threshold)): Served,
    caller: Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let subject = caller.caller.subject()?;
    caller.check_body(&body)?;
    let tweak: [u8; 32] = hex_header(&headers, TWEAK_HEADER)?;
    let request = attested::Request::from_bytes(&body)?;
    // The record is checked before the budget is charged (§12.12.4).
    threshold.check_installed(&Target::Subject(subject.clone()), &tweak)?;
    let epoch = [threshold.epoch()];
    let (session, evaluation) = evaluate_one(&state, ("attested", &epoch), "A", move || {
        threshold.evaluate_attested(&subject, &request, &tweak)
    })
    .await?;
    let mut response = octets(evaluation);
    if let Ok(value) = axum::http::HeaderValue::from_str(&hex::encode(session)) {
        response.headers_mut().insert(SESSION_HEADER, value);
    }
    Ok(response)
}

/// `POST /v1/threshold/flow-a/sign`: round two of the session named by `Blindnym-Session`,
/// for the same authenticated subject: this evaluator's signature share.
async fn flow_a_sign(
    State((_, threshold)): Served,
    caller: Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let subject = caller.caller.subject()?;
    caller.check_body(&body)?;
    let session: RunId = hex_header(&headers, SESSION_HEADER)?;
    let request = SigningRequest::from_bytes(&body)?;
    let share = blocking(move || threshold.sign_attested(&subject, &session, &request)).await?;
    Ok(octets(share))
}

const GET_PATHS: [&str; 1] = ["/v1/threshold/epoch-shares"];
const POST_PATHS: [&str; 8] = [
    "/v1/threshold/flow-h/evaluate",
    "/v1/threshold/flow-b/tweak",
    "/v1/threshold/flow-b/tweak/renew",
    "/v1/threshold/flow-b/evaluate",
    "/v1/threshold/flow-a/record",
    "/v1/threshold/flow-a/record/renew",
    "/v1/threshold/flow-a/evaluate",
    "/v1/threshold/flow-a/sign",
];

/// The threshold evaluator's public routes.
pub(super) fn routes(state: Arc<AppState>, threshold: Arc<ThresholdState>) -> Router {
    Router::new()
        .route(GET_PATHS[0], get(epoch_shares))
        .route(POST_PATHS[0], post(flow_h))
        .route(POST_PATHS[1], post(tweak))
        .route(POST_PATHS[2], post(renew))
        .route(POST_PATHS[3], post(flow_b))
        .route(POST_PATHS[4], post(subject_record))
        .route(POST_PATHS[5], post(subject_renew))
        .route(POST_PATHS[6], post(flow_a))
        .route(POST_PATHS[7], post(flow_a_sign))
        .with_state((state, threshold))
}

/// The same paths, each refused as not served by `mode`.
pub(super) fn not_served(mode: &'static str) -> Router {
    let router = GET_PATHS.iter().fold(Router::new(), |router, path| {
        router.route(path, get(move || async move { refusal(mode) }))
    });
    POST_PATHS.iter().fold(router, |router, path| {
        router.route(path, post(move || async move { refusal(mode) }))
    })
}
