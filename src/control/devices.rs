//! The simulated devices as a test drives them (particle-api-devices.md D11): read every
//! device's state, take one online or offline, change its firmware version, set a
//! variable, set a function's behaviour, read the calls devices received and the claim
//! codes handed out, and set how long an offline device keeps a caller waiting. All of it
//! goes back to the fixtures with the world's reset.

use std::collections::BTreeMap;

use crate::particle::device_calls::{forward_effects, DeviceEffect};
use crate::world::devices::{name_limit, Variables, MAX_FUNCTIONS, MAX_VARIABLES};
use crate::world::fixtures::DeviceFixture;

use crate::error::ApiError;
use crate::support::text::truncate;
pub use crate::world::devices::{
    Behaviour, CallerKind, ClaimCode, ComputedReturn, Function, FunctionCall, PublishEvent,
    Returns, SetVariable, VarType, Variable,
};
use crate::world::World;

use serde::{Deserialize, Serialize};

/// The longest offline delay (`offline_delay_ms`): a minute.
pub const MAX_OFFLINE_DELAY_MS: u64 = 60_000;

/// A device as the control API shows it: everything a test may assert or change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceView {
    /// 24 hex characters.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether it is online.
    pub online: bool,
    /// The owning user (email).
    pub owner: Option<String>,
    /// Its product's id.
    pub product: Option<u32>,
    /// The customer (email) that owns it within its product.
    pub customer: Option<String>,
    /// Its platform.
    pub platform_id: u32,
    /// Device OS version.
    pub system_firmware_version: String,
    /// The product firmware version it runs.
    pub firmware_version: Option<u32>,
    /// Its functions and their behaviour.
    pub functions: Vec<Function>,
    /// Its variables with their current values.
    pub variables: BTreeMap<String, Variable>,
}

impl From<&DeviceFixture> for DeviceView {
    fn from(d: &DeviceFixture) -> Self {
        Self {
            id: d.id.clone(),
            name: d.name.clone(),
            online: d.online,
            owner: d.owner.clone(),
            product: d.product.as_deref().and_then(|p| p.parse().ok()),
            customer: d.customer.clone(),
            platform_id: d.platform_id,
            system_firmware_version: d.system_firmware_version.clone(),
            firmware_version: d.firmware_version,
            functions: d.functions.clone(),
            variables: d.variables.clone(),
        }
    }
}

/// Changes to a device (`PATCH /__mock/devices/{id}`); absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    /// Take it online or offline.
    #[serde(default)]
    pub online: Option<bool>,
    /// The product firmware version it runs (what a flash would change).
    #[serde(default)]
    pub firmware_version: Option<u32>,
    /// Its Device OS version (changes the argument and name limits).
    #[serde(default)]
    pub system_firmware_version: Option<String>,
}

/// A variable's new value (`PUT /__mock/devices/{id}/variables/{name}`); with `type`, a
/// variable the device did not have is added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableUpdate {
    /// The type of a new variable (an existing one keeps its own; naming another is a 400).
    #[serde(default, rename = "type")]
    pub var_type: Option<VarType>,
    /// The value, of the variable's type.
    pub value: serde_json::Value,
}

/// Device-wide settings of a world (`/__mock/devices/settings`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSettings {
    /// How long a function call or variable read on an offline device waits, in
    /// milliseconds of the world's clock, before its timeout answer (0, the default: at
    /// once; at most [`MAX_OFFLINE_DELAY_MS`]).
    pub offline_delay_ms: u64,
}

fn unknown_device(id: &str) -> ApiError {
    ApiError::NotFound(format!("Device {} not found", truncate(id)))
}

/// Runs `change` on the device `id` (any case) under the directory's write lock.
fn with_device<T>(
    world: &World,
    id: &str,
    change: impl FnOnce(&mut DeviceFixture) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let store = world.store();
    let mut directory = store.directory.write();
    let device = directory
        .devices
        .iter_mut()
        .find(|d| d.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| unknown_device(id))?;
    change(device)
}

/// Every device of the world, in fixture order (`GET /__mock/devices`).
pub(crate) fn devices(world: &World) -> Vec<DeviceView> {
    let store = world.store();
    let directory = store.directory.read();
    directory.devices.iter().map(DeviceView::from).collect()
}

/// One device (`GET /__mock/devices/{id}`).
pub(crate) fn device(world: &World, id: &str) -> Result<DeviceView, ApiError> {
    with_device(world, id, |d| Ok(DeviceView::from(&*d)))
}

/// Changes a device (`PATCH /__mock/devices/{id}`); an online/offline change is handed
/// to the event stream as `spark/status`.
pub(crate) fn update_device(
    world: &World,
    id: &str,
    patch: &DevicePatch,
) -> Result<DeviceView, ApiError> {
    if let Some(os) = &patch.system_firmware_version {
        if crate::world::devices::parse_version(os).is_none() {
            return Err(ApiError::BadRequest(format!(
                "system_firmware_version `{}` is not a version such as 6.1.1",
                truncate(os)
            )));
        }
    }
    let mut effects = Vec::new();
    let view = with_device(world, id, |d| {
        if let Some(online) = patch.online {
            if online != d.online {
                effects.push(DeviceEffect::Status {
                    device_id: d.id.clone(),
                    online,
                });
            }
            d.online = online;
            if !online {
                d.signaling = false;
            }
        }
        if let Some(version) = patch.firmware_version {
            d.firmware_version = Some(version);
        }
        if let Some(os) = &patch.system_firmware_version {
            d.system_firmware_version = os.clone();
        }
        Ok(DeviceView::from(&*d))
    })?;
    forward_effects(world, effects);
    Ok(view)
}

/// Sets a variable's value, or adds a variable (`PUT /__mock/devices/{id}/variables/{name}`).
pub(crate) fn set_variable(
    world: &World,
    id: &str,
    name: &str,
    update: &VariableUpdate,
) -> Result<Variable, ApiError> {
    with_device(world, id, |d| {
        let limit = name_limit(&d.system_firmware_version);
        let text_limit = crate::world::devices::argument_limit(&d.system_firmware_version);
        let var_type = match (d.variables.get(name), update.var_type) {
            (Some(v), Some(t)) if v.var_type != t => {
                return Err(ApiError::BadRequest(format!(
                    "{} is a {} variable",
                    truncate(name),
                    v.var_type.name()
                )))
            }
            (Some(v), _) => v.var_type,
            (None, Some(t)) => t,
            (None, None) => {
                return Err(ApiError::NotFound(format!(
                    "The device has no variable {}; give `type` to add one",
                    truncate(name)
                )))
            }
        };
        if name.is_empty() || name.len() > limit {
            return Err(ApiError::BadRequest(format!(
                "Variable names are 1 to {limit} characters on this device"
            )));
        }
        if !d.variables.contains_key(name) && d.variables.len() >= MAX_VARIABLES {
            return Err(ApiError::BadRequest(format!(
                "A device has at most {MAX_VARIABLES} variables"
            )));
        }
        let value = var_type
            .coerce(&update.value, false)
            .filter(|v| v.as_str().is_none_or(|t| t.len() <= text_limit))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "Not a {} value (strings at most {text_limit} bytes)",
                    var_type.name()
                ))
            })?;
        let variable = Variable { var_type, value };
        d.variables.insert(name.to_string(), variable.clone());
        Ok(variable)
    })
}

/// Sets a function's behaviour, or adds a function (`PUT /__mock/devices/{id}/functions/{name}`).
pub(crate) fn set_function(
    world: &World,
    id: &str,
    name: &str,
    behaviour: Behaviour,
) -> Result<Function, ApiError> {
    with_device(world, id, |d| {
        let limit = name_limit(&d.system_firmware_version);
        if name.is_empty() || name.len() > limit {
            return Err(ApiError::BadRequest(format!(
                "Function names are 1 to {limit} characters on this device"
            )));
        }
        check_behaviour(&d.variables, &behaviour)?;
        let function = Function {
            name: name.to_string(),
            behaviour,
        };
        let count = d.functions.len();
        match d.functions.iter_mut().find(|f| f.name == name) {
            Some(existing) => *existing = function.clone(),
            None if count >= MAX_FUNCTIONS => {
                return Err(ApiError::BadRequest(format!(
                    "A device has at most {MAX_FUNCTIONS} functions"
                )))
            }
            None => d.functions.push(function.clone()),
        }
        Ok(function)
    })
}

fn check_behaviour(variables: &Variables, behaviour: &Behaviour) -> Result<(), ApiError> {
    if let Some(set) = &behaviour.set {
        let variable = variables.get(&set.variable).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "The device has no variable {} to set",
                truncate(&set.variable)
            ))
        })?;
        if let Some(value) = &set.value {
            if variable.var_type.coerce(value, false).is_none() {
                return Err(ApiError::BadRequest(format!(
                    "set.value is not a {} value",
                    variable.var_type.name()
                )));
            }
        }
    }
    if let Some(event) = &behaviour.publish {
        if event.name.is_empty() || event.name.len() > 64 {
            return Err(ApiError::BadRequest(
                "publish.name is 1 to 64 characters".into(),
            ));
        }
    }
    Ok(())
}

/// The function calls devices received, oldest first, of one device (any case) or all
/// (`GET /__mock/devices/calls`); at most the last 1,000 are kept.
pub(crate) fn device_calls(world: &World, device: Option<&str>) -> Vec<FunctionCall> {
    let store = world.store();
    let directory = store.directory.read();
    directory
        .device_activity
        .calls
        .iter()
        .filter(|c| device.is_none_or(|d| c.device_id.eq_ignore_ascii_case(d)))
        .cloned()
        .collect()
}

/// Forgets the recorded calls (`DELETE /__mock/devices/calls`).
pub(crate) fn clear_device_calls(world: &World) {
    world
        .store()
        .directory
        .write()
        .device_activity
        .calls
        .clear();
}

/// The claim codes handed out, oldest first (`GET /__mock/devices/claim-codes`).
pub(crate) fn claim_codes(world: &World) -> Vec<ClaimCode> {
    let store = world.store();
    let directory = store.directory.read();
    directory
        .device_activity
        .claim_codes
        .iter()
        .cloned()
        .collect()
}

/// The device settings in force (`GET /__mock/devices/settings`).
pub(crate) fn device_settings(world: &World) -> DeviceSettings {
    DeviceSettings {
        offline_delay_ms: world
            .store()
            .directory
            .read()
            .device_activity
            .offline_delay_ms,
    }
}

/// Replaces the device settings (`PUT /__mock/devices/settings`).
pub(crate) fn set_device_settings(
    world: &World,
    settings: DeviceSettings,
) -> Result<DeviceSettings, ApiError> {
    if settings.offline_delay_ms > MAX_OFFLINE_DELAY_MS {
        return Err(ApiError::BadRequest(format!(
            "offline_delay_ms is at most {MAX_OFFLINE_DELAY_MS}"
        )));
    }
    world
        .store()
        .directory
        .write()
        .device_activity
        .offline_delay_ms = settings.offline_delay_ms;
    Ok(settings)
}
