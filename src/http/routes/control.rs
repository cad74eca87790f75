//! The control API under `/__mock/`, a prefix the real Particle API never uses: health,
//! reset, clock, users and tokens, the request journal, rate limits, faults and tenants. JSON in and
//! out, `Cache-Control: no-store` on every answer. Each handler makes one call into
//! `control`, `journal`, `faults` or `World` and maps the result; the same calls back the
//! Rust API on [`MockServer`](crate::MockServer) and [`Tenant`](crate::Tenant).
//!
//! Every route is listed once, in [`routes`]: the router is built from that table, and a
//! test checks it against the OpenAPI description (`openapi/control.json`) both ways.
//! `--no-control` and `--control-secret` are enforced by `pipeline::guard`, and every
//! answer is marked `Cache-Control: no-store` by the pipeline's control stage.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::Extension;
use serde::{Deserialize, Serialize};

use crate::control::{
    self, clock_state, parse_client, parse_instant, Behaviour, DevicePatch, DeviceSettings,
    NewUser, SettingsBase, TenantInfo, TokenOrder, UserPatch, VariableUpdate,
};
use crate::error::ApiError;
use crate::faults::FaultSpec;
use crate::http::extract::{CurrentWorld, JsonOrForm, RawBody};
use crate::http::pipeline::guard::RequestHost;
use crate::http::routes::reply::{ok, Reply, OK_TRUE};
use crate::http::routes::{dashboard, events, webhooks};
use crate::http::state::AppState;
use crate::journal::JournalFilter;
use crate::rate_limit::RateLimitSection;
use crate::support::paging::{Page, PageRequest, MAX_PAGE};
use crate::world::fixtures::Fixtures;
use crate::world::state;
use crate::world::World;

/// The OpenAPI 3.0 description of this API, served at `/__mock/openapi.json`.
pub(crate) const OPENAPI: &str = include_str!("../../../openapi/control.json");

/// The OpenAPI 3.0 description of the emulated Particle routes, served at
/// `/__mock/openapi/particle.json` annotated from the route table (a unit test checks
/// it against the table both ways).
pub(crate) const PARTICLE_OPENAPI: &str = include_str!("../../../openapi/particle.json");

/// Every control route: method, path, handler. The one list both the router and the
/// OpenAPI coverage test read.
pub(crate) fn routes() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("GET", "/__mock/health", get(health)),
        ("GET", "/__mock/ready", get(ready)),
        ("GET", "/__mock/openapi.json", get(openapi)),
        (
            "GET",
            "/__mock/openapi/particle.json",
            get(particle_openapi),
        ),
        ("POST", "/__mock/reset", post(reset)),
        ("GET", "/__mock/state", get(export_state)),
        ("PUT", "/__mock/state", put(import_state)),
        ("GET", "/__mock/clock", get(read_clock)),
        ("POST", "/__mock/clock/set", post(set_clock)),
        ("POST", "/__mock/clock/advance", post(advance_clock)),
        ("POST", "/__mock/clock/freeze", post(freeze_clock)),
        ("POST", "/__mock/clock/resume", post(resume_clock)),
        ("GET", "/__mock/users", get(list_users)),
        ("POST", "/__mock/users", post(add_user)),
        ("PATCH", "/__mock/users/{email}", patch(update_user)),
        ("DELETE", "/__mock/users/{email}", delete(delete_user)),
        ("GET", "/__mock/users/{email}/totp", get(user_totp)),
        ("GET", "/__mock/tokens", get(list_tokens)),
        ("POST", "/__mock/tokens", post(issue_token)),
        ("DELETE", "/__mock/tokens/{token}", delete(revoke_token)),
        ("GET", "/__mock/password-resets", get(list_password_resets)),
        ("GET", "/__mock/clients", get(list_clients)),
        ("GET", "/__mock/customers", get(list_customers)),
        ("GET", "/__mock/journal", get(read_journal)),
        ("DELETE", "/__mock/journal", delete(clear_journal)),
        ("GET", "/__mock/journal/stream", get(dashboard::stream)),
        ("GET", dashboard::UI_PATH, get(dashboard::page)),
        ("GET", "/__mock/ui/{file}", get(dashboard::asset)),
        ("GET", "/__mock/rate-limits", get(read_rate_limits)),
        ("PUT", "/__mock/rate-limits", put(replace_rate_limits)),
        ("PATCH", "/__mock/rate-limits", patch(update_rate_limits)),
        (
            "GET",
            "/__mock/rate-limits/clients",
            get(list_rate_limit_clients),
        ),
        (
            "DELETE",
            "/__mock/rate-limits/clients",
            delete(reset_rate_limits),
        ),
        (
            "DELETE",
            "/__mock/rate-limits/clients/{client}",
            delete(reset_rate_limit_client),
        ),
        ("POST", "/__mock/rate-limits/evict", post(evict_rate_limits)),
        ("GET", "/__mock/faults", get(list_faults)),
        ("POST", "/__mock/faults", post(add_fault)),
        ("DELETE", "/__mock/faults", delete(clear_faults)),
        ("GET", "/__mock/devices", get(list_devices)),
        ("GET", "/__mock/devices/calls", get(list_device_calls)),
        (
            "DELETE",
            "/__mock/devices/calls",
            delete(clear_device_calls),
        ),
        ("GET", "/__mock/devices/claim-codes", get(list_claim_codes)),
        ("GET", "/__mock/devices/settings", get(read_device_settings)),
        (
            "PUT",
            "/__mock/devices/settings",
            put(replace_device_settings),
        ),
        ("GET", "/__mock/devices/{id}", get(show_device)),
        ("PATCH", "/__mock/devices/{id}", patch(update_device)),
        (
            "PUT",
            "/__mock/devices/{id}/variables/{name}",
            put(set_device_variable),
        ),
        (
            "PUT",
            "/__mock/devices/{id}/functions/{name}",
            put(set_device_function),
        ),
        (
            "POST",
            "/__mock/devices/{id}/events",
            post(events::publish_as_device),
        ),
        ("GET", "/__mock/events", get(events::wait_for_events)),
        (
            "GET",
            "/__mock/webhooks/deliveries",
            get(webhooks::list_deliveries),
        ),
        (
            "GET",
            "/__mock/events/stream",
            get(dashboard::events_stream),
        ),
        ("GET", "/__mock/tenants", get(list_tenants)),
        ("POST", "/__mock/tenants", post(create_tenant)),
        ("DELETE", "/__mock/tenants/{id}", delete(delete_tenant)),
    ]
}

#[derive(Serialize)]
struct Health {
    ok: bool,
    status: &'static str,
}

/// Liveness: the process answers HTTP.
async fn health() -> impl IntoResponse {
    ok(Health {
        ok: true,
        status: "live",
    })
}

/// Readiness: fixtures are loaded and the socket is bound (always true once serving).
async fn ready() -> impl IntoResponse {
    ok(Health {
        ok: true,
        status: "ready",
    })
}

/// This API's OpenAPI 3.0 description.
async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        OPENAPI,
    )
}

/// The OpenAPI 3.0 description of the emulated Particle routes (`openapi/particle.json`).
/// The Particle routes' OpenAPI description, each operation annotated from its row of
/// the route table.
async fn particle_openapi() -> impl IntoResponse {
    ok(crate::http::routes::particle_openapi(PARTICLE_OPENAPI))
}

/// An optional fixtures document as a request body (empty or `null`: none; `{}` is an
/// empty document, i.e. a world without users).
fn fixtures_body(body: &[u8]) -> Result<Option<Fixtures>, ApiError> {
    let trimmed = body.trim_ascii();
    if trimmed.is_empty() || trimmed == b"null" {
        return Ok(None);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("invalid fixtures: the body is not UTF-8".into()))?;
    Fixtures::from_json(text)
        .map(Some)
        .map_err(|e| ApiError::BadRequest(format!("invalid fixtures: {}", e.message)))
}

/// Back to the loaded fixtures, or to the fixtures document posted.
async fn reset(
    CurrentWorld(world): CurrentWorld,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    off_the_workers(move || {
        let fixtures = fixtures_body(&body)?;
        world.reset(fixtures);
        Ok(())
    })
    .await?;
    Ok(ok(OK_TRUE))
}

/// Runs long control work (a fixtures document parsed, validated and loaded; a deep
/// page) on the blocking pool, so the async workers keep answering `/__mock/health`
/// and every other world's requests meanwhile.
async fn off_the_workers<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| ApiError::Unavailable)?
}

/// The world as a state document: what `PUT /__mock/state` and `--state-file` read back.
async fn export_state(CurrentWorld(world): CurrentWorld) -> Result<impl IntoResponse, ApiError> {
    // Off the async workers: the first export of a big world hashes its passwords.
    let document = off_the_workers(move || Ok(state::export(&world))).await?;
    Ok(ok(document))
}

/// Replaces the world with a state document's; `400` naming the field or the version
/// for a document this build cannot read (nothing changes then).
async fn import_state(
    CurrentWorld(world): CurrentWorld,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    off_the_workers(move || control::import_state(&world, &body)).await?;
    Ok(ok(OK_TRUE))
}

async fn read_clock(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    ok(clock_state(&world.clock))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetClock {
    at: serde_json::Value,
}

async fn set_clock(
    CurrentWorld(world): CurrentWorld,
    JsonOrForm(body): JsonOrForm<SetClock>,
) -> Result<impl IntoResponse, ApiError> {
    world.clock.set(parse_instant(&body.at)?);
    Ok(ok(clock_state(&world.clock)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceClock {
    seconds: Option<f64>,
    duration: Option<String>,
}

async fn advance_clock(
    CurrentWorld(world): CurrentWorld,
    JsonOrForm(body): JsonOrForm<AdvanceClock>,
) -> Result<impl IntoResponse, ApiError> {
    let by = control::advance_amount(body.seconds, body.duration.as_deref())?;
    control::advance(&world.clock, by)?;
    Ok(ok(clock_state(&world.clock)))
}

async fn freeze_clock(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    world.clock.freeze();
    ok(clock_state(&world.clock))
}

async fn resume_clock(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    world.clock.resume();
    ok(clock_state(&world.clock))
}

async fn add_user(
    CurrentWorld(world): CurrentWorld,
    JsonOrForm(user): JsonOrForm<NewUser>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Reply(StatusCode::CREATED, control::add_user(&world, user)?))
}

async fn update_user(
    CurrentWorld(world): CurrentWorld,
    Path(email): Path<String>,
    JsonOrForm(patch): JsonOrForm<UserPatch>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ok(control::update_user(&world, &email, patch)?))
}

async fn delete_user(
    CurrentWorld(world): CurrentWorld,
    Path(email): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    control::remove_user(&world, &email)?;
    Ok(ok(OK_TRUE))
}

async fn user_totp(
    CurrentWorld(world): CurrentWorld,
    Path(email): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ok(control::totp_codes(&world, &email)?))
}

/// The paging parameters of every control list (`docs/control-api.md`, "Lists").
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

/// Reads a query string into `T`; `400` naming what is wrong.
fn read_query<T: serde::de::DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))
}

/// The page a list request asks for (`limit` 1..=1000, default 100; `cursor`).
fn page_request(limit: Option<usize>, cursor: Option<String>) -> Result<PageRequest, ApiError> {
    PageRequest::new(limit, cursor).map_err(ApiError::BadRequest)
}

/// The page a plain list request (`?limit=&cursor=`, nothing else) asks for.
fn list_request(uri: &Uri) -> Result<PageRequest, ApiError> {
    let q: ListQuery = read_query(uri)?;
    page_request(q.limit, q.cursor)
}

/// A list answer: `{"<name>": [...], "next_cursor": "…" | null}`.
fn listed<T: Serialize>(name: &str, page: Page<T>) -> Response {
    let mut body = serde_json::Map::new();
    body.insert(
        name.into(),
        serde_json::to_value(page.items).unwrap_or_default(),
    );
    body.insert("next_cursor".into(), page.next_cursor.into());
    ok(serde_json::Value::Object(body)).into_response()
}

/// One page of the users, sorted by email (never a password or secret).
async fn list_users(CurrentWorld(world): CurrentWorld, uri: Uri) -> Result<Response, ApiError> {
    let request = list_request(&uri)?;
    Ok(listed("users", control::users_page(&world, &request)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenPage {
    limit: Option<usize>,
    cursor: Option<String>,
    page: Option<usize>,
    per_page: Option<usize>,
}

/// One page of the live tokens by token (`limit`, `cursor`; or the dashboard's
/// `page` and `per_page`); `total` counts every live token.
async fn list_tokens(CurrentWorld(world): CurrentWorld, uri: Uri) -> Result<Response, ApiError> {
    let q: TokenPage = read_query(&uri)?;
    let (page, total) = if q.page.is_some() || q.per_page.is_some() {
        let per_page = q.per_page.unwrap_or(25).clamp(1, MAX_PAGE);
        let skip = q.page.unwrap_or(1).max(1).saturating_sub(1);
        off_the_workers(move || Ok(control::token_page_number(&world, skip, per_page))).await?
    } else {
        control::token_page(&world, &page_request(q.limit, q.cursor)?)?
    };
    Ok(ok(serde_json::json!({
        "tokens": page.items,
        "total": total,
        "next_cursor": page.next_cursor,
    }))
    .into_response())
}

/// Revokes one access token (as `DELETE /v1/access_tokens/current` with it would).
async fn revoke_token(
    CurrentWorld(world): CurrentWorld,
    Path(token): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    control::revoke_token(&world, &token)?;
    Ok(ok(OK_TRUE))
}

async fn list_clients(CurrentWorld(world): CurrentWorld, uri: Uri) -> Result<Response, ApiError> {
    let request = list_request(&uri)?;
    Ok(listed("clients", control::clients_page(&world, &request)?))
}

async fn list_customers(CurrentWorld(world): CurrentWorld, uri: Uri) -> Result<Response, ApiError> {
    let request = list_request(&uri)?;
    Ok(listed(
        "customers",
        control::customers_page(&world, &request)?,
    ))
}

async fn list_password_resets(
    CurrentWorld(world): CurrentWorld,
    uri: Uri,
) -> Result<Response, ApiError> {
    let request = list_request(&uri)?;
    Ok(listed(
        "resets",
        control::password_resets_page(&world, &request)?,
    ))
}

async fn issue_token(
    CurrentWorld(world): CurrentWorld,
    JsonOrForm(order): JsonOrForm<TokenOrder>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Reply(
        StatusCode::CREATED,
        control::issue_token(&world, order)?,
    ))
}

async fn read_journal(
    CurrentWorld(world): CurrentWorld,
    uri: Uri,
) -> Result<impl IntoResponse, ApiError> {
    let filter: JournalFilter = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("invalid journal filter: {e}")))?;
    let entries = world.journal.list(&filter).map_err(ApiError::BadRequest)?;
    Ok(ok(serde_json::json!({
        "capacity": world.settings.journal_size,
        "entries": entries,
    })))
}

async fn clear_journal(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    world.journal.clear();
    ok(OK_TRUE)
}

/// Settings in force, tracked clients and untracked admissions (particle-api.md §6).
async fn read_rate_limits(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    ok(world.rate_limit_summary())
}

/// New settings: §6's defaults with the body (a fixtures `rate_limits` section) on top.
async fn replace_rate_limits(
    CurrentWorld(world): CurrentWorld,
    JsonOrForm(section): JsonOrForm<RateLimitSection>,
) -> Result<impl IntoResponse, ApiError> {
    let settings = control::change_rate_limits(&world, &section, SettingsBase::Defaults)?;
    Ok(ok(settings))
}

/// The settings in force with the body's fields changed.
async fn update_rate_limits(
    CurrentWorld(world): CurrentWorld,
    JsonOrForm(section): JsonOrForm<RateLimitSection>,
) -> Result<impl IntoResponse, ApiError> {
    let settings = control::change_rate_limits(&world, &section, SettingsBase::Current)?;
    Ok(ok(settings))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientQuery {
    client: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// One page of the tracked clients' counters and blocks, ordered by client, or
/// (`?client=IP`) that one client's, if tracked.
async fn list_rate_limit_clients(
    CurrentWorld(world): CurrentWorld,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: ClientQuery = read_query(&uri)?;
    let page = match q.client {
        Some(client) => Page {
            items: world
                .rate_limit_client(parse_client(&client)?)
                .into_iter()
                .collect(),
            next_cursor: None,
        },
        None => control::rate_limit_clients_page(&world, &page_request(q.limit, q.cursor)?)?,
    };
    Ok(listed("clients", page))
}

async fn reset_rate_limits(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    world.reset_rate_limits();
    ok(OK_TRUE)
}

#[derive(Serialize)]
struct ClientReset {
    ok: bool,
    was_tracked: bool,
}

/// Forgets one client; succeeds whether or not it was tracked (`was_tracked` tells).
async fn reset_rate_limit_client(
    CurrentWorld(world): CurrentWorld,
    Path(client): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let was_tracked = world.reset_rate_limit_client(parse_client(&client)?);
    Ok(ok(ClientReset {
        ok: true,
        was_tracked,
    }))
}

#[derive(Serialize)]
struct Evicted {
    evicted: usize,
}

async fn evict_rate_limits(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    ok(Evicted {
        evicted: world.evict_rate_limits(),
    })
}

async fn list_faults(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    ok(serde_json::json!({ "faults": world.faults.list() }))
}

async fn add_fault(
    CurrentWorld(world): CurrentWorld,
    JsonOrForm(spec): JsonOrForm<FaultSpec>,
) -> Result<impl IntoResponse, ApiError> {
    let fault = world.faults.add(spec).map_err(ApiError::BadRequest)?;
    Ok(Reply(StatusCode::CREATED, fault))
}

async fn clear_faults(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    world.faults.clear();
    ok(OK_TRUE)
}

/// Tenants are managed from the default world only (`/t/<id>/__mock/tenants` is 404).
fn default_world_only(state: &AppState, world: &Arc<World>) -> Result<(), ApiError> {
    if Arc::ptr_eq(world, &state.registry.default) {
        Ok(())
    } else {
        // Control requests are not journaled: no reason to carry.
        Err(ApiError::NotFound("Not found".into()))
    }
}

/// `http://HOST/t/<id>`, HOST from the request's `Host` header (the listen address if absent).
/// `addr` as a client can dial it: an unspecified IP (`0.0.0.0`, `::`) becomes loopback.
fn dialable(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            (std::net::Ipv4Addr::LOCALHOST, addr.port()).into()
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            (std::net::Ipv6Addr::LOCALHOST, addr.port()).into()
        }
        _ => addr,
    }
}

/// A tenant's base URL: the request's `Host`, else the bound address (never port
/// 0, which `--listen` may ask for).
fn tenant_url(state: &AppState, host: Option<&RequestHost>, id: &str) -> String {
    // Only a host the guard validated (`host[:port]`, the absolute-form authority first)
    // is ever reflected.
    let host = host.map_or_else(|| dialable(state.bound).to_string(), |h| h.0.clone());
    format!("http://{host}/t/{id}")
}

async fn create_tenant(
    State(state): State<AppState>,
    CurrentWorld(world): CurrentWorld,
    host: Option<Extension<RequestHost>>,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    default_world_only(&state, &world)?;
    let worker_state = state.clone();
    let id = off_the_workers(move || {
        let fixtures = fixtures_body(&body)?;
        control::create_tenant(&worker_state.registry, &worker_state.config, fixtures)
            .map(|(id, _)| id)
    })
    .await?;
    let base_url = tenant_url(&state, host.as_ref().map(|h| &h.0), &id);
    Ok(Reply(StatusCode::CREATED, TenantInfo { id, base_url }))
}

async fn list_tenants(
    State(state): State<AppState>,
    CurrentWorld(world): CurrentWorld,
    host: Option<Extension<RequestHost>>,
    uri: Uri,
) -> Result<Response, ApiError> {
    default_world_only(&state, &world)?;
    let page = control::tenant_page(&state.registry, &list_request(&uri)?);
    let tenants = Page {
        items: page
            .items
            .into_iter()
            .map(|id| TenantInfo {
                base_url: tenant_url(&state, host.as_ref().map(|h| &h.0), &id),
                id,
            })
            .collect(),
        next_cursor: page.next_cursor,
    };
    Ok(listed("tenants", tenants))
}

async fn delete_tenant(
    State(state): State<AppState>,
    CurrentWorld(world): CurrentWorld,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    default_world_only(&state, &world)?;
    if control::delete_tenant(&state.registry, &id) {
        Ok(ok(OK_TRUE))
    } else {
        Err(ApiError::NotFound("Tenant not found".into()))
    }
}

/// Every simulated device with its state (devices spec D11).
async fn list_devices(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    ok(serde_json::json!({ "devices": control::devices(&world) }))
}

async fn show_device(
    CurrentWorld(world): CurrentWorld,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ok(control::device(&world, &id)?))
}

/// Online/offline, firmware and Device OS versions.
async fn update_device(
    CurrentWorld(world): CurrentWorld,
    Path(id): Path<String>,
    JsonOrForm(patch): JsonOrForm<DevicePatch>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ok(control::update_device(&world, &id, &patch)?))
}

async fn set_device_variable(
    CurrentWorld(world): CurrentWorld,
    Path((id, name)): Path<(String, String)>,
    JsonOrForm(update): JsonOrForm<VariableUpdate>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ok(control::set_variable(&world, &id, &name, &update)?))
}

async fn set_device_function(
    CurrentWorld(world): CurrentWorld,
    Path((id, name)): Path<(String, String)>,
    JsonOrForm(behaviour): JsonOrForm<Behaviour>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ok(control::set_function(&world, &id, &name, behaviour)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallsQuery {
    device: Option<String>,
}

/// The calls devices received, oldest first; `?device=` for one device.
async fn list_device_calls(
    CurrentWorld(world): CurrentWorld,
    uri: Uri,
) -> Result<impl IntoResponse, ApiError> {
    let q: CallsQuery = read_query(&uri)?;
    let calls = control::device_calls(&world, q.device.as_deref());
    Ok(ok(serde_json::json!({ "calls": calls })))
}

async fn clear_device_calls(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    control::clear_device_calls(&world);
    ok(OK_TRUE)
}

async fn list_claim_codes(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    ok(serde_json::json!({ "claim_codes": control::claim_codes(&world) }))
}

async fn read_device_settings(CurrentWorld(world): CurrentWorld) -> impl IntoResponse {
    ok(control::device_settings(&world))
}

async fn replace_device_settings(
    CurrentWorld(world): CurrentWorld,
    JsonOrForm(settings): JsonOrForm<DeviceSettings>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ok(control::set_device_settings(&world, settings)?))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn described() -> BTreeSet<(String, String)> {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("valid JSON");
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
        let mut found = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    found.insert((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        found
    }

    #[test]
    fn every_control_route_is_described_in_the_openapi_document_and_vice_versa() {
        let routed: BTreeSet<(String, String)> = routes()
            .into_iter()
            .map(|(method, path, _)| (method.to_string(), path.to_string()))
            .collect();
        let described = described();
        let undocumented: Vec<_> = routed.difference(&described).collect();
        let phantom: Vec<_> = described.difference(&routed).collect();
        assert!(
            undocumented.is_empty(),
            "routed but not described: {undocumented:?}"
        );
        assert!(phantom.is_empty(), "described but not routed: {phantom:?}");
    }
}
