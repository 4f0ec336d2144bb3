//! The public routes of an evaluator in threshold mode (`spec/12-threshold.md` §12.5, §12.7,
//! §12.8, §12.12): the signed verification shares, flow H share answers, the tweak record of a
//! flow B domain or of the authenticated flow A subject (running the shared inversion with the
//! peers when there is none yet), flow B share answers under a named record, and flow A's two
//! rounds. Callers authenticate as for the single evaluator; flow A's subject comes from the
//! token, never from a body.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use blindnym::pseudonym::{SubjectId, attested, holder_derived};
use blindnym::threshold::flow_a::SigningRequest;

use crate::app::{AppState, Flow, blocking, bulk_batch, octets};
use crate::error::{Result, ServerError};
use crate::peer_wire::{Role, RunId};
use crate::threshold::Installed;

/// The header naming the record (SHA-256 of its bytes, hex) a flow B batch or a flow A
/// round one is answered under.
pub const TWEAK_HEADER: &str = "blindnym-tweak";
/// The header carrying a flow A login's session between its two rounds (hex, 16 bytes).
pub const SESSION_HEADER: &str = "blindnym-session";

fn hex_header<const N: usize>(headers: &HeaderMap, name: &str) -> Result<[u8; N]> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| hex::decode(v).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or(ServerError::Protocol(blindnym::Error::TweakMismatch))
}

/// `GET /v1/threshold/epoch-shares`: the signed verification shares.
pub async fn epoch_shares(State(state): State<Arc<AppState>>) -> Result<Response> {
    Ok(octets(state.threshold()?.epoch_shares().to_vec()))
}

/// `POST /v1/threshold/flow-h/evaluate`: this evaluator's share answer with its proof.
pub async fn flow_h(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let caller = state.caller(&headers)?;
    if !caller.flows.contains(&Flow::H) {
        return Err(ServerError::Unauthorized);
    }
    let threshold = state.threshold()?.clone();
    let request = holder_derived::Request::from_bytes(&body)?;
    let s = state.clone();
    let response = blocking(move || {
        s.store
            .charge_budget(&s.budget_key("holder-derived"), s.budget, 1)?;
        Ok(threshold
            .holder_derived()
            .evaluate(&request, &mut rand::rng())?
            .to_bytes()?)
    })
    .await?;
    state.metrics.evaluated("H", 1);
    Ok(octets(response))
}

/// A data holder's domain, from the body, after its token, flow and grant are checked.
fn granted_domain(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>> {
    let caller = state.caller(headers)?;
    if !caller.flows.contains(&Flow::B)
        || !blindnym::pseudonym::bulk::Policy::allows(&state.grants, &caller.id, body)
    {
        return Err(ServerError::Unauthorized);
    }
    Ok(body.to_vec())
}

async fn record(state: Arc<AppState>, role: Role, input: Vec<u8>, renew: bool) -> Result<Response> {
    let threshold = state.threshold()?.clone();
    let installed: Installed = blocking(move || match threshold.installed(role, &input) {
        Some(installed) if !renew => Ok(installed),
        _ => threshold.coordinate(role, &input, renew),
    })
    .await?;
    Ok(octets(installed.record))
}

/// `POST /v1/threshold/flow-b/tweak` (body: the domain): the record this evaluator's answers
/// for the domain are made under; the first request for a domain runs the inversion.
pub async fn tweak(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let domain = granted_domain(&state, &headers, &body)?;
    record(state, Role::Bulk, domain, false).await
}

/// `POST /v1/threshold/flow-b/tweak/renew` (body: the domain): a new inversion among the
/// evaluators that answer now, when too few hold a share under the current record.
pub async fn renew(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let domain = granted_domain(&state, &headers, &body)?;
    record(state, Role::Bulk, domain, true).await
}

/// `POST /v1/threshold/flow-b/evaluate`: a batch answered with this evaluator's tweak share
/// under the record named by the `Blindnym-Tweak` header.
pub async fn flow_b(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let tweak: [u8; 32] = hex_header(&headers, TWEAK_HEADER)?;
    let threshold = state.threshold()?.clone();
    let check = threshold.clone();
    // The record is checked before the budget or quota is charged (§12.12.4).
    let answer = bulk_batch(
        state,
        &headers,
        body,
        move |request| check.check_installed(Role::Bulk, request.domain(), &tweak),
        move |_, id, request| threshold.evaluate_bulk(id, request, &tweak),
    )
    .await?;
    Ok(octets(answer))
}

/// The flow A subject the caller's token authenticates.
fn authenticated_subject(state: &AppState, headers: &HeaderMap) -> Result<SubjectId> {
    let caller = state.caller(headers)?;
    match (&caller.subject, caller.flows.contains(&Flow::A)) {
        (Some(subject), true) => Ok(subject.clone()),
        _ => Err(ServerError::Unauthorized),
    }
}

/// `POST /v1/threshold/flow-a/record`: the tweak record of the authenticated subject; the
/// first request runs the subject's inversion with the peers.
pub async fn subject_record(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response> {
    let subject = authenticated_subject(&state, &headers)?;
    record(state, Role::Attested, subject.as_bytes().to_vec(), false).await
}

/// `POST /v1/threshold/flow-a/record/renew`: a new inversion for the authenticated subject.
pub async fn subject_renew(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response> {
    let subject = authenticated_subject(&state, &headers)?;
    record(state, Role::Attested, subject.as_bytes().to_vec(), true).await
}

/// `POST /v1/threshold/flow-a/evaluate`: round one for the authenticated subject under the
/// record named by `Blindnym-Tweak`; the answer and commitments, and the session round two
/// names (`Blindnym-Session`).
pub async fn flow_a(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let subject = authenticated_subject(&state, &headers)?;
    let tweak: [u8; 32] = hex_header(&headers, TWEAK_HEADER)?;
    let threshold = state.threshold()?.clone();
    let request = attested::Request::from_bytes(&body)?;
    let s = state.clone();
    let (session, evaluation) = blocking(move || {
        // The record is checked before the budget is charged (§12.12.4).
        threshold.check_installed(Role::Attested, subject.as_bytes(), &tweak)?;
        s.store
            .charge_budget(&s.budget_key("attested"), s.budget, 1)?;
        threshold.evaluate_attested(&subject, &request, &tweak)
    })
    .await?;
    state.metrics.evaluated("A", 1);
    let mut response = octets(evaluation);
    if let Ok(value) = axum::http::HeaderValue::from_str(&hex::encode(session)) {
        response.headers_mut().insert(SESSION_HEADER, value);
    }
    Ok(response)
}

/// `POST /v1/threshold/flow-a/sign`: round two of the session named by `Blindnym-Session`,
/// for the same authenticated subject: this evaluator's signature share.
pub async fn flow_a_sign(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let subject = authenticated_subject(&state, &headers)?;
    let session: RunId = hex_header(&headers, SESSION_HEADER)?;
    let threshold = state.threshold()?.clone();
    let request = SigningRequest::from_bytes(&body)?;
    let share = blocking(move || threshold.sign_attested(&subject, &session, &request)).await?;
    Ok(octets(share))
}
