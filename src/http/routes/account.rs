//! Account lifecycle routes (particle-api-account.md A2): sign-up, account changes,
//! deletion, password reset and the tracking identity. Bodies are JSON (particle-api-js)
//! or forms (the docs, the old CLI).

use axum::response::IntoResponse;

use crate::error::Refusal;
use crate::http::extract::{Caller, CurrentWorld, JsonOrForm};
use crate::http::routes::reply::{ok, OK_TRUE};
use crate::particle::lifecycle::{
    change_account, delete_account, identify, redeem_reset, request_reset, sign_up, AccountChange,
    ResetRedemption, ResetRequest, SignUp,
};

/// A2.1 `POST /v1/users`: no token; a Bearer header alongside is ignored.
pub(super) async fn create_user(
    CurrentWorld(world): CurrentWorld,
    JsonOrForm(body): JsonOrForm<SignUp>,
) -> Result<impl IntoResponse, Refusal> {
    sign_up(&world, body)?;
    Ok(ok(OK_TRUE))
}

/// A2.3 `PUT /v1/user`.
pub(super) async fn update_user(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    let user = caller.human()?;
    let body: AccountChange = caller.body()?;
    Ok(ok(change_account(&caller.world, user, body)?))
}

/// A2.4 `DELETE /v1/user` (the password in a JSON or form body).
pub(super) async fn delete_user(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    let user = caller.human()?;
    Ok(ok(delete_account(&caller.world, user, caller.body()?)?))
}

/// A2.5 `POST /v1/user/password-reset`: 200 whether or not the user exists.
pub(super) async fn start_password_reset(
    CurrentWorld(world): CurrentWorld,
    JsonOrForm(body): JsonOrForm<ResetRequest>,
) -> Result<impl IntoResponse, Refusal> {
    Ok(ok(request_reset(&world, body)?))
}

/// A2.5 `PUT /v1/user/password-reset`.
pub(super) async fn finish_password_reset(
    CurrentWorld(world): CurrentWorld,
    JsonOrForm(body): JsonOrForm<ResetRedemption>,
) -> Result<impl IntoResponse, Refusal> {
    redeem_reset(&world, body)?;
    Ok(ok(OK_TRUE))
}

/// A2.6 `GET /v1/user/identify[?tracking=1]`: the same body either way.
pub(super) async fn identify_user(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    Ok(ok(identify(&caller.world, caller.token.owner)?))
}
