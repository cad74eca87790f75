//! The product and org resources API-user tokens call (particle-api.md §3.6, §5.2):
//! a product, its devices (paginated), one device, its customers, and an org's products.
//! Backed by the fixtures. Access goes through [`crate::particle::scopes::authorize`]. Free of HTTP.

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::particle::account::device_json;
use crate::particle::scopes::{authorize, TeamRef};
use crate::world::store::{Directory, Owner, Product, Team};
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
    pub(crate) fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, ApiError> {
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
    fn apply<T>(self, items: Vec<T>) -> (Vec<T>, Meta) {
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
    pub meta: Meta,
}

fn product_by_id(directory: &Directory, team: &Team) -> Result<Product, ApiError> {
    match team {
        Team::Product(id) => directory
            .products
            .iter()
            .find(|p| p.id == *id)
            .cloned()
            .ok_or_else(|| ApiError::NotFound("Product not found.".into())),
        Team::Org(_) => Err(ApiError::NotFound("Product not found.".into())),
    }
}

fn product_json(directory: &Directory, p: &Product) -> Value {
    let org = p.org.as_deref().and_then(|o| directory.org(o));
    json!({
        "id": p.id,
        "platform_id": p.platform_id,
        "name": p.name,
        "slug": p.slug,
        "description": "",
        "org": org.map(|o| o.slug.clone()),
        "organization_id": org.map(|o| o.id.clone()),
        "groups": [],
        "settings": {},
    })
}

/// `GET /v1/products/{p}` (`products:get`): `{"product":{..}}`.
pub(crate) fn get_product(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
) -> Result<Value, ApiError> {
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
) -> Result<Value, ApiError> {
    let store = world.store();
    let directory = store.directory.read();
    let team = authorize(&directory, caller, target)?;
    let Team::Org(org) = &team else {
        return Err(ApiError::NotFound("Organization not found.".into()));
    };
    let products: Vec<Value> = directory
        .products
        .iter()
        .filter(|p| p.org.as_deref() == Some(org.as_str()))
        .map(|p| product_json(&directory, p))
        .collect();
    Ok(json!({ "products": products }))
}

/// `GET /v1/products/{p}/devices` (`devices:list`): one page of the product's devices.
pub(crate) fn list_devices(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    paging: Paging,
) -> Result<DeviceList, ApiError> {
    let store = world.store();
    let directory = store.directory.read();
    let team = authorize(&directory, caller, target)?;
    let product = product_by_id(&directory, &team)?.id.to_string();
    let now = world.now();
    let devices: Vec<Value> = directory
        .devices
        .iter()
        .filter(|d| d.product.as_deref() == Some(product.as_str()))
        .map(|d| device_json(d, now))
        .collect();
    let (devices, meta) = paging.apply(devices);
    Ok(DeviceList { devices, meta })
}

/// `GET /v1/products/{p}/devices/{id}` (`devices:get`): one device of the product, by id
/// (any case); 404 `Device not found.` otherwise.
pub(crate) fn get_device(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    device_id: &str,
) -> Result<Value, ApiError> {
    let store = world.store();
    let directory = store.directory.read();
    let team = authorize(&directory, caller, target)?;
    let product = product_by_id(&directory, &team)?.id.to_string();
    directory
        .devices
        .iter()
        .find(|d| {
            d.product.as_deref() == Some(product.as_str()) && d.id.eq_ignore_ascii_case(device_id)
        })
        .map(|d| device_json(d, world.now()))
        .ok_or_else(|| {
            ApiError::NotFound("Device not found.".into()).because("no such device in this product")
        })
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
) -> Result<CustomerList, ApiError> {
    let store = world.store();
    let directory = store.directory.read();
    let team = authorize(&directory, caller, target)?;
    let product = product_by_id(&directory, &team)?.id;
    let product_key = product.to_string();
    let customers: Vec<Value> = directory
        .customers
        .iter()
        .enumerate()
        .filter(|(_, c)| c.product == product)
        .map(|(i, c)| {
            let devices: Vec<&str> = directory
                .devices
                .iter()
                .filter(|d| {
                    d.product.as_deref() == Some(product_key.as_str())
                        && d.customer
                            .as_deref()
                            .is_some_and(|e| e.eq_ignore_ascii_case(&c.email))
                })
                .map(|d| d.id.as_str())
                .collect();
            json!({
                "id": customer_id(product, i),
                "username": c.email,
                "product_id": product,
                "devices": devices,
            })
        })
        .collect();
    let (customers, meta) = paging.apply(customers);
    Ok(CustomerList { customers, meta })
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
