//! Device management (particle-api-devices.md D2) and OTA flash (D8) on the simulated
//! devices: claim, release, update, ping, claim codes, and a binary flash accepted as a
//! no-op. Free of HTTP: the route module parses the body into the typed requests here.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

use crate::clock::iso8601;
use crate::error::{ApiError, Refusal};
use crate::particle::account::device_json;
use crate::particle::device_access::{locate, Action, Lookup, Via};
use crate::particle::device_calls::DeviceEffect;
use crate::particle::devices::product_device_json;
use crate::particle::scopes::resolve;
use crate::support::text::truncate;
use crate::world::devices::ClaimCode;
use crate::world::store::{Owner, Team, TeamRef};
use crate::world::World;

/// Longest device name (D2.5's suggestion: 63 characters).
const MAX_NAME: usize = 63;
/// Longest device notes.
const MAX_NOTES: usize = 1024;
/// Length of a claim code (D12 item 14).
const CLAIM_CODE_LEN: usize = 63;

/// `GET /v1/devices/{id}` and `GET /v1/products/{p}/devices/{id}` (D2.2): the device
/// object, product fields included on the product route.
pub(crate) fn show_device(
    world: &World,
    caller: Owner,
    via: Via<'_>,
    device: &str,
) -> Result<Value, Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let index =
        locate(&directory, caller, via, device, Action::View).map_err(|e| match (e, via) {
            // A11: the product route's own answer for a device not in the product.
            (Lookup::NotVisible, Via::Product(_)) => ApiError::NotFound("Device not found.".into())
                .because("no such device in this product"),
            (e, _) => e.permission_denied(),
        })?;
    let d = directory.devices.get(index).ok_or(ApiError::Unavailable)?;
    Ok(match via {
        Via::Sandbox => device_json(d, world.now()),
        Via::Product(_) => product_device_json(d, world.now()),
    })
}

/// `POST /v1/devices` body (D2.3).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ClaimRequest {
    /// The device id.
    #[serde(default)]
    pub id: Option<String>,
    /// Ask the current owner for a transfer (api-js always sends it).
    #[serde(default, deserialize_with = "loose_bool")]
    pub request_transfer: Option<bool>,
    /// Provisioning a product device: not emulated (D11).
    #[serde(default)]
    pub product_id: Option<Value>,
}

/// D2.3: claims a device for the calling user (or customer, within its product).
pub(crate) fn claim_device(
    world: &World,
    caller: Owner,
    request: &ClaimRequest,
) -> Result<Value, Refusal> {
    if request.product_id.is_some() {
        return Err(ApiError::NotImplemented(
            "POST /v1/devices with product_id (provisioning)".into(),
        )
        .into());
    }
    let id = request
        .id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::BadRequest("Give the id of the device to claim (`id`).".into()))?;
    let not_found = || ApiError::Legacy {
        status: 404,
        message: "device not found".into(),
    };
    let store = world.store();
    let mut directory = store.directory.write();
    let (account, product) = match caller {
        Owner::User(u) => (directory.user(u).map(|u| u.email.clone()), None),
        Owner::Customer(c) => {
            let customer = directory.customer(c);
            (
                customer.map(|c| c.email.clone()),
                customer.map(|c| c.product),
            )
        }
        Owner::ApiUser(_) | Owner::Product(_) => {
            return Err(crate::particle::scopes::not_allowed(
                "an API user or product token tried to claim a device",
            ))
        }
    };
    let account = account.ok_or_else(ApiError::invalid_token)?;
    let user_id = match caller {
        Owner::User(u) => format!("{u:024x}"),
        _ => format!("{:024x}", 0),
    };
    let d = directory
        .devices
        .iter_mut()
        .find(|d| d.id.eq_ignore_ascii_case(id))
        .ok_or_else(not_found)?;
    // A customer claims within its product only.
    if let Some(product) = product {
        if d.product.as_deref() != Some(product.to_string().as_str()) {
            return Err(not_found().because("a customer claimed a device outside its product"));
        }
    }
    let holder = match product {
        Some(_) => d.customer.as_deref(),
        None => d.owner.as_deref().or(d.customer.as_deref()),
    };
    match holder {
        Some(h) if h.eq_ignore_ascii_case(&account) => {}
        Some(_) if request.request_transfer == Some(true) => {
            return Ok(json!({ "ok": true, "transfer_requested": true }));
        }
        Some(_) => return Err(ApiError::BelongsToSomeoneElse.into()),
        None => {
            match product {
                Some(_) => d.customer = Some(account),
                None => d.owner = Some(account),
            }
            d.updated_at = Some(world.now());
        }
    }
    Ok(json!({
        "ok": true,
        "id": d.id,
        "deviceID": d.id,
        "user_id": user_id,
        "connected": d.online,
        "claimed": true,
    }))
}

/// D2.4: `DELETE /v1/devices/{id}` (unclaim: the owner lets go) and
/// `DELETE /v1/products/{p}/devices/{id}/owner` (the product removes the owner and the
/// customer). Works offline.
pub(crate) fn release_device(
    world: &World,
    caller: Owner,
    via: Via<'_>,
    device: &str,
) -> Result<(), Refusal> {
    let store = world.store();
    let mut directory = store.directory.write();
    let index = locate(&directory, caller, via, device, Action::Change)
        .map_err(Lookup::permission_denied)?;
    let d = directory
        .devices
        .get_mut(index)
        .ok_or(ApiError::Unavailable)?;
    d.owner = None;
    if matches!(via, Via::Product(_)) {
        d.customer = None;
    }
    d.updated_at = Some(world.now());
    Ok(())
}

/// A field given as `true`/`false`, `"true"`/`"false"`, `"1"`/`"0"` or `1`/`0` (api-js
/// sends `signal` as a string, docs forms send text).
fn loose_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(match value {
        Value::Bool(b) => Some(b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim() {
            "true" | "1" | "on" => Some(true),
            "false" | "0" | "off" | "" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

/// A field whose `null` means something (unlocking firmware): absent is `None`, `null`
/// is `Some(Value::Null)`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// `PUT /v1/devices/{id}` and `PUT /v1/products/{p}/devices/{id}` body (D2.5): any of
/// these; unknown keys (such as a body `access_token`) are ignored.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DeviceUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub notes: Option<Value>,
    #[serde(default, deserialize_with = "loose_bool")]
    pub signal: Option<bool>,
    #[serde(default, deserialize_with = "loose_bool")]
    pub development: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub desired_firmware_version: Option<Value>,
    /// Sent with `desired_firmware_version` to flash at once; accepted, changes nothing.
    #[serde(default, deserialize_with = "loose_bool")]
    pub flash: Option<bool>,
    #[serde(default, deserialize_with = "loose_bool")]
    pub firmware_updates_forced: Option<bool>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

/// An update checked and typed, before it touches the device.
struct CheckedUpdate {
    name: Option<String>,
    notes: Option<Option<String>>,
    desired_firmware_version: Option<Option<u32>>,
    groups: Option<Vec<String>>,
}

impl DeviceUpdate {
    fn check(&self) -> Result<CheckedUpdate, Refusal> {
        let name = match &self.name {
            None => None,
            Some(n) => {
                let n = n.trim();
                if n.is_empty() || n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
                    return Err(ApiError::BadRequest(format!(
                        "A device name is 1 to {MAX_NAME} characters."
                    ))
                    .into());
                }
                Some(n.to_string())
            }
        };
        let notes = match &self.notes {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) if s.chars().count() <= MAX_NOTES => Some(Some(s.clone())),
            Some(_) => {
                return Err(ApiError::BadRequest(format!(
                    "notes must be text of at most {MAX_NOTES} characters, or null."
                ))
                .into())
            }
        };
        let desired_firmware_version = match &self.desired_firmware_version {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::Number(n)) if n.as_u64().is_some_and(|v| u32::try_from(v).is_ok()) => {
                Some(n.as_u64().and_then(|v| u32::try_from(v).ok()))
            }
            Some(Value::String(s)) if s.trim() == "null" => Some(None),
            Some(Value::String(s)) if s.trim().parse::<u32>().is_ok() => {
                Some(s.trim().parse().ok())
            }
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "desired_firmware_version must be a version number, or null to unlock.".into(),
                )
                .into())
            }
        };
        if let Some(groups) = &self.groups {
            if groups.len() > crate::world::fixtures::MAX_GROUPS
                || groups.iter().any(|g| {
                    g.is_empty() || g.len() > crate::world::fixtures::MAX_GROUP || g.contains(',')
                })
            {
                return Err(ApiError::BadRequest(format!(
                    "groups: at most {} names of 1 to {} characters, no commas.",
                    crate::world::fixtures::MAX_GROUPS,
                    crate::world::fixtures::MAX_GROUP
                ))
                .into());
            }
        }
        Ok(CheckedUpdate {
            name,
            notes,
            desired_firmware_version,
            groups: self.groups.clone(),
        })
    }

    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.notes.is_none()
            && self.signal.is_none()
            && self.development.is_none()
            && self.desired_firmware_version.is_none()
            && self.flash.is_none()
            && self.firmware_updates_forced.is_none()
            && self.groups.is_none()
    }
}

/// D2.5: applies every field given and answers their per-field answers merged into one
/// object (D12 item 4), `updated_at` last when something stored changed. An empty body
/// is `400 Nothing to do?`; signalling an offline device is D9's 500.
pub(crate) fn update_device(
    world: &World,
    caller: Owner,
    via: Via<'_>,
    device: &str,
    update: &DeviceUpdate,
) -> Result<Value, Refusal> {
    if update.is_empty() {
        return Err(ApiError::BadRequest("Nothing to do?".into()).into());
    }
    let checked = update.check()?;
    let store = world.store();
    let mut directory = store.directory.write();
    let index = locate(&directory, caller, via, device, Action::Change)
        .map_err(Lookup::permission_denied)?;
    let now = world.now();
    // Names are unique per owner (D2.5's suggestion).
    if let Some(name) = &checked.name {
        let owner = directory.devices.get(index).and_then(|d| d.owner.clone());
        let taken =
            owner.is_some()
                && directory.devices.iter().enumerate().any(|(i, d)| {
                    i != index && d.owner == owner && d.name.eq_ignore_ascii_case(name)
                });
        if taken {
            return Err(ApiError::BadRequest(format!(
                "The name {} is already taken by another of the owner's devices.",
                truncate(name)
            ))
            .into());
        }
    }
    let d = directory
        .devices
        .get_mut(index)
        .ok_or(ApiError::Unavailable)?;
    if update.signal.is_some() && !d.online {
        return Err(ApiError::DeviceServiceTimeout.because("signal sent to an offline device"));
    }
    let mut answer = Map::new();
    answer.insert("id".into(), json!(d.id));
    let mut stored = false;
    if let Some(name) = checked.name {
        d.name = name;
        answer.insert("name".into(), json!(d.name));
        stored = true;
    }
    if let Some(notes) = checked.notes {
        d.notes = notes;
        answer.insert("notes".into(), json!(d.notes));
        stored = true;
    }
    if let Some(signal) = update.signal {
        d.signaling = signal;
        answer.insert("connected".into(), json!(true));
        answer.insert("signaling".into(), json!(signal));
    }
    if let Some(development) = update.development {
        d.development = development;
        answer.insert("development".into(), json!(development));
        stored = true;
    }
    if let Some(version) = checked.desired_firmware_version {
        d.desired_firmware_version = version;
        answer.insert("desired_firmware_version".into(), json!(version));
        stored = true;
    }
    if let Some(forced) = update.firmware_updates_forced {
        d.firmware_updates_forced = forced;
        answer.insert("firmware_updates_forced".into(), json!(forced));
    }
    if let Some(groups) = checked.groups {
        d.groups = groups;
        answer.insert("groups".into(), json!(d.groups));
        stored = true;
    }
    if stored {
        d.updated_at = Some(now);
        answer.insert("updated_at".into(), json!(iso8601(now)));
    }
    Ok(Value::Object(answer))
}

/// `PUT …/devices/{id}/ping` answer (D2.6): 200 online or not.
#[derive(Debug, Serialize)]
pub(crate) struct Ping {
    pub online: bool,
    pub ok: bool,
}

/// D2.6: whether the device answers.
pub(crate) fn ping_device(
    world: &World,
    caller: Owner,
    via: Via<'_>,
    device: &str,
) -> Result<Ping, Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let index = locate(&directory, caller, via, device, Action::Operate)
        .map_err(Lookup::permission_denied)?;
    let online = directory.devices.get(index).is_some_and(|d| d.online);
    Ok(Ping { online, ok: true })
}

/// `POST /v1/device_claims` answer (D2.7).
#[derive(Debug, Serialize)]
pub(crate) struct ClaimCodeReply {
    pub claim_code: String,
    pub device_ids: Vec<String>,
}

/// D2.7: a new claim code for the calling user or customer (on the product route, a
/// customer of that product or a member of its team), kept for the control API.
pub(crate) fn create_claim_code(
    world: &World,
    caller: Owner,
    product: Option<TeamRef<'_>>,
    device_hint: Option<&str>,
) -> Result<ClaimCodeReply, Refusal> {
    let store = world.store();
    let mut directory = store.directory.write();
    let product = match product {
        None => None,
        Some(target) => match resolve(&directory, target)? {
            Team::Product(id) => Some(id),
            Team::Org(_) => None,
        },
    };
    let account = match caller {
        Owner::User(u) => {
            if let Some(p) = product {
                crate::particle::scopes::authorize(
                    &directory,
                    caller,
                    TeamRef::Product(&p.to_string()),
                )?;
            }
            directory.user(u).map(|u| u.email.clone())
        }
        Owner::Customer(c) => {
            let customer = directory.customer(c).ok_or_else(ApiError::invalid_token)?;
            if product.is_some_and(|p| p != customer.product) {
                return Err(crate::particle::scopes::product_permission_denied()
                    .because("a customer asked for a claim code of another product"));
            }
            Some(customer.email.clone())
        }
        Owner::ApiUser(_) | Owner::Product(_) => {
            return Err(crate::particle::scopes::not_allowed(
                "an API user or product token asked for a claim code",
            ))
        }
    };
    let account = account.ok_or_else(ApiError::invalid_token)?;
    let device_ids = directory
        .devices
        .iter()
        .filter(|d| {
            d.owner
                .as_deref()
                .or(d.customer.as_deref())
                .is_some_and(|o| o.eq_ignore_ascii_case(&account))
        })
        .map(|d| d.id.clone())
        .collect();
    let code = world.generator.claim_code(CLAIM_CODE_LEN);
    directory.device_activity.record_claim_code(ClaimCode {
        code: code.clone(),
        for_account: account,
        product,
        device_hint: device_hint.map(|h| h.chars().take(64).collect()),
        at: world.now(),
    });
    Ok(ClaimCodeReply {
        claim_code: code,
        device_ids,
    })
}

/// `PUT …/devices/{id}` flash answer (D8): the docs' shape.
#[derive(Debug, Serialize)]
pub(crate) struct FlashReply {
    pub id: String,
    pub status: &'static str,
}

/// D8: a binary flash is accepted and changes nothing (the control API sets
/// `firmware_version`); source files are refused with D11's compile answer. A file is
/// taken for source when it is UTF-8 text without NUL bytes: firmware binaries never are.
pub(crate) fn flash_device(
    world: &World,
    caller: Owner,
    via: Via<'_>,
    device: &str,
    file: &[u8],
) -> Result<(FlashReply, Vec<DeviceEffect>), Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let index = locate(&directory, caller, via, device, Action::Change)
        .map_err(Lookup::permission_denied)?;
    if !file.contains(&0) && std::str::from_utf8(file).is_ok() {
        return Err(ApiError::CompileRefused.because("a source file was sent to flash"));
    }
    let id = directory
        .devices
        .get(index)
        .map(|d| d.id.clone())
        .ok_or(ApiError::Unavailable)?;
    let effects = vec![DeviceEffect::FlashStarted {
        device_id: id.clone(),
    }];
    Ok((
        FlashReply {
            id,
            status: "Update started",
        },
        effects,
    ))
}
