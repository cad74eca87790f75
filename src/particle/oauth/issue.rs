//! Issuing access tokens, and authenticating a bearer token.

use crate::clock::Millis;
use crate::error::{ApiError, Refusal};
use crate::particle::oauth::TokenResponse;
use crate::tokens::{format_token, parse_token};
use crate::world::store::{AccessToken, ClientIdx, Owner, RefreshToken, Store};
use crate::world::World;

/// Issues an access token (and a refresh token unless it never expires); `503` when the
/// token table is full of tokens that may not be evicted (see `World::make_room_for_token`).
pub(crate) fn issue(
    world: &World,
    store: &Store,
    owner: Owner,
    client: ClientIdx,
    lifetime: i64,
    scope: Option<String>,
) -> Result<TokenResponse, Refusal> {
    issue_at(world, store, owner, client, lifetime, scope, world.now())
}

/// [`issue`] for a request that arrived at `now` (the world's clock, read once for it).
pub(crate) fn issue_at(
    world: &World,
    store: &Store,
    owner: Owner,
    client: ClientIdx,
    lifetime: i64,
    scope: Option<String>,
    now: Millis,
) -> Result<TokenResponse, Refusal> {
    let expires_at = (lifetime > 0).then(|| now.saturating_add(lifetime.saturating_mul(1000)));
    // One fill for both tokens: one getrandom call per login instead of two.
    let (access, refresh) = world.generator.token_pair();
    world.make_room_for_token(store, now)?;
    store.tokens.insert(
        access,
        AccessToken {
            owner,
            client,
            expires_at,
            pinned: false,
        },
    );
    let refresh_token = expires_at.map(|access_expiry| {
        let key = refresh;
        let refresh_ms = world.settings.refresh_token_lifetime.saturating_mul(1000);
        world.make_room_for_refresh_token(store);
        store.refresh_tokens.insert(
            key,
            RefreshToken {
                owner,
                client,
                expires_at: access_expiry.saturating_add(refresh_ms),
                lifetime,
            },
        );
        format_token(&key)
    });
    Ok(TokenResponse {
        token_type: "bearer",
        access_token: format_token(&access),
        expires_in: lifetime,
        refresh_token,
        scope,
    })
}

/// Looks up a bearer token: 401 "invalid" if unknown, 401 "has expired" if expired.
pub(crate) fn authenticate_bearer(
    store: &Store,
    token: &str,
    now: Millis,
) -> Result<(crate::tokens::TokenKey, AccessToken), Refusal> {
    let key = parse_token(token)
        .ok_or_else(|| ApiError::invalid_token().because("malformed access token"))?;
    let record = store
        .tokens
        .get(&key)
        .map(|r| *r)
        .ok_or_else(|| ApiError::invalid_token().because("unknown or revoked access token"))?;
    if record.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::expired_token().because("access token expired"));
    }
    Ok((key, record))
}
