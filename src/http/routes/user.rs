//! Account routes: `GET /v1/user`, `GET /v1/devices` (§5) and MFA enrolment (§4.1).

use axum::response::IntoResponse;

use crate::error::Refusal;
use crate::http::extract::Caller;
use crate::http::routes::reply::{ok, NoStore, OK_TRUE};
use crate::particle::account::{
    begin_enrolment, confirm_enrolment, devices_of, disable_mfa, user_info,
};

/// §5.1.
pub(super) async fn get_user(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    Ok(ok(user_info(&caller.world, caller.token.owner)?))
}

/// §5.2.
pub(super) async fn list_devices(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    Ok(ok(devices_of(&caller.world, caller.token.owner)?))
}

/// §4.1 begin.
pub(super) async fn start_mfa(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    let user = caller.human()?;
    Ok(NoStore(ok(begin_enrolment(&caller.world, user)?)))
}

/// §4.1 confirm (JSON body).
pub(super) async fn confirm_mfa(caller: Caller) -> Result<impl IntoResponse, Refusal> {
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
pub(super) async fn stop_mfa(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    let user = caller.human()?;
    disable_mfa(&caller.world, user, caller.body()?)?;
    Ok(ok(OK_TRUE))
}
