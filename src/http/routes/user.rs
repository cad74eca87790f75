//! Account routes: `GET /v1/user`, `GET /v1/devices` (§5) and MFA enrolment (§4.1).

use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::Router;

use crate::error::ApiError;
use crate::http::extract::Caller;
use crate::http::routes::{ok, NoStore, OK_TRUE};
use crate::http::state::AppState;
use crate::particle::account::{
    begin_enrolment, confirm_enrolment, devices_of, disable_mfa, user_info,
};

/// The account routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/user", get(get_user))
        .route("/v1/devices", get(list_devices))
        .route("/v1/user/mfa-enable", get(start_mfa).post(confirm_mfa))
        .route("/v1/user/mfa-disable", put(stop_mfa))
}

/// §5.1.
async fn get_user(caller: Caller) -> Result<impl IntoResponse, ApiError> {
    Ok(ok(user_info(&caller.world, caller.token.owner)?))
}

/// §5.2.
async fn list_devices(caller: Caller) -> Result<impl IntoResponse, ApiError> {
    Ok(ok(devices_of(&caller.world, caller.token.owner)?))
}

/// §4.1 begin.
async fn start_mfa(caller: Caller) -> Result<impl IntoResponse, ApiError> {
    let user = caller.human()?;
    Ok(NoStore(ok(begin_enrolment(&caller.world, user)?)))
}

/// §4.1 confirm (JSON body).
async fn confirm_mfa(caller: Caller) -> Result<impl IntoResponse, ApiError> {
    let user = caller.human()?;
    let body = caller.body()?;
    Ok(NoStore(ok(confirm_enrolment(
        &caller.world,
        user,
        caller.key,
        body,
    )?)))
}

/// §4.1 disable (JSON body with `current_password`).
async fn stop_mfa(caller: Caller) -> Result<impl IntoResponse, ApiError> {
    let user = caller.human()?;
    disable_mfa(&caller.world, user, caller.body()?)?;
    Ok(ok(OK_TRUE))
}
