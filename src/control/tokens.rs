//! Tokens issued directly (for a user, or for a new API user) and the live tokens.

use crate::clock::iso8601;
use crate::control::users::{not_found_user, resolve_team};
use crate::error::ApiError;
use crate::particle::oauth::issue;
use crate::particle::teams::add_api_user;
use crate::support::paging::{Page, PageRequest};
use crate::support::text::truncate;
use crate::tokens::format_token;
use crate::tokens::TokenKey;
use crate::world::fixtures::KNOWN_SCOPES;
use crate::world::store::AccessToken;
use crate::world::store::{Directory, Owner};
use crate::world::World;

use serde::{Deserialize, Serialize};

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
            Some(secs) if secs < 0 || !crate::particle::oauth::expiry_representable(now, secs) => {
                return Err(ApiError::BadRequest(
                    "`expires_in` must be a non-negative number of seconds, expiring by 9999-12-31"
                        .into(),
                ))
            }
            Some(secs) => secs,
            None => world.settings.default_token_lifetime,
        };
        let client_name = order.client.as_deref().unwrap_or("particle");
        let (owner, client, email) = {
            let directory = store.directory.read();
            let (id, user) = directory.user_by_email(email).ok_or_else(not_found_user)?;
            let (client, _) = directory.client_by_id(client_name).ok_or_else(|| {
                ApiError::BadRequest(format!("unknown client `{}`", truncate(client_name)))
            })?;
            (Owner::User(id), client, user.email.clone())
        };
        let response =
            issue(world, &store, owner, client, lifetime, None).map_err(|refusal| refusal.error)?;
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
    let mut directory = store.directory.write();
    let team = resolve_team(&directory, order.product.as_deref(), order.org.as_deref())
        .map_err(ApiError::BadRequest)?;
    let (username, key) = add_api_user(
        world,
        &store,
        &mut directory,
        team,
        friendly_name,
        scopes.clone(),
    )
    .map_err(|refusal| refusal.error)?;
    drop(directory);
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

/// Every live (unexpired) access token of the world, ordered by owner then token (a
/// copy of the whole table: the HTTP list pages with [`token_page`] instead).
pub(crate) fn live_tokens(world: &World) -> Vec<LiveToken> {
    let store = world.store();
    let now = world.now();
    let directory = store.directory.read();
    let mut tokens: Vec<LiveToken> = store
        .tokens
        .iter()
        .filter(|e| e.expires_at.is_none_or(|at| at > now))
        .map(|e| describe_token(&directory, e.key(), e.value()))
        .collect();
    tokens.sort_by(|a, b| (&a.owner, &a.token).cmp(&(&b.owner, &b.token)));
    tokens
}

/// One page of the live access tokens, ordered by token, and how many are live in all:
/// one pass over the table that keeps only the page (no copy of the table). The cursor
/// is the last token of the previous page (a secret: the redactor hides the `cursor`
/// parameter from the log and the journal).
pub(crate) fn token_page(
    world: &World,
    request: &PageRequest,
) -> Result<(Page<LiveToken>, usize), ApiError> {
    let after = request
        .cursor
        .as_deref()
        .map(|c| {
            crate::tokens::parse_token(c).ok_or_else(|| {
                ApiError::BadRequest("invalid cursor: pass a next_cursor unchanged".into())
            })
        })
        .transpose()?;
    let store = world.store();
    let (entries, more, total) = store
        .tokens
        .page(after.as_ref(), request.limit, world.now());
    let directory = store.directory.read();
    let items: Vec<LiveToken> = entries
        .iter()
        .map(|(key, token)| describe_token(&directory, key, token))
        .collect();
    let next_cursor = more
        .then(|| items.last().map(|t| t.token.clone()))
        .flatten();
    Ok((Page { items, next_cursor }, total))
}

/// Page `skip + 1` of `per_page` live tokens (the dashboard's numbered pages), ordered
/// by token: one pass over the table whatever the number
/// ([`CountedMap::page_at`](crate::world::tables::CountedMap::page_at)).
pub(crate) fn token_page_number(
    world: &World,
    skip: usize,
    per_page: usize,
) -> (Page<LiveToken>, usize) {
    let store = world.store();
    let (entries, more, total) =
        store
            .tokens
            .page_at(skip.saturating_mul(per_page), per_page, world.now());
    let directory = store.directory.read();
    let items: Vec<LiveToken> = entries
        .iter()
        .map(|(key, token)| describe_token(&directory, key, token))
        .collect();
    let next_cursor = more
        .then(|| items.last().map(|t| t.token.clone()))
        .flatten();
    (Page { items, next_cursor }, total)
}

/// How the control API shows one access token.
fn describe_token(directory: &Directory, key: &TokenKey, token: &AccessToken) -> LiveToken {
    let (owner_type, owner, scopes) = match token.owner {
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
                .customer(i)
                .map(|c| c.email.clone())
                .unwrap_or_default(),
            Vec::new(),
        ),
    };
    LiveToken {
        token: format_token(key),
        owner_type: owner_type.into(),
        owner,
        client: directory.client_name(token.client).to_string(),
        expires_at: token.expires_at.map(iso8601),
        scopes,
    }
}

/// Revokes one live access token; 404 if there is no such token.
pub(crate) fn revoke_token(world: &World, token: &str) -> Result<(), ApiError> {
    let unknown = || ApiError::NotFound("Token not found".into());
    let key = crate::tokens::parse_token(token).ok_or_else(unknown)?;
    world
        .store()
        .tokens
        .remove(&key)
        .map(drop)
        .ok_or_else(unknown)
}
