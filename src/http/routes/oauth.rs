//! `POST /oauth/token` (particle-api.md §1).

use axum::response::{IntoResponse, Response};

use crate::error::Refusal;
use crate::http::extract::{CurrentWorld, TokenForm};
use crate::http::routes::reply::{ok, NoStore};
use crate::particle::oauth::{grant, login_outcome};

/// particle-api.md §1: every grant; success body and headers as §1.5. Every method of
/// `/oauth/token` has a row naming this handler, so anything but a form POST gets §1.7
/// row 1 from the `TokenForm` extractor (only the POST row is rate-limited). The answer
/// carries the login's outcome (a `TokenOutcome` extension) for the failed-login lockout,
/// a refused form included.
pub(super) async fn create_token(
    CurrentWorld(world): CurrentWorld,
    form: Result<TokenForm, Refusal>,
) -> Response {
    let result = form.and_then(|TokenForm(request)| grant(&world, &request));
    let outcome = login_outcome(&result);
    let mut response = match result {
        Ok(response) => NoStore(ok(response)).into_response(),
        Err(refusal) => refusal.into_response(),
    };
    response.extensions_mut().insert(outcome);
    response
}
