//! Product and org teams (particle-api.md §3.2–3.5): list members, and create, update
//! (with token rotation on a change of scopes) and delete API users. Free of HTTP.
//!
//! Who may call what is decided by [`crate::particle::scopes`]: listing needs team membership (or an
//! API user of the team holding `teams.users:list`); changes need a human Administrator.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ApiError, Refusal};
use crate::particle::scopes::{authorize, authorize_admin, TeamRef};
use crate::support::text::truncate;
use crate::tokens::format_token;
use crate::world::fixtures::{KNOWN_SCOPES, ROLES};
use crate::world::store::{
    next_slot, put, AccessToken, ApiUser, ApiUserId, Directory, Owner, Store, Team,
};
use crate::world::World;

mod invites;
mod regenerate;
pub(crate) use invites::Invited;
use invites::{assignable_role, invite, membership_in};
pub(crate) use regenerate::regenerate_token;

/// The domain every API-user username ends with (§3.2).
const API_DOMAIN: &str = "@api.particle.io";
/// Longest slug kept from a friendly name (the real limit is unknown).
const MAX_SLUG: usize = 40;

/// `{"token":..}` in `tokens`.
#[derive(Debug, Serialize)]
pub(crate) struct TokenEntry {
    pub token: String,
}

/// `POST …/team` answer (§3.2).
#[derive(Debug, Serialize)]
pub(crate) struct Created {
    pub ok: bool,
    pub created: CreatedUser,
}

/// The `created` object.
#[derive(Debug, Serialize)]
pub(crate) struct CreatedUser {
    pub username: String,
    pub is_programmatic: bool,
    pub tokens: Vec<TokenEntry>,
}

/// `PUT …/team/{username}` answer (§3.4; shape mirrors create, key `updated`).
#[derive(Debug, Serialize)]
pub(crate) struct Updated {
    pub ok: bool,
    pub updated: UpdatedUser,
}

/// The `updated` object; `tokens` only when the token was replaced.
#[derive(Debug, Serialize)]
pub(crate) struct UpdatedUser {
    pub username: String,
    pub friendly_name: String,
    pub scopes: Vec<String>,
    pub is_programmatic: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Vec<TokenEntry>>,
}

/// `GET …/team` answer (§3.3).
#[derive(Debug, Serialize)]
pub(crate) struct TeamList {
    pub ok: bool,
    pub team: Vec<Member>,
}

/// One team member: a human with a role, or an API user.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Member {
    /// A person (the reference's extra flags, account spec A5).
    Human {
        #[serde(rename = "_id")]
        id: String,
        username: String,
        role: Role,
        no_mfa: bool,
        scim_provisioned: bool,
        no_password: bool,
    },
    /// An API user.
    Programmatic {
        username: String,
        is_programmatic: bool,
        friendly_name: String,
        scopes: Vec<String>,
    },
}

/// `role` of a human member.
#[derive(Debug, Serialize)]
pub(crate) struct Role {
    pub id: String,
    pub name: String,
}

/// The slug of a friendly name: lowercase ASCII alphanumerics, every other run of
/// characters one `-`, no leading or trailing `-`, at most 40 characters; `api-user` if
/// nothing is left (§3.2 leaves the derivation unknown).
pub(crate) fn slug(friendly_name: &str) -> String {
    crate::support::text::slug(friendly_name, MAX_SLUG, "api-user")
}

/// What a create or update body says, validated.
#[derive(Debug, Default)]
struct Changes {
    friendly_name: Option<String>,
    scopes: Option<Vec<String>>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// Parses a JSON object body: anything else is a clear 400.
fn json_object(body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad("The request body must be a JSON object.").into()),
        Err(e) => Err(bad(format!("The request body must be JSON: {e}")).into()),
    }
}

/// The longest `friendly_name` accepted, in characters (a name is stored and echoed in
/// every team list, so it is capped like everything that grows with traffic).
pub(crate) const MAX_FRIENDLY_NAME_CHARS: usize = 256;

/// The most API users one team (a product or an organization) may have.
pub(crate) const MAX_API_USERS_PER_TEAM: usize = 1_000;

/// `name`, or `400` when it is longer than [`MAX_FRIENDLY_NAME_CHARS`].
fn checked_friendly_name(name: &str) -> Result<&str, Refusal> {
    if name.chars().count() > MAX_FRIENDLY_NAME_CHARS {
        return Err(bad(format!(
            "friendly_name must be at most {MAX_FRIENDLY_NAME_CHARS} characters."
        ))
        .into());
    }
    Ok(name)
}

/// Validates `friendly_name` and `scopes` where present (missing ones stay `None`).
fn parse_changes(body: &[u8]) -> Result<Changes, Refusal> {
    let map = json_object(body)?;
    let friendly_name = match map.get("friendly_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(bad("friendly_name must not be empty.").into())
        }
        Some(Value::String(s)) => Some(checked_friendly_name(s.trim())?.to_string()),
        Some(_) => return Err(bad("friendly_name must be a string.").into()),
    };
    let scopes = match map.get("scopes") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut scopes: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                let Value::String(s) = item else {
                    return Err(bad("scopes must be an array of scope names.").into());
                };
                if !scopes.contains(s) {
                    scopes.push(s.clone());
                }
            }
            if scopes.is_empty() {
                return Err(bad("scopes must name at least one scope.").into());
            }
            let unknown: Vec<&str> = scopes
                .iter()
                .map(String::as_str)
                .filter(|s| !KNOWN_SCOPES.contains(s))
                .collect();
            match unknown.as_slice() {
                [] => {}
                [one] => return Err(bad(format!("Unknown scope: {one}")).into()),
                many => return Err(bad(format!("Unknown scopes: {}", many.join(", "))).into()),
            }
            Some(scopes)
        }
        Some(_) => return Err(bad("scopes must be an array of scope names.").into()),
    };
    Ok(Changes {
        friendly_name,
        scopes,
    })
}

/// Adds an API user of `team` with a fresh never-expiring token: the ONE creation path,
/// for `POST …/team` (§3.2) and the control API's `POST /__mock/tokens`. The username is
/// the slug of `friendly_name`, `+`, 10 random characters and `@api.particle.io`, never
/// one already taken. Returns the username and the token's key.
pub(crate) fn add_api_user(
    world: &World,
    store: &Store,
    directory: &mut Directory,
    team: Team,
    friendly_name: String,
    scopes: Vec<String>,
) -> Result<(String, crate::tokens::TokenKey), Refusal> {
    checked_friendly_name(&friendly_name)?;
    let in_team = directory
        .api_users
        .iter()
        .flatten()
        .filter(|a| a.team == team)
        .count();
    if in_team >= MAX_API_USERS_PER_TEAM {
        return Err(bad(format!(
            "A team may have at most {MAX_API_USERS_PER_TEAM} API users; delete some first."
        ))
        .into());
    }
    let base = slug(&friendly_name);
    let username = loop {
        let candidate = format!("{base}+{}{API_DOMAIN}", world.generator.alphanumeric(10));
        if !directory.username_taken(&candidate) {
            break candidate;
        }
    };
    let slot = next_slot(&directory.api_users);
    let id = ApiUserId::try_from(slot).map_err(|_| ApiError::Unavailable)?;
    store.take_record()?;
    let key = issue_token(world, store, id).inspect_err(|_| store.give_record())?;
    put(
        &mut directory.api_users,
        slot,
        ApiUser {
            username: username.clone(),
            friendly_name,
            team,
            scopes,
            token: key,
        },
    );
    Ok((username, key))
}

/// Inserts a fresh never-expiring token for an API user and returns its key (`503` when
/// the token table is full of tokens that may not be evicted).
fn issue_token(
    world: &World,
    store: &Store,
    id: ApiUserId,
) -> Result<crate::tokens::TokenKey, Refusal> {
    let now = world.now();
    world.make_room_for_token(store, now)?;
    let mut key = world.generator.token();
    while store.tokens.contains_key(&key) {
        key = world.generator.token();
    }
    store.tokens.insert(
        key,
        AccessToken {
            owner: Owner::ApiUser(id),
            client: 0,
            expires_at: None,
            pinned: true,
        },
    );
    Ok(key)
}

/// What `POST …/team` did: the same route creates API users and invites humans.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum TeamAddition {
    /// `friendly_name` + `scopes`: an API user (§3.2).
    ApiUser(Created),
    /// `username`: a human invited (A5).
    Invite(Invited),
}

/// §3.2 and A5: `friendly_name` + `scopes` create an API user with one never-expiring
/// token; `username` (without `friendly_name`) invites a human.
pub(crate) fn add_to_team(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    body: &[u8],
) -> Result<TeamAddition, Refusal> {
    let store = world.store();
    let mut directory = store.directory.write();
    let team = authorize_admin(&directory, caller, target)?;
    let map = json_object(body)?;
    if map.contains_key("username") && !map.contains_key("friendly_name") {
        return invite(&mut directory, team, &map).map(TeamAddition::Invite);
    }
    drop(map);
    let changes = parse_changes(body)?;
    let friendly_name = changes
        .friendly_name
        .ok_or_else(|| bad("friendly_name is required."))?;
    let scopes = changes
        .scopes
        .ok_or_else(|| bad("scopes is required: name at least one scope."))?;
    let (username, key) = add_api_user(world, &store, &mut directory, team, friendly_name, scopes)?;
    tracing::info!(api_user = %username, "API user created");
    Ok(TeamAddition::ApiUser(Created {
        ok: true,
        created: CreatedUser {
            username,
            is_programmatic: true,
            tokens: vec![TokenEntry {
                token: format_token(&key),
            }],
        },
    }))
}

/// §3.3: the team's humans (with their role) and API users.
pub(crate) fn list_team(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
) -> Result<TeamList, Refusal> {
    let store = world.store();
    let directory = store.directory.read();
    let team = authorize(&directory, caller, target)?;
    let humans = directory
        .memberships
        .iter()
        .filter(|m| m.team == team)
        .filter_map(|m| {
            let user = directory.user(m.user)?;
            let id = ROLES
                .iter()
                .find(|(name, _)| *name == m.role)
                .map_or("", |(_, id)| *id);
            Some(Member::Human {
                id: format!("{:08x}{:016x}", 0x5e00_0001u32, m.user),
                no_mfa: user.mfa.is_none(),
                scim_provisioned: false,
                no_password: false,
                username: user.email.clone(),
                role: Role {
                    id: id.to_string(),
                    name: m.role.clone(),
                },
            })
        });
    let programmatic = directory
        .api_users
        .iter()
        .flatten()
        .filter(|a| a.team == team)
        .map(|a| Member::Programmatic {
            username: a.username.clone(),
            is_programmatic: true,
            friendly_name: a.friendly_name.clone(),
            scopes: a.scopes.clone(),
        });
    Ok(TeamList {
        ok: true,
        team: humans.chain(programmatic).collect(),
    })
}

fn api_user_in(directory: &Directory, team: &Team, username: &str) -> Option<ApiUserId> {
    directory
        .api_users
        .iter()
        .position(|a| {
            a.as_ref()
                .is_some_and(|a| &a.team == team && a.username.eq_ignore_ascii_case(username))
        })
        .and_then(|i| ApiUserId::try_from(i).ok())
}

fn user_not_found(username: &str) -> Refusal {
    ApiError::NotFound("User not found.".into())
        .because(format!("no member `{}` in this team", truncate(username)))
}

/// `{"ok":true,"updated":{"username","role":{..}}}` for a human's new role.
#[derive(Debug, Serialize)]
pub(crate) struct RoleUpdated {
    pub ok: bool,
    pub updated: RoleOf,
}

/// The `updated` object of a role change.
#[derive(Debug, Serialize)]
pub(crate) struct RoleOf {
    pub username: String,
    pub role: Role,
}

/// What `PUT`/`POST …/team/{username}` did.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum MemberUpdate {
    /// An API user renamed or re-scoped.
    ApiUser(Updated),
    /// A human's role changed.
    Human(RoleUpdated),
}

/// A5: a human member's new `role`; the Owner's role cannot be changed.
fn update_role(
    directory: &mut Directory,
    team: &Team,
    username: &str,
    body: &[u8],
) -> Result<MemberUpdate, Refusal> {
    let at = membership_in(directory, team, username).ok_or_else(|| user_not_found(username))?;
    let map = json_object(body)?;
    let role = assignable_role(map.get("role"))?
        .ok_or_else(|| bad("role is required to update a member."))?;
    let membership = directory
        .memberships
        .get_mut(at)
        .ok_or_else(|| user_not_found(username))?;
    if membership.role == "Owner" {
        return Err(bad("The Owner's role cannot be changed.").into());
    }
    membership.role = role.clone();
    let id = ROLES
        .iter()
        .find(|(n, _)| *n == role)
        .map_or("", |(_, id)| *id);
    Ok(MemberUpdate::Human(RoleUpdated {
        ok: true,
        updated: RoleOf {
            username: username.trim().to_ascii_lowercase(),
            role: Role {
                id: id.to_string(),
                name: role,
            },
        },
    }))
}

/// §3.4: renames and/or re-scopes an API user. A change of the scope set (or a token that
/// was revoked meanwhile) replaces the token: the old one is 401 at once.
pub(crate) fn update_api_user(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    username: &str,
    body: &[u8],
) -> Result<MemberUpdate, Refusal> {
    let store = world.store();
    let mut directory = store.directory.write();
    let team = authorize_admin(&directory, caller, target)?;
    let Some(id) = api_user_in(&directory, &team, username) else {
        return update_role(&mut directory, &team, username, body);
    };
    let changes = parse_changes(body)?;
    if changes.friendly_name.is_none() && changes.scopes.is_none() {
        return Err(bad("Nothing to update: give friendly_name and/or scopes.").into());
    }
    let (old_key, old_scopes) = match directory.api_user(id) {
        Some(a) => (a.token, a.scopes.clone()),
        None => return Err(user_not_found(username)),
    };
    let scopes_changed = changes.scopes.as_ref().is_some_and(|new| {
        new.iter().collect::<BTreeSet<_>>() != old_scopes.iter().collect::<BTreeSet<_>>()
    });
    let rotate = scopes_changed || !store.tokens.contains_key(&old_key);
    let new_key = if rotate {
        store.tokens.remove(&old_key);
        Some(issue_token(world, &store, id)?)
    } else {
        None
    };
    let a = directory
        .api_users
        .get_mut(id as usize)
        .and_then(Option::as_mut)
        .ok_or_else(|| user_not_found(username))?;
    if let Some(name) = changes.friendly_name {
        a.friendly_name = name;
    }
    if let Some(scopes) = changes.scopes {
        a.scopes = scopes;
    }
    if let Some(key) = new_key {
        a.token = key;
    }
    tracing::info!(api_user = %a.username, rotated = rotate, "API user updated");
    Ok(MemberUpdate::ApiUser(Updated {
        ok: true,
        updated: UpdatedUser {
            username: a.username.clone(),
            friendly_name: a.friendly_name.clone(),
            scopes: a.scopes.clone(),
            is_programmatic: true,
            tokens: new_key.map(|k| {
                vec![TokenEntry {
                    token: format_token(&k),
                }]
            }),
        },
    }))
}

/// §3.5: deletes an API user (its token is 401 at once), or removes a human member from
/// the team (their account and tokens stay).
pub(crate) fn delete_member(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    username: &str,
) -> Result<(), Refusal> {
    let store = world.store();
    let mut directory = store.directory.write();
    let team = authorize_admin(&directory, caller, target)?;
    if let Some(id) = api_user_in(&directory, &team, username) {
        if let Some(a) = directory
            .api_users
            .get_mut(id as usize)
            .and_then(Option::take)
        {
            store.tokens.remove(&a.token);
            store.revoke_all_of(Owner::ApiUser(id));
            store.give_record();
            tracing::info!(api_user = %a.username, "API user deleted");
        }
        return Ok(());
    }
    if membership_in(&directory, &team, username)
        .and_then(|i| directory.memberships.get(i))
        .is_some_and(|m| m.role == "Owner")
    {
        return Err(bad("The Owner cannot be removed.").into());
    }
    let user = directory.user_by_email(username).map(|(id, _)| id);
    let before = directory.memberships.len();
    directory
        .memberships
        .retain(|m| !(Some(m.user) == user && m.team == team));
    if directory.memberships.len() == before {
        return Err(user_not_found(username));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_dashed_and_trimmed() {
        assert_eq!(slug("Product API user"), "product-api-user");
        assert_eq!(slug("  --Hello,   World!!  "), "hello-world");
        assert_eq!(slug("a_b.c"), "a-b-c");
        assert_eq!(slug("日本"), "api-user");
        assert_eq!(slug(""), "api-user");
        assert_eq!(slug(&"x".repeat(100)).len(), 40);
    }

    #[test]
    fn validation_names_the_problem() {
        let err = |body: &str| parse_changes(body.as_bytes()).unwrap_err().to_string();
        assert!(err("not json").contains("must be JSON"));
        assert!(err("[1]").contains("JSON object"));
        assert!(err(r#"{"friendly_name":""}"#).contains("must not be empty"));
        assert!(err(r#"{"friendly_name":3}"#).contains("must be a string"));
        assert!(err(r#"{"scopes":[]}"#).contains("at least one"));
        assert!(err(r#"{"scopes":["devices:fly"]}"#).contains("Unknown scope: devices:fly"));
        assert!(
            err(r#"{"scopes":["a:b","devices:list","c:d"]}"#).contains("Unknown scopes: a:b, c:d")
        );
        let ok = parse_changes(br#"{"scopes":["devices:list","devices:list"]}"#).unwrap();
        assert_eq!(ok.scopes.unwrap(), vec!["devices:list"]);
    }
}
