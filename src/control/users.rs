//! Users: add, change, remove, and their current TOTP codes.

use crate::error::ApiError;
use crate::support::paging::{page_of_sorted, Page, PageRequest};
use crate::support::text::truncate;
use crate::totp::{current_codes, TotpSecret};
use crate::world::fixtures::ROLES;
use crate::world::password::Password;
use crate::world::store::{next_slot, put, TeamRef};
use crate::world::store::{Directory, Membership, Mfa, Owner, Team, User};
use crate::world::World;

use serde::{Deserialize, Deserializer, Serialize};

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
    /// The password (a JSON number is taken as its digits, as on every route).
    #[serde(deserialize_with = "crate::support::text::scalar_text_required")]
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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::support::text::scalar_text"
    )]
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
pub(super) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
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
    /// A code the mock accepts now: the current step's, or, once that step was used, the
    /// next step's that the skew still accepts (with a skew of 0 there is none: advance
    /// the clock by `seconds_remaining` and take `next_code`).
    pub code: String,
    /// The code of the next 30-second step.
    pub next_code: String,
    /// Whole seconds until `next_code` takes over.
    pub seconds_remaining: u64,
}

// Control requests are not journaled, so the refusal carries no reason.
pub(super) fn not_found_user() -> ApiError {
    ApiError::NotFound("User not found".into())
}

pub(super) fn resolve_memberships(
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

pub(super) fn resolve_team(
    directory: &Directory,
    product: Option<&str>,
    org: Option<&str>,
) -> Result<Team, String> {
    let target = match (product, org) {
        (Some(p), None) => TeamRef::Product(p),
        (None, Some(o)) => TeamRef::Org(o),
        _ => return Err("name exactly one of `product` and `org`".into()),
    };
    directory.team(target).ok_or_else(|| match target {
        TeamRef::Product(p) => format!("unknown product `{}`", truncate(p)),
        TeamRef::Org(o) => format!("unknown org `{}`", truncate(o)),
    })
}
pub(super) fn new_mfa(secret: &str, codes: &[String]) -> Result<Mfa, ApiError> {
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

pub(super) fn view_user(directory: &Directory, id: u32, user: &User) -> UserView {
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
    let slot = next_slot(&directory.users);
    let id = u32::try_from(slot).map_err(|_| ApiError::Unavailable)?;
    store.take_record()?;
    put(
        &mut directory.users,
        slot,
        User {
            email: new.email,
            password: Password::from(new.password),
            first_name: new.first_name,
            last_name: new.last_name,
            company_name: String::new(),
            business_account: false,
            mfa,
            pending_enrolment: None,
        },
    );
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
    let (id, user) = directory.user_by_email(email).ok_or_else(not_found_user)?;
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
        user.password = Password::from(password);
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

/// Removes a user as `DELETE /v1/user` does: memberships, password resets, own OAuth
/// clients, device ownership, tokens, refresh tokens and MFA challenges.
pub(crate) fn remove_user(world: &World, email: &str) -> Result<(), ApiError> {
    let store = world.store();
    let id = {
        let mut directory = store.directory.write();
        let (id, _) = directory.user_by_email(email).ok_or_else(not_found_user)?;
        if directory.remove_user(id) {
            store.give_record();
        }
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
    let (_, user) = directory.user_by_email(email).ok_or_else(not_found_user)?;
    let mfa = user
        .mfa
        .as_ref()
        .ok_or_else(|| ApiError::BadRequest(format!("{} has no MFA", user.email)))?;
    let now = world.clock.now_secs();
    let codes = current_codes(&mfa.secret, now);
    // The current step once used is refused as a replay: hand out the next step the
    // skew still accepts instead, so the code given is one the mock takes.
    let code = match TotpSecret::usable_step(now, world.settings.otp_skew, mfa.last_step) {
        Some(step) if step != codes.step => mfa.secret.code_at_step(step),
        _ => codes.code,
    };
    Ok(TotpCodes {
        code,
        next_code: codes.next_code,
        seconds_remaining: codes.seconds_remaining,
    })
}

/// Every user of a world, sorted by email.
/// One page of the users, sorted by email; the cursor is the last email of the previous
/// page.
pub(crate) fn users_page(world: &World, request: &PageRequest) -> Page<UserView> {
    page_of_sorted(users(world), |u| u.email.clone(), request)
}

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
