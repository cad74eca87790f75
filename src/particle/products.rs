//! The product and org resources API-user tokens call (particle-api.md §3.6, §5.2):
//! a product, its devices (paginated), one device, its customers, and an org's products.
//! Backed by the fixtures. Access goes through [`crate::particle::scopes::authorize`]. Free of HTTP.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{ApiError, Refusal};
use crate::particle::devices::{product_device_json, DeviceQuery};
use crate::particle::scopes::{authorize, product_by_id, TeamRef};
use crate::world::fixtures::DeviceFixture;
use crate::world::store::{Customer, Directory, Owner, Product, Team};
use crate::world::World;

/// Records per page when the request names none (Particle's documented default).
const DEFAULT_PER_PAGE: usize = 25;
/// Largest page accepted.
const MAX_PER_PAGE: usize = 100;

/// Which page of a list to answer (`?page=` from 1, `?per_page=` or `?perPage=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    pub page: usize,
    pub per_page: usize,
}

impl Paging {
    /// Parses the query values; a value that is not a positive integer is a 400, a
    /// `per_page` above 100 is clamped to 100.
    pub(crate) fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, Refusal> {
        let positive = |name: &str, text: &str| {
            text.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| ApiError::BadRequest(format!("{name} must be a positive integer.")))
        };
        Ok(Self {
            page: page.map(|p| positive("page", p)).transpose()?.unwrap_or(1),
            per_page: per_page
                .map(|p| positive("per_page", p))
                .transpose()?
                .unwrap_or(DEFAULT_PER_PAGE)
                .min(MAX_PER_PAGE),
        })
    }

    /// The page's items and its `meta` (particle-api-js `PaginationMeta` field names).
    pub(crate) fn apply<T>(self, items: Vec<T>) -> (Vec<T>, Meta) {
        let total = items.len();
        let meta = Meta {
            page: self.page,
            per_page: self.per_page,
            total_pages: total.div_ceil(self.per_page),
            total,
        };
        let start = (self.page - 1).saturating_mul(self.per_page);
        let page = items.into_iter().skip(start).take(self.per_page).collect();
        (page, meta)
    }
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// Pagination `meta` of a list answer.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub(crate) struct Meta {
    pub page: usize,
    pub per_page: usize,
    pub total_pages: usize,
    pub total: usize,
}

/// `GET /v1/products/{p}/devices` answer.
#[derive(Debug, Serialize)]
pub(crate) struct DeviceList {
    pub devices: Vec<Value>,
    pub meta: Meta,
}

/// `GET /v1/products/{p}/customers` answer.
#[derive(Debug, Serialize)]
pub(crate) struct CustomerList {
    pub customers: Vec<Value>,
    pub devices: Vec<Value>,
    pub meta: Meta,
}

/// A product as `getProduct` and `listProducts` show it: the fields recorded in 2018 and
/// 2019 and the current docs' (account spec A6); values the fixtures do not hold are
/// fixed placeholders.
pub(crate) fn product_json(directory: &Directory, p: &Product) -> Value {
    let org = p.org.as_deref().and_then(|o| directory.org(o));
    let key = p.id.to_string();
    let devices = directory
        .devices
        .iter()
        .filter(|d| d.product.as_deref() == Some(key.as_str()));
    let mut groups: Vec<&str> = devices
        .clone()
        .flat_map(|d| d.groups.iter().map(String::as_str))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let owner = directory
        .memberships
        .iter()
        .find(|m| m.team == Team::Product(p.id) && m.role == "Owner")
        .and_then(|m| directory.user(m.user))
        .map(|u| u.email.clone());
    json!({
        "id": p.id,
        "platform_id": p.platform_id,
        "name": p.name,
        "slug": p.slug,
        "latest_firmware_version": null,
        "description": "",
        "type": "Consumer",
        "hardware_version": "v1.0.0",
        "config_id": format!("{:024x}", p.id),
        "organization": org.map(|o| o.id.clone()),
        "requires_activation_codes": false,
        "subscription_id": p.id,
        "mb_limit": null,
        "user": owner,
        "groups": groups,
        "settings": {
            "location": {},
            "known_application": {"opt_in": false},
            "quarantine": false,
        },
        "device_protection": "disabled",
        "device_count": devices.count(),
        "org": org.map(|o| o.slug.clone()),
        "organization_id": org.map(|o| o.id.clone()),
    })
}

/// `GET /v1/orgs` (particle-cli's org picker): the orgs the user is a member of, as
/// `{"organizations":[{"id","slug","name"}]}` (the shape is not in the spec: a choice
/// recorded in docs/fidelity.md).
pub(crate) fn list_orgs(world: &World, user: crate::world::store::UserId) -> Value {
    let store = world.store();
    let directory = store.directory.read();
    let organizations: Vec<Value> = directory
        .orgs_of(user)
        .into_iter()
        .map(|o| json!({ "id": o.id, "slug": o.slug, "name": o.name }))
        .collect();
    json!({ "organizations": organizations })
}

/// `GET /v1/products` and `GET /v1/user/products` (`products:list`, account spec A6):
/// the products the caller may see: a human's (directly or through an org), an API
/// user's team's, a product token's own.
pub(crate) fn list_products(world: &World, caller: Owner) -> Result<Value, Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let visible = |p: &Product| {
        let team = Team::Product(p.id);
        match caller {
            Owner::User(user) => {
                crate::particle::scopes::role_in(&directory, user, &team).is_some()
            }
            Owner::ApiUser(id) => directory
                .api_user(id)
                .is_some_and(|a| crate::particle::scopes::covers(&directory, &a.team, &team)),
            Owner::Product(own) => own == p.id,
            Owner::Customer(_) => false,
        }
    };
    let products: Vec<Value> = directory
        .products
        .iter()
        .filter(|p| visible(p))
        .map(|p| product_json(&directory, p))
        .collect();
    Ok(json!({ "products": products }))
}

/// `GET /v1/products/{p}` (`products:get`): `{"product":{..}}`.
pub(crate) fn get_product(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
) -> Result<Value, Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let team = authorize(&directory, caller, target)?;
    let product = product_by_id(&directory, &team)?;
    Ok(json!({ "product": product_json(&directory, &product) }))
}

/// `GET /v1/orgs/{o}/products` (`products:list`): `{"products":[..]}`.
pub(crate) fn list_org_products(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
) -> Result<Value, Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let team = authorize(&directory, caller, target)?;
    let Team::Org(org) = &team else {
        return Err(ApiError::NotFound("Organization not found.".into()).into());
    };
    let products: Vec<Value> = directory
        .products
        .iter()
        .filter(|p| p.org.as_deref() == Some(org.as_str()))
        .map(|p| product_json(&directory, p))
        .collect();
    Ok(json!({ "products": products }))
}

/// `GET /v1/products/{p}/devices` (`devices:list`): one page of the product's devices,
/// filtered and sorted as `query` says (account spec A11).
pub(crate) fn list_devices(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    paging: Paging,
    query: &DeviceQuery,
) -> Result<DeviceList, Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let team = authorize(&directory, caller, target)?;
    let product = product_by_id(&directory, &team)?.id.to_string();
    let now = world.now();
    let selected = query.select(
        directory
            .devices
            .iter()
            .filter(|d| d.product.as_deref() == Some(product.as_str())),
    );
    // The page is cut before its answers are built: only its devices become JSON.
    let (page, meta) = paging.apply(selected);
    let devices = page
        .into_iter()
        .map(|d| product_device_json(d, now))
        .collect();
    Ok(DeviceList { devices, meta })
}

/// A customer's 24-hex id: product id and index, so it is stable across runs.
fn customer_id(product: u32, index: usize) -> String {
    format!("{product:08x}{index:016x}")
}

/// `GET /v1/products/{p}/customers` (`customers:list`): one page of the product's
/// customers, each with the ids of its devices.
pub(crate) fn list_customers(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    paging: Paging,
) -> Result<CustomerList, Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let team = authorize(&directory, caller, target)?;
    let product = product_by_id(&directory, &team)?.id;
    let product_key = product.to_string();
    // One pass over the customers, the page cut before anything is built, and one pass
    // over the devices for the customers on the page: a deep page of a big product costs
    // what a first page does.
    let customers: Vec<(usize, &Customer)> = directory
        .customers
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
        .filter(|(_, c)| c.product == product)
        .collect();
    let (page, meta) = paging.apply(customers);
    let mut owned: HashMap<String, Vec<&DeviceFixture>> = page
        .iter()
        .map(|(_, c)| (c.email.to_ascii_lowercase(), Vec::new()))
        .collect();
    for d in directory
        .devices
        .iter()
        .filter(|d| d.product.as_deref() == Some(product_key.as_str()))
    {
        if let Some(list) = d
            .customer
            .as_deref()
            .and_then(|e| owned.get_mut(&e.to_ascii_lowercase()))
        {
            list.push(d);
        }
    }
    let mut listed_devices: Vec<Value> = Vec::new();
    let customers: Vec<Value> = page
        .into_iter()
        .map(|(i, c)| {
            let devices = owned
                .get(&c.email.to_ascii_lowercase())
                .map(Vec::as_slice)
                .unwrap_or_default();
            for d in devices {
                listed_devices.push(json!({
                    "id": d.id,
                    "product_id": product,
                    "last_ip_address": if d.online { Some("127.0.0.1") } else { None },
                    "firmware_version": null,
                    "online": d.online,
                }));
            }
            json!({
                "id": customer_id(product, i),
                "full_name": null,
                "username": c.email,
                "product_id": product,
                "devices": devices.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(CustomerList {
        customers,
        devices: listed_devices,
        meta,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paging_defaults_clamps_and_refuses_nonsense() {
        assert_eq!(Paging::parse(None, None).unwrap(), Paging::default());
        assert_eq!(Paging::parse(Some("2"), Some("500")).unwrap().per_page, 100);
        assert!(Paging::parse(Some("0"), None).is_err());
        assert!(Paging::parse(None, Some("x")).is_err());
    }

    #[test]
    fn paging_slices_and_reports_totals() {
        let paging = Paging::parse(Some("2"), Some("2")).unwrap();
        let (items, meta) = paging.apply(vec![1, 2, 3, 4, 5]);
        assert_eq!(items, vec![3, 4]);
        assert_eq!(
            meta,
            Meta {
                page: 2,
                per_page: 2,
                total_pages: 3,
                total: 5
            }
        );
        let (items, meta) = Paging::default().apply(Vec::<u8>::new());
        assert!(items.is_empty());
        assert_eq!(meta.total_pages, 0);
    }

    #[test]
    fn customer_ids_are_24_hex() {
        let id = customer_id(1001, 3);
        assert_eq!(id.len(), 24);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
