//! Token management endpoints (particle-api.md §2.2–2.6).

use axum::extract::Path;
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;

use crate::error::{ApiError, Refusal};
use crate::http::extract::{
    basic_credentials, parse_form, refuse_bearer_by_table, Caller, CurrentWorld,
};
use crate::http::routes::reply::{ok, NoStore, OK_TRUE};
use crate::http::routes::CurrentRoute;
use crate::particle::oauth::{list_tokens_with_password, token_info};
use crate::tokens::parse_token;

/// §2.6: what the calling token is.
pub(super) async fn current_token(caller: Caller) -> impl IntoResponse {
    ok(token_info(&caller.world.store(), &caller.token))
}

/// §2.4: revokes the calling token.
pub(super) async fn delete_current_token(caller: Caller) -> impl IntoResponse {
    caller.world.store().tokens.remove(&caller.key);
    ok(OK_TRUE)
}

/// §2.5: revokes every token of the caller, the calling one included.
pub(super) async fn delete_all_tokens(caller: Caller) -> impl IntoResponse {
    caller.world.store().revoke_all_of(caller.token.owner);
    ok(OK_TRUE)
}

/// §2.3: possession of the token is the only credential (today's clients send none).
/// An unknown token gets 404 (fidelity choice, see the README).
pub(super) async fn delete_token(
    CurrentWorld(world): CurrentWorld,
    Path(token): Path<String>,
) -> Result<impl IntoResponse, Refusal> {
    let removed = parse_token(&token).and_then(|key| world.store().tokens.remove(&key));
    match removed {
        Some(_) => Ok(ok(OK_TRUE)),
        None => Err(ApiError::NotFound("Access token not found".into())
            .because("revocation of an unknown token")),
    }
}

/// §2.2: the legacy list, authenticated with the account's username and password.
pub(super) async fn list_tokens(
    CurrentWorld(world): CurrentWorld,
    CurrentRoute(route): CurrentRoute,
    headers: HeaderMap,
    uri: Uri,
) -> Result<impl IntoResponse, Refusal> {
    let credentials = basic_credentials(&headers);
    if credentials.is_none() {
        // §3.6: a bearer API-user token gets the documented refusal, via the route table.
        refuse_bearer_by_table(&world, &headers, route.need)?;
    }
    let query = parse_form(uri.query().unwrap_or("").as_bytes());
    let otp = query.get("otp");
    Ok(NoStore(ok(list_tokens_with_password(
        &world,
        credentials,
        otp,
    )?)))
}
