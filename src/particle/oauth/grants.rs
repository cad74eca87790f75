//! The grants of `/oauth/token` (particle-api.md §1.1–§1.4): password, MFA (OTP and
//! recovery code), refresh and client credentials.

use crate::clock::Millis;
use crate::error::{ApiError, Refusal};
use crate::particle::oauth::issue::issue_at;
use crate::particle::oauth::{
    requested_lifetime, scope_must_be_empty, TokenRequest, TokenResponse,
};
use crate::support::text::truncate;
use crate::tokens::{parse_token, secrets_equal};
use crate::totp::OtpError;
use crate::world::store::{ClientIdx, ClientKind, MfaChallenge, Owner, Store, UserId};
use crate::world::World;

pub(super) fn password_grant(
    world: &World,
    store: &Store,
    request: &TokenRequest,
    client: ClientIdx,
    kind: &ClientKind,
) -> Result<TokenResponse, Refusal> {
    let (Some(username), Some(password)) =
        (request.present("username"), request.present("password"))
    else {
        return Err(ApiError::InvalidClient(
            "Missing parameters. \"username\" and \"password\" are required".into(),
        )
        .into());
    };
    let invalid = || ApiError::InvalidGrant("User credentials are invalid".into());
    let (owner, needs_mfa) = {
        let directory = store.directory.read();
        match kind {
            // Custom user clients also serve the password grant (account spec A4.5).
            ClientKind::Developer | ClientKind::User(_) => {
                let found = directory.user_by_email(username);
                // Compare against something even for an unknown user, so both cases take
                // the same path (row 8: indistinguishable).
                let matches = match found {
                    Some((_, u)) => u.password.matches(password),
                    None => {
                        // Same work as a wrong password (row 8: indistinguishable).
                        let _ = secrets_equal(b"\0unknown-user", password.as_bytes());
                        false
                    }
                };
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
                let found = directory.customer_by_email(*product, username);
                let matches = match found.and_then(|(_, c)| c.password.as_ref()) {
                    Some(expected) => expected.matches(password),
                    None => {
                        let _ = secrets_equal(b"\0no-password", password.as_bytes());
                        false
                    }
                };
                if found.is_some() && matches {
                    (Owner::Customer(found.map_or(0, |(i, _)| i)), false)
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
            return Err(ApiError::Unavailable.into());
        };
        return Err(challenge(world, store, user, client, lifetime, request.now));
    }
    issue_at(world, store, owner, client, lifetime, None, request.now)
}

/// Row 10: opens an MFA challenge and answers 403 `mfa_required`.
pub(super) fn challenge(
    world: &World,
    store: &Store,
    user: UserId,
    client: ClientIdx,
    lifetime: i64,
    now: Millis,
) -> Refusal {
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
            expires_at: now.saturating_add(ttl_ms),
            failures: 0,
            lifetime,
        },
    );
    ApiError::MfaRequired { mfa_token }.because("MFA required: mfa_token issued")
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum MfaProof {
    Otp,
    RecoveryCode,
}

/// Rows 11–14: completes an MFA challenge with an OTP or a recovery code.
pub(super) fn mfa_grant(
    world: &World,
    store: &Store,
    request: &TokenRequest,
    client: ClientIdx,
    proof: MfaProof,
) -> Result<TokenResponse, Refusal> {
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
        return Err(ApiError::InvalidRequest(missing.into()).into());
    };
    let refuse = |why: &str| ApiError::InvalidToken(refused.into()).because(why.to_string());
    let now = request.now;
    // The entry guard holds the challenge's shard for the whole check, so two requests with
    // the same mfa_token are decided one after the other: at most one succeeds.
    let Some(mut entry) = store.mfa_challenges.occupied(mfa_token.to_string()) else {
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
                    now.div_euclid(1000),
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
            issue_at(
                world,
                store,
                Owner::User(challenge.user),
                client,
                lifetime,
                None,
                request.now,
            )
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
pub(super) fn refresh_grant(
    world: &World,
    store: &Store,
    request: &TokenRequest,
    client: ClientIdx,
) -> Result<TokenResponse, Refusal> {
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
    if record.expires_at <= request.now {
        return Err(ApiError::InvalidGrant("Refresh token has expired".into()).into());
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
    issue_at(
        world,
        store,
        record.owner,
        client,
        lifetime,
        None,
        request.now,
    )
}

pub(super) fn owner_exists(store: &Store, owner: Owner) -> bool {
    let directory = store.directory.read();
    match owner {
        Owner::User(id) => directory.user(id).is_some(),
        Owner::ApiUser(id) => directory.api_user(id).is_some(),
        Owner::Customer(i) => directory.customer(i).is_some(),
        Owner::Product(_) => true,
    }
}

/// Row 18 and §1.3: product bearer tokens and customer-scoped tokens.
pub(super) fn client_credentials_grant(
    world: &World,
    store: &Store,
    request: &TokenRequest,
    client: ClientIdx,
    kind: &ClientKind,
) -> Result<TokenResponse, Refusal> {
    let product = match *kind {
        ClientKind::Product(product) => product,
        // A user's own client: the token acts for its owner (api-js `loginAsClientOwner`,
        // account spec A1 [INFERRED]); no scope.
        ClientKind::User(user) => {
            let lifetime = requested_lifetime(world, request)?;
            scope_must_be_empty(request)?;
            if store.directory.read().user(user).is_none() {
                return Err(
                    ApiError::InvalidGrant("Client credentials are invalid".into())
                        .because("the client's owner was deleted"),
                );
            }
            return issue_at(
                world,
                store,
                Owner::User(user),
                client,
                lifetime,
                None,
                request.now,
            );
        }
        ClientKind::Developer => {
            return Err(
                ApiError::InvalidGrant("Client credentials are invalid".into())
                    .because("client_credentials needs a product OAuth client"),
            )
        }
    };
    let lifetime = requested_lifetime(world, request)?;
    match request.present("scope") {
        None => issue_at(
            world,
            store,
            Owner::Product(product),
            client,
            lifetime,
            None,
            request.now,
        ),
        Some(scope) => {
            let customer = scope.strip_prefix("customer=").and_then(|email| {
                store
                    .directory
                    .read()
                    .customer_by_email(product, email)
                    .map(|(i, _)| i)
            });
            match customer {
                Some(index) => issue_at(
                    world,
                    store,
                    Owner::Customer(index),
                    client,
                    lifetime,
                    Some(scope.to_string()),
                    request.now,
                ),
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
