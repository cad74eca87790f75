//! Product and org resource routes that API-user tokens call (particle-api.md §3.6,
//! §5.2); each route's scope is in its row of `PARTICLE_ROUTES`.

use axum::extract::{Path, RawQuery};
use axum::response::IntoResponse;

use crate::error::Refusal;
use crate::http::extract::RawRequest;
use crate::http::extract::{parse_form, Caller};
use crate::http::routes::reply::ok;
use crate::particle::devices::{add_devices, remove_device, DeviceQuery};
use crate::particle::products::{
    get_product, list_customers, list_devices, list_org_products, list_orgs, list_products, Paging,
};
use crate::particle::scopes::TeamRef;

/// `?page=&per_page=` (api-js also spells it `perPage`).
fn paging(query: Option<String>) -> Result<Paging, Refusal> {
    let fields = parse_form(query.unwrap_or_default().as_bytes());
    let per_page = fields.get("per_page").or_else(|| fields.get("perPage"));
    Paging::parse(fields.get("page"), per_page)
}

/// `GET /v1/products/{p}` (`products:get`).
pub(super) async fn show_product(
    Path(product): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let body = get_product(
        &caller.world,
        caller.token.owner,
        TeamRef::Product(&product),
    )?;
    Ok(ok(body))
}

/// `GET /v1/products` and `GET /v1/user/products` (A6): the same body.
pub(super) async fn products_of_caller(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    Ok(ok(list_products(&caller.world, caller.token.owner)?))
}

/// `GET /v1/products/{p}/devices` (`devices:list`), §5.2 product variant with A11's
/// filters (`deviceId`, `deviceName`, `groups`, `sortAttr`, `sortDir`).
pub(super) async fn product_devices(
    Path(product): Path<String>,
    RawQuery(query): RawQuery,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let fields = parse_form(query.as_deref().unwrap_or("").as_bytes());
    let filter = DeviceQuery::parse(
        fields.get("deviceId"),
        fields.get("deviceName"),
        fields.get("groups"),
        fields.get("sortAttr"),
        fields.get("sortDir"),
    )?;
    let page = paging(query)?;
    let target = TeamRef::Product(&product);
    let list = list_devices(&caller.world, caller.token.owner, target, page, &filter)?;
    Ok(ok(list))
}

/// `POST /v1/products/{p}/devices` (`devices:import`, A11): JSON `{"id"}` or a
/// multipart `file` of ids, one a line.
pub(super) async fn add_product_devices(
    Path(product): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let request = RawRequest {
        headers: caller.headers.clone(),
        body: caller.body.clone(),
    };
    let ids: Vec<String> = match request.multipart_part("file") {
        Some(file) => String::from_utf8_lossy(file)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        None => request
            .fields()?
            .get("id")
            .map(str::to_string)
            .into_iter()
            .collect(),
    };
    let target = TeamRef::Product(&product);
    Ok(ok(add_devices(
        &caller.world,
        caller.token.owner,
        target,
        &ids,
    )?))
}

/// `DELETE /v1/products/{p}/devices/{id}` (`devices:remove`, A11), `{"deny":bool}` accepted.
pub(super) async fn remove_product_device(
    Path((product, device)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let target = TeamRef::Product(&product);
    remove_device(&caller.world, caller.token.owner, target, &device)?;
    Ok(ok(crate::http::routes::reply::OK_TRUE))
}

/// `GET /v1/products/{p}/customers` (`customers:list`).
pub(super) async fn product_customers(
    Path(product): Path<String>,
    RawQuery(query): RawQuery,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let page = paging(query)?;
    let target = TeamRef::Product(&product);
    Ok(ok(list_customers(
        &caller.world,
        caller.token.owner,
        target,
        page,
    )?))
}

/// `GET /v1/orgs`: the user's orgs.
pub(super) async fn list_user_orgs(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    Ok(ok(list_orgs(&caller.world, caller.human()?)))
}

/// `GET /v1/orgs/{o}/products` (`products:list`).
pub(super) async fn org_products(
    Path(org): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let body = list_org_products(&caller.world, caller.token.owner, TeamRef::Org(&org))?;
    Ok(ok(body))
}
