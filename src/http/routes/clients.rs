//! OAuth client routes (particle-api-account.md A4): a user's own clients under
//! `/v1/clients` and a product's under `/v1/products/{p}/clients`. Bodies are JSON
//! (particle-api-js) or forms (the docs).

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::error::Refusal;
use crate::http::extract::Caller;
use crate::http::routes::reply::ok;
use crate::particle::clients::{
    create_client, delete_client, list_clients, update_client, ClientOwner, ClientSpec,
};
use crate::particle::scopes::TeamRef;

/// A4.1, user.
pub(super) async fn list_user_clients(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    let owner = ClientOwner::User(caller.human()?);
    Ok(ok(list_clients(&caller.world, caller.token.owner, owner)?))
}

/// A4.1, product (`clients:list`).
pub(super) async fn list_product_clients(
    Path(product): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let owner = ClientOwner::Product(TeamRef::Product(&product));
    Ok(ok(list_clients(&caller.world, caller.token.owner, owner)?))
}

/// A4.2, user.
pub(super) async fn create_user_client(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    let owner = ClientOwner::User(caller.human()?);
    let spec: ClientSpec = caller.body()?;
    Ok(ok(create_client(
        &caller.world,
        caller.token.owner,
        owner,
        spec,
    )?))
}

/// A4.2, product (`clients:create`).
pub(super) async fn create_product_client(
    Path(product): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let owner = ClientOwner::Product(TeamRef::Product(&product));
    let spec: ClientSpec = caller.body()?;
    Ok(ok(create_client(
        &caller.world,
        caller.token.owner,
        owner,
        spec,
    )?))
}

/// A4.3, user.
pub(super) async fn update_user_client(
    Path(id): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let owner = ClientOwner::User(caller.human()?);
    let spec: ClientSpec = caller.body()?;
    Ok(ok(update_client(
        &caller.world,
        caller.token.owner,
        owner,
        &id,
        spec,
    )?))
}

/// A4.3, product (`clients:update`).
pub(super) async fn update_product_client(
    Path((product, id)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let owner = ClientOwner::Product(TeamRef::Product(&product));
    let spec: ClientSpec = caller.body()?;
    Ok(ok(update_client(
        &caller.world,
        caller.token.owner,
        owner,
        &id,
        spec,
    )?))
}

/// A4.4, user: 204, empty body, no content type.
pub(super) async fn delete_user_client(
    Path(id): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let owner = ClientOwner::User(caller.human()?);
    delete_client(&caller.world, caller.token.owner, owner, &id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A4.4, product (`clients:remove`).
pub(super) async fn delete_product_client(
    Path((product, id)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let owner = ClientOwner::Product(TeamRef::Product(&product));
    delete_client(&caller.world, caller.token.owner, owner, &id)?;
    Ok(StatusCode::NO_CONTENT)
}
