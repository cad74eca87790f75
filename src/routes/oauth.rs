//! `POST /oauth/token` (particle-api.md §1).

use axum::routing::any;
use axum::Router;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{CurrentWorld, TokenForm};
use crate::oauth::{grant, TokenResponse};
use crate::routes::{ok, NoStore, Reply};

/// `/oauth/token` answers every method: anything but a form POST gets §1.7 row 1.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/oauth/token", any(create_token))
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
