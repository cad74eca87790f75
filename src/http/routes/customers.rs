//! Customer routes (particle-api-account.md A3): create (its own authentication: a
//! product client in Basic or the body, else a product member's bearer token), set a
//! password, delete. Listing is in `products`.

use axum::extract::Path;
use axum::response::IntoResponse;

use crate::error::{ApiError, Refusal};
use crate::http::extract::{basic_credentials, Caller, CurrentWorld, RawRequest};
use crate::http::routes::reply::{ok, NoStore, OK_TRUE};
use crate::particle::customers::{create_customer, delete_customer, set_password, CustomerCreator};
use crate::particle::oauth::authenticate_bearer;
use crate::particle::scopes::TeamRef;
use crate::world::World;

/// Who creates: client credentials win (a Bearer header api-js adds alongside is
/// tolerated, A3.1); without them, a bearer token.
fn creator(
    world: &World,
    request: &RawRequest,
    fields: &crate::particle::forms::FormFields,
) -> Result<CustomerCreator, Refusal> {
    if let Some((id, secret)) = basic_credentials(&request.headers) {
        return Ok(CustomerCreator::Client { id, secret });
    }
    if let Some(id) = fields.get("client_id") {
        let secret = fields.get("client_secret").unwrap_or("").to_string();
        return Ok(CustomerCreator::Client {
            id: id.to_string(),
            secret,
        });
    }
    let token = request
        .bearer()
        .ok_or_else(|| ApiError::InvalidClient("Invalid or missing client_id parameter".into()))?;
    let (_, record) = authenticate_bearer(&world.store(), token, world.now())?;
    Ok(CustomerCreator::Token(record.owner))
}

/// A3.1 `POST /v1/products/{p}/customers`: a customer token.
pub(super) async fn create_product_customer(
    Path(product): Path<String>,
    CurrentWorld(world): CurrentWorld,
    request: RawRequest,
) -> Result<impl IntoResponse, Refusal> {
    let fields = request.fields()?;
    let creator = creator(&world, &request, &fields)?;
    let token = create_customer(&world, TeamRef::Product(&product), creator, &fields)?;
    Ok(NoStore(ok(token)))
}

/// `{"password":..}` of A3.3.
#[derive(serde::Deserialize)]
struct NewPassword {
    #[serde(default, deserialize_with = "crate::support::text::scalar_text")]
    password: Option<String>,
}

/// A3.3 `PUT /v1/products/{p}/customers/{email}` (`customers:update`).
pub(super) async fn update_product_customer(
    Path((product, email)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let body: NewPassword = caller.body()?;
    let target = TeamRef::Product(&product);
    set_password(
        &caller.world,
        caller.token.owner,
        target,
        &email,
        body.password.as_deref(),
    )?;
    Ok(ok(OK_TRUE))
}

/// A3.4 `DELETE /v1/products/{p}/customers/{email}` (`customers:remove`).
pub(super) async fn delete_product_customer(
    Path((product, email)): Path<(String, String)>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    delete_customer(
        &caller.world,
        caller.token.owner,
        TeamRef::Product(&product),
        &email,
    )?;
    Ok(ok(OK_TRUE))
}
