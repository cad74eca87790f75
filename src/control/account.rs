//! What the account routes leave behind that a test cannot read through the Particle API:
//! outstanding password-reset tokens (particle-api-account.md A2.5, what only an inbox
//! would show), OAuth clients with their secrets, and customers.

use crate::error::ApiError;
pub use crate::particle::lifecycle::ResetView as PasswordReset;
use crate::support::paging::{page_at_offset, Page, PageRequest};
use crate::world::World;

use serde::{Deserialize, Serialize};

/// The outstanding, unexpired password resets of `world`, oldest first
/// (`GET /__mock/password-resets`).
pub(crate) fn password_resets(world: &World) -> Vec<PasswordReset> {
    crate::particle::lifecycle::outstanding_resets(&world.store(), world.now())
}

/// One page of [`password_resets`] (the cursor is a position).
pub(crate) fn password_resets_page(
    world: &World,
    request: &PageRequest,
) -> Result<Page<PasswordReset>, ApiError> {
    page_at_offset(password_resets(world), request).map_err(ApiError::BadRequest)
}

/// One page of [`clients`] (the cursor is a position).
pub(crate) fn clients_page(
    world: &World,
    request: &PageRequest,
) -> Result<Page<ClientInfo>, ApiError> {
    page_at_offset(clients(world), request).map_err(ApiError::BadRequest)
}

/// One page of [`customers`] (the cursor is a position).
pub(crate) fn customers_page(
    world: &World,
    request: &PageRequest,
) -> Result<Page<CustomerInfo>, ApiError> {
    page_at_offset(customers(world), request).map_err(ApiError::BadRequest)
}

/// An OAuth client as the control API shows it: with its secret (a test that created one
/// through the Particle API reads it in the create answer; this is for the rest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// The client id.
    pub id: String,
    /// Its secret.
    pub secret: String,
    /// Its display name.
    pub name: String,
    /// `installed` or `web`.
    #[serde(rename = "type")]
    pub client_type: String,
    /// `built-in`, `product` or `user`.
    pub kind: String,
    /// The owning product's id (product clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<u32>,
    /// The owning user's email (user clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A product's customer as the control API shows it (never its password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerInfo {
    /// Its email (or unique identifier), lowercased.
    pub email: String,
    /// Its product's id.
    pub product: u32,
    /// Whether it has a password (false: a shadow customer).
    pub has_password: bool,
}

/// Every live OAuth client of `world`, built-in ones first (`GET /__mock/clients`).
pub(crate) fn clients(world: &World) -> Vec<ClientInfo> {
    use crate::world::store::ClientKind;
    let store = world.store();
    let directory = store.directory.read();
    directory
        .clients
        .iter()
        .filter(|c| c.live)
        .map(|c| {
            let (kind, product, owner) = match c.kind {
                ClientKind::Developer => ("built-in", None, None),
                ClientKind::Product(p) => ("product", Some(p), None),
                ClientKind::User(u) => ("user", None, directory.user(u).map(|u| u.email.clone())),
            };
            ClientInfo {
                id: c.id.clone(),
                secret: c.secret.clone(),
                name: c.name.clone(),
                client_type: c.client_type.clone(),
                kind: kind.into(),
                product,
                owner,
            }
        })
        .collect()
}

/// Every live customer of `world`, in creation order (`GET /__mock/customers`).
pub(crate) fn customers(world: &World) -> Vec<CustomerInfo> {
    let store = world.store();
    let directory = store.directory.read();
    directory
        .customers
        .iter()
        .flatten()
        .map(|c| CustomerInfo {
            email: c.email.clone(),
            product: c.product,
            has_password: c.password.is_some(),
        })
        .collect()
}
