//! The device routes (particle-api-devices.md D2–D4, D8, D11; account spec A11 for the
//! detail): sandbox `/v1/devices/{deviceIdOrName}…` and product
//! `/v1/products/{p}/devices/{deviceId}…` variants share one handler body each, told
//! apart by [`Via`]. Handlers read the path and body and make one domain call.

use std::time::Duration;

use axum::extract::{Path, RawQuery, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, Refusal};
use crate::http::extract::{parse_form, Caller};
use crate::http::routes::reply::{ok, OK_TRUE};
use crate::particle::device_access::Via;
use crate::particle::device_admin::{
    claim_device, create_claim_code, flash_device, ping_device, release_device,
    show_device as show, update_device, ClaimRequest, DeviceUpdate,
};
use crate::particle::device_calls::{call_function, forward_effects, read_variable, Unanswered};
use crate::particle::scopes::TeamRef;
use crate::world::World;

/// The longest an offline device keeps a caller waiting in real time, whatever the
/// world's offline delay (a frozen clock must not hang a client forever).
const MAX_REAL_WAIT: Duration = Duration::from_secs(60);
/// How often a waiting call looks at the world's clock.
const CLOCK_POLL: Duration = Duration::from_millis(10);

/// Waits `delay_ms` of the world's clock (a test advances it; a running clock passes in
/// real time), at most [`MAX_REAL_WAIT`] of real time, then gives the timeout answer.
async fn after_delay(world: &World, delay_ms: u64, error: Refusal) -> Refusal {
    if delay_ms > 0 {
        let deadline = world
            .now()
            .saturating_add(i64::try_from(delay_ms).unwrap_or(i64::MAX));
        let real = Duration::from_millis(delay_ms).min(MAX_REAL_WAIT);
        let _ = tokio::time::timeout(real, async {
            while world.now() < deadline {
                tokio::time::sleep(CLOCK_POLL).await;
            }
        })
        .await;
    }
    error
}

/// The answer of a call that got none from the device.
async fn unanswered(world: &World, why: Unanswered) -> Refusal {
    match why {
        Unanswered::Refused(e) => e,
        Unanswered::Offline { error, delay_ms } => after_delay(world, delay_ms, error).await,
    }
}

/// A `text/plain` answer (`format=raw`, D3/D4).
fn raw(text: String) -> Response {
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// D3: `arg`, else `args`, else `""`, JSON or form; `format=raw` in the body or query.
async fn answer_function(
    caller: Caller,
    query: Option<String>,
    via: Via<'_>,
    device: &str,
    function: &str,
) -> Result<Response, Refusal> {
    let fields = caller.fields()?;
    let argument = fields
        .get("arg")
        .or_else(|| fields.get("args"))
        .unwrap_or("");
    let query = parse_form(query.as_deref().unwrap_or("").as_bytes());
    let format_raw = fields.get("format").or_else(|| query.get("format")) == Some("raw");
    let owner = caller.token.owner;
    match call_function(&caller.world, owner, via, device, function, argument) {
        Ok(called) => {
            forward_effects(&caller.world, called.effects);
            Ok(if format_raw {
                raw(called.reply.return_value.to_string())
            } else {
                ok(called.reply).into_response()
            })
        }
        Err(why) => Err(unanswered(&caller.world, why).await),
    }
}

/// D4: the variable's value, `?format=raw` for the bare value.
async fn answer_variable(
    caller: Caller,
    query: Option<String>,
    via: Via<'_>,
    device: &str,
    variable: &str,
) -> Result<Response, Refusal> {
    let query = parse_form(query.as_deref().unwrap_or("").as_bytes());
    let owner = caller.token.owner;
    match read_variable(&caller.world, owner, via, device, variable) {
        Ok(reply) if query.get("format") == Some("raw") => Ok(raw(reply.raw())),
        Ok(reply) => Ok(ok(reply).into_response()),
        Err(why) => Err(unanswered(&caller.world, why).await),
    }
}

/// D2.5 or D8: a multipart body with a `file` part is a flash, anything else an update.
fn answer_put(caller: &Caller, via: Via<'_>, device: &str) -> Result<Response, Refusal> {
    let owner = caller.token.owner;
    if let Some(file) = caller.multipart_part("file") {
        let (reply, effects) = flash_device(&caller.world, owner, via, device, file)?;
        forward_effects(&caller.world, effects);
        return Ok(ok(reply).into_response());
    }
    let update: DeviceUpdate = caller.body()?;
    Ok(ok(update_device(&caller.world, owner, via, device, &update)?).into_response())
}

/// A11 / D2.2: one device, by id (any case) or name.
pub(super) async fn show_device(
    Path(device): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    Ok(ok(show(
        &caller.world,
        caller.token.owner,
        Via::Sandbox,
        &device,
    )?))
}

/// A11 / D2.2: one device of a product (product fields included).
pub(super) async fn show_product_device(
    Path((product, device)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let via = Via::Product(TeamRef::Product(&product));
    Ok(ok(show(&caller.world, caller.token.owner, via, &device)?))
}

/// D3, sandbox route.
pub(super) async fn call_device_function(
    Path((device, function)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    caller: Caller,
) -> Result<Response, Refusal> {
    answer_function(caller, query, Via::Sandbox, &device, &function).await
}

/// D3, product route.
pub(super) async fn call_product_device_function(
    Path((product, device, function)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    caller: Caller,
) -> Result<Response, Refusal> {
    let via = Via::Product(TeamRef::Product(&product));
    answer_function(caller, query, via, &device, &function).await
}

/// D4, sandbox route.
pub(super) async fn read_device_variable(
    Path((device, variable)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    caller: Caller,
) -> Result<Response, Refusal> {
    answer_variable(caller, query, Via::Sandbox, &device, &variable).await
}

/// D4, product route.
pub(super) async fn read_product_device_variable(
    Path((product, device, variable)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    caller: Caller,
) -> Result<Response, Refusal> {
    let via = Via::Product(TeamRef::Product(&product));
    answer_variable(caller, query, via, &device, &variable).await
}

/// D2.5 / D8, sandbox route.
pub(super) async fn update_sandbox_device(
    Path(device): Path<String>,
    caller: Caller,
) -> Result<Response, Refusal> {
    answer_put(&caller, Via::Sandbox, &device)
}

/// D2.5 / D8, product route.
pub(super) async fn update_product_device(
    Path((product, device)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response, Refusal> {
    answer_put(&caller, Via::Product(TeamRef::Product(&product)), &device)
}

/// D2.3: claim.
pub(super) async fn claim(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    let request: ClaimRequest = caller.body()?;
    Ok(ok(claim_device(
        &caller.world,
        caller.token.owner,
        &request,
    )?))
}

/// D2.4: the owner lets the device go.
pub(super) async fn unclaim(
    Path(device): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    release_device(&caller.world, caller.token.owner, Via::Sandbox, &device)?;
    Ok(ok(OK_TRUE))
}

/// D2.4: the product removes the device's owner (api-js `removeDeviceOwner`).
pub(super) async fn remove_owner(
    Path((product, device)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let via = Via::Product(TeamRef::Product(&product));
    release_device(&caller.world, caller.token.owner, via, &device)?;
    Ok(ok(OK_TRUE))
}

/// D2.6, sandbox route.
pub(super) async fn ping(
    Path(device): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    Ok(ok(ping_device(
        &caller.world,
        caller.token.owner,
        Via::Sandbox,
        &device,
    )?))
}

/// D2.6, product route.
pub(super) async fn ping_product_device(
    Path((product, device)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let via = Via::Product(TeamRef::Product(&product));
    Ok(ok(ping_device(
        &caller.world,
        caller.token.owner,
        via,
        &device,
    )?))
}

/// D2.7: a claim code for the caller (`iccid` or `imei` optional).
pub(super) async fn claim_code(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    let fields = caller.fields()?;
    let hint = fields.get("iccid").or_else(|| fields.get("imei"));
    Ok(ok(create_claim_code(
        &caller.world,
        caller.token.owner,
        None,
        hint,
    )?))
}

/// D2.7, product route (a customer of the product, or a member of its team).
pub(super) async fn product_claim_code(
    Path(product): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let fields = caller.fields()?;
    let hint = fields.get("iccid").or_else(|| fields.get("imei"));
    let target = Some(TeamRef::Product(&product));
    Ok(ok(create_claim_code(
        &caller.world,
        caller.token.owner,
        target,
        hint,
    )?))
}

/// D8 / D11: cloud compiles are refused with the answer particle-cli prints.
pub(super) async fn compile(_caller: Caller) -> Result<Response, Refusal> {
    Err(ApiError::CompileRefused.because("cloud compile is not emulated"))
}

/// D11: a device-cloud area the mock does not emulate: 501 naming the method and path
/// (a direct row of every method, so no token is needed to learn it is not there).
pub(super) async fn not_emulated(request: Request) -> Response {
    let path = crate::support::text::truncate(request.uri().path());
    ApiError::NotImplemented(format!("{} {path}", request.method())).into_response()
}
