//! Product and org resource routes that API-user tokens call (particle-api.md §3.6,
//! §5.2); each route's scope is in `scopes::ROUTES`.

use axum::extract::{Path, RawQuery};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::http::extract::{parse_form, Caller};
use crate::http::routes::ok;
use crate::http::state::AppState;
use crate::particle::products::{
    get_device, get_product, list_customers, list_devices, list_org_products, Paging,
};
use crate::particle::scopes::TeamRef;

/// The product and org resource routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/products/{productIdOrSlug}", get(show_product))
        .route(
            "/v1/products/{productIdOrSlug}/devices",
            get(product_devices),
        )
        .route(
            "/v1/products/{productIdOrSlug}/devices/{deviceId}",
            get(product_device),
        )
        .route(
            "/v1/products/{productIdOrSlug}/customers",
            get(product_customers),
        )
        .route("/v1/orgs/{orgIdOrSlug}/products", get(org_products))
}

/// `?page=&per_page=` (api-js also spells it `perPage`).
fn paging(query: Option<String>) -> Result<Paging, ApiError> {
    let fields = parse_form(query.unwrap_or_default().as_bytes());
    let per_page = fields.get("per_page").or_else(|| fields.get("perPage"));
    Paging::parse(fields.get("page"), per_page)
}

/// `GET /v1/products/{p}` (`products:get`).
async fn show_product(
    Path(product): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let body = get_product(
        &caller.world,
        caller.token.owner,
        TeamRef::Product(&product),
    )?;
    Ok(ok(body))
}

/// `GET /v1/products/{p}/devices` (`devices:list`), §5.2 product variant.
async fn product_devices(
    Path(product): Path<String>,
    RawQuery(query): RawQuery,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let page = paging(query)?;
    let target = TeamRef::Product(&product);
    Ok(ok(list_devices(
        &caller.world,
        caller.token.owner,
        target,
        page,
    )?))
}

/// `GET /v1/products/{p}/devices/{id}` (`devices:get`).
async fn product_device(
    Path((product, device)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let target = TeamRef::Product(&product);
    Ok(ok(get_device(
        &caller.world,
        caller.token.owner,
        target,
        &device,
    )?))
}

/// `GET /v1/products/{p}/customers` (`customers:list`).
async fn product_customers(
    Path(product): Path<String>,
    RawQuery(query): RawQuery,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let page = paging(query)?;
    let target = TeamRef::Product(&product);
    Ok(ok(list_customers(
        &caller.world,
        caller.token.owner,
        target,
        page,
    )?))
}

/// `GET /v1/orgs/{o}/products` (`products:list`).
async fn org_products(
    Path(org): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let body = list_org_products(&caller.world, caller.token.owner, TeamRef::Org(&org))?;
    Ok(ok(body))
}
