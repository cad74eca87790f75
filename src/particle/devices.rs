//! Device detail and product device membership (particle-api-account.md A11): one of
//! the caller's devices by id or name, the product device list's filters and sorting,
//! and adding devices to and removing them from a product. Free of HTTP.

use serde::Serialize;
use serde_json::{json, Value};

use crate::clock::Millis;
use crate::error::{ApiError, Refusal};
use crate::particle::account::device_json;
use crate::particle::scopes::{authorize, product_by_id, TeamRef};
use crate::world::fixtures::DeviceFixture;
use crate::world::store::Owner;
use crate::world::World;

/// Most devices one world holds; an add beyond it refuses the extra ids.
const MAX_DEVICES: usize = 10_000;
/// Most ids one add request may name.
pub(crate) const MAX_IDS_PER_ADD: usize = 1_000;
/// Longest filter value kept.
const MAX_FILTER: usize = 256;

/// The filters and order of `GET /v1/products/{p}/devices` (particle-api-js `listDevices`).
#[derive(Debug, Default, Clone)]
pub(crate) struct DeviceQuery {
    /// `deviceId`: a case-insensitive substring of the id.
    pub device_id: Option<String>,
    /// `deviceName`: a case-insensitive substring of the name.
    pub device_name: Option<String>,
    /// `groups`: a device in any of these (comma list).
    pub groups: Vec<String>,
    /// `sortAttr`: `deviceId`, `deviceName`, `online`, `platformId` or `lastHeard`.
    pub sort_attr: Option<SortAttr>,
    /// `sortDir`: `asc` (default) or `desc`.
    pub descending: bool,
}

/// What a product device list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortAttr {
    Id,
    Name,
    Online,
    Platform,
}

impl DeviceQuery {
    /// Parses the query values; an unknown `sortAttr` or `sortDir` is a 400.
    pub(crate) fn parse(
        device_id: Option<&str>,
        device_name: Option<&str>,
        groups: Option<&str>,
        sort_attr: Option<&str>,
        sort_dir: Option<&str>,
    ) -> Result<Self, Refusal> {
        let text = |v: Option<&str>| {
            v.map(str::trim).filter(|v| !v.is_empty()).map(|v| {
                v.chars()
                    .take(MAX_FILTER)
                    .collect::<String>()
                    .to_ascii_lowercase()
            })
        };
        let sort_attr = match sort_attr.map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some("deviceId" | "id") => Some(SortAttr::Id),
            Some("deviceName" | "name") => Some(SortAttr::Name),
            // No device of the mock has a real last-heard time: online ones first.
            Some("online" | "lastHeard" | "last_heard") => Some(SortAttr::Online),
            Some("platformId" | "platform_id" | "productId") => Some(SortAttr::Platform),
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "sortAttr must be one of deviceId, deviceName, online, lastHeard, platformId (got `{}`).",
                    crate::support::text::truncate(other)
                )).into())
            }
        };
        let descending = match sort_dir.map(|d| d.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "asc") => false,
            Some("desc") => true,
            Some(_) => {
                return Err(ApiError::BadRequest("sortDir must be asc or desc.".into()).into())
            }
        };
        Ok(Self {
            device_id: text(device_id),
            device_name: text(device_name),
            groups: groups
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .take(32)
                .map(str::to_string)
                .collect(),
            sort_attr,
            descending,
        })
    }

    fn matches(&self, d: &DeviceFixture) -> bool {
        self.device_id
            .as_deref()
            .is_none_or(|id| d.id.to_ascii_lowercase().contains(id))
            && self
                .device_name
                .as_deref()
                .is_none_or(|n| d.name.to_ascii_lowercase().contains(n))
            && (self.groups.is_empty() || d.groups.iter().any(|g| self.groups.contains(g)))
    }

    /// The matching devices of `devices`, in the asked order.
    pub(crate) fn select<'a>(
        &self,
        devices: impl Iterator<Item = &'a DeviceFixture>,
    ) -> Vec<&'a DeviceFixture> {
        let mut found: Vec<&DeviceFixture> = devices.filter(|d| self.matches(d)).collect();
        match self.sort_attr {
            None => {}
            Some(SortAttr::Id) => found.sort_by(|a, b| a.id.cmp(&b.id)),
            Some(SortAttr::Name) => found.sort_by(|a, b| a.name.cmp(&b.name)),
            Some(SortAttr::Online) => found.sort_by_key(|d| !d.online),
            Some(SortAttr::Platform) => found.sort_by_key(|d| d.platform_id),
        }
        if self.descending {
            found.reverse();
        }
        found
    }
}

/// A device as a product's lists show it: [`device_json`] plus the product fields
/// particle-cli's end-to-end tests expect (A11).
pub(crate) fn product_device_json(d: &DeviceFixture, now: Millis) -> Value {
    let mut v = device_json(d, now);
    if let Some(map) = v.as_object_mut() {
        let owner = d.owner.clone().or_else(|| d.customer.clone());
        let product = d.product.as_deref().and_then(|p| p.parse::<u32>().ok());
        map.insert("owner".into(), json!(owner));
        map.insert("denied".into(), json!(false));
        map.insert("quarantined".into(), json!(false));
        map.insert("firmware_product_id".into(), json!(product));
    }
    v
}

/// `POST /v1/products/{p}/devices` answer (particle-cli reads these keys).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AddedDevices {
    pub updated: usize,
    pub nonmember_device_ids: Vec<String>,
    pub invalid_device_ids: Vec<String>,
}

/// A11 add (`devices:import`): each id joins the product; a device the world does not
/// know yet is created (unclaimed, offline); an id that is not 24 hex, or a device of
/// another product, is reported in `invalidDeviceIds`.
pub(crate) fn add_devices(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    ids: &[String],
) -> Result<AddedDevices, Refusal> {
    if ids.is_empty() {
        return Err(ApiError::BadRequest(
            "Give a device id (`id`) or a file of ids (`file`).".into(),
        )
        .into());
    }
    if ids.len() > MAX_IDS_PER_ADD {
        return Err(
            ApiError::BadRequest(format!("At most {MAX_IDS_PER_ADD} device ids at once.")).into(),
        );
    }
    let store = world.store();
    let mut directory = store.directory.write();
    let team = authorize(&directory, caller, target)?;
    let product = product_by_id(&directory, &team)?;
    let key = product.id.to_string();
    let mut answer = AddedDevices {
        updated: 0,
        nonmember_device_ids: Vec::new(),
        invalid_device_ids: Vec::new(),
    };
    for id in ids {
        let id = id.trim().to_ascii_lowercase();
        let hex = id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit());
        let full = directory.devices.len() >= MAX_DEVICES;
        let existing = directory
            .devices
            .iter_mut()
            .find(|d| d.id.eq_ignore_ascii_case(&id));
        match existing {
            _ if !hex => answer.invalid_device_ids.push(id),
            Some(d) if d.product.as_deref().is_some_and(|p| p != key) => {
                answer.invalid_device_ids.push(id)
            }
            Some(d) => {
                d.product = Some(key.clone());
                answer.updated += 1;
            }
            // Past the world's cap or the server's (`--max-total-records`).
            None if full || store.take_record().is_err() => answer.invalid_device_ids.push(id),
            None => {
                directory.devices.push(DeviceFixture {
                    product: Some(key.clone()),
                    ..DeviceFixture::unclaimed(id, product.platform_id)
                });
                answer.updated += 1;
            }
        }
    }
    Ok(answer)
}

/// A11 remove (`devices:remove`): the device leaves the product (and its customer);
/// `deny` is accepted (there is no quarantine in the mock). 404 "Device not found for
/// this product" when it is not there.
pub(crate) fn remove_device(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    device_id: &str,
) -> Result<(), Refusal> {
    let store = world.store();
    let mut directory = store.directory.write();
    let team = authorize(&directory, caller, target)?;
    let key = product_by_id(&directory, &team)?.id.to_string();
    let device = directory
        .devices
        .iter_mut()
        .find(|d| {
            d.product.as_deref() == Some(key.as_str()) && d.id.eq_ignore_ascii_case(device_id)
        })
        .ok_or_else(|| ApiError::NotFound("Device not found for this product".into()))?;
    device.product = None;
    device.customer = None;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_and_refuse_unknown_orders() {
        let q = DeviceQuery::parse(
            None,
            Some(" Boron "),
            Some("a, b"),
            Some("deviceName"),
            Some("desc"),
        )
        .unwrap();
        assert_eq!(q.device_name.as_deref(), Some("boron"));
        assert_eq!(q.groups, vec!["a", "b"]);
        assert_eq!(q.sort_attr, Some(SortAttr::Name));
        assert!(q.descending);
        assert!(DeviceQuery::parse(None, None, None, Some("color"), None).is_err());
        assert!(DeviceQuery::parse(None, None, None, None, Some("up")).is_err());
    }
}
