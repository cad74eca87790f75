//! Team routes (particle-api.md §3.2–3.5): API users of a product or an org, the product
//! or org named by numeric id, 24-hex id or slug. Usernames arrive raw (`a+b@api.particle.io`,
//! as particle-api-js sends them) or percent-encoded (`%2B`, `%40`); `Path` decodes
//! percent escapes only, so a raw `+` stays a `+` (it is never a space in a path).

use axum::extract::Path;
use axum::response::IntoResponse;

use crate::error::Refusal;
use crate::http::extract::Caller;
use crate::http::routes::reply::{ok, OK_TRUE};
use crate::particle::scopes::TeamRef;
use crate::particle::teams::{
    add_to_team, delete_member, list_team, regenerate_token, update_api_user,
};

/// §3.3, product.
pub(super) async fn list_product_team(
    Path(product): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    list(caller, TeamRef::Product(&product))
}

/// §3.3, org.
pub(super) async fn list_org_team(
    Path(org): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    list(caller, TeamRef::Org(&org))
}

fn list(caller: Caller, target: TeamRef<'_>) -> Result<impl IntoResponse, Refusal> {
    Ok(ok(list_team(&caller.world, caller.token.owner, target)?))
}

/// §3.2, product.
pub(super) async fn create_product_api_user(
    Path(product): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    create(caller, TeamRef::Product(&product))
}

/// §3.2, org.
pub(super) async fn create_org_api_user(
    Path(org): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    create(caller, TeamRef::Org(&org))
}

fn create(caller: Caller, target: TeamRef<'_>) -> Result<impl IntoResponse, Refusal> {
    let created = add_to_team(&caller.world, caller.token.owner, target, &caller.body)?;
    Ok(ok(created))
}

/// §3.4, product.
pub(super) async fn update_product_api_user(
    Path((product, username)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    update(caller, TeamRef::Product(&product), &username)
}

/// §3.4, org.
pub(super) async fn update_org_api_user(
    Path((org, username)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    update(caller, TeamRef::Org(&org), &username)
}

fn update(
    caller: Caller,
    target: TeamRef<'_>,
    username: &str,
) -> Result<impl IntoResponse, Refusal> {
    let updated = update_api_user(
        &caller.world,
        caller.token.owner,
        target,
        username,
        &caller.body,
    )?;
    Ok(ok(updated))
}

/// §3.5, product.
pub(super) async fn delete_product_member(
    Path((product, username)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    delete_member(
        &caller.world,
        caller.token.owner,
        TeamRef::Product(&product),
        &username,
    )?;
    Ok(ok(OK_TRUE))
}

/// §3.5, org.
pub(super) async fn delete_org_member(
    Path((org, username)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    delete_member(
        &caller.world,
        caller.token.owner,
        TeamRef::Org(&org),
        &username,
    )?;
    Ok(ok(OK_TRUE))
}

/// Account spec A7.2: a new token for a product's API user.
pub(super) async fn regenerate_product_api_user_token(
    Path((product, username)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let target = TeamRef::Product(&product);
    Ok(ok(regenerate_token(
        &caller.world,
        caller.token.owner,
        target,
        &username,
    )?))
}

/// Account spec A7.2: a new token for an org's API user.
pub(super) async fn regenerate_org_api_user_token(
    Path((org, username)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let target = TeamRef::Org(&org);
    Ok(ok(regenerate_token(
        &caller.world,
        caller.token.owner,
        target,
        &username,
    )?))
}
