//! The account endpoints a client calls right after login (particle-api.md §4.1, §5):
//! user info, the user's devices, and MFA enrolment. Free of HTTP.

use serde::Serialize;
use serde_json::{json, Value};

use crate::clock::iso8601;
use crate::error::{ApiError, Refusal};
use crate::tokens::secrets_equal;
use crate::totp::{OtpError, TotpSecret};
use crate::world::store::{Mfa, Owner, PendingEnrolment, Store, UserId};
use crate::world::World;

/// `GET /v1/user` (§5.1), field order as the docs example.
#[derive(Debug, Serialize)]
pub(crate) struct UserInfo {
    pub username: String,
    pub subscription_ids: Vec<String>,
    pub account_info: AccountInfo,
    pub scim_provisioned: bool,
    pub no_password: bool,
    pub mfa: MfaStatus,
    pub wifi_device_count: usize,
    pub cellular_device_count: usize,
    /// particle-api-js types it as a number; its meaning is unknown (A2.2): always 1.
    pub tos: u32,
    /// particle-api-js types it as an object array; unknown (A2.2): always empty.
    pub memberships: Vec<Value>,
}

/// Names on the account.
#[derive(Debug, Serialize)]
pub(crate) struct AccountInfo {
    pub first_name: String,
    pub last_name: String,
    pub business_account: bool,
    pub company_name: String,
}

/// `mfa.enabled`.
#[derive(Debug, Serialize)]
pub(crate) struct MfaStatus {
    pub enabled: bool,
}

/// A predicate choosing the devices a caller may see.
type DeviceFilter = Box<dyn Fn(&crate::world::fixtures::DeviceFixture) -> bool>;

/// Who a device list or user info is about: a user, or a product's customer.
fn device_filter(owner: Owner, store: &Store) -> Option<DeviceFilter> {
    let directory = store.directory.read();
    match owner {
        Owner::User(id) => {
            let email = directory.user(id)?.email.clone();
            Some(Box::new(move |d| {
                d.owner
                    .as_deref()
                    .is_some_and(|o| o.eq_ignore_ascii_case(&email))
            }))
        }
        Owner::Customer(index) => {
            let c = directory.customer(index)?.clone();
            let product = c.product.to_string();
            Some(Box::new(move |d| {
                d.product.as_deref() == Some(product.as_str())
                    && d.customer
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case(&c.email))
            }))
        }
        Owner::ApiUser(_) | Owner::Product(_) => None,
    }
}

/// The same refusal the route table gives (`scopes::check_need` runs first; this is the
/// domain's own guard).
fn refuse_non_human() -> Refusal {
    crate::particle::scopes::not_allowed(
        "an API user or product token called a person-only endpoint",
    )
}

/// §5.1 for a user or a customer token.
pub(crate) fn user_info(world: &World, owner: Owner) -> Result<UserInfo, Refusal> {
    let store = world.store();
    let devices = devices_of(world, owner)?;
    let directory = store.directory.read();
    let (username, first_name, last_name, mfa, no_password, business, company) = match owner {
        Owner::User(id) => {
            let u = directory.user(id).ok_or_else(ApiError::invalid_token)?;
            (
                u.email.clone(),
                u.first_name.clone(),
                u.last_name.clone(),
                u.mfa.is_some(),
                false,
                u.business_account,
                u.company_name.clone(),
            )
        }
        Owner::Customer(index) => {
            let c = directory
                .customer(index)
                .ok_or_else(ApiError::invalid_token)?;
            (
                c.email.clone(),
                String::new(),
                String::new(),
                false,
                c.password.is_none(),
                false,
                String::new(),
            )
        }
        Owner::ApiUser(_) | Owner::Product(_) => return Err(refuse_non_human()),
    };
    let cellular = devices
        .iter()
        .filter(|d| d["cellular"] == json!(true))
        .count();
    Ok(UserInfo {
        username,
        subscription_ids: Vec::new(),
        account_info: AccountInfo {
            first_name,
            last_name,
            business_account: business,
            company_name: company,
        },
        scim_provisioned: false,
        no_password,
        mfa: MfaStatus { enabled: mfa },
        wifi_device_count: devices.len() - cellular,
        cellular_device_count: cellular,
        tos: 1,
        memberships: Vec::new(),
    })
}

/// Renders a device as `GET /v1/devices` lists it (§5.2) and `GET /v1/devices/{id}`
/// shows it (devices spec D2.2): both `online` and `connected`, function names and
/// variable types (the last known ones when offline, D12 item 11), and `product_id`
/// equal to `platform_id` for a sandbox device, as production does.
pub(crate) fn device_json(
    d: &crate::world::fixtures::DeviceFixture,
    now: crate::clock::Millis,
) -> Value {
    let heard = d.online.then(|| iso8601(now));
    let functions: Vec<&str> = d.functions.iter().map(|f| f.name.as_str()).collect();
    let variables: serde_json::Map<String, Value> = d
        .variables
        .iter()
        .map(|(name, v)| (name.clone(), Value::from(v.var_type.name())))
        .collect();
    json!({
        "id": d.id,
        "name": d.name,
        "owner": d.owner,
        "last_app": null,
        "last_ip_address": if d.online { Some("127.0.0.1") } else { None },
        "last_heard": heard,
        "last_handshake_at": heard,
        "product_id": d.product.as_deref().and_then(|p| p.parse::<u32>().ok()).unwrap_or(d.platform_id),
        "online": d.online,
        "connected": d.online,
        "platform_id": d.platform_id,
        "cellular": d.cellular,
        "notes": d.notes,
        "functions": functions,
        "variables": variables,
        "status": "normal",
        "serial_number": d.serial_number,
        "system_firmware_version": d.system_firmware_version,
        "firmware_version": d.firmware_version,
        "firmware_updates_enabled": true,
        "firmware_updates_forced": d.firmware_updates_forced,
        "groups": d.groups,
        "development": d.development,
        "desired_firmware_version": d.desired_firmware_version,
        "targeted_firmware_release_version": null,
        "device_protection": { "status": "disabled" },
    })
}

/// §5.2: the caller's devices (a user's own, or a customer's within its product).
pub(crate) fn devices_of(world: &World, owner: Owner) -> Result<Vec<Value>, Refusal> {
    let store = world.store();
    let filter = device_filter(owner, &store).ok_or_else(refuse_non_human)?;
    let now = world.now();
    let directory = store.directory.read();
    Ok(directory
        .devices
        .iter()
        .filter(|d| filter(d))
        .map(|d| device_json(d, now))
        .collect())
}

/// `GET /v1/user/mfa-enable` answer.
#[derive(Debug, Serialize)]
pub(crate) struct EnrolmentStart {
    pub mfa_token: String,
    pub qr_url: String,
    pub secret: String,
}

/// §4.1 begin: a fresh secret and an `mfa_token` that confirms it.
pub(crate) fn begin_enrolment(world: &World, user: UserId) -> Result<EnrolmentStart, Refusal> {
    let store = world.store();
    let mut directory = store.directory.write();
    let u = directory
        .user_mut(user)
        .ok_or_else(ApiError::invalid_token)?;
    if u.mfa.is_some() {
        return Err(ApiError::BadRequest(
            "Multi-factor authentication is already enabled for this account.".into(),
        )
        .into());
    }
    let secret = TotpSecret::from_base32(&world.generator.totp_secret())
        .map_err(|_| ApiError::Unavailable)?;
    let mfa_token = world.generator.mfa_token();
    let ttl = i64::try_from(world.settings.mfa_token_ttl_secs).unwrap_or(300) * 1000;
    let start = EnrolmentStart {
        mfa_token: mfa_token.clone(),
        qr_url: secret.otpauth_uri(&u.email),
        secret: secret.base32().to_string(),
    };
    u.pending_enrolment = Some(PendingEnrolment {
        mfa_token,
        secret,
        expires_at: world.now().saturating_add(ttl),
    });
    Ok(start)
}

/// `POST /v1/user/mfa-enable` body.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct EnrolmentConfirm {
    #[serde(default)]
    pub mfa_token: Option<String>,
    #[serde(default)]
    pub otp: Option<serde_json::Value>,
    #[serde(default)]
    pub invalidate_tokens: Option<bool>,
}

/// `POST /v1/user/mfa-enable` answer.
#[derive(Debug, Serialize)]
pub(crate) struct Enrolled {
    pub enrolled: bool,
    pub recovery_codes: Vec<String>,
}

/// §4.1 confirm: checks the OTP against the pending secret and enrols the user with ten
/// fresh recovery codes. `invalidate_tokens` revokes the user's other tokens.
pub(crate) fn confirm_enrolment(
    world: &World,
    user: UserId,
    calling_token: crate::tokens::TokenKey,
    body: EnrolmentConfirm,
) -> Result<Enrolled, Refusal> {
    let otp = match &body.otp {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => format!("{n:0>6}"),
        _ => String::new(),
    };
    let (Some(mfa_token), false) = (body.mfa_token.as_deref(), otp.is_empty()) else {
        return Err(ApiError::BadRequest("You must provide otp and mfa_token.".into()).into());
    };
    let store = world.store();
    let codes = {
        let mut directory = store.directory.write();
        let u = directory
            .user_mut(user)
            .ok_or_else(ApiError::invalid_token)?;
        let pending = u
            .pending_enrolment
            .as_ref()
            .filter(|p| secrets_equal(p.mfa_token.as_bytes(), mfa_token.as_bytes()))
            .filter(|p| p.expires_at > world.now())
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "Invalid or expired mfa_token. Start the enrolment again.".into(),
                )
                .because("unknown or expired enrolment mfa_token")
            })?;
        let step = pending
            .secret
            .verify(&otp, world.clock.now_secs(), world.settings.otp_skew, None)
            .map_err(|e: OtpError| {
                ApiError::BadRequest("Invalid one-time password.".into())
                    .because(format!("{e:?} OTP on enrolment"))
            })?;
        let codes: Vec<String> = (0..10)
            .map(|_| {
                let raw = world.generator.alphanumeric(10);
                format!("{}-{}", &raw[..5], &raw[5..])
            })
            .collect();
        let secret = pending.secret.clone();
        u.pending_enrolment = None;
        u.mfa = Some(Mfa {
            secret,
            recovery_codes: codes.iter().map(|c| (c.clone(), false)).collect(),
            last_step: Some(step),
        });
        codes
    };
    if body.invalidate_tokens == Some(true) {
        store
            .tokens
            .retain(|k, t| t.owner != Owner::User(user) || *k == calling_token);
        store
            .refresh_tokens
            .retain(|_, t| t.owner != Owner::User(user));
    }
    Ok(Enrolled {
        enrolled: true,
        recovery_codes: codes,
    })
}

/// `PUT /v1/user/mfa-disable` body.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct DisableMfa {
    #[serde(default, deserialize_with = "crate::support::text::scalar_text")]
    pub current_password: Option<String>,
}

/// §4.1 disable: needs the account password.
pub(crate) fn disable_mfa(world: &World, user: UserId, body: DisableMfa) -> Result<(), Refusal> {
    let store = world.store();
    let mut directory = store.directory.write();
    let u = directory
        .user_mut(user)
        .ok_or_else(ApiError::invalid_token)?;
    let password = body.current_password.unwrap_or_default();
    if password.is_empty() {
        return Err(ApiError::BadRequest("current_password is required.".into()).into());
    }
    if !u.password.matches(&password) {
        return Err(ApiError::BadRequest("Incorrect current_password.".into())
            .because(format!("wrong password for {} on mfa-disable", u.email)));
    }
    if u.mfa.is_none() {
        return Err(ApiError::BadRequest(
            "Multi-factor authentication is not enabled for this account.".into(),
        )
        .into());
    }
    u.mfa = None;
    Ok(())
}
