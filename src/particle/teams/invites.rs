//! Humans in a team (account spec A5): invites by `username`, and the roles a member
//! may be given.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::Refusal;
use crate::particle::teams::bad;
use crate::support::text::truncate;
use crate::world::fixtures::ROLES;
use crate::world::store::{Directory, Team};

/// `POST …/team` answer for an invite (account spec A5, REF-COPY+'s shape).
#[derive(Debug, Serialize)]
pub(crate) struct Invited {
    pub ok: bool,
    pub invited: InvitedUser,
}

/// The `invited` object.
#[derive(Debug, Serialize)]
pub(crate) struct InvitedUser {
    pub username: String,
    pub role: String,
}

/// A role a member may be given: any of [`ROLES`] but `Owner` (exactly one per team).
pub(super) fn assignable_role(value: Option<&Value>) -> Result<Option<String>, Refusal> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(r)) if r == "Owner" => {
            Err(bad("The Owner role cannot be given.").into())
        }
        Some(Value::String(r)) if ROLES.iter().any(|(name, _)| name == r) => Ok(Some(r.clone())),
        Some(_) => {
            let names: Vec<_> = ROLES
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| *n != "Owner")
                .collect();
            Err(bad(format!("role must be one of {}.", names.join(", "))).into())
        }
    }
}

/// The direct membership of `username` in `team`, by index.
pub(super) fn membership_in(directory: &Directory, team: &Team, username: &str) -> Option<usize> {
    let (user, _) = directory.user_by_email(username)?;
    directory
        .memberships
        .iter()
        .position(|m| m.user == user && &m.team == team)
}

/// A5: invites an existing Particle user by `username`; listed at once (no pending
/// state), with `role` or Administrator (before roles, members had full access).
pub(super) fn invite(
    directory: &mut Directory,
    team: Team,
    map: &Map<String, Value>,
) -> Result<Invited, Refusal> {
    let Some(Value::String(username)) = map.get("username") else {
        return Err(bad("username must be a string.").into());
    };
    let username = username.trim().to_ascii_lowercase();
    let role = assignable_role(map.get("role"))?.unwrap_or_else(|| "Administrator".into());
    let Some((user, _)) = directory.user_by_email(&username) else {
        return Err(bad("The invitee must be an existing Particle user.")
            .because(format!("invite of unknown user {}", truncate(&username))));
    };
    if membership_in(directory, &team, &username).is_some() {
        return Err(bad("This user is already a member of the team.").into());
    }
    directory.memberships.push(crate::world::store::Membership {
        user,
        team,
        role: role.clone(),
    });
    tracing::info!(member = %username, role = %role, "team member invited");
    Ok(Invited {
        ok: true,
        invited: InvitedUser { username, role },
    })
}
