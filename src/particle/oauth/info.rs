//! What a token is (§2.6) and the legacy token list (§2.2).

use serde::Serialize;

use crate::error::{ApiError, Refusal};
use crate::support::text::truncate;
use crate::tokens::format_token;
use crate::totp::OtpError;
use crate::world::store::{AccessToken, Owner, Store};
use crate::world::World;

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
) -> Result<Vec<ListedToken>, Refusal> {
    let Some((username, password)) = credentials else {
        return Err(ApiError::Legacy {
            status: 401,
            message: "Unauthorized. You must send username and password in HTTP Basic Auth to view your access tokens.".into(),
        }.into());
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
        if !user.password.matches(&password) {
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
                }
                .into());
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
