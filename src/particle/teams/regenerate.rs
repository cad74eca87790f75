//! Regenerating an API user's token (particle-api-account.md A7.2, "Regenerate
//! programmatic user's token"): `PUT /v1/{products,orgs}/{x}/team/{username}/token`.

use serde::Serialize;

use crate::error::Refusal;
use crate::particle::scopes::{authorize_admin, TeamRef};
use crate::particle::teams::{api_user_in, issue_token, user_not_found, TokenEntry};
use crate::tokens::format_token;
use crate::world::store::Owner;
use crate::world::World;

/// The A7.2 answer: `{"ok":true,"updated":{"username","tokens":[{"token"}]}}`.
#[derive(Debug, Serialize)]
pub(crate) struct Regenerated {
    pub ok: bool,
    pub updated: RegeneratedUser,
}

/// The `updated` object of [`Regenerated`].
#[derive(Debug, Serialize)]
pub(crate) struct RegeneratedUser {
    pub username: String,
    pub tokens: Vec<TokenEntry>,
}

/// A7.2: a fresh never-expiring token for the API user; the old one is 401 at once. Only a
/// human Administrator of the team (as every team change); an unknown API user is 404.
pub(crate) fn regenerate_token(
    world: &World,
    caller: Owner,
    target: TeamRef<'_>,
    username: &str,
) -> Result<Regenerated, Refusal> {
    let store = world.store();
    let mut directory = store.directory.write();
    let team = authorize_admin(&directory, caller, target)?;
    let id = api_user_in(&directory, &team, username).ok_or_else(|| user_not_found(username))?;
    let old = directory
        .api_user(id)
        .map(|a| a.token)
        .ok_or_else(|| user_not_found(username))?;
    store.tokens.remove(&old);
    let key = issue_token(world, &store, id)?;
    let a = directory
        .api_users
        .get_mut(id as usize)
        .and_then(Option::as_mut)
        .ok_or_else(|| user_not_found(username))?;
    a.token = key;
    tracing::info!(api_user = %a.username, "API user token regenerated");
    Ok(Regenerated {
        ok: true,
        updated: RegeneratedUser {
            username: a.username.clone(),
            tokens: vec![TokenEntry {
                token: format_token(&key),
            }],
        },
    })
}
