//! The simulated devices' model (particle-api-devices.md D2–D4, D11): a device's
//! functions with their scripted behaviour, its typed variables, and the activity a test
//! reads back (the calls a device received, the claim codes handed out). Plain
//! serde-friendly data, free of HTTP, so a world can be written to and read from a file.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Millis;

/// Most calls a world remembers (all devices together); the oldest go first.
pub(crate) const MAX_CALLS: usize = 1_000;
/// Most outstanding claim codes a world keeps; the oldest go first.
pub(crate) const MAX_CLAIM_CODES: usize = 1_000;
/// Most functions and variables one device may declare (D3 allows 15 functions and D4 20
/// variables on current Device OS; the mock leaves room for fixtures that test more).
pub(crate) const MAX_FUNCTIONS: usize = 64;
/// See [`MAX_FUNCTIONS`].
pub(crate) const MAX_VARIABLES: usize = 64;
/// Longest function or variable name (D3, D4: 64 characters on Device OS ≥ 0.8.0).
pub(crate) const MAX_NAME: usize = 64;
/// Longest function or variable name before Device OS 0.8.0 (D3).
pub(crate) const MAX_NAME_OLD: usize = 12;
/// The Device OS version a device has when its fixture names none.
pub(crate) const DEFAULT_DEVICE_OS: &str = "6.1.1";

/// A variable's type, as `GET /v1/devices/{id}` lists it (D2.2, D12 item 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VarType {
    /// A 32-bit signed integer.
    Int32,
    /// A double.
    Double,
    /// A string (capped by the Device OS limit, D4).
    String,
    /// A boolean (`"bool"`, the local cloud's name for it).
    Bool,
}

impl VarType {
    /// The wire name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            VarType::Int32 => "int32",
            VarType::Double => "double",
            VarType::String => "string",
            VarType::Bool => "bool",
        }
    }

    /// The value a variable of this type has when its fixture gives none.
    pub(crate) fn zero(self) -> Value {
        match self {
            VarType::Int32 => Value::from(0),
            VarType::Double => Value::from(0.0),
            VarType::String => Value::from(""),
            VarType::Bool => Value::from(false),
        }
    }

    /// `value` as a value of this type, if it is one (numbers in range, a bool for a
    /// bool); text is parsed when `from_text` (a function argument setting a variable).
    pub(crate) fn coerce(self, value: &Value, from_text: bool) -> Option<Value> {
        match (self, value) {
            (VarType::Int32, Value::Number(n)) => n
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .map(Value::from),
            (VarType::Double, Value::Number(n)) => n.as_f64().map(Value::from),
            (VarType::String, Value::String(_)) | (VarType::Bool, Value::Bool(_)) => {
                Some(value.clone())
            }
            (_, Value::String(text)) if from_text => {
                let text = text.trim();
                match self {
                    VarType::Int32 => text.parse::<i32>().ok().map(Value::from),
                    VarType::Double => text
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .map(Value::from),
                    VarType::Bool => match text {
                        "true" | "1" | "on" => Some(Value::Bool(true)),
                        "false" | "0" | "off" => Some(Value::Bool(false)),
                        _ => None,
                    },
                    VarType::String => None,
                }
            }
            _ => None,
        }
    }
}

/// A variable: its type and current value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "VariableEntry")]
pub struct Variable {
    /// Its type.
    #[serde(rename = "type")]
    pub var_type: VarType,
    /// Its value (of that type; the fixtures check refuses a mismatch).
    pub value: Value,
}

/// A variable as a fixture may write it: the type alone, or type and value.
#[derive(Deserialize)]
#[serde(untagged)]
enum VariableEntry {
    Type(VarType),
    Full {
        #[serde(rename = "type")]
        var_type: VarType,
        #[serde(default)]
        value: Option<Value>,
    },
}

impl From<VariableEntry> for Variable {
    fn from(entry: VariableEntry) -> Self {
        match entry {
            VariableEntry::Type(var_type) => Self {
                var_type,
                value: var_type.zero(),
            },
            VariableEntry::Full { var_type, value } => Self {
                var_type,
                value: value.unwrap_or_else(|| var_type.zero()),
            },
        }
    }
}

/// What a function returns (D3 `return_value`, an int32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Returns {
    /// Always this value.
    Fixed(i32),
    /// A value computed from the argument.
    Computed(ComputedReturn),
}

/// A return value computed from the argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputedReturn {
    /// The argument's length in bytes.
    ArgumentLength,
    /// The argument read as an integer (`-1` when it is not one, as a firmware `toInt`
    /// returning an error code would).
    ArgumentAsInt,
}

impl Default for Returns {
    fn default() -> Self {
        Returns::Fixed(1)
    }
}

impl Returns {
    /// The `return_value` for `argument`.
    pub(crate) fn value(self, argument: &str) -> i32 {
        match self {
            Returns::Fixed(v) => v,
            Returns::Computed(ComputedReturn::ArgumentLength) => {
                i32::try_from(argument.len()).unwrap_or(i32::MAX)
            }
            Returns::Computed(ComputedReturn::ArgumentAsInt) => {
                argument.trim().parse::<i32>().unwrap_or(-1)
            }
        }
    }
}

/// A variable a function sets when called.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetVariable {
    /// The variable's name (one of the device's).
    pub variable: String,
    /// The value to store; absent: the argument, read as the variable's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// An event a function publishes when called (wired to the event stream once it exists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishEvent {
    /// The event name.
    pub name: String,
    /// Its data; absent: the argument.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// What a function does when called.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Its return value (default: always 1).
    #[serde(default)]
    pub returns: Returns,
    /// A variable it sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<SetVariable>,
    /// An event it publishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<PublishEvent>,
}

/// A function: its name and behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "FunctionEntry")]
pub struct Function {
    /// Its name (case-sensitive, as on the device).
    pub name: String,
    /// What it does.
    #[serde(flatten)]
    pub behaviour: Behaviour,
}

/// A function as a fixture may write it: the name alone (returns 1), or an object.
#[derive(Deserialize)]
#[serde(untagged)]
enum FunctionEntry {
    Name(String),
    Full {
        name: String,
        #[serde(flatten)]
        behaviour: Behaviour,
    },
}

impl From<FunctionEntry> for Function {
    fn from(entry: FunctionEntry) -> Self {
        match entry {
            FunctionEntry::Name(name) => Self {
                name,
                behaviour: Behaviour::default(),
            },
            FunctionEntry::Full { name, behaviour } => Self { name, behaviour },
        }
    }
}

/// The device's named variables, in name order.
pub(crate) type Variables = BTreeMap<String, Variable>;

/// Who made a function call (the control API shows it so a test can assert it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerKind {
    /// A user token (the owner or a product member).
    User,
    /// A customer token.
    Customer,
    /// An API user's token.
    ApiUser,
    /// A product's bearer token.
    Product,
}

/// One function call a device received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The device's id.
    pub device_id: String,
    /// The function called.
    pub function: String,
    /// The argument as received.
    pub argument: String,
    /// Who called.
    pub caller: CallerKind,
    /// When, on the world's clock.
    pub at: Millis,
    /// What it returned (absent for a call that did not reach the device: offline).
    pub return_value: Option<i32>,
}

/// A claim code handed out by `POST /v1/device_claims` (D2.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimCode {
    /// The code (63 characters of `[A-Za-z0-9+/]`, D12 item 14).
    pub code: String,
    /// The user or customer it was made for (email).
    pub for_account: String,
    /// The product it was made for, if the product route made it.
    pub product: Option<u32>,
    /// The ICCID or IMEI sent with the request, if any.
    pub device_hint: Option<String>,
    /// When, on the world's clock.
    pub at: Millis,
}

/// What a world's devices have seen since the last reset: capped, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct DeviceActivity {
    /// Function calls, oldest first (at most [`MAX_CALLS`]).
    pub calls: VecDeque<FunctionCall>,
    /// Claim codes, oldest first (at most [`MAX_CLAIM_CODES`]).
    pub claim_codes: VecDeque<ClaimCode>,
    /// How long a call to an offline device waits before its timeout answer, in
    /// milliseconds of the world's clock (0: at once, the default).
    pub offline_delay_ms: u64,
}

impl DeviceActivity {
    /// Records a call, evicting the oldest past the cap.
    pub(crate) fn record_call(&mut self, call: FunctionCall) {
        while self.calls.len() >= MAX_CALLS {
            self.calls.pop_front();
        }
        self.calls.push_back(call);
    }

    /// Records a claim code, evicting the oldest past the cap.
    pub(crate) fn record_claim_code(&mut self, code: ClaimCode) {
        while self.claim_codes.len() >= MAX_CLAIM_CODES {
            self.claim_codes.pop_front();
        }
        self.claim_codes.push_back(code);
    }
}

/// The argument and string-variable limit of a Device OS version (D3, D4: 63 bytes before
/// 0.8.0, 622 until 3.0, 1024 since; the 864 of Gen 2 devices on 3.x is not modelled:
/// the platform decides it and the mock takes the larger).
pub(crate) fn argument_limit(device_os: &str) -> usize {
    match parse_version(device_os) {
        Some((major, minor)) if major == 0 && minor < 8 => 63,
        Some((major, _)) if major < 3 => 622,
        _ => 1024,
    }
}

/// The longest function or variable name a Device OS version allows (D3).
pub(crate) fn name_limit(device_os: &str) -> usize {
    match parse_version(device_os) {
        Some((0, minor)) if minor < 8 => MAX_NAME_OLD,
        _ => MAX_NAME,
    }
}

/// `major.minor` of a version such as `6.1.1` or `0.7.0-rc.1`.
pub(crate) fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn functions_read_from_a_name_or_an_object() {
        let f: Vec<Function> = serde_json::from_str(
            r#"["led", {"name":"len","returns":"argument_length"},
                {"name":"lock","returns":7,"set":{"variable":"locked","value":true}}]"#,
        )
        .unwrap();
        assert_eq!(f[0].behaviour, Behaviour::default());
        assert_eq!(f[1].behaviour.returns.value("abc"), 3);
        assert_eq!(f[2].behaviour.returns.value("abc"), 7);
        assert_eq!(f[2].behaviour.set.as_ref().unwrap().variable, "locked");
        // What a world file writes reads back the same.
        let again: Vec<Function> =
            serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(again, f);
    }

    #[test]
    fn variables_read_from_a_type_or_an_object() {
        let v: Variables = serde_json::from_str(
            r#"{"t":"double","n":{"type":"int32","value":5},"b":{"type":"bool"}}"#,
        )
        .unwrap();
        assert_eq!(v["t"].value, Value::from(0.0));
        assert_eq!(v["n"].value, Value::from(5));
        assert_eq!(v["b"].value, Value::from(false));
        let again: Variables = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(again, v);
    }

    #[test]
    fn types_coerce_values_and_argument_text() {
        assert_eq!(VarType::Int32.coerce(&Value::from(1u64 << 40), false), None);
        assert_eq!(
            VarType::Int32.coerce(&Value::from("42"), true),
            Some(Value::from(42))
        );
        assert_eq!(VarType::Int32.coerce(&Value::from("42"), false), None);
        assert_eq!(
            VarType::Bool.coerce(&Value::from("on"), true),
            Some(Value::Bool(true))
        );
        assert_eq!(VarType::Double.coerce(&Value::from("NaN"), true), None);
    }

    #[test]
    fn limits_follow_the_device_os_version() {
        assert_eq!(argument_limit("0.7.0"), 63);
        assert_eq!(name_limit("0.7.0"), 12);
        assert_eq!(argument_limit("1.5.2"), 622);
        assert_eq!(argument_limit("6.1.1"), 1024);
        assert_eq!(argument_limit("nonsense"), 1024);
        assert_eq!(name_limit("6.1.1"), 64);
    }

    #[test]
    fn the_call_log_is_capped_oldest_first() {
        let mut activity = DeviceActivity::default();
        for i in 0..MAX_CALLS + 3 {
            activity.record_call(FunctionCall {
                device_id: "d".into(),
                function: "f".into(),
                argument: i.to_string(),
                caller: CallerKind::User,
                at: 0,
                return_value: Some(1),
            });
        }
        assert_eq!(activity.calls.len(), MAX_CALLS);
        assert_eq!(activity.calls.front().unwrap().argument, "3");
    }
}
