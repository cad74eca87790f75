//! The control plane's domain logic, shared by the HTTP control API (`routes/control.rs`)
//! and the Rust API ([`MockServer`](crate::MockServer), [`Tenant`](crate::Tenant)): clock
//! readings and durations, users, TOTP codes, directly issued tokens, live tokens,
//! rate-limit changes and tenants. Free of HTTP.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::clock::{iso8601, parse_iso8601, Clock, Millis};
use crate::config::Config;
use crate::error::ApiError;
use crate::particle::oauth::issue;
use crate::rate_limit::{RateLimitSection, RateLimitSettings};
use crate::support::text::truncate;
use crate::tokens::format_token;
use crate::totp::{current_codes, TotpSecret};
use crate::world::fixtures::{Fixtures, KNOWN_SCOPES, ROLES};
use crate::world::store::{ApiUser, Directory, Membership, Mfa, Owner, Team, User};
use crate::world::Registry;
use crate::world::World;
use crate::world::WorldSettings;

/// A clock reading (`GET /__mock/clock`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// Now, in milliseconds since the Unix epoch.
    pub now_ms: Millis,
    /// Now, ISO 8601 with milliseconds and `Z`.
    pub now: String,
    /// Whether time stands still until set, advanced or resumed.
    pub frozen: bool,
}

/// Reads a clock.
pub(crate) fn clock_state(clock: &Clock) -> ClockState {
    let now_ms = clock.now_millis();
    ClockState {
        now_ms,
        now: iso8601(now_ms),
        frozen: clock.is_frozen(),
    }
}

/// An instant given as ISO 8601 text or as milliseconds since the epoch.
pub(crate) fn parse_instant(value: &serde_json::Value) -> Result<Millis, ApiError> {
    let refuse = || {
        ApiError::BadRequest(
            "`at` must be an ISO 8601 date-time or milliseconds since the Unix epoch".into(),
        )
    };
    match value {
        serde_json::Value::Number(n) => n.as_i64().ok_or_else(refuse),
        serde_json::Value::String(s) => match s.trim().parse::<i64>() {
            Ok(ms) => Ok(ms),
            Err(_) => parse_iso8601(s).ok_or_else(refuse),
        },
        _ => Err(refuse()),
    }
}

/// Parses a duration such as `90d`, `1h30m`, `5s`, `250ms` or `2w` (units: `ms`, `s`,
/// `m`, `h`, `d`, `w`; a bare number is seconds).
///
/// ```
/// use particle_auth_mock::parse_duration;
/// use std::time::Duration;
///
/// // Arrange / Act / Assert
/// assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(parse_duration("90d").unwrap(), Duration::from_secs(90 * 86_400));
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = || format!("`{text}` is not a duration such as 90d, 1h30m, 5s or 250ms");
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let per_unit_ms: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => return Err(invalid()),
        };
        let n: u64 = number.parse().map_err(|_| invalid())?;
        total = n
            .checked_mul(per_unit_ms)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(invalid)?;
        rest = after;
    }
    Ok(Duration::from_millis(total))
}

/// How far `POST /__mock/clock/advance` moves: `seconds` (a non-negative number) or a
/// `duration` text, exactly one of them.
pub(crate) fn advance_amount(
    seconds: Option<f64>,
    duration: Option<&str>,
) -> Result<Duration, ApiError> {
    match (seconds, duration) {
        (Some(secs), None) => Duration::try_from_secs_f64(secs).map_err(|_| {
            ApiError::BadRequest(
                "`seconds` must be a non-negative number (to go back, use /__mock/clock/set)"
                    .into(),
            )
        }),
        (None, Some(text)) => parse_duration(text).map_err(ApiError::BadRequest),
        _ => Err(ApiError::BadRequest(
            "give exactly one of `seconds` and `duration`".into(),
        )),
    }
}

/// A membership to give a user: exactly one of `product` (id or slug) and `org` (id or
/// slug), and a role (`Administrator`, `Developer`, `View-only`, `Support`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipSpec {
    /// The product, by id or slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The org, by id or slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The role.
    pub role: String,
}

/// A user to add (`POST /__mock/users`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// The login (unique, case-insensitive).
    pub email: String,
    /// The password.
    pub password: String,
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// A base32 TOTP secret: the user then has MFA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_secret: Option<String>,
    /// Single-use recovery codes (with `mfa_secret`).
    #[serde(default)]
    pub recovery_codes: Vec<String>,
    /// Team memberships.
    #[serde(default)]
    pub memberships: Vec<MembershipSpec>,
}

/// Changes to a user (`PATCH /__mock/users/{email}`); absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// A new password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A new first name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// A new last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// `Some(Some(secret))` enrols MFA with this secret, `Some(None)` (JSON `null`)
    /// removes MFA.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub mfa_secret: Option<Option<String>>,
    /// New recovery codes (all unused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
    /// Replaces every membership of the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memberships: Option<Vec<MembershipSpec>>,
}

/// Tells a present `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A user as the control API shows it (never its password or secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// The login.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Whether the user has MFA.
    pub mfa_enabled: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: usize,
    /// Team memberships (product by id, org by id).
    pub memberships: Vec<MembershipSpec>,
}

/// The codes a test needs to pass MFA (`GET /__mock/users/{email}/totp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpCodes {
    /// The code valid now (refused if this step was already used: take `next_code` after
    /// advancing the clock by `seconds_remaining`).
    pub code: String,
    /// The code of the next 30-second step.
    pub next_code: String,
    /// Whole seconds until `next_code` takes over.
    pub seconds_remaining: u64,
}

/// A token to issue directly (`POST /__mock/tokens`): either for a human `user`, or a new
/// API user holding `scopes` on a `product` or an `org`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenOrder {
    /// A user's email: issue an access token (and refresh token) as a login would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The OAuth client the token belongs to (default `particle`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Lifetime in seconds; 0 = never expires; default: the world's default (90 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// Scopes of a new API user (instead of `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// The API user's product (id or slug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The API user's org (id or slug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The API user's friendly name (default `control-api`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
}

/// A directly issued token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    /// The bearer token.
    pub access_token: String,
    /// `bearer`.
    pub token_type: String,
    /// Its lifetime in seconds (0: never expires).
    pub expires_in: i64,
    /// When it expires (ISO 8601), if ever.
    pub expires_at: Option<String>,
    /// The refresh token of a user token that expires.
    pub refresh_token: Option<String>,
    /// The user's email or the API user's username.
    pub owner: String,
    /// The API user's scopes (empty for a user token).
    pub scopes: Vec<String>,
}

/// A live access token (`GET /__mock/tokens`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveToken {
    /// The bearer token itself (the control API is the test's own view).
    pub token: String,
    /// `user`, `api_user`, `product` or `customer`.
    pub owner_type: String,
    /// Email, API username, product id or customer email.
    pub owner: String,
    /// The OAuth client id.
    pub client: String,
    /// When it expires (ISO 8601), if ever.
    pub expires_at: Option<String>,
    /// An API user's scopes.
    pub scopes: Vec<String>,
}

/// A tenant as listed (`GET /__mock/tenants`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantInfo {
    /// The tenant id.
    pub id: String,
    /// Its base URL, `http://HOST/t/<id>`: use it as the client's `baseUrl`.
    pub base_url: String,
}

fn not_found_user(email: &str) -> ApiError {
    ApiError::NotFound("User not found".into())
        .because(format!("control: unknown user {}", truncate(email)))
}

fn resolve_memberships(
    directory: &Directory,
    specs: &[MembershipSpec],
) -> Result<Vec<(Team, String)>, ApiError> {
    specs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let team = resolve_team(directory, m.product.as_deref(), m.org.as_deref())
                .map_err(|e| ApiError::BadRequest(format!("memberships[{i}]: {e}")))?;
            if !ROLES.iter().any(|(name, _)| *name == m.role) {
                let names: Vec<_> = ROLES.iter().map(|(n, _)| *n).collect();
                return Err(ApiError::BadRequest(format!(
                    "memberships[{i}]: unknown role `{}` (one of {})",
                    m.role,
                    names.join(", ")
                )));
            }
            Ok((team, m.role.clone()))
        })
        .collect()
}

fn resolve_team(
    directory: &Directory,
    product: Option<&str>,
    org: Option<&str>,
) -> Result<Team, String> {
    match (product, org) {
        (Some(p), None) => directory
            .product(p)
            .map(|p| Team::Product(p.id))
            .ok_or_else(|| format!("unknown product `{}`", truncate(p))),
        (None, Some(o)) => directory
            .org(o)
            .map(|o| Team::Org(o.id.clone()))
            .ok_or_else(|| format!("unknown org `{}`", truncate(o))),
        _ => Err("name exactly one of `product` and `org`".into()),
    }
}

fn new_mfa(secret: &str, codes: &[String]) -> Result<Mfa, ApiError> {
    let secret = TotpSecret::from_base32(secret)
        .map_err(|e| ApiError::BadRequest(format!("invalid `mfa_secret`: {e}")))?;
    let mut seen = std::collections::HashSet::new();
    if codes.iter().any(|c| c.is_empty() || !seen.insert(c)) {
        return Err(ApiError::BadRequest(
            "recovery codes must be non-empty and distinct".into(),
        ));
    }
    Ok(Mfa {
        secret,
        recovery_codes: codes.iter().map(|c| (c.clone(), false)).collect(),
        last_step: None,
    })
}

fn view_user(directory: &Directory, id: u32, user: &User) -> UserView {
    UserView {
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        mfa_enabled: user.mfa.is_some(),
        recovery_codes_left: user.mfa.as_ref().map_or(0, |m| {
            m.recovery_codes.iter().filter(|(_, used)| !used).count()
        }),
        memberships: directory
            .memberships
            .iter()
            .filter(|m| m.user == id)
            .map(|m| match &m.team {
                Team::Product(p) => MembershipSpec {
                    product: Some(p.to_string()),
                    org: None,
                    role: m.role.clone(),
                },
                Team::Org(o) => MembershipSpec {
                    product: None,
                    org: Some(o.clone()),
                    role: m.role.clone(),
                },
            })
            .collect(),
    }
}

/// Adds a user; 400 if the email is taken or a field is invalid.
pub(crate) fn add_user(world: &World, new: NewUser) -> Result<UserView, ApiError> {
    if !new.email.contains('@') || new.email.len() > 254 {
        return Err(ApiError::BadRequest(format!(
            "`{}` is not an email address",
            truncate(&new.email)
        )));
    }
    if new.password.is_empty() {
        return Err(ApiError::BadRequest("`password` must not be empty".into()));
    }
    let mfa = match &new.mfa_secret {
        Some(secret) => Some(new_mfa(secret, &new.recovery_codes)?),
        None if !new.recovery_codes.is_empty() => {
            return Err(ApiError::BadRequest(
                "`recovery_codes` need an `mfa_secret`".into(),
            ))
        }
        None => None,
    };
    let store = world.store();
    let mut directory = store.directory.write();
    if directory.user_by_email(&new.email).is_some() {
        return Err(ApiError::BadRequest(format!(
            "a user `{}` already exists",
            new.email
        )));
    }
    let memberships = resolve_memberships(&directory, &new.memberships)?;
    let id = u32::try_from(directory.users.len()).map_err(|_| ApiError::Unavailable)?;
    directory.users.push(Some(User {
        email: new.email,
        password: new.password,
        first_name: new.first_name,
        last_name: new.last_name,
        mfa,
        pending_enrolment: None,
    }));
    for (team, role) in memberships {
        directory.memberships.push(Membership {
            user: id,
            team,
            role,
        });
    }
    let user = directory.user(id).ok_or(ApiError::Unavailable)?;
    Ok(view_user(&directory, id, user))
}

/// Changes a user; 404 if unknown, 400 if a field is invalid (nothing changes then).
pub(crate) fn update_user(
    world: &World,
    email: &str,
    patch: UserPatch,
) -> Result<UserView, ApiError> {
    let store = world.store();
    let mut directory = store.directory.write();
    let (id, user) = directory
        .user_by_email(email)
        .ok_or_else(|| not_found_user(email))?;
    if patch.password.as_deref() == Some("") {
        return Err(ApiError::BadRequest("`password` must not be empty".into()));
    }
    let mfa = match (&patch.mfa_secret, &patch.recovery_codes) {
        (Some(Some(secret)), codes) => {
            Some(Some(new_mfa(secret, codes.as_deref().unwrap_or_default())?))
        }
        (Some(None), _) => Some(None),
        (None, Some(codes)) => match &user.mfa {
            Some(m) => Some(Some(new_mfa(m.secret.base32(), codes)?)),
            None => {
                return Err(ApiError::BadRequest(
                    "`recovery_codes` need MFA: give an `mfa_secret` too".into(),
                ))
            }
        },
        (None, None) => None,
    };
    let memberships = patch
        .memberships
        .as_deref()
        .map(|m| resolve_memberships(&directory, m))
        .transpose()?;
    let user = directory.user_mut(id).ok_or(ApiError::Unavailable)?;
    if let Some(password) = patch.password {
        user.password = password;
    }
    if let Some(first) = patch.first_name {
        user.first_name = first;
    }
    if let Some(last) = patch.last_name {
        user.last_name = last;
    }
    if let Some(mfa) = mfa {
        user.mfa = mfa;
        user.pending_enrolment = None;
    }
    if let Some(memberships) = memberships {
        directory.memberships.retain(|m| m.user != id);
        for (team, role) in memberships {
            directory.memberships.push(Membership {
                user: id,
                team,
                role,
            });
        }
    }
    let user = directory.user(id).ok_or(ApiError::Unavailable)?;
    Ok(view_user(&directory, id, user))
}

/// Removes a user with its memberships, tokens, refresh tokens and MFA challenges.
pub(crate) fn remove_user(world: &World, email: &str) -> Result<(), ApiError> {
    let store = world.store();
    let id = {
        let mut directory = store.directory.write();
        let (id, _) = directory
            .user_by_email(email)
            .ok_or_else(|| not_found_user(email))?;
        if let Some(slot) = directory.users.get_mut(id as usize) {
            *slot = None;
        }
        directory.memberships.retain(|m| m.user != id);
        id
    };
    store.revoke_all_of(Owner::User(id));
    store.mfa_challenges.retain(|_, c| c.user != id);
    Ok(())
}

/// The current and next TOTP code of an MFA user, on the world's clock.
pub(crate) fn totp_codes(world: &World, email: &str) -> Result<TotpCodes, ApiError> {
    let store = world.store();
    let directory = store.directory.read();
    let (_, user) = directory
        .user_by_email(email)
        .ok_or_else(|| not_found_user(email))?;
    let mfa = user
        .mfa
        .as_ref()
        .ok_or_else(|| ApiError::BadRequest(format!("{} has no MFA", user.email)))?;
    let codes = current_codes(&mfa.secret, world.clock.now_secs());
    Ok(TotpCodes {
        code: codes.code,
        next_code: codes.next_code,
        seconds_remaining: codes.seconds_remaining,
    })
}

/// Issues a token as ordered: a user's token through the same path as a login, or a new
/// API user with the given scopes.
pub(crate) fn issue_token(world: &World, order: TokenOrder) -> Result<IssuedToken, ApiError> {
    let store = world.store();
    let now = world.now();
    if let Some(email) = order.user.as_deref() {
        if order.scopes.is_some() || order.product.is_some() || order.org.is_some() {
            return Err(ApiError::BadRequest(
                "give either `user` or `scopes` with `product`/`org`, not both".into(),
            ));
        }
        let lifetime = match order.expires_in {
            Some(secs) if secs < 0 || now.checked_add(secs.saturating_mul(1000)).is_none() => {
                return Err(ApiError::BadRequest(
                    "`expires_in` must be a non-negative number of seconds".into(),
                ))
            }
            Some(secs) => secs,
            None => world.settings.default_token_lifetime,
        };
        let client_name = order.client.as_deref().unwrap_or("particle");
        let (owner, client, email) = {
            let directory = store.directory.read();
            let (id, user) = directory
                .user_by_email(email)
                .ok_or_else(|| not_found_user(email))?;
            let (client, _) = directory.client_by_id(client_name).ok_or_else(|| {
                ApiError::BadRequest(format!("unknown client `{}`", truncate(client_name)))
            })?;
            (Owner::User(id), client, user.email.clone())
        };
        let response = issue(world, &store, owner, client, lifetime, None);
        let expires_at = (lifetime > 0).then(|| iso8601(now.saturating_add(lifetime * 1000)));
        return Ok(IssuedToken {
            access_token: response.access_token,
            token_type: "bearer".into(),
            expires_in: lifetime,
            expires_at,
            refresh_token: response.refresh_token,
            owner: email,
            scopes: Vec::new(),
        });
    }
    let Some(scopes) = order.scopes else {
        return Err(ApiError::BadRequest(
            "give `user` (an email) or `scopes` with `product` or `org`".into(),
        ));
    };
    if order.expires_in.is_some_and(|s| s != 0) || order.client.is_some() {
        return Err(ApiError::BadRequest(
            "API-user tokens never expire and have no client: drop `expires_in` and `client`"
                .into(),
        ));
    }
    if scopes.is_empty() {
        return Err(ApiError::BadRequest(
            "an API user needs at least one scope".into(),
        ));
    }
    if let Some(unknown) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "unknown scope `{}`",
            truncate(unknown)
        )));
    }
    let friendly_name = order.friendly_name.unwrap_or_else(|| "control-api".into());
    let slug: String = friendly_name
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32)
        .collect::<String>()
        .to_ascii_lowercase();
    let username = format!(
        "{}+{}@api.particle.io",
        if slug.is_empty() { "api-user" } else { &slug },
        world.generator.alphanumeric(10)
    );
    let key = world.generator.token();
    {
        let mut directory = store.directory.write();
        let team = resolve_team(&directory, order.product.as_deref(), order.org.as_deref())
            .map_err(ApiError::BadRequest)?;
        let id = u32::try_from(directory.api_users.len()).map_err(|_| ApiError::Unavailable)?;
        directory.api_users.push(Some(ApiUser {
            username: username.clone(),
            friendly_name,
            team,
            scopes: scopes.clone(),
            token: key,
        }));
        world.make_room_for_token(&store, now);
        store.tokens.insert(
            key,
            crate::world::store::AccessToken {
                owner: Owner::ApiUser(id),
                client: 0,
                expires_at: None,
            },
        );
    }
    Ok(IssuedToken {
        access_token: format_token(&key),
        token_type: "bearer".into(),
        expires_in: 0,
        expires_at: None,
        refresh_token: None,
        owner: username,
        scopes,
    })
}

/// Every live (unexpired) access token of the world, ordered by owner then token.
pub(crate) fn live_tokens(world: &World) -> Vec<LiveToken> {
    let store = world.store();
    let now = world.now();
    let directory = store.directory.read();
    let mut tokens: Vec<LiveToken> = store
        .tokens
        .iter()
        .filter(|e| e.expires_at.map_or(true, |at| at > now))
        .map(|e| {
            let (owner_type, owner, scopes) = match e.owner {
                Owner::User(id) => (
                    "user",
                    directory
                        .user(id)
                        .map(|u| u.email.clone())
                        .unwrap_or_default(),
                    Vec::new(),
                ),
                Owner::ApiUser(id) => match directory.api_user(id) {
                    Some(a) => ("api_user", a.username.clone(), a.scopes.clone()),
                    None => ("api_user", String::new(), Vec::new()),
                },
                Owner::Product(p) => ("product", p.to_string(), Vec::new()),
                Owner::Customer(i) => (
                    "customer",
                    directory
                        .customers
                        .get(i as usize)
                        .map(|c| c.email.clone())
                        .unwrap_or_default(),
                    Vec::new(),
                ),
            };
            LiveToken {
                token: format_token(e.key()),
                owner_type: owner_type.into(),
                owner,
                client: directory.client_name(e.client).to_string(),
                expires_at: e.expires_at.map(iso8601),
                scopes,
            }
        })
        .collect();
    tokens.sort_by(|a, b| (&a.owner, &a.token).cmp(&(&b.owner, &b.token)));
    tokens
}

/// Every user of a world, sorted by email.
pub(crate) fn users(world: &World) -> Vec<UserView> {
    let store = world.store();
    let directory = store.directory.read();
    let mut users: Vec<UserView> = directory
        .users
        .iter()
        .enumerate()
        .filter_map(|(id, user)| {
            let user = user.as_ref()?;
            Some(view_user(&directory, u32::try_from(id).ok()?, user))
        })
        .collect();
    users.sort_by(|a, b| a.email.cmp(&b.email));
    users
}

/// Revokes one live access token; 404 if there is no such token.
pub(crate) fn revoke_token(world: &World, token: &str) -> Result<(), ApiError> {
    let unknown =
        || ApiError::NotFound("Token not found".into()).because("control: unknown access token");
    let key = crate::tokens::parse_token(token).ok_or_else(unknown)?;
    world
        .store()
        .tokens
        .remove(&key)
        .map(drop)
        .ok_or_else(unknown)
}

/// A client as the control API names it: an IP address (an IPv6 address stands for its
/// /64), or an IPv6 prefix as the rate-limit snapshots list it (`2001:db8:1:2::/64`).
pub(crate) fn parse_client(text: &str) -> Result<IpAddr, ApiError> {
    let text = text.trim();
    let address = match text.strip_suffix("/64") {
        Some(prefix) if prefix.contains(':') => prefix,
        _ => text,
    };
    address.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "`{}` is not a client: give an IP address or an IPv6 /64 prefix",
            truncate(text)
        ))
    })
}

/// What a rate-limit change applies to: `PUT` starts from §6's defaults (the body is a
/// complete description, like a fixtures file's `rate_limits` section), `PATCH` from the
/// settings in force (absent fields stay as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SettingsBase {
    /// §6's defaults.
    Defaults,
    /// The settings in force.
    Current,
}

/// Changes a world's rate-limit settings at run time; counters are kept. Answers the new
/// settings; 400 (nothing changes) for an invalid limit.
pub(crate) fn change_rate_limits(
    world: &World,
    section: &RateLimitSection,
    base: SettingsBase,
) -> Result<RateLimitSettings, ApiError> {
    section.validate("").map_err(ApiError::BadRequest)?;
    Ok(match base {
        SettingsBase::Defaults => {
            let mut settings = RateLimitSettings::default();
            settings.apply_section(section);
            world.set_rate_limit_settings(settings.clone());
            settings
        }
        // Read, change and store as one step: two concurrent PATCHes both take effect.
        SettingsBase::Current => {
            world.update_rate_limit_settings(|settings| settings.apply_section(section))
        }
    })
}

/// Creates a tenant from `fixtures` (default: the fixtures the default world was loaded
/// with), with its own clock (system time, independently settable) and settings; refuses
/// with 429 past `--max-tenants`.
pub(crate) fn create_tenant(
    registry: &Registry,
    config: &Config,
    fixtures: Option<Fixtures>,
) -> Result<(String, Arc<World>), ApiError> {
    let _gate = registry.tenant_gate.lock();
    if registry.tenants.len() >= config.max_tenants {
        return Err(ApiError::TooManyTenants {
            max: config.max_tenants,
        });
    }
    let fixtures = fixtures.unwrap_or_else(|| registry.default.fixtures().as_ref().clone());
    let id = loop {
        let id = registry.default.generator.alphanumeric(12);
        if !registry.tenants.contains_key(&id) {
            break id;
        }
    };
    // A seeded server gives each tenant its own reproducible stream.
    let seed = config.seed.map(|s| {
        s ^ u64::from_le_bytes(*b"tenant\0\0").wrapping_add(registry.tenants.len() as u64)
    });
    let world = Arc::new(World::new(
        fixtures,
        WorldSettings::from(config),
        Clock::system(),
        seed,
    ));
    registry.tenants.insert(id.clone(), world.clone());
    Ok((id, world))
}

/// The live tenant ids, sorted.
pub(crate) fn tenant_ids(registry: &Registry) -> Vec<String> {
    let mut ids: Vec<String> = registry.tenants.iter().map(|e| e.key().clone()).collect();
    ids.sort();
    ids
}

/// Deletes a tenant; whether it existed.
pub(crate) fn delete_tenant(registry: &Registry, id: &str) -> bool {
    registry.tenants.remove(id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_add_their_parts() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(
            parse_duration("2w1d").unwrap(),
            Duration::from_secs(15 * 86_400)
        );
        assert_eq!(parse_duration("42").unwrap(), Duration::from_secs(42));
        for bad in ["", "h", "5y", "1.5h", "-1s", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn instants_are_iso_text_or_milliseconds() {
        assert_eq!(parse_instant(&serde_json::json!(1_000)).unwrap(), 1_000);
        assert_eq!(parse_instant(&serde_json::json!("1000")).unwrap(), 1_000);
        assert_eq!(
            parse_instant(&serde_json::json!("2017-12-07T00:00:01Z")).unwrap(),
            1_512_604_801_000
        );
        assert!(parse_instant(&serde_json::json!("tomorrow")).is_err());
        assert!(parse_instant(&serde_json::json!(true)).is_err());
    }

    #[test]
    fn clients_are_addresses_or_ipv6_prefixes() {
        assert_eq!(parse_client("10.0.0.1").unwrap().to_string(), "10.0.0.1");
        assert_eq!(
            parse_client("2001:db8:1:2::/64").unwrap().to_string(),
            "2001:db8:1:2::"
        );
        assert_eq!(
            parse_client("2001:db8::7").unwrap().to_string(),
            "2001:db8::7"
        );
        for bad in ["", "10.0.0.1/64", "10.0.0", "2001:db8::/48", "localhost"] {
            assert!(parse_client(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_user_patch_tells_null_from_absent() {
        let p: UserPatch = serde_json::from_str(r#"{"mfa_secret":null}"#).unwrap();
        assert_eq!(p.mfa_secret, Some(None));
        let p: UserPatch = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(p.mfa_secret, None);
    }
}
