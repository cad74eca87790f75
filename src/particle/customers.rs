//! A product's customers (particle-api-account.md A3): created through a product client
//! (Basic or body credentials) or by a product member's token and answered with a
//! customer token; their password set; deleted with their tokens. Listing lives with the
//! other product resources (`products::list_customers`). Free of HTTP.

use crate::error::{ApiError, Refusal};
use crate::particle::forms::FormFields;
use crate::particle::oauth::{authenticate_client_pair, issue, TokenResponse};
use crate::particle::scopes::{authorize_developer, TeamRef};
use crate::support::text::truncate;
use crate::world::password::Password;
use crate::world::store::{has_room, next_slot, put, ClientIdx, ClientKind, Customer, Owner, Team};
use crate::world::World;

/// Most customers one world holds at once (deletion revokes their tokens and frees the slot).
const MAX_CUSTOMERS: usize = 10_000;
/// Longest email (or unique identifier) and password accepted.
const MAX_EMAIL: usize = 254;
const MAX_PASSWORD: usize = 1024;

/// How a create-customer call authenticated.
#[derive(Debug, Clone)]
pub(crate) enum CustomerCreator {
    /// Variant 1: product client credentials (Basic wins over body fields).
    Client { id: String, secret: String },
    /// Variant 2: the bearer token of a product member (or the product's own token).
    Token(Owner),
}

/// `{"ok":false,"error":..}` 400.
fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// A3.1: creates a customer of the product the path names and answers a customer token
/// (`expires_in` the default lifetime, a refresh token, no `scope`).
pub(crate) fn create_customer(
    world: &World,
    target: TeamRef<'_>,
    creator: CustomerCreator,
    fields: &FormFields,
) -> Result<TokenResponse, Refusal> {
    if fields.get("response_type").is_some() {
        return Err(bad("The implicit variant (response_type=token) is not emulated.").into());
    }
    let email = fields
        .get("email")
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::Legacy {
            status: 400,
            message: "Email is required".into(),
        })?;
    if email.len() > MAX_EMAIL {
        return Err(bad("email is too long.").into());
    }
    let no_password = matches!(fields.get("no_password"), Some("true" | "1"));
    let password = fields
        .get("password")
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    if password.as_ref().is_some_and(|p| p.len() > MAX_PASSWORD) {
        return Err(bad("password is too long.").into());
    }
    if password.is_none() && !no_password {
        return Err(bad("Give a password, or no_password=true for a shadow customer.").into());
    }
    let store = world.store();
    let (product, client) = {
        let directory = store.directory.read();
        let product = directory
            .team(target)
            .and_then(|t| match t {
                Team::Product(id) => Some(id),
                Team::Org(_) => None,
            })
            .ok_or_else(|| {
                crate::particle::scopes::product_permission_denied().because(format!(
                    "unknown product `{}`",
                    truncate(target_key(target))
                ))
            })?;
        let client: ClientIdx = match &creator {
            CustomerCreator::Client { id, secret } => {
                drop(directory);
                let (idx, kind) = authenticate_client_pair(&store, Some(id), Some(secret))?;
                if kind != ClientKind::Product(product) {
                    return Err(
                        ApiError::InvalidClient("Client credentials are invalid".into())
                            .because("not a client of this product"),
                    );
                }
                idx
            }
            CustomerCreator::Token(owner) => {
                authorize_developer(&directory, *owner, target, true)?;
                // The token is issued as by the product's first client (or `particle`).
                directory
                    .clients
                    .iter()
                    .position(|c| c.live && c.kind == ClientKind::Product(product))
                    .and_then(|i| ClientIdx::try_from(i).ok())
                    .unwrap_or(0)
            }
        };
        (product, client)
    };
    let index = {
        let mut directory = store.directory.write();
        if directory.customer_by_email(product, &email).is_some() {
            return Err(bad("Customer already exists").into());
        }
        if !has_room(&directory.customers, MAX_CUSTOMERS) {
            return Err(bad("Too many customers in this mock world.").into());
        }
        let slot = next_slot(&directory.customers);
        let index = u32::try_from(slot).map_err(|_| ApiError::Unavailable)?;
        store.take_record()?;
        put(
            &mut directory.customers,
            slot,
            Customer {
                email: email.clone(),
                password: password.map(Password::from),
                product,
            },
        );
        index
    };
    tracing::info!(customer = %truncate(&email), product, "customer created");
    let lifetime = world.settings.default_token_lifetime;
    issue(
        world,
        &store,
        Owner::Customer(index),
        client,
        lifetime,
        None,
    )
}

fn target_key<'a>(target: TeamRef<'a>) -> &'a str {
    match target {
        TeamRef::Product(k) | TeamRef::Org(k) => k,
    }
}

/// The index of the product's customer `email`, after the access check (Developer+).
fn find(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    email: &str,
) -> Result<(u32, u32), Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let team = authorize_developer(&directory, caller, target, true)?;
    let Team::Product(product) = team else {
        return Err(crate::particle::scopes::product_permission_denied().into());
    };
    directory
        .customer_by_email(product, email.trim())
        .map(|(i, _)| (i, product))
        .ok_or_else(|| ApiError::NotFound("Customer not found".into()).into())
}

/// A3.3: sets a customer's password (`customers:update`).
pub(crate) fn set_password(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    email: &str,
    password: Option<&str>,
) -> Result<(), Refusal> {
    let password = password
        .filter(|p| !p.is_empty())
        .ok_or_else(|| bad("password is required."))?;
    if password.len() > MAX_PASSWORD {
        return Err(bad("password is too long.").into());
    }
    let (index, _) = find(world, caller, target, email)?;
    let store = world.store();
    let mut directory = store.directory.write();
    if let Some(Some(c)) = directory.customers.get_mut(index as usize) {
        c.password = Some(Password::from(password.to_string()));
    }
    Ok(())
}

/// A3.4: deletes a customer (`customers:remove`) and revokes its tokens; its devices
/// stay in the product, unowned.
pub(crate) fn delete_customer(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    email: &str,
) -> Result<(), Refusal> {
    let (index, product) = find(world, caller, target, email)?;
    let store = world.store();
    {
        let mut directory = store.directory.write();
        let removed = directory
            .customers
            .get_mut(index as usize)
            .and_then(Option::take);
        if let Some(c) = removed {
            store.give_record();
            let key = product.to_string();
            for d in &mut directory.devices {
                if d.product.as_deref() == Some(key.as_str())
                    && d.customer
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(&c.email))
                {
                    d.customer = None;
                }
            }
        }
    }
    store.revoke_all_of(Owner::Customer(index));
    Ok(())
}
