//! Who may do what to a device (particle-api-devices.md D1): the one lookup every device
//! route goes through, sandbox (`/v1/devices/{idOrName}…`) or product
//! (`/v1/products/{p}/devices/{id}…`). Free of HTTP.
//!
//! The route table's [`Need::Device`](crate::particle::scopes::Need::Device) has already
//! checked an API user's scope; this decides the rest:
//!
//! - the device's owner may do everything;
//! - product members by role (D-TAC matrix): View-only views, Support also reads
//!   variables, calls functions and pings, Developer and Administrator (and Owner) also
//!   change, flash and release; org roles cover the org's products;
//! - a customer views and operates its own devices, and changes nothing (D12 item 7);
//! - an API user or a product's token acts on the devices of its product (or org).
//!
//! A device that is unknown and one the caller may not see are indistinguishable (D1).

use crate::error::{ApiError, Refusal};
use crate::particle::scopes::{authorize, covers, resolve, role_in};
use crate::world::fixtures::DeviceFixture;
use crate::world::store::{Directory, Owner, Team, TeamRef};

/// Where a device route was called.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Via<'a> {
    /// `/v1/devices/{deviceIdOrName}…`: id (any case) or name.
    Sandbox,
    /// `/v1/products/{p}/devices/{deviceId}…`: the product's devices, by id only
    /// (particle-cli refuses names with `--product`, D2.1).
    Product(TeamRef<'a>),
}

/// What a call does to a device, in the order of D1's permission matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Action {
    /// Read the device (View-only and up).
    View,
    /// Read variables, call functions, ping (Support and up, customers on their own).
    Operate,
    /// Rename, signal, notes, development, firmware lock, flash, release (Developer and
    /// up, the owner).
    Change,
}

/// Why a device lookup failed.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Unknown, or not the caller's to see (the route picks its answer: D9).
    NotVisible,
    /// Visible, but this caller may not do this (or the product is not theirs).
    Refused(Refusal),
}

impl From<Refusal> for Lookup {
    fn from(e: Refusal) -> Self {
        Lookup::Refused(e)
    }
}

impl From<ApiError> for Lookup {
    fn from(e: ApiError) -> Self {
        Lookup::Refused(e.into())
    }
}

impl Lookup {
    /// The answer of routes other than functions: `403 Permission Denied` (D9).
    pub(crate) fn permission_denied(self) -> Refusal {
        match self {
            Lookup::NotVisible => {
                ApiError::DevicePermissionDenied.because("unknown device or not the caller's")
            }
            Lookup::Refused(e) => e,
        }
    }
}

/// How far a caller may go with a device, if it may see it at all.
fn reach(directory: &Directory, caller: Owner, d: &DeviceFixture) -> Option<Action> {
    let product = d.product.as_deref().and_then(|p| p.parse::<u32>().ok());
    match caller {
        Owner::User(id) => {
            let user = directory.user(id)?;
            if d.owner
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(&user.email))
            {
                return Some(Action::Change);
            }
            let role = role_in(directory, id, &Team::Product(product?))?;
            match role.as_str() {
                "Owner" | "Administrator" | "Developer" => Some(Action::Change),
                "Support" => Some(Action::Operate),
                _ => Some(Action::View),
            }
        }
        Owner::Customer(index) => {
            let customer = directory.customer(index)?;
            (product == Some(customer.product)
                && d.customer
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(&customer.email)))
            .then_some(Action::Operate)
        }
        Owner::ApiUser(id) => {
            let api_user = directory.api_user(id)?;
            covers(directory, &api_user.team, &Team::Product(product?)).then_some(Action::Change)
        }
        Owner::Product(id) => (product == Some(id)).then_some(Action::Change),
    }
}

/// The index in `directory.devices` of the device the path names, if `caller` may do
/// `action` to it there.
///
/// # Errors
/// [`Lookup::NotVisible`] for an unknown device or one the caller may not see;
/// [`Lookup::Refused`] for an unknown or foreign product (its A11 answer) or a role too
/// low (`403 Permission Denied`, D1's suggestion).
pub(crate) fn locate(
    directory: &Directory,
    caller: Owner,
    via: Via<'_>,
    id_or_name: &str,
    action: Action,
) -> Result<usize, Lookup> {
    let (index, reach) = match via {
        Via::Sandbox => directory
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.id.eq_ignore_ascii_case(id_or_name) || d.name == id_or_name)
            .find_map(|(i, d)| reach(directory, caller, d).map(|r| (i, r)))
            .ok_or(Lookup::NotVisible)?,
        Via::Product(target) => {
            // The product first: unknown or foreign products get A11's answer.
            let team = match caller {
                // Customers are not members; their product must be the path's.
                Owner::Customer(_) => resolve(directory, target)?,
                _ => authorize(directory, caller, target)?,
            };
            let Team::Product(product) = team else {
                return Err(Lookup::NotVisible);
            };
            let key = product.to_string();
            directory
                .devices
                .iter()
                .enumerate()
                .filter(|(_, d)| {
                    d.product.as_deref() == Some(key.as_str())
                        && d.id.eq_ignore_ascii_case(id_or_name)
                })
                .find_map(|(i, d)| reach(directory, caller, d).map(|r| (i, r)))
                .ok_or(Lookup::NotVisible)?
        }
    };
    if reach < action {
        return Err(Lookup::Refused(ApiError::DevicePermissionDenied.because(
            format!("the caller may not {action:?} this device (role or customer)"),
        )));
    }
    Ok(index)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::world::fixtures::Fixtures;
    use crate::world::store::Store;

    const ARGON: &str = "0123456789abcdef01234567";
    const PHOTON: &str = "fedcba9876543210fedcba98";

    #[test]
    fn owners_members_and_customers_reach_as_far_as_d1_says() {
        let store = Store::from_fixtures(&Fixtures::default_set());
        let dir = store.directory.read();
        let (user, _) = dir.user_by_email("user@example.com").unwrap();
        let (developer, _) = dir.user_by_email("developer@example.com").unwrap();
        // The owner, by id in any case or by name.
        assert!(locate(
            &dir,
            Owner::User(user),
            Via::Sandbox,
            "demo-argon",
            Action::Change
        )
        .is_ok());
        assert!(locate(
            &dir,
            Owner::User(user),
            Via::Sandbox,
            &ARGON.to_uppercase(),
            Action::Change
        )
        .is_ok());
        // A sandbox device is nobody else's, not even a product developer's.
        assert!(matches!(
            locate(
                &dir,
                Owner::User(developer),
                Via::Sandbox,
                ARGON,
                Action::View
            ),
            Err(Lookup::NotVisible)
        ));
        // A product member reaches the product's devices by role.
        let product = Via::Product(TeamRef::Product("demo-product"));
        assert!(locate(
            &dir,
            Owner::User(developer),
            product,
            PHOTON,
            Action::Change
        )
        .is_ok());
        // Product routes take ids only.
        assert!(locate(
            &dir,
            Owner::User(developer),
            product,
            "customer-photon",
            Action::View
        )
        .is_err());
        // The customer operates its own device and changes nothing.
        let customer = Owner::Customer(0);
        assert!(locate(&dir, customer, Via::Sandbox, PHOTON, Action::Operate).is_ok());
        assert!(matches!(
            locate(&dir, customer, Via::Sandbox, PHOTON, Action::Change),
            Err(Lookup::Refused(_))
        ));
        // The product's API user and token act on its devices only.
        assert!(locate(
            &dir,
            Owner::ApiUser(0),
            Via::Sandbox,
            PHOTON,
            Action::Change
        )
        .is_ok());
        assert!(locate(&dir, Owner::ApiUser(0), Via::Sandbox, ARGON, Action::View).is_err());
        assert!(locate(&dir, Owner::Product(1001), product, PHOTON, Action::Operate).is_ok());
        assert!(locate(
            &dir,
            Owner::Product(1002),
            Via::Sandbox,
            PHOTON,
            Action::View
        )
        .is_err());
    }
}
