//! The public routes of an evaluator in threshold mode (`spec/12-threshold.md` §12.5, §12.7):
//! the signed verification shares, flow H share answers, a flow B domain's tweak record
//! (running the shared inversion with the peers when there is none yet) and flow B share
//! answers under a named record. Callers authenticate as for the single evaluator.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use blindnym::pseudonym::holder_derived;

use crate::app::{AppState, Flow, blocking, bulk_batch, octets};
use crate::error::{Result, ServerError};
use crate::threshold::Installed;

/// The header naming the record (SHA-256 of its bytes, hex) a flow B batch is answered under.
pub const TWEAK_HEADER: &str = "blindnym-tweak";

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

async fn record(state: Arc<AppState>, domain: Vec<u8>, renew: bool) -> Result<Response> {
    let threshold = state.threshold()?.clone();
    let installed: Installed = blocking(move || match threshold.installed(&domain) {
        Some(installed) if !renew => Ok(installed),
        _ => threshold.coordinate(&domain),
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
    record(state, domain, false).await
}

/// `POST /v1/threshold/flow-b/tweak/renew` (body: the domain): a new inversion among the
/// evaluators that answer now, when too few hold a share under the current record.
pub async fn renew(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let domain = granted_domain(&state, &headers, &body)?;
    record(state, domain, true).await
}

/// `POST /v1/threshold/flow-b/evaluate`: a batch answered with this evaluator's tweak share
/// under the record named by the `Blindnym-Tweak` header.
pub async fn flow_b(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let tweak: [u8; 32] = headers
        .get(TWEAK_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| hex::decode(v).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or(ServerError::Protocol(blindnym::Error::TweakMismatch))?;
    let threshold = state.threshold()?.clone();
    let answer = bulk_batch(state, &headers, body, move |_, id, request| {
        threshold.evaluate_bulk(id, request, &tweak)
    })
    .await?;
    Ok(octets(answer))
}
