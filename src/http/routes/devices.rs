//! Device detail (particle-api-account.md A11): `GET /v1/devices/{deviceIdOrName}`, what
//! `particle list` calls for every online device.

use axum::extract::Path;
use axum::response::IntoResponse;

use crate::error::ApiError;
use crate::http::extract::Caller;
use crate::http::routes::ok;
use crate::particle::devices::own_device;

/// A11: one of the caller's devices, by id or name (the path parameter is named
/// `deviceId` like the event rows at the same position).
pub(super) async fn show_device(
    Path(device): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ok(own_device(&caller.world, caller.token.owner, &device)?))
}
