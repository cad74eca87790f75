//! Calling a device's functions (particle-api-devices.md D3) and reading its variables
//! (D4), on the simulated devices of the world. Free of HTTP: the route module reads the
//! path and body, this decides the answer.
//!
//! A function call returns, besides its answer, the [`DeviceEffect`]s it caused (an event
//! to publish), so the caller can forward them to the event stream without this module
//! knowing about one.

use serde::Serialize;
use serde_json::Value;

use crate::clock::{iso8601, Millis};
use crate::error::{ApiError, Refusal};
use crate::particle::device_access::{locate, Action, Lookup, Via};
use crate::particle::events::{publish_as_device, publish_special, Publish, SpecialEvent};
use crate::world::devices::{argument_limit, CallerKind, FunctionCall};
use crate::world::store::Owner;
use crate::world::World;

/// Something a device did because of a call, for the caller to forward (the event bus
/// lives elsewhere, D5/D6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceEffect {
    /// The device published an event (a function's `publish` behaviour).
    Publish {
        /// The device's id.
        device_id: String,
        /// The event name.
        name: String,
        /// Its data.
        data: String,
    },
    /// The device came online or went offline (`spark/status`, D5.5, once the event stream
    /// exists).
    Status {
        /// The device's id.
        device_id: String,
        /// Online now.
        online: bool,
    },
    /// A binary flash was accepted (`spark/flash/status` `started`, D5.5, once the event
    /// stream exists).
    FlashStarted {
        /// The device's id.
        device_id: String,
    },
}

/// `POST …/devices/{id}/{function}` answer (D3): the keys api-js types.
#[derive(Debug, Serialize)]
pub(crate) struct FunctionReply {
    pub id: String,
    pub name: String,
    pub connected: bool,
    pub return_value: i32,
}

/// A function call's outcome.
#[derive(Debug)]
pub(crate) struct Called {
    /// The answer.
    pub reply: FunctionReply,
    /// What else happened.
    pub effects: Vec<DeviceEffect>,
}

/// Why a call got no answer from the device.
#[derive(Debug)]
pub(crate) enum Unanswered {
    /// Any refusal, answered at once.
    Refused(Refusal),
    /// The device is offline: answer `error` after `delay_ms` of the world's clock.
    Offline {
        /// The timeout answer.
        error: Refusal,
        /// How long the cloud waits for the device first (0: at once).
        delay_ms: u64,
    },
}

impl From<Refusal> for Unanswered {
    fn from(e: Refusal) -> Self {
        Unanswered::Refused(e)
    }
}

impl From<ApiError> for Unanswered {
    fn from(e: ApiError) -> Self {
        Unanswered::Refused(e.into())
    }
}

/// Hands a device's effects to the event bus (D5.5, D6): a function's `publish`
/// behaviour as a private event of the device, an online toggle as `spark/status`, an
/// accepted flash as `spark/flash/status` `started` then `success` (the mock's flashes
/// never fail). An effect the bus refuses (an event past the data limit) is traced, as a
/// device's failed publish is invisible to the caller of the function.
pub(crate) fn forward_effects(world: &World, effects: Vec<DeviceEffect>) {
    for effect in effects {
        let published = match &effect {
            DeviceEffect::Publish {
                device_id,
                name,
                data,
            } => publish_as_device(
                world,
                device_id,
                Publish {
                    name: Some(name.clone()),
                    data: Some(data.clone()),
                    private: true,
                    ttl: None,
                },
            )
            .map(|_| ()),
            DeviceEffect::Status { device_id, online } => {
                publish_special(world, device_id, SpecialEvent::Status(*online)).map(|_| ())
            }
            DeviceEffect::FlashStarted { device_id } => {
                publish_special(world, device_id, SpecialEvent::FlashStarted)
                    .and_then(|_| publish_special(world, device_id, SpecialEvent::FlashSuccess))
                    .map(|_| ())
            }
        };
        if let Err(error) = published {
            tracing::debug!(?effect, %error, "a device effect was not published");
        }
    }
}

fn caller_kind(owner: Owner) -> CallerKind {
    match owner {
        Owner::User(_) => CallerKind::User,
        Owner::Customer(_) => CallerKind::Customer,
        Owner::ApiUser(_) => CallerKind::ApiUser,
        Owner::Product(_) => CallerKind::Product,
    }
}

/// D3: calls `function` with `argument` on the device the path names.
///
/// Checked in order: the device (404 `Device not found` when unknown or not the caller's,
/// D12 item 2), the function (404 `Function <name> not found`), the argument's length
/// against the device's Device OS (400 `Argument too long`), the device being online
/// (408 `Timed out.` after the world's offline delay, D12 item 1). Every call that names a
/// known function is recorded for the control API, offline ones without a return value.
pub(crate) fn call_function(
    world: &World,
    caller: Owner,
    via: Via<'_>,
    device: &str,
    function: &str,
    argument: &str,
) -> Result<Called, Unanswered> {
    let store = world.store();
    let mut directory = store.directory.write();
    let index = locate(&directory, caller, via, device, Action::Operate).map_err(|e| match e {
        Lookup::NotVisible => ApiError::NotFound("Device not found".into())
            .because("function call on an unknown device or one not the caller's"),
        Lookup::Refused(e) => e,
    })?;
    let now = world.now();
    let delay_ms = directory.device_activity.offline_delay_ms;
    let Some(d) = directory.devices.get_mut(index) else {
        return Err(ApiError::Unavailable.into());
    };
    let Some(behaviour) = d.function(function).map(|f| f.behaviour.clone()) else {
        return Err(ApiError::NotFound(format!(
            "Function {} not found",
            crate::support::text::truncate(function)
        ))
        .into());
    };
    let limit = argument_limit(&d.system_firmware_version);
    if argument.len() > limit {
        return Err(ApiError::BadRequest("Argument too long".into())
            .because(format!(
                "argument of {} bytes, the device takes {limit} (Device OS {})",
                argument.len(),
                d.system_firmware_version
            ))
            .into());
    }
    let online = d.online;
    let return_value = online.then(|| behaviour.returns.value(argument));
    let mut effects = Vec::new();
    if online {
        if let Some(set) = &behaviour.set {
            if let Some(variable) = d.variables.get_mut(&set.variable) {
                let value = match &set.value {
                    Some(v) => variable.var_type.coerce(v, false),
                    None => variable
                        .var_type
                        .coerce(&Value::from(argument), true)
                        .or_else(|| {
                            (variable.var_type == crate::world::devices::VarType::String)
                                .then(|| Value::from(argument))
                        }),
                };
                // A value the firmware could not parse leaves the variable alone.
                if let Some(value) = value {
                    variable.value = value;
                }
            }
        }
        if let Some(event) = &behaviour.publish {
            effects.push(DeviceEffect::Publish {
                device_id: d.id.clone(),
                name: event.name.clone(),
                data: event.data.clone().unwrap_or_else(|| argument.to_string()),
            });
        }
    }
    let reply = FunctionReply {
        id: d.id.clone(),
        name: d.name.clone(),
        connected: true,
        return_value: return_value.unwrap_or_default(),
    };
    directory.device_activity.record_call(FunctionCall {
        device_id: reply.id.clone(),
        function: function.to_string(),
        argument: argument.to_string(),
        caller: caller_kind(caller),
        at: now,
        return_value,
    });
    if !online {
        return Err(Unanswered::Offline {
            error: ApiError::DeviceTimeout("Timed out.".into()).because("the device is offline"),
            delay_ms,
        });
    }
    Ok(Called { reply, effects })
}

/// D4 `coreInfo`.
#[derive(Debug, Serialize)]
pub(crate) struct CoreInfo {
    pub name: String,
    pub last_heard: Option<String>,
    pub connected: bool,
    pub last_handshake_at: Option<String>,
    #[serde(rename = "deviceID")]
    pub device_id: String,
    pub product_id: u32,
}

/// `GET …/devices/{id}/{variable}` answer (D4), keys in the recorded order.
#[derive(Debug, Serialize)]
pub(crate) struct VariableReply {
    pub cmd: &'static str,
    pub name: String,
    pub result: Value,
    #[serde(rename = "coreInfo")]
    pub core_info: CoreInfo,
}

impl VariableReply {
    /// The bare value for `?format=raw` (`true`/`false` for booleans, D4).
    pub(crate) fn raw(&self) -> String {
        match &self.result {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// D4: reads `variable` of the device the path names: 403 `Permission Denied` for an
/// unknown device, 404 `Unknown Variable: <name>`, 408 `timed out` when offline (after
/// the world's offline delay).
pub(crate) fn read_variable(
    world: &World,
    caller: Owner,
    via: Via<'_>,
    device: &str,
    variable: &str,
) -> Result<VariableReply, Unanswered> {
    let store = world.store();
    let directory = store.directory.read();
    let index = locate(&directory, caller, via, device, Action::Operate)
        .map_err(Lookup::permission_denied)?;
    let d = directory.devices.get(index).ok_or(ApiError::Unavailable)?;
    let Some(value) = d.variables.get(variable) else {
        return Err(ApiError::NotFound(format!(
            "Unknown Variable: {}",
            crate::support::text::truncate(variable)
        ))
        .into());
    };
    if !d.online {
        return Err(Unanswered::Offline {
            error: ApiError::DeviceTimeout("timed out".into()).because("the device is offline"),
            delay_ms: directory.device_activity.offline_delay_ms,
        });
    }
    let heard: Millis = world.now();
    Ok(VariableReply {
        cmd: "VarReturn",
        name: variable.to_string(),
        result: value.value.clone(),
        core_info: CoreInfo {
            name: d.name.clone(),
            last_heard: Some(iso8601(heard)),
            connected: true,
            last_handshake_at: Some(iso8601(heard)),
            device_id: d.id.clone(),
            product_id: d
                .product
                .as_deref()
                .and_then(|p| p.parse().ok())
                .unwrap_or(d.platform_id),
        },
    })
}
