//! The OAuth token endpoint's logic (particle-api.md §1): client authentication, the
//! grants, lifetimes, MFA challenges and token issuance. Free of HTTP: the route hands in
//! the form fields and the Basic credentials, and gets a [`TokenResponse`] or an
//! [`ApiError`] whose body is the spec's §1.7 row.

mod grants;
mod info;
mod issue;
use grants::{client_credentials_grant, mfa_grant, password_grant, refresh_grant, MfaProof};
pub(crate) use info::{list_tokens_with_password, token_info};
pub(crate) use issue::{authenticate_bearer, issue};

use serde::Serialize;

use crate::clock::{parse_iso8601, Millis};
use crate::error::{ApiError, Refusal};
use crate::rate_limit::TokenOutcome;
use crate::support::text::truncate;
use crate::tokens::secrets_equal;
pub(crate) use crate::world::fixtures::valid_client_id;
use crate::world::store::{ClientIdx, ClientKind, Store};
use crate::world::World;

/// What `POST /oauth/token` received, after the HTTP layer checked method and encoding.
#[derive(Debug, Default)]
pub(crate) struct TokenRequest {
    /// Form fields (first occurrence of each name wins).
    pub params: crate::particle::forms::FormFields,
    /// `client_id:client_secret` from a parseable `Authorization: Basic` header.
    pub basic: Option<(String, String)>,
    /// When it arrived, on the world's clock: the pipeline's one reading for the request.
    pub now: Millis,
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

/// The grants `POST /oauth/token` supports (§1), parsed once from `grant_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GrantType {
    Password,
    RefreshToken,
    ClientCredentials,
    MfaOtp,
    RecoveryCode,
}

impl GrantType {
    const ALL: [GrantType; 5] = [
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::MfaOtp,
        GrantType::RecoveryCode,
    ];

    /// The `grant_type` value that names it.
    fn name(self) -> &'static str {
        match self {
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::MfaOtp => "urn:custom:mfa-otp",
            GrantType::RecoveryCode => "urn:custom:recovery-code",
        }
    }

    /// Row 2 / 2b: the grant a `grant_type` value names, exactly; a supported name in
    /// other letter case and an unknown or missing one get their two recorded answers.
    fn parse(text: &str) -> Result<Self, Refusal> {
        if let Some(grant) = Self::ALL.into_iter().find(|g| g.name() == text) {
            return Ok(grant);
        }
        if Self::ALL
            .iter()
            .any(|g| g.name().eq_ignore_ascii_case(text))
        {
            return Err(ApiError::InvalidRequest(
                "Invalid grant_type parameter or parameter missing".into(),
            )
            .into());
        }
        Err(
            ApiError::InvalidRequest("Invalid or missing grant_type parameter".into())
                .because(format!("unsupported grant_type `{}`", truncate(text))),
        )
    }

    /// Row 6: whether a product's client may use it (not the `urn:custom:` grants).
    fn open_to_products(self) -> bool {
        match self {
            GrantType::Password | GrantType::RefreshToken | GrantType::ClientCredentials => true,
            GrantType::MfaOtp | GrantType::RecoveryCode => false,
        }
    }
}

/// Handles one token request end to end.
pub(crate) fn grant(world: &World, request: &TokenRequest) -> Result<TokenResponse, Refusal> {
    let grant_type = GrantType::parse(request.param("grant_type").unwrap_or(""))?;
    let store = world.store();
    let (client_idx, client_kind) = authenticate_client(&store, request)?;
    // Row 6: grants a client may use.
    let allowed = match client_kind {
        ClientKind::Developer | ClientKind::User(_) => true,
        ClientKind::Product(_) => grant_type.open_to_products(),
    };
    if !allowed {
        return Err(ApiError::InvalidClient(
            "The grant type is unauthorised for this client_id".into(),
        )
        .into());
    }
    let issued = match grant_type {
        GrantType::Password => password_grant(world, &store, request, client_idx, &client_kind),
        GrantType::MfaOtp => mfa_grant(world, &store, request, client_idx, MfaProof::Otp),
        GrantType::RecoveryCode => {
            mfa_grant(world, &store, request, client_idx, MfaProof::RecoveryCode)
        }
        GrantType::RefreshToken => refresh_grant(world, &store, request, client_idx),
        GrantType::ClientCredentials => {
            client_credentials_grant(world, &store, request, client_idx, &client_kind)
        }
    };
    if issued.is_ok() {
        tracing::debug!(grant = grant_type.name(), "token issued");
    }
    issued
}

/// What a token request's result means for the client's failed-login streak (the
/// limiter records it; docs/rate-limits.md#the-failed-login-lockout): a token resets it;
/// a malformed request, a wrong credential, secret, code or OTP, or the OTP-attempt
/// limit's 429 adds one; an MFA challenge (the password was right) and the mock's own
/// failures (a full table, a body over the limit) leave it.
pub(crate) fn login_outcome(result: &Result<TokenResponse, Refusal>) -> TokenOutcome {
    let Err(refusal) = result else {
        return TokenOutcome::Success;
    };
    match refusal.error {
        ApiError::InvalidRequest(_)
        | ApiError::InvalidClient(_)
        | ApiError::InvalidGrant(_)
        | ApiError::InvalidScope(_)
        | ApiError::InvalidToken(_)
        | ApiError::RateLimited { .. } => TokenOutcome::Failure,
        _ => TokenOutcome::Neutral,
    }
}

/// Rows 3–5: Basic wins over body fields; then the id shape, the secret, the pair.
fn authenticate_client(
    store: &Store,
    request: &TokenRequest,
) -> Result<(ClientIdx, ClientKind), Refusal> {
    // A parseable Basic header wins even when its secret is empty (the body's fields are
    // then ignored, as the library does); empty values count as missing either way.
    let (id, secret) = match &request.basic {
        Some((id, secret)) => (Some(id.as_str()), Some(secret.as_str())),
        None => (
            request.present("client_id"),
            request.present("client_secret"),
        ),
    };
    authenticate_client_pair(store, id, secret)
}

/// Rows 3–5 for an id and secret found elsewhere (the create-customer route, account
/// spec A3.1): the id shape, the secret, the pair. Deleted clients are unknown.
pub(crate) fn authenticate_client_pair(
    store: &Store,
    id: Option<&str>,
    secret: Option<&str>,
) -> Result<(ClientIdx, ClientKind), Refusal> {
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
fn requested_lifetime(world: &World, request: &TokenRequest) -> Result<i64, Refusal> {
    let now = request.now;
    if let Some(at) = request.present("expires_at") {
        let at = parse_iso8601(at).ok_or_else(|| {
            ApiError::InvalidRequest(
                "Invalid expires_at parameter: expected an ISO 8601 date or date-time".into(),
            )
        })?;
        if !crate::clock::representable(at) {
            return Err(ApiError::InvalidRequest(
                "Invalid expires_at parameter: the date is past 9999-12-31".into(),
            )
            .into());
        }
        if at <= now {
            return Err(ApiError::InvalidRequest(
                "Invalid expires_at parameter: the date is in the past".into(),
            )
            .into());
        }
        // Rounded up so that a near instant never reads as 0 ("never expires").
        return Ok((at - now + 999) / 1000);
    }
    match request.present("expires_in") {
        None => Ok(world.settings.default_token_lifetime),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(secs) if secs >= 0 && expiry_representable(now, secs) => Ok(secs),
            Ok(secs) if secs < 0 => Err(ApiError::InvalidRequest(
                "Invalid expires_in parameter: must not be negative".into(),
            )
            .into()),
            Ok(_) => Err(ApiError::InvalidRequest(
                "Invalid expires_in parameter: the token would expire past 9999-12-31".into(),
            )
            .into()),
            _ => Err(ApiError::InvalidRequest(
                "Invalid expires_in parameter: must be a whole number of seconds".into(),
            )
            .into()),
        },
    }
}

/// Whether a token issued at `now` for `secs` seconds expires within the representable
/// range (`expires_at` past year 9999 would not format).
pub(crate) fn expiry_representable(now: crate::clock::Millis, secs: i64) -> bool {
    secs.checked_mul(1000)
        .and_then(|ms| now.checked_add(ms))
        .is_some_and(crate::clock::representable)
}

fn scope_must_be_empty(request: &TokenRequest) -> Result<(), Refusal> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_types_parse_by_their_exact_names_only() {
        for grant in GrantType::ALL {
            assert_eq!(GrantType::parse(grant.name()), Ok(grant));
        }
        let other_case = GrantType::parse("PASSWORD").unwrap_err();
        assert_eq!(other_case.reason, None);
        let unknown = GrantType::parse("implicit").unwrap_err();
        assert_eq!(unknown.reason(), "unsupported grant_type `implicit`");
    }

    #[test]
    fn client_id_shape_follows_the_library_regex() {
        assert!(valid_client_id("particle"));
        assert!(valid_client_id("a_b-C"));
        assert!(!valid_client_id("ab"));
        assert!(!valid_client_id(&"a".repeat(41)));
        assert!(!valid_client_id("has space"));
    }

    fn login_request(username: &str, now: Millis) -> TokenRequest {
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
            now,
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
            grant(&world, &login_request("user@example.com", world.now())).unwrap();
            let challenge =
                grant(&world, &login_request("mfa@example.com", world.now())).unwrap_err();
            assert!(matches!(challenge.error, ApiError::MfaRequired { .. }));
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
