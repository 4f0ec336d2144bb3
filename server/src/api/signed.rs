//! The caller, from the request's headers alone (`crate::auth`): an extractor that runs before
//! any body is read, so nothing of an unauthenticated request is buffered.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::Authenticated;
use crate::error::{Result, ServerError};
use crate::state::AppState;

impl<T: Send + Sync> FromRequestParts<(Arc<AppState>, Arc<T>)> for Authenticated {
    type Rejection = ServerError;

    async fn from_request_parts(
        parts: &mut Parts,
        (state, _): &(Arc<AppState>, Arc<T>),
    ) -> Result<Self> {
        state.callers.authenticate(parts, &state.store).await
    }
}
