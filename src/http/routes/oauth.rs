//! `POST /oauth/token` (particle-api.md §1).

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::http::extract::TokenForm;
use crate::http::routes::{ok, NoStore, Reply};
use crate::http::state::AppState;
use crate::particle::oauth::{grant, TokenResponse};
use crate::world::World;

/// `/oauth/token`, answered by the pipeline without the router (its row in the route
/// table is `Direct`): anything but a form POST gets §1.7 row 1.
pub(super) async fn answer(state: &AppState, world: Arc<World>, req: Request) -> Response {
    match TokenForm::from_request(req, state).await {
        Ok(form) => create_token(&world, form).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// particle-api.md §1: every grant; success body and headers as §1.5.
fn create_token(
    world: &World,
    TokenForm(request): TokenForm,
) -> Result<NoStore<Reply<TokenResponse>>, ApiError> {
    let response = grant(world, &request)?;
    tracing::debug!(
        grant = request.params.get("grant_type").unwrap_or(""),
        "token issued"
    );
    Ok(NoStore(ok(response)))
}
