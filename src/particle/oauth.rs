//! The OAuth token endpoint's logic (particle-api.md §1): client authentication, the
//! grants, lifetimes, MFA challenges and token issuance. Free of HTTP: the route hands in
//! the form fields and the Basic credentials, and gets a [`TokenResponse`] or an
//! [`ApiError`] whose body is the spec's §1.7 row.

use serde::Serialize;

use crate::clock::{parse_iso8601, Millis};
use crate::error::ApiError;
use crate::support::text::truncate;
use crate::tokens::{format_token, parse_token, secrets_equal};
use crate::totp::OtpError;
use crate::world::store::{
    AccessToken, ClientIdx, ClientKind, MfaChallenge, Owner, RefreshToken, Store, UserId,
};
use crate::world::World;

/// What `POST /oauth/token` received, after the HTTP layer checked method and encoding.
#[derive(Debug, Default)]
pub(crate) struct TokenRequest {
    /// Form fields (first occurrence of each name wins).
    pub params: crate::particle::forms::FormFields,
    /// `client_id:client_secret` from a parseable `Authorization: Basic` header.
    pub basic: Option<(String, String)>,
}

impl TokenRequest {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    fn present(&self, name: &str) -> Option<&str> {
        self.param(name).filter(|v| !v.is_empty())
    }
}

/// The §1.5 success body, fields in the recorded order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct TokenResponse {
    pub token_type: &'static str,
    pub access_token: String,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Whether `id` has the shape the library accepts for a client id (`/^[a-z0-9-_]{3,40}$/i`).
pub(crate) fn valid_client_id(id: &str) -> bool {
    (3..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

const SUPPORTED_GRANTS: [&str; 5] = [
    "password",
    "refresh_token",
    "client_credentials",
    "urn:custom:mfa-otp",
    "urn:custom:recovery-code",
];

/// Handles one token request end to end.
pub(crate) fn grant(world: &World, request: &TokenRequest) -> Result<TokenResponse, ApiError> {
    // Row 2 / 2b: grant_type.
    let grant_type = request.param("grant_type").unwrap_or("");
    let grant_type = match SUPPORTED_GRANTS.iter().find(|g| **g == grant_type) {
        Some(g) => *g,
        None if SUPPORTED_GRANTS
            .iter()
            .any(|g| g.eq_ignore_ascii_case(grant_type)) =>
        {
            return Err(ApiError::InvalidRequest(
                "Invalid grant_type parameter or parameter missing".into(),
            ))
        }
        None => {
            return Err(
                ApiError::InvalidRequest("Invalid or missing grant_type parameter".into())
                    .because(format!("unsupported grant_type `{}`", truncate(grant_type))),
            )
        }
    };
    let store = world.store();
    let (client_idx, client_kind) = authenticate_client(&store, request)?;
    // Row 6: grants a client may use.
    let allowed = match client_kind {
        ClientKind::Developer => true,
        ClientKind::Product(_) => !grant_type.starts_with("urn:custom:"),
    };
    if !allowed {
        return Err(ApiError::InvalidClient(
            "The grant type is unauthorised for this client_id".into(),
        ));
    }
    match grant_type {
        "password" => password_grant(world, &store, request, client_idx, &client_kind),
        "urn:custom:mfa-otp" => mfa_grant(world, &store, request, client_idx, MfaProof::Otp),
        "urn:custom:recovery-code" => {
            mfa_grant(world, &store, request, client_idx, MfaProof::RecoveryCode)
        }
        "refresh_token" => refresh_grant(world, &store, request, client_idx),
        _ => client_credentials_grant(world, &store, request, client_idx, &client_kind),
    }
}

/// Rows 3–5: Basic wins over body fields; then the id shape, the secret, the pair.
fn authenticate_client(
    store: &Store,
    request: &TokenRequest,
) -> Result<(ClientIdx, ClientKind), ApiError> {
    // A parseable Basic header wins even when its secret is empty (the body's fields are
    // then ignored, as the library does); empty values count as missing either way.
    let (id, secret) = match &request.basic {
        Some((id, secret)) => (Some(id.as_str()), Some(secret.as_str())),
        None => (
            request.present("client_id"),
            request.present("client_secret"),
        ),
    };
    let secret = secret.filter(|s| !s.is_empty());
    let id = id
        .filter(|id| valid_client_id(id))
        .ok_or_else(|| ApiError::InvalidClient("Invalid or missing client_id parameter".into()))?;
    let secret =
        secret.ok_or_else(|| ApiError::InvalidClient("Missing client_secret parameter".into()))?;
    let directory = store.directory.read();
    match directory.client_by_id(id) {
        Some((idx, client)) if secrets_equal(client.secret.as_bytes(), secret.as_bytes()) => {
            Ok((idx, client.kind.clone()))
        }
        found => Err(
            ApiError::InvalidClient("Client credentials are invalid".into()).because(
                if found.is_some() {
                    format!("wrong client_secret for client {id}")
                } else {
                    format!("unknown client {}", truncate(id))
                },
            ),
        ),
    }
}

/// §1.4: the requested lifetime in seconds (0 = never expires).
fn requested_lifetime(world: &World, request: &TokenRequest) -> Result<i64, ApiError> {
    let now = world.now();
    if let Some(at) = request.present("expires_at") {
        let at = parse_iso8601(at).ok_or_else(|| {
            ApiError::InvalidRequest(
                "Invalid expires_at parameter: expected an ISO 8601 date or date-time".into(),
            )
        })?;
        if at <= now {
            return Err(ApiError::InvalidRequest(
                "Invalid expires_at parameter: the date is in the past".into(),
            ));
        }
        // Rounded up so that a near instant never reads as 0 ("never expires").
        return Ok((at - now + 999) / 1000);
    }
    match request.present("expires_in") {
        None => Ok(world.settings.default_token_lifetime),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(secs) if secs >= 0 && now.checked_add(secs.saturating_mul(1000)).is_some() => {
                Ok(secs)
            }
            Ok(secs) if secs < 0 => Err(ApiError::InvalidRequest(
                "Invalid expires_in parameter: must not be negative".into(),
            )),
            _ => Err(ApiError::InvalidRequest(
                "Invalid expires_in parameter: must be a whole number of seconds".into(),
            )),
        },
    }
}

fn scope_must_be_empty(request: &TokenRequest) -> Result<(), ApiError> {
    match request.present("scope") {
        None => Ok(()),
        Some(scope) => Err(
            ApiError::InvalidScope("Invalid scope".into()).because(format!(
                "unsupported scope `{}` for this grant",
                truncate(scope)
            )),
        ),
    }
}

fn password_grant(
    world: &World,
    store: &Store,
    request: &TokenRequest,
    client: ClientIdx,
    kind: &ClientKind,
) -> Result<TokenResponse, ApiError> {
    let (Some(username), Some(password)) =
        (request.present("username"), request.present("password"))
    else {
        return Err(ApiError::InvalidClient(
            "Missing parameters. \"username\" and \"password\" are required".into(),
        ));
    };
    let invalid = || ApiError::InvalidGrant("User credentials are invalid".into());
    let (owner, needs_mfa) = {
        let directory = store.directory.read();
        match kind {
            ClientKind::Developer => {
                let found = directory.user_by_email(username);
                // Compare against something even for an unknown user, so both cases take
                // the same path (row 8: indistinguishable).
                let expected = found.map_or("\u{0}unknown-user", |(_, u)| u.password.as_str());
                let matches = secrets_equal(expected.as_bytes(), password.as_bytes());
                match found {
                    Some((id, user)) if matches => (Owner::User(id), user.mfa.is_some()),
                    Some(_) => {
                        return Err(invalid().because(format!("wrong password for {username}")))
                    }
                    None => {
                        return Err(
                            invalid().because(format!("unknown user {}", truncate(username)))
                        )
                    }
                }
            }
            ClientKind::Product(product) => {
                let found =
                    directory.customers.iter().enumerate().find(|(_, c)| {
                        c.product == *product && c.email.eq_ignore_ascii_case(username)
                    });
                let expected = found
                    .and_then(|(_, c)| c.password.as_deref())
                    .unwrap_or("\u{0}no-password");
                if found.is_some() && secrets_equal(expected.as_bytes(), password.as_bytes()) {
                    (Owner::Customer(found.map_or(0, |(i, _)| i as u32)), false)
                } else {
                    return Err(invalid().because(format!(
                        "wrong customer credentials for {} in product {product}",
                        truncate(username)
                    )));
                }
            }
        }
    };
    let lifetime = requested_lifetime(world, request)?;
    scope_must_be_empty(request)?;
    if needs_mfa {
        let Owner::User(user) = owner else {
            return Err(ApiError::Unavailable);
        };
        return Err(challenge(world, store, user, client, lifetime));
    }
    Ok(issue(world, store, owner, client, lifetime, None))
}

/// Row 10: opens an MFA challenge and answers 403 `mfa_required`.
fn challenge(
    world: &World,
    store: &Store,
    user: UserId,
    client: ClientIdx,
    lifetime: i64,
) -> ApiError {
    let mfa_token = world.generator.mfa_token();
    let ttl_ms = i64::try_from(world.settings.mfa_token_ttl_secs)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    world.make_room_for_challenge(store);
    store.mfa_challenges.insert(
        mfa_token.clone(),
        MfaChallenge {
            user,
            client,
            expires_at: world.now().saturating_add(ttl_ms),
            failures: 0,
            lifetime,
        },
    );
    ApiError::MfaRequired { mfa_token }.because("MFA required: mfa_token issued")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MfaProof {
    Otp,
    RecoveryCode,
}

/// Rows 11–14: completes an MFA challenge with an OTP or a recovery code.
fn mfa_grant(
    world: &World,
    store: &Store,
    request: &TokenRequest,
    client: ClientIdx,
    proof: MfaProof,
) -> Result<TokenResponse, ApiError> {
    let (field, missing, refused) = match proof {
        MfaProof::Otp => (
            "otp",
            "You must provide otp and mfa token.",
            "Could not validate OTP.",
        ),
        MfaProof::RecoveryCode => (
            "recovery_code",
            "You must provide recovery code and mfa token.",
            "Could not validate recovery code.",
        ),
    };
    let (Some(mfa_token), Some(code)) = (request.present("mfa_token"), request.present(field))
    else {
        return Err(ApiError::InvalidRequest(missing.into()));
    };
    let refuse = |why: &str| ApiError::InvalidToken(refused.into()).because(why.to_string());
    let now = world.now();
    // The entry guard holds the challenge's shard for the whole check, so two requests with
    // the same mfa_token are decided one after the other: at most one succeeds.
    let dashmap::mapref::entry::Entry::Occupied(mut entry) =
        store.mfa_challenges.entry(mfa_token.to_string())
    else {
        return Err(refuse("unknown or already used mfa_token"));
    };
    let challenge = *entry.get();
    if challenge.expires_at <= now {
        entry.remove();
        return Err(refuse("mfa_token expired"));
    }
    if challenge.client != client {
        return Err(refuse("mfa_token was issued to another client"));
    }
    let verdict = {
        let mut directory = store.directory.write();
        let Some(mfa) = directory
            .user_mut(challenge.user)
            .and_then(|u| u.mfa.as_mut())
        else {
            entry.remove();
            return Err(refuse("user no longer has MFA"));
        };
        match proof {
            MfaProof::Otp => mfa
                .secret
                .verify(
                    code,
                    world.clock.now_secs(),
                    world.settings.otp_skew,
                    mfa.last_step,
                )
                .map(|step| mfa.last_step = Some(step))
                .map_err(|e| match e {
                    OtpError::Wrong => "wrong OTP",
                    OtpError::Replayed => "OTP already used",
                }),
            MfaProof::RecoveryCode => {
                let found = mfa
                    .recovery_codes
                    .iter_mut()
                    .find(|(c, _)| secrets_equal(c.as_bytes(), code.trim().as_bytes()));
                match found {
                    Some((_, used)) if !*used => {
                        *used = true;
                        Ok(())
                    }
                    Some(_) => Err("recovery code already used"),
                    None => Err("wrong recovery code"),
                }
            }
        }
    };
    match verdict {
        Ok(()) => {
            entry.remove();
            let lifetime = match request
                .present("expires_in")
                .or(request.present("expires_at"))
            {
                Some(_) => requested_lifetime(world, request)?,
                None => challenge.lifetime,
            };
            Ok(issue(
                world,
                store,
                Owner::User(challenge.user),
                client,
                lifetime,
                None,
            ))
        }
        Err(why) => {
            let failures = challenge.failures.saturating_add(1);
            if failures >= world.settings.otp_max_failures {
                entry.remove();
                return Err(ApiError::rate_limited()
                    .because(format!("{why}; too many attempts, mfa_token revoked")));
            }
            entry.get_mut().failures = failures;
            Err(refuse(why))
        }
    }
}

/// Rows 15–17: single-use rotation of a refresh token.
fn refresh_grant(
    world: &World,
    store: &Store,
    request: &TokenRequest,
    client: ClientIdx,
) -> Result<TokenResponse, ApiError> {
    let text = request
        .present("refresh_token")
        .ok_or_else(|| ApiError::InvalidRequest("No \"refresh_token\" parameter".into()))?;
    let invalid = || ApiError::InvalidGrant("Invalid refresh token".into());
    let key = parse_token(text).ok_or_else(|| invalid().because("malformed refresh token"))?;
    // remove_if is atomic: of two concurrent uses, exactly one gets the record.
    let Some((_, record)) = store
        .refresh_tokens
        .remove_if(&key, |_, r| r.client == client)
    else {
        return Err(invalid().because("unknown, used or other client's refresh token"));
    };
    if record.expires_at <= world.now() {
        return Err(ApiError::InvalidGrant("Refresh token has expired".into()));
    }
    if !owner_exists(store, record.owner) {
        return Err(invalid().because("the token's owner no longer exists"));
    }
    let lifetime = match request
        .present("expires_in")
        .or(request.present("expires_at"))
    {
        Some(_) => requested_lifetime(world, request)?,
        None => record.lifetime,
    };
    Ok(issue(world, store, record.owner, client, lifetime, None))
}

fn owner_exists(store: &Store, owner: Owner) -> bool {
    let directory = store.directory.read();
    match owner {
        Owner::User(id) => directory.user(id).is_some(),
        Owner::ApiUser(id) => directory.api_user(id).is_some(),
        Owner::Product(_) | Owner::Customer(_) => true,
    }
}

/// Row 18 and §1.3: product bearer tokens and customer-scoped tokens.
fn client_credentials_grant(
    world: &World,
    store: &Store,
    request: &TokenRequest,
    client: ClientIdx,
    kind: &ClientKind,
) -> Result<TokenResponse, ApiError> {
    let ClientKind::Product(product) = *kind else {
        return Err(
            ApiError::InvalidGrant("Client credentials are invalid".into())
                .because("client_credentials needs a product OAuth client"),
        );
    };
    let lifetime = requested_lifetime(world, request)?;
    match request.present("scope") {
        None => Ok(issue(
            world,
            store,
            Owner::Product(product),
            client,
            lifetime,
            None,
        )),
        Some(scope) => {
            let customer = scope.strip_prefix("customer=").and_then(|email| {
                store
                    .directory
                    .read()
                    .customers
                    .iter()
                    .position(|c| c.product == product && c.email.eq_ignore_ascii_case(email))
            });
            match customer {
                Some(index) => Ok(issue(
                    world,
                    store,
                    Owner::Customer(index as u32),
                    client,
                    lifetime,
                    Some(scope.to_string()),
                )),
                None => Err(
                    ApiError::InvalidScope("Invalid scope".into()).because(format!(
                        "scope `{}` names no customer of product {product}",
                        truncate(scope)
                    )),
                ),
            }
        }
    }
}

/// Issues an access token (and a refresh token unless it never expires).
pub(crate) fn issue(
    world: &World,
    store: &Store,
    owner: Owner,
    client: ClientIdx,
    lifetime: i64,
    scope: Option<String>,
) -> TokenResponse {
    let now = world.now();
    let expires_at = (lifetime > 0).then(|| now.saturating_add(lifetime.saturating_mul(1000)));
    // One fill for both tokens: one getrandom call per login instead of two.
    let (access, refresh) = world.generator.token_pair();
    world.make_room_for_token(store, now);
    store.tokens.insert(
        access,
        AccessToken {
            owner,
            client,
            expires_at,
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
    TokenResponse {
        token_type: "bearer",
        access_token: format_token(&access),
        expires_in: lifetime,
        refresh_token,
        scope,
    }
}

/// Looks up a bearer token: 401 "invalid" if unknown, 401 "has expired" if expired.
pub(crate) fn authenticate_bearer(
    store: &Store,
    token: &str,
    now: Millis,
) -> Result<(crate::tokens::TokenKey, AccessToken), ApiError> {
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

/// `GET /v1/access_tokens/current` body (§2.6): docs' `client` and api-js' `client_id`.
#[derive(Debug, Serialize)]
pub(crate) struct TokenInfo {
    pub expires_at: Option<String>,
    pub client: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub orgs: Vec<OrgRef>,
}

/// An org as token info lists it.
#[derive(Debug, Serialize)]
pub(crate) struct OrgRef {
    pub id: String,
    pub slug: String,
}

/// Describes a live token.
pub(crate) fn token_info(store: &Store, token: &AccessToken) -> TokenInfo {
    let directory = store.directory.read();
    let client = directory.client_name(token.client).to_string();
    let org_ref = |o: &crate::world::store::Org| OrgRef {
        id: o.id.clone(),
        slug: o.slug.clone(),
    };
    let (scopes, orgs) = match token.owner {
        Owner::User(id) => (
            Vec::new(),
            directory.orgs_of(id).into_iter().map(org_ref).collect(),
        ),
        Owner::ApiUser(id) => match directory.api_user(id) {
            Some(a) => {
                let orgs = match &a.team {
                    crate::world::store::Team::Org(org) => {
                        directory.org(org).map(org_ref).into_iter().collect()
                    }
                    crate::world::store::Team::Product(_) => Vec::new(),
                };
                (a.scopes.clone(), orgs)
            }
            None => (Vec::new(), Vec::new()),
        },
        Owner::Product(_) | Owner::Customer(_) => (Vec::new(), Vec::new()),
    };
    TokenInfo {
        expires_at: token.expires_at.map(crate::clock::iso8601),
        client_id: client.clone(),
        client,
        scopes,
        orgs,
    }
}

/// One entry of the legacy token list (§2.2).
#[derive(Debug, Serialize)]
pub(crate) struct ListedToken {
    pub token: String,
    pub expires_at: Option<String>,
    pub client: String,
}

/// The legacy Basic-auth check of `GET /v1/access_tokens` (§2.2): recorded messages,
/// `?otp=` for MFA users. Returns the user's live tokens.
pub(crate) fn list_tokens_with_password(
    world: &World,
    credentials: Option<(String, String)>,
    otp: Option<&str>,
) -> Result<Vec<ListedToken>, ApiError> {
    let Some((username, password)) = credentials else {
        return Err(ApiError::Legacy {
            status: 401,
            message: "Unauthorized. You must send username and password in HTTP Basic Auth to view your access tokens.".into(),
        });
    };
    let store = world.store();
    let user = {
        let mut directory = store.directory.write();
        let Some((id, user)) = directory.user_by_email(&username) else {
            return Err(ApiError::Legacy {
                status: 400,
                message: "Unknown user".into(),
            }
            .because(format!("unknown user {}", truncate(&username))));
        };
        if !secrets_equal(user.password.as_bytes(), password.as_bytes()) {
            return Err(ApiError::Legacy {
                status: 401,
                message: "Bad password".into(),
            }
            .because(format!("wrong password for {username}")));
        }
        if let Some(mfa) = directory.user_mut(id).and_then(|u| u.mfa.as_mut()) {
            let Some(otp) = otp else {
                return Err(ApiError::Legacy {
                    status: 403,
                    message: "Multi-factor authentication required: send the OTP as ?otp=".into(),
                });
            };
            let step = mfa
                .secret
                .verify(
                    otp,
                    world.clock.now_secs(),
                    world.settings.otp_skew,
                    mfa.last_step,
                )
                .map_err(|e| {
                    ApiError::Legacy {
                        status: 401,
                        message: "Invalid OTP".into(),
                    }
                    .because(match e {
                        OtpError::Wrong => "wrong OTP",
                        OtpError::Replayed => "OTP already used",
                    })
                })?;
            mfa.last_step = Some(step);
        }
        id
    };
    let now = world.now();
    let directory = store.directory.read();
    Ok(store
        .tokens
        .iter()
        .filter(|e| e.owner == Owner::User(user) && !matches!(e.expires_at, Some(at) if at <= now))
        .map(|e| ListedToken {
            token: format_token(e.key()),
            expires_at: e.expires_at.map(crate::clock::iso8601),
            client: directory.client_name(e.client).to_string(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_shape_follows_the_library_regex() {
        assert!(valid_client_id("particle"));
        assert!(valid_client_id("a_b-C"));
        assert!(!valid_client_id("ab"));
        assert!(!valid_client_id(&"a".repeat(41)));
        assert!(!valid_client_id("has space"));
    }

    fn login_request(username: &str) -> TokenRequest {
        TokenRequest {
            params: [
                ("grant_type", "password"),
                ("username", username),
                ("password", "password"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            basic: Some(("particle".into(), "particle".into())),
        }
    }

    #[test]
    fn a_login_flood_keeps_tokens_refresh_tokens_and_mfa_challenges_within_the_cap() {
        // Arrange: a world capped at 10 of each.
        let config = crate::Config {
            max_tokens: 10,
            ..Default::default()
        };
        let world = World::new(
            crate::Fixtures::default_set(),
            crate::world::WorldSettings::from(&config),
            crate::Clock::manual(1_767_225_600_000),
            Some(1),
        );
        // Act
        for _ in 0..100 {
            grant(&world, &login_request("user@example.com")).unwrap();
            let challenge = grant(&world, &login_request("mfa@example.com")).unwrap_err();
            assert!(matches!(challenge.inner(), ApiError::MfaRequired { .. }));
        }
        // Assert
        let store = world.store();
        assert!(store.tokens.len() <= 10, "{}", store.tokens.len());
        assert!(
            store.refresh_tokens.len() <= 10,
            "{}",
            store.refresh_tokens.len()
        );
        assert!(
            store.mfa_challenges.len() <= 10,
            "{}",
            store.mfa_challenges.len()
        );
    }
}
