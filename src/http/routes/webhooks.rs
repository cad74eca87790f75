//! Webhook and integration routes (particle-api-devices.md D7.1–D7.3): the legacy
//! `/v1/webhooks` family and `/v1/integrations`, each for the caller, a product
//! (`/v1/products/{p}/…`) and, for integrations, an org (`/v1/orgs/{o}/…`). One handler
//! per operation reads which family and owner from its row and path; the domain is
//! `particle::webhooks`.

use std::collections::HashMap;

use std::time::Duration;

use axum::extract::Path;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::Value;

use crate::control;
use crate::error::{ApiError, Refusal};
use crate::http::extract::{Caller, CurrentWorld};
use crate::http::routes::reply::{ok, Reply};
use crate::http::routes::CurrentRoute;
use crate::particle::webhooks::{self as domain, Family, Hooks};

/// The family a row belongs to, from its (static) path pattern.
fn family(route: &CurrentRoute) -> Family {
    if route.0.path.contains("/webhooks") {
        Family::Webhooks
    } else {
        Family::Integrations
    }
}

/// Whose hooks the path names.
fn hooks(params: &HashMap<String, String>) -> Hooks<'_> {
    match (params.get("productIdOrSlug"), params.get("orgIdOrSlug")) {
        (Some(p), _) => Hooks::Product(p),
        (None, Some(o)) => Hooks::Org(o),
        (None, None) => Hooks::Mine,
    }
}

fn id(params: &HashMap<String, String>) -> &str {
    params.get("hookId").map_or("", String::as_str)
}

/// D7.3: the caller's (or the product's, the org's) hooks, an array.
pub(super) async fn list_hooks(
    route: CurrentRoute,
    params: Option<Path<HashMap<String, String>>>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let params = params.map(|Path(p)| p).unwrap_or_default();
    let owner = caller.token.owner;
    Ok(ok(domain::list(
        &caller.world,
        owner,
        hooks(&params),
        family(&route),
    )?))
}

/// D7.2, D7.3: creates a hook; `201` with `hookUrl` or `integrationUrl`.
pub(super) async fn create_hook(
    route: CurrentRoute,
    params: Option<Path<HashMap<String, String>>>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let params = params.map(|Path(p)| p).unwrap_or_default();
    let body: Value = caller.body()?;
    let answer = domain::create(
        &caller.world,
        caller.token.owner,
        hooks(&params),
        family(&route),
        &body,
    )?;
    Ok(Reply(StatusCode::CREATED, answer))
}

/// D7.3: one hook, `{"webhook":…}` or `{"integration":…}`.
pub(super) async fn show_hook(
    route: CurrentRoute,
    Path(params): Path<HashMap<String, String>>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let owner = caller.token.owner;
    Ok(ok(domain::show(
        &caller.world,
        owner,
        hooks(&params),
        family(&route),
        id(&params),
    )?))
}

/// D7.3: replaces a hook's whole configuration; `{"integration":…}`.
pub(super) async fn update_hook(
    Path(params): Path<HashMap<String, String>>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let body: Value = caller.body()?;
    Ok(ok(domain::update(
        &caller.world,
        caller.token.owner,
        hooks(&params),
        id(&params),
        &body,
    )?))
}

/// D7.3: deletes a hook; `204`, empty.
pub(super) async fn delete_hook(
    Path(params): Path<HashMap<String, String>>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    domain::delete(
        &caller.world,
        caller.token.owner,
        hooks(&params),
        id(&params),
    )?;
    Ok(StatusCode::NO_CONTENT)
}

/// D7.3, D11: `{"pass":true,"data":null}`, nothing sent.
pub(super) async fn test_hook(
    Path(params): Path<HashMap<String, String>>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    Ok(ok(domain::test(
        &caller.world,
        caller.token.owner,
        hooks(&params),
        id(&params),
    )?))
}

/// The query of `GET /__mock/webhooks/deliveries`.
#[derive(serde::Deserialize)]
struct DeliveriesQuery {
    #[serde(default)]
    after: u64,
    #[serde(default)]
    timeout_ms: u64,
}

/// `GET /__mock/webhooks/deliveries?after=&timeout_ms=` (control API): the world's
/// deliveries after `after` (redacted), waiting up to `timeout_ms` for the first.
pub(super) async fn list_deliveries(
    CurrentWorld(world): CurrentWorld,
    uri: Uri,
) -> Result<impl IntoResponse, Refusal> {
    let query: DeliveriesQuery = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("invalid deliveries query: {e}")))?;
    let wait = Duration::from_millis(query.timeout_ms);
    let deliveries = control::webhooks::deliveries(&world, query.after, wait).await;
    Ok(ok(serde_json::json!({ "deliveries": deliveries })))
}
