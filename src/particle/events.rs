//! Event streams and publishing (particle-api-devices.md D5, D6), free of HTTP: who may
//! open which stream (a token and a path become an [`EventFilter`]), what a publish may
//! carry, and the events the cloud itself sends (D5.5). Everything is published through
//! the world's one bus (`crate::events`), whoever publishes: a client through the API,
//! a simulated device through the control API, or the cloud.

use std::sync::Arc;

use crate::error::{ApiError, Refusal};
use crate::events::{Audience, Event, EventFilter, NewEvent, Party, Scope, Source};
use crate::particle::scopes::{authorize, authorize_developer, insufficient_scope, role_in};
use crate::support::text::truncate;
use crate::tokens::TokenKey;
use crate::world::fixtures::DeviceFixture;
use crate::world::store::{Directory, Owner, Team, TeamRef};
use crate::world::World;

/// Longest event name (D6: 1–64 ASCII characters).
pub(crate) const MAX_NAME_BYTES: usize = 64;

/// Default `ttl` of a publish, seconds (D6).
const DEFAULT_TTL: u32 = 60;

/// The `version` product streams show: the fixtures hold no firmware versions yet.
const FIRMWARE_VERSION: u32 = 0;

/// What a stream's path names (D5.1).
#[derive(Debug, Clone, Copy)]
pub(crate) enum StreamTarget<'a> {
    /// `/v1/events/{prefix}`: the caller's events and every public one.
    Public,
    /// `/v1/devices/events` (and `mine`): the caller's devices and API publishes.
    Mine,
    /// `/v1/devices/{id}/events`.
    Device(&'a str),
    /// `/v1/products/{p}/events`.
    Product(&'a str),
    /// `/v1/products/{p}/devices/{id}/events`.
    ProductDevice(&'a str, &'a str),
    /// `/v1/orgs/{o}/events`.
    Org(&'a str),
    /// `/v1/orgs/{o}/devices/{id}/events`.
    OrgDevice(&'a str, &'a str),
}

/// A stream the caller may open: what it receives, and in which frame shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamPlan {
    /// The events it receives.
    pub filter: EventFilter,
    /// Product and org streams show the product fields (D5.2, D12 item 10).
    pub product_frames: bool,
}

/// The bus's name for a token's owner.
pub(crate) fn party(owner: Owner) -> Party {
    match owner {
        Owner::User(id) => Party::User(id),
        Owner::Customer(id) => Party::Customer(id),
        Owner::ApiUser(id) => Party::ApiUser(id),
        Owner::Product(id) => Party::Product(id),
    }
}

/// D5.1, D5.4, D1: the stream `owner` may open at `target` with `prefix` (percent-
/// decoded; empty is none), or the refusal to answer before the stream starts.
pub(crate) fn plan_stream(
    world: &World,
    owner: Owner,
    target: StreamTarget<'_>,
    prefix: Option<&str>,
) -> Result<StreamPlan, Refusal> {
    let prefix: Option<Box<str>> = prefix.filter(|p| !p.is_empty()).map(Into::into);
    let store = world.store();
    let directory = store.directory.read();
    let (scope, product_frames) = match target {
        StreamTarget::Public => {
            if prefix.is_none() {
                // D5.1: exact body, since May 2018.
                return Err(ApiError::BadRequest("event prefix filter is required".into()).into());
            }
            (Scope::OwnedOrPublic(party(owner)), false)
        }
        StreamTarget::Mine => (Scope::Owned(party(owner)), false),
        StreamTarget::Device(id) => {
            let device = find_device(&directory, id)?;
            if !may_see_device(&directory, owner, device) {
                return Err(foreign_device());
            }
            (device_scope(device), false)
        }
        StreamTarget::Product(p) => match authorize(&directory, owner, TeamRef::Product(p))? {
            Team::Product(id) => (Scope::Product(id), true),
            Team::Org(_) => return Err(ApiError::Unavailable.into()),
        },
        StreamTarget::ProductDevice(p, id) | StreamTarget::OrgDevice(p, id) => {
            let target = match target {
                StreamTarget::OrgDevice(..) => TeamRef::Org(p),
                _ => TeamRef::Product(p),
            };
            let team = authorize(&directory, owner, target)?;
            let device = find_device(&directory, id)?;
            if !device_in_team(&directory, device, &team) {
                return Err(foreign_device());
            }
            (device_scope(device), true)
        }
        StreamTarget::Org(o) => match authorize(&directory, owner, TeamRef::Org(o))? {
            Team::Org(id) => (Scope::Org(id.into()), true),
            Team::Product(_) => return Err(ApiError::Unavailable.into()),
        },
    };
    Ok(StreamPlan {
        filter: EventFilter { scope, prefix },
        product_frames,
    })
}

/// D1's refusal for a device that is unknown or not the caller's (the same body).
fn foreign_device() -> Refusal {
    ApiError::DevicePermissionDenied.because("event stream of an unknown or foreign device")
}

fn find_device<'a>(directory: &'a Directory, id: &str) -> Result<&'a DeviceFixture, Refusal> {
    directory
        .devices
        .iter()
        .find(|d| d.id.eq_ignore_ascii_case(id) || (!d.name.is_empty() && d.name == id))
        .ok_or_else(foreign_device)
}

/// One device's events, private ones included (the caller was checked to see them).
fn device_scope(device: &DeviceFixture) -> Scope {
    Scope::Device {
        id: device.id.to_ascii_lowercase().into(),
        private_too: true,
    }
}

/// The numeric product of a device, if it has one.
fn product_of(device: &DeviceFixture) -> Option<u32> {
    device.product.as_deref().and_then(|p| p.parse().ok())
}

/// Whether `device` belongs to `team` (a product, or a product of an org).
fn device_in_team(directory: &Directory, device: &DeviceFixture, team: &Team) -> bool {
    let Some(product) = product_of(device) else {
        return false;
    };
    match team {
        Team::Product(id) => *id == product,
        Team::Org(org) => directory
            .products
            .iter()
            .any(|p| p.id == product && p.org.as_deref() == Some(org.as_str())),
    }
}

/// D5.4: the owner sees its device (a customer its own product device); a member of
/// the device's product team sees it too [INFERRED]; nobody else.
fn may_see_device(directory: &Directory, owner: Owner, device: &DeviceFixture) -> bool {
    match owner {
        Owner::User(user) => {
            let owns = directory.user(user).is_some_and(|u| {
                device
                    .owner
                    .as_deref()
                    .is_some_and(|o| o.eq_ignore_ascii_case(&u.email))
            });
            owns || product_of(device)
                .is_some_and(|p| role_in(directory, user, &Team::Product(p)).is_some())
        }
        Owner::Customer(index) => directory.customer(index).is_some_and(|c| {
            product_of(device) == Some(c.product)
                && device
                    .customer
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&c.email))
        }),
        Owner::ApiUser(_) | Owner::Product(_) => false,
    }
}

/// The 24-hex `userid` product streams show for a user (the mock has no such ids: one
/// is derived from the user's index, stable for a world's life).
fn user_hex(user: u32) -> String {
    format!("5d447a8c6c0ad3{user:010x}")
}

/// Who may see an event of `device`, and its owner's `userid`.
fn device_audience(directory: &Directory, device: &DeviceFixture) -> (Audience, Option<String>) {
    let product = product_of(device);
    let user = device
        .owner
        .as_deref()
        .and_then(|email| directory.user_by_email(email))
        .map(|(id, _)| id);
    let customer = || {
        let email = device.customer.as_deref()?;
        let (index, _) = directory.customer_by_email(product?, email)?;
        Some(Party::Customer(index))
    };
    let owner = user.map(Party::User).or_else(customer);
    (
        Audience {
            owner,
            product,
            org: org_of_product(directory, product),
            public: false,
        },
        user.map(user_hex),
    )
}

fn org_of_product(directory: &Directory, product: Option<u32>) -> Option<Box<str>> {
    let product = product?;
    directory
        .products
        .iter()
        .find(|p| p.id == product)
        .and_then(|p| p.org.as_deref())
        .map(Into::into)
}

/// A publish (D6), parsed at the edge: the name and data as sent, the flags decoded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Publish {
    /// `name` (required).
    pub name: Option<String>,
    /// `data`.
    pub data: Option<String>,
    /// `private`: missing, `""` and `false` are public, as the local cloud read it (D6).
    pub private: bool,
    /// `ttl`, seconds (default 60).
    pub ttl: Option<u32>,
}

/// Checks a name and data against D6's limits: a clear 400 for each failure.
fn check_event(name: Option<&str>, data: Option<&str>, max_data: usize) -> Result<(), Refusal> {
    let name = name.unwrap_or("");
    if name.is_empty() {
        return Err(ApiError::BadRequest("Event name is required.".into()).into());
    }
    if name.len() > MAX_NAME_BYTES || !name.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(ApiError::BadRequest(format!(
            "Event name must be 1 to {MAX_NAME_BYTES} printable ASCII characters (got `{}`).",
            truncate(name)
        ))
        .into());
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("spark") || lower.starts_with("particle") {
        return Err(ApiError::BadRequest(
            "Event names starting with spark or particle are reserved for the cloud.".into(),
        )
        .into());
    }
    if data.is_some_and(|d| d.len() > max_data) {
        return Err(
            ApiError::BadRequest(format!("Event data must be at most {max_data} bytes.")).into(),
        );
    }
    Ok(())
}

/// D6: a client's publish, to `product` (the product route) or as the caller (the user
/// route). Human publishers to a product need the Developer role (D1); an API user
/// needs `events:send` (checked by the route table on the product route, here on the
/// user route, where people publish without a scope).
pub(crate) fn publish_from_api(
    world: &World,
    owner: Owner,
    product: Option<&str>,
    publish: Publish,
) -> Result<Arc<Event>, Refusal> {
    check_event(
        publish.name.as_deref(),
        publish.data.as_deref(),
        world.settings.max_event_data_bytes,
    )?;
    let audience_product = {
        let store = world.store();
        let directory = store.directory.read();
        match (product, owner) {
            (Some(p), _) => {
                match authorize_developer(&directory, owner, TeamRef::Product(p), true)? {
                    Team::Product(id) => Some(id),
                    Team::Org(_) => None,
                }
            }
            (None, Owner::ApiUser(id)) => {
                let api_user = directory
                    .api_user(id)
                    .ok_or_else(|| ApiError::invalid_token().because("the API user was deleted"))?;
                if !api_user.scopes.iter().any(|s| s == "events:send") {
                    return Err(insufficient_scope("events:send"));
                }
                match api_user.team {
                    Team::Product(id) => Some(id),
                    Team::Org(_) => None,
                }
            }
            (None, Owner::Product(id)) => Some(id),
            (None, Owner::User(_) | Owner::Customer(_)) => None,
        }
    };
    let org = {
        let store = world.store();
        let directory = store.directory.read();
        org_of_product(&directory, audience_product)
    };
    let new = NewEvent {
        name: publish.name.unwrap_or_default(),
        data: publish.data,
        ttl: publish.ttl.unwrap_or(DEFAULT_TTL),
        source: Source::Api,
        audience: Audience {
            owner: Some(party(owner)),
            product: audience_product,
            org,
            public: !publish.private,
        },
        userid: match owner {
            Owner::User(id) => Some(user_hex(id)),
            _ => None,
        },
        version: FIRMWARE_VERSION,
    };
    Ok(world.events.publish(new, world.now()))
}

/// A simulated device publishes (the control API's "publish as this device", a
/// function's scripted effect): the device's owner, product and org see it. The same
/// limits as the API's publishes (a device may not use `spark`/`particle` names either,
/// D5.5). 404 when the world has no such device.
pub(crate) fn publish_as_device(
    world: &World,
    device_id: &str,
    publish: Publish,
) -> Result<Arc<Event>, Refusal> {
    check_event(
        publish.name.as_deref(),
        publish.data.as_deref(),
        world.settings.max_event_data_bytes,
    )?;
    let (id, mut audience, userid) = device_facts(world, device_id)?;
    audience.public = !publish.private;
    let new = NewEvent {
        name: publish.name.unwrap_or_default(),
        data: publish.data,
        ttl: publish.ttl.unwrap_or(DEFAULT_TTL),
        source: Source::Device(id.into()),
        audience,
        userid,
        version: FIRMWARE_VERSION,
    };
    Ok(world.events.publish(new, world.now()))
}

/// The cloud's own events about a device (D5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpecialEvent {
    /// `spark/status` `online` (true) or `offline` (false).
    Status(bool),
    /// `spark/flash/status` `started`.
    FlashStarted,
    /// `spark/flash/status` `success`.
    FlashSuccess,
}

impl SpecialEvent {
    fn name(self) -> &'static str {
        match self {
            SpecialEvent::Status(_) => "spark/status",
            SpecialEvent::FlashStarted | SpecialEvent::FlashSuccess => "spark/flash/status",
        }
    }

    fn data(self) -> &'static str {
        match self {
            SpecialEvent::Status(true) => "online",
            SpecialEvent::Status(false) => "offline",
            SpecialEvent::FlashStarted => "started",
            SpecialEvent::FlashSuccess => "success",
        }
    }
}

/// D5.5: the cloud publishes `special` about `device_id` (its `coreid` is the device's,
/// private, ttl 60). 404 when the world has no such device.
pub(crate) fn publish_special(
    world: &World,
    device_id: &str,
    special: SpecialEvent,
) -> Result<Arc<Event>, Refusal> {
    let (id, audience, userid) = device_facts(world, device_id)?;
    let new = NewEvent {
        name: special.name().into(),
        data: Some(special.data().into()),
        ttl: DEFAULT_TTL,
        source: Source::Device(id.into()),
        audience,
        userid,
        version: FIRMWARE_VERSION,
    };
    Ok(world.events.publish(new, world.now()))
}

/// A device's id (lower case), audience and owner's `userid`; 404 if unknown.
fn device_facts(
    world: &World,
    device_id: &str,
) -> Result<(String, Audience, Option<String>), Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let device = directory
        .devices
        .iter()
        .find(|d| d.id.eq_ignore_ascii_case(device_id))
        .ok_or_else(|| {
            ApiError::NotFound("Device not found".into())
                .because(format!("no device `{}` in this world", truncate(device_id)))
        })?;
    let (audience, userid) = device_audience(&directory, device);
    Ok((device.id.to_ascii_lowercase(), audience, userid))
}

/// Whether the token a stream was opened with still opens streams (D5.6): not revoked,
/// not expired on the world's clock.
pub(crate) fn token_alive(world: &World, key: &TokenKey) -> bool {
    let now = world.now();
    world
        .store()
        .tokens
        .get(key)
        .is_some_and(|t| t.expires_at.is_none_or(|at| at > now))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_and_data_are_checked_against_d6() {
        assert!(check_event(Some("temp"), Some("1"), 4).is_ok());
        for (name, data) in [
            (None, None),
            (Some(""), None),
            (Some("a\nb"), None),
            (Some("Spark/x"), None),
            (Some("particle"), None),
            (Some("temp"), Some("12345")),
        ] {
            assert!(check_event(name, data, 4).is_err(), "{name:?} {data:?}");
        }
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        assert!(check_event(Some(&long), None, 4).is_err());
        assert!(check_event(Some(&long[1..]), None, 4).is_ok());
    }

    #[test]
    fn user_ids_are_24_hex() {
        let id = user_hex(7);
        assert_eq!(id.len(), 24);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
