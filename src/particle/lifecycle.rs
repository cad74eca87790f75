//! The account lifecycle (particle-api-account.md A2): sign-up, changes of account info,
//! username and password, deletion, password reset and the tracking identity. Free of
//! HTTP: the routes hand in decoded bodies.
//!
//! Everything here changes the world's directory, so a `reset` undoes it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::{iso8601, Millis};
use crate::error::{ApiError, Refusal};
use crate::particle::account::{user_info, UserInfo};
use crate::support::text::truncate;
use crate::tokens::{format_token, secrets_equal};
use crate::world::password::Password;
use crate::world::store::{has_room, next_slot, put, Owner, PasswordReset, Store, User, UserId};
use crate::world::World;

/// Most accounts one world holds (fixtures, control calls and sign-ups together).
pub(crate) const MAX_USERS: usize = 10_000;
/// Longest username (an email address, RFC 5321).
const MAX_USERNAME: usize = 254;
/// Longest password or name accepted.
const MAX_TEXT: usize = 1024;
/// Outstanding password resets kept per world; the oldest goes first.
const MAX_RESETS: usize = 1_000;
/// How long a password-reset token stays valid (A2.5 leaves it unknown): one hour.
pub(crate) const RESET_TTL_MS: Millis = 3_600_000;

/// `account_info` as a client sends it (every field optional).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AccountInfoIn {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub business_account: Option<bool>,
    #[serde(default)]
    pub company_name: Option<String>,
}

/// `POST /v1/users` body (A2.1): JSON from particle-api-js, a form from the old CLI.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignUp {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "crate::support::text::scalar_text")]
    pub password: Option<String>,
    #[serde(default)]
    pub account_info: Option<AccountInfoIn>,
    /// Marketing parameters: accepted and ignored.
    #[serde(default)]
    #[allow(dead_code)] // accepted so that a body carrying it is not refused
    pub utm: Option<Value>,
}

/// `PUT /v1/user` body (A2.3): one of three operations, told apart by the fields present.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AccountChange {
    #[serde(default)]
    pub account_info: Option<AccountInfoIn>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "crate::support::text::scalar_text")]
    pub password: Option<String>,
    #[serde(default, deserialize_with = "crate::support::text::scalar_text")]
    pub current_password: Option<String>,
    #[serde(default)]
    pub invalidate_tokens: Option<bool>,
}

/// `DELETE /v1/user` body (A2.4).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AccountDeletion {
    #[serde(default, deserialize_with = "crate::support::text::scalar_text")]
    pub password: Option<String>,
}

/// `POST /v1/user/password-reset` body.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResetRequest {
    #[serde(default)]
    pub username: Option<String>,
}

/// `PUT /v1/user/password-reset` body (A2.5, fields the spec suggests).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResetRedemption {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "crate::support::text::scalar_text")]
    pub token: Option<String>,
    #[serde(default, deserialize_with = "crate::support::text::scalar_text")]
    pub password: Option<String>,
}

/// `{"ok":true,"message":..}`.
#[derive(Debug, Serialize)]
pub(crate) struct OkMessage {
    pub ok: bool,
    pub message: &'static str,
}

impl OkMessage {
    fn new(message: &'static str) -> Self {
        Self { ok: true, message }
    }
}

/// What `PUT /v1/user` answers.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum ChangeAnswer {
    /// A password or username change.
    Message(OkMessage),
    /// An `account_info` change: the `GET /v1/user` object plus `"ok":true`.
    Info {
        ok: bool,
        #[serde(flatten)]
        info: UserInfo,
    },
}

/// `GET /v1/user/identify` answer (A2.6).
#[derive(Debug, Serialize)]
pub(crate) struct Identity {
    pub id: String,
    pub email: String,
}

/// A password reset as the control API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetView {
    /// The account it resets.
    pub username: String,
    /// The token a `PUT /v1/user/password-reset` redeems (what the reset email would carry).
    pub token: String,
    /// When it stops working (ISO 8601).
    pub expires_at: String,
}

fn sign_up_error(message: &str) -> ApiError {
    ApiError::Legacy {
        status: 400,
        message: message.into(),
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// A non-empty, bounded text field.
fn bounded(value: Option<String>, name: &str, max: usize) -> Result<Option<String>, Refusal> {
    match value {
        Some(v) if v.len() > max => {
            Err(bad(format!("{name} is too long (at most {max} bytes).")).into())
        }
        other => Ok(other),
    }
}

/// A username as stored: trimmed, lowercased (A2.1), shaped like an email address.
fn normalize_username(raw: &str) -> Option<String> {
    let name = raw.trim().to_ascii_lowercase();
    let (local, domain) = name.split_once('@')?;
    let ok = !local.is_empty()
        && !domain.is_empty()
        && name.len() <= MAX_USERNAME
        && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(name)
}

fn apply_info(user: &mut User, info: AccountInfoIn) -> Result<(), Refusal> {
    if let Some(v) = bounded(info.first_name, "first_name", MAX_TEXT)? {
        user.first_name = v;
    }
    if let Some(v) = bounded(info.last_name, "last_name", MAX_TEXT)? {
        user.last_name = v;
    }
    if let Some(v) = bounded(info.company_name, "company_name", MAX_TEXT)? {
        user.company_name = v;
    }
    if let Some(v) = info.business_account {
        user.business_account = v;
    }
    Ok(())
}

/// A2.1: creates an account. Errors are `{"ok":false,"errors":[..]}` as the old CLI reads them.
pub(crate) fn sign_up(world: &World, body: SignUp) -> Result<(), Refusal> {
    let (Some(username), Some(password)) = (
        body.username.filter(|u| !u.trim().is_empty()),
        body.password.filter(|p| !p.is_empty()),
    ) else {
        return Err(sign_up_error("username and password required").into());
    };
    let username = normalize_username(&username)
        .ok_or_else(|| sign_up_error("username must be an email address"))?;
    if password.len() > MAX_TEXT {
        return Err(sign_up_error("password is too long").into());
    }
    let store = world.store();
    let mut directory = store.directory.write();
    if directory.username_taken(&username) {
        return Err(sign_up_error("User already exists")
            .because(format!("sign-up of existing user {}", truncate(&username))));
    }
    if !has_room(&directory.users, MAX_USERS) {
        return Err(sign_up_error("Too many users in this mock world").into());
    }
    let mut user = User {
        email: username.clone(),
        password: Password::from(password),
        first_name: String::new(),
        last_name: String::new(),
        company_name: String::new(),
        business_account: false,
        mfa: None,
        pending_enrolment: None,
    };
    if let Some(info) = body.account_info {
        apply_info(&mut user, info).map_err(|e| sign_up_error(&e.to_string()))?;
    }
    store.take_record()?;
    let slot = next_slot(&directory.users);
    put(&mut directory.users, slot, user);
    tracing::info!(user = %username, "user signed up");
    Ok(())
}

/// Checks `current_password` (A2.3: 400 `Bad password`, never 401).
fn check_password(user: &User, given: Option<&str>, name: &str) -> Result<(), Refusal> {
    let given = given
        .filter(|p| !p.is_empty())
        .ok_or_else(|| bad(format!("{name} is required.")))?;
    if user.password.matches(given) {
        Ok(())
    } else {
        Err(bad("Bad password").because(format!("wrong {name} for {}", user.email)))
    }
}

/// A2.3: `account_info`, `username` (with `current_password`) or `password` (with
/// `current_password`). `invalidate_tokens: true` revokes every token of the user, the
/// calling one included; otherwise tokens survive.
pub(crate) fn change_account(
    world: &World,
    user: UserId,
    body: AccountChange,
) -> Result<ChangeAnswer, Refusal> {
    let store = world.store();
    let message = {
        let mut directory = store.directory.write();
        let new_username = match body.username.as_deref() {
            Some(raw) => {
                let name = normalize_username(raw)
                    .ok_or_else(|| bad("username must be an email address."))?;
                let current = directory.user(user).map(|u| u.email.clone());
                if current.as_deref() != Some(name.as_str()) && directory.username_taken(&name) {
                    return Err(bad("User already exists").into());
                }
                Some(name)
            }
            None => None,
        };
        let new_password = bounded(body.password, "password", MAX_TEXT)?;
        if new_password.as_deref() == Some("") {
            return Err(bad("password must not be empty.").into());
        }
        let u = directory
            .user_mut(user)
            .ok_or_else(ApiError::invalid_token)?;
        if new_username.is_some() || new_password.is_some() {
            check_password(u, body.current_password.as_deref(), "current_password")?;
        } else if body.account_info.is_none() {
            return Err(bad("Nothing to update: give account_info, username or password.").into());
        }
        if let Some(info) = body.account_info {
            apply_info(u, info)?;
        }
        let old_email = u.email.clone();
        let mut message = None;
        if let Some(password) = new_password {
            u.password = Password::from(password);
            message = Some("User's password updated.");
        }
        if let Some(name) = new_username {
            u.email = name.clone();
            message = message.or(Some("User's username updated."));
            // Devices name their owner by email (fixtures): follow the rename.
            for d in &mut directory.devices {
                if d.owner
                    .as_deref()
                    .is_some_and(|o| o.eq_ignore_ascii_case(&old_email))
                {
                    d.owner = Some(name.clone());
                }
            }
        }
        message
    };
    if body.invalidate_tokens == Some(true) {
        let revoked = store.revoke_all_of(Owner::User(user));
        tracing::info!(revoked, "account change invalidated tokens");
    }
    drop(store);
    match message {
        Some(m) => Ok(ChangeAnswer::Message(OkMessage::new(m))),
        None => Ok(ChangeAnswer::Info {
            ok: true,
            info: user_info(world, Owner::User(user))?,
        }),
    }
}

/// A2.4: deletes the caller's account after checking its password; its tokens are 401
/// and its login `invalid_grant` from then on. Team memberships and outstanding resets
/// go with it; its devices are left without an owner.
pub(crate) fn delete_account(
    world: &World,
    user: UserId,
    body: AccountDeletion,
) -> Result<OkMessage, Refusal> {
    let store = world.store();
    {
        let mut directory = store.directory.write();
        let u = directory.user(user).ok_or_else(ApiError::invalid_token)?;
        check_password(u, body.password.as_deref(), "password")?;
        let email = u.email.clone();
        if directory.remove_user(user) {
            store.give_record();
        }
        tracing::info!(user = %email, "account deleted");
    }
    store.revoke_all_of(Owner::User(user));
    // The slot is reused by the next sign-up: nothing of this account may reach it.
    store.mfa_challenges.retain(|_, c| c.user != user);
    Ok(OkMessage::new("User's account has been deleted."))
}

/// A2.5 request: a reset token for a known user (readable through the control API); the
/// same 200 for an unknown one, so the route cannot be used to probe for accounts.
pub(crate) fn request_reset(world: &World, body: ResetRequest) -> Result<OkMessage, Refusal> {
    let username = body
        .username
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| bad("username is required."))?;
    let store = world.store();
    let mut directory = store.directory.write();
    if let Some((user, _)) = directory.user_by_email(username.trim()) {
        let token = format_token(&world.generator.token());
        if directory.password_resets.len() >= MAX_RESETS {
            directory.password_resets.remove(0);
        }
        directory.password_resets.push(PasswordReset {
            user,
            token,
            expires_at: world.now().saturating_add(RESET_TTL_MS),
        });
    }
    Ok(OkMessage::new("Password reset email sent."))
}

/// A2.5 redemption: sets the password of the reset's user; the token works once.
pub(crate) fn redeem_reset(world: &World, body: ResetRedemption) -> Result<(), Refusal> {
    let (Some(username), Some(token), Some(password)) = (
        body.username.filter(|v| !v.is_empty()),
        body.token.filter(|v| !v.is_empty()),
        body.password.filter(|v| !v.is_empty()),
    ) else {
        return Err(bad("username, token and password are required.").into());
    };
    if password.len() > MAX_TEXT {
        return Err(bad("password is too long.").into());
    }
    let invalid = || bad("Invalid or expired token");
    let now = world.now();
    let store = world.store();
    let mut directory = store.directory.write();
    let user = directory
        .user_by_email(username.trim())
        .map(|(id, _)| id)
        .ok_or_else(|| invalid().because("reset for an unknown user"))?;
    let at = directory
        .password_resets
        .iter()
        .position(|r| {
            r.user == user
                && r.expires_at > now
                && secrets_equal(r.token.as_bytes(), token.as_bytes())
        })
        .ok_or_else(|| invalid().because("unknown, used or expired reset token"))?;
    directory.password_resets.remove(at);
    let u = directory.user_mut(user).ok_or_else(invalid)?;
    u.password = Password::from(password);
    Ok(())
}

/// A2.6: a stable 24-hex id (the user's index, so it survives a username change) and the
/// email, with or without `?tracking=1`.
pub(crate) fn identify(world: &World, owner: Owner) -> Result<Identity, Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let (prefix, index, email) = match owner {
        Owner::User(id) => (
            0x5e00_0001u32,
            id,
            directory
                .user(id)
                .ok_or_else(ApiError::invalid_token)?
                .email
                .clone(),
        ),
        Owner::Customer(i) => (
            0x5e00_0002u32,
            i,
            directory
                .customer(i)
                .ok_or_else(ApiError::invalid_token)?
                .email
                .clone(),
        ),
        Owner::ApiUser(_) | Owner::Product(_) => {
            return Err(crate::particle::scopes::not_allowed(
                "an API user or product token called a person-only endpoint",
            ))
        }
    };
    Ok(Identity {
        id: format!("{prefix:08x}{index:016x}"),
        email,
    })
}

/// The outstanding (unexpired) password resets, oldest first, for the control API.
pub(crate) fn outstanding_resets(store: &Store, now: Millis) -> Vec<ResetView> {
    let directory = store.directory.read();
    directory
        .password_resets
        .iter()
        .filter(|r| r.expires_at > now)
        .filter_map(|r| {
            Some(ResetView {
                username: directory.user(r.user)?.email.clone(),
                token: r.token.clone(),
                expires_at: iso8601(r.expires_at),
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_lowercased_and_email_shaped() {
        assert_eq!(normalize_username(" N@X.io ").unwrap(), "n@x.io");
        assert!(normalize_username("nobody").is_none());
        assert!(normalize_username("@x.io").is_none());
        assert!(normalize_username("a b@x.io").is_none());
        assert!(normalize_username(&format!("{}@x.io", "a".repeat(300))).is_none());
    }
}
