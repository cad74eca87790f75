//! `POST /oauth/token` (particle-api.md §1).

use crate::error::Refusal;
use crate::http::extract::{CurrentWorld, TokenForm};
use crate::http::routes::{ok, NoStore, Reply};
use crate::particle::oauth::{grant, TokenResponse};

/// particle-api.md §1: every grant; success body and headers as §1.5. Every method of
/// `/oauth/token` has a row naming this handler, so anything but a form POST gets §1.7
/// row 1 from the `TokenForm` extractor (only the POST row is rate-limited).
pub(super) async fn create_token(
    CurrentWorld(world): CurrentWorld,
    TokenForm(request): TokenForm,
) -> Result<NoStore<Reply<TokenResponse>>, Refusal> {
    let response = grant(&world, &request)?;
    tracing::debug!(
        grant = request.params.get("grant_type").unwrap_or(""),
        "token issued"
    );
    Ok(NoStore(ok(response)))
}
