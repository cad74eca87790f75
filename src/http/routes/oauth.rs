//! `POST /oauth/token` (particle-api.md §1).

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use crate::error::ApiError;
use crate::http::extract::{CurrentWorld, TokenForm};
use crate::http::routes::{ok, NoStore, Reply};
use crate::http::state::AppState;
use crate::particle::oauth::{grant, TokenResponse};
use crate::world::World;

/// The path of the token endpoint.
pub(crate) const PATH: &str = "/oauth/token";

/// `/oauth/token` answers every method: anything but a form POST gets §1.7 row 1.
/// (The path is spelled out, not [`PATH`]: `tests/api/openapi.rs` reads it here.)
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/oauth/token", any(create_token))
}

/// The token endpoint called by the pipeline without the router: the busiest route
/// skips route matching and the extractor plumbing, and answers exactly what
/// [`router`]'s handler answers (both go through [`create_token`]).
pub(crate) async fn answer(
    state: &AppState,
    world: std::sync::Arc<World>,
    req: Request,
) -> Response {
    match TokenForm::from_request(req, state).await {
        Ok(form) => create_token(CurrentWorld(world), form)
            .await
            .into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// particle-api.md §1: every grant; success body and headers as §1.5.
async fn create_token(
    CurrentWorld(world): CurrentWorld,
    TokenForm(request): TokenForm,
) -> Result<NoStore<Reply<TokenResponse>>, ApiError> {
    let response = grant(&world, &request)?;
    tracing::debug!(
        grant = request.params.get("grant_type").unwrap_or(""),
        "token issued"
    );
    Ok(NoStore(ok(response)))
}
