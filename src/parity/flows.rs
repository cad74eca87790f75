//! The safe flows: one table ([`FLOWS`]) of names, the requests each sends (what
//! `--dry-run` lists) and the spec [UNKNOWN]s each settles, and one function per flow.
//! Every token a flow creates lives at most an hour and is revoked by the flow or by the
//! cleanup that runs after all flows, even when one failed; so is every webhook.

use serde_json::Value;

use crate::parity::session::{FlowError, Request, Session, TOKEN_LIFETIME};

/// One flow: its name, what it does, its requests, the [UNKNOWN]s it settles.
#[derive(Debug)]
pub(crate) struct FlowInfo {
    /// The flow's name (`--flow NAME`, the snapshot file's stem).
    pub name: &'static str,
    /// Its requests, as `--dry-run` lists them.
    pub requests: &'static [&'static str],
    /// The spec [UNKNOWN]s its answers settle (docs/parity.md lists them).
    pub settles: &'static [&'static str],
}

/// Every flow, in the order they run.
pub(crate) const FLOWS: &[FlowInfo] = &[
    FlowInfo {
        name: "login",
        requests: &[
            "POST /oauth/token grant_type=password expires_in=3600 (client particle)",
            "POST /oauth/token grant_type=urn:custom:mfa-otp (only with an OTP secret)",
        ],
        settles: &[],
    },
    FlowInfo {
        name: "wrong_password",
        requests: &["POST /oauth/token grant_type=password with a wrong password (1 failed login)"],
        settles: &[],
    },
    FlowInfo {
        name: "token_info",
        requests: &["GET /v1/access_tokens/current"],
        settles: &[],
    },
    FlowInfo {
        name: "short_token",
        requests: &[
            "POST /oauth/token grant_type=password expires_in=3600",
            "GET /v1/access_tokens/current (the new token)",
            "DELETE /v1/access_tokens/current (the new token)",
            "GET /v1/access_tokens/current (the revoked token)",
            "DELETE /v1/access_tokens/<token> (the revoked token, no credentials)",
        ],
        settles: &["particle-api.md §2.3: the answer to DELETE /v1/access_tokens/:token for an unknown (revoked) token"],
    },
    FlowInfo {
        name: "refresh",
        requests: &[
            "POST /oauth/token grant_type=password (the named client; skipped without one)",
            "POST /oauth/token grant_type=refresh_token",
        ],
        settles: &["particle-api.md §1.5: whether a refreshed pair keeps expires_in of the first"],
    },
    FlowInfo {
        name: "user",
        requests: &["GET /v1/user"],
        settles: &[],
    },
    FlowInfo {
        name: "devices",
        requests: &["GET /v1/devices", "GET /v1/devices/<device> (skipped without a device)"],
        settles: &["particle-api-devices.md § device list: `functions`/`variables` of an offline device ([] vs {})"],
    },
    FlowInfo {
        name: "device_calls",
        requests: &[
            "POST /v1/devices/<device>/<function> arg=parity (only with --function)",
            "GET /v1/devices/<device>/<first variable of the device>",
        ],
        settles: &["particle-api-devices.md § functions: an offline call answers 400 or 408 (when the device is offline)"],
    },
    FlowInfo {
        name: "unknown_names",
        requests: &[
            "POST /v1/devices/<device>/parityNoSuchFunction arg=parity",
            "GET /v1/devices/<device>/parityNoSuchVariable",
        ],
        settles: &[],
    },
    FlowInfo {
        name: "events",
        requests: &[
            "GET /v1/devices/events/<unique name> (stream)",
            "POST /v1/devices/events name=<unique name> private=true ttl=60",
            "(read the stream until the event arrives)",
        ],
        settles: &["particle-api-devices.md § SSE: the production stream headers"],
    },
    FlowInfo {
        name: "webhook",
        requests: &[
            "POST /v1/webhooks event=<unique name> (no url: refused)",
            "POST /v1/webhooks event=<unique name> url=https://example.com/<unique name>",
            "GET /v1/webhooks (the new webhook is in it)",
            "DELETE /v1/webhooks/<id>",
            "DELETE /v1/webhooks/<id> (again: unknown)",
            "(nothing is published to the unique name: no delivery is attempted or compared)",
        ],
        settles: &["particle-api-devices.md D7.2: the answer to an invalid webhook body (no url)"],
    },
    FlowInfo {
        name: "product",
        requests: &[
            "GET /v1/products/<product> (skipped without a product)",
            "GET /v1/products/<product>/devices",
            "POST /oauth/token grant_type=client_credentials expires_in=3600 (the product client; the rest is skipped without one)",
            "GET /v1/products/<product>/devices (the product token)",
            "GET /v1/products/<product>/customers (the product token)",
            "GET /v1/user (the product token)",
            "DELETE /v1/access_tokens/current (the product token)",
        ],
        settles: &[
            "particle-api-account.md A1: `/v1/user*` with a product bearer token (refused?)",
        ],
    },
    FlowInfo {
        name: "api_user",
        requests: &[
            "POST /v1/products/<product>/team {friendly_name: <unique name>, scopes: [devices:list]} (skipped without a product)",
            "GET /v1/products/<product>/devices (the API user's token, in scope)",
            "GET /v1/products/<product>/customers (the API user's token, out of scope)",
            "GET /v1/user (the API user's token: no API user may)",
            "DELETE /v1/products/<product>/team/<username>",
            "GET /v1/products/<product>/devices (the deleted API user's token)",
        ],
        settles: &[
            "particle-api.md §3.6: the status of an insufficient-scope refusal (400 or 403) and its text",
            "particle-api.md §3.6: the status of `API users are not allowed to call this endpoint`",
            "particle-api.md §3.2: the username made from a friendly name",
            "particle-api.md §3.5: the answer to deleting an API user",
        ],
    },
    FlowInfo {
        name: "rate_limit_headers",
        requests: &["GET /v1/user (its rate-limit headers)"],
        settles: &["particle-api.md §6: X-RateLimit-* / Retry-After headers on an ordinary answer"],
    },
    FlowInfo {
        name: "auth_errors",
        requests: &[
            "GET /v1/user with an unknown well-formed token",
            "GET /v1/user with a malformed Authorization header",
            "GET /v1/user with no token",
        ],
        settles: &[],
    },
];

/// Runs one flow on a session; the caller records errors and runs the cleanup.
pub(crate) async fn run(name: &str, s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    match name {
        "login" => login(s).await,
        "wrong_password" => wrong_password(s).await,
        "token_info" => token_info(s).await,
        "short_token" => short_token(s).await,
        "refresh" => refresh(s).await,
        "user" => get_user(s, "user").await,
        "devices" => devices(s).await,
        "device_calls" => device_calls(s).await,
        "unknown_names" => unknown_names(s).await,
        "events" => events(s).await,
        "webhook" => webhook(s).await,
        "product" => product(s).await,
        "api_user" => api_user(s).await,
        "rate_limit_headers" => get_user(s, "rate_limit_headers").await,
        "auth_errors" => auth_errors(s).await,
        _ => Ok(Some("unknown flow")),
    }
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

fn password_form(s: &Session, password: String) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "password".into()),
        ("username", s.creds.username.clone()),
        ("password", password),
        ("client_id", "particle".into()),
        ("client_secret", "particle".into()),
        ("expires_in", TOKEN_LIFETIME.into()),
    ]
}

fn text(value: &Value, key: &'static str) -> Result<String, FlowError> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or(FlowError::Missing(key))
}

/// Logs in (with the OTP step for an MFA account) and returns the access token.
async fn log_in(
    s: &mut Session,
    step: &str,
    form: Vec<(&'static str, String)>,
) -> Result<Value, FlowError> {
    let answer = s.send(step, Request::token(form)).await?;
    let mut json = answer.json;
    if let (Some(mfa_token), Some(secret)) = (
        json.get("mfa_token")
            .and_then(Value::as_str)
            .map(str::to_string),
        s.creds.otp_secret.clone(),
    ) {
        let otp = crate::totp::TotpSecret::from_base32(&secret)
            .map(|t| t.code_at_step(crate::Clock::system().now_secs() / 30))
            .map_err(|_| FlowError::Missing("a valid OTP secret"))?;
        let form = vec![
            ("grant_type", "urn:custom:mfa-otp".into()),
            ("mfa_token", mfa_token),
            ("otp", otp),
            ("client_id", "particle".into()),
            ("client_secret", "particle".into()),
        ];
        json = s
            .send(&format!("{step}_otp"), Request::token(form))
            .await?
            .json;
    }
    for key in ["access_token", "refresh_token"] {
        if let Some(token) = json.get(key).and_then(Value::as_str) {
            if key == "access_token" {
                s.created_token(token);
            } else {
                s.secret_token(token);
            }
        }
    }
    Ok(json)
}

async fn login(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let form = password_form(s, s.creds.password.clone());
    let json = log_in(s, "login", form).await?;
    s.token = Some(text(&json, "access_token")?);
    Ok(None)
}

async fn wrong_password(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let form = password_form(s, format!("{}-parity-wrong", s.creds.password));
    s.send("wrong_password", Request::token(form)).await?;
    Ok(None)
}

fn token(s: &Session) -> Result<String, FlowError> {
    s.token
        .clone()
        .ok_or(FlowError::Missing("access_token (login failed)"))
}

async fn token_info(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let authorization = bearer(&token(s)?);
    s.send(
        "token_info",
        Request {
            method: "GET",
            path: "/v1/access_tokens/current".into(),
            authorization,
            ..Request::default()
        },
    )
    .await?;
    Ok(None)
}

async fn short_token(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let form = password_form(s, s.creds.password.clone());
    let json = log_in(s, "create", form).await?;
    let short = text(&json, "access_token")?;
    let current = "/v1/access_tokens/current".to_string();
    s.send(
        "info",
        Request {
            method: "GET",
            path: current.clone(),
            authorization: bearer(&short),
            ..Request::default()
        },
    )
    .await?;
    let deleted = s
        .send(
            "delete",
            Request {
                method: "DELETE",
                path: current.clone(),
                authorization: bearer(&short),
                ..Request::default()
            },
        )
        .await?;
    if deleted.status < 300 {
        s.revoked(&short);
    }
    s.send(
        "info_after_delete",
        Request {
            method: "GET",
            path: current,
            authorization: bearer(&short),
            ..Request::default()
        },
    )
    .await?;
    s.send(
        "delete_unknown",
        Request {
            method: "DELETE",
            path: format!("/v1/access_tokens/{short}"),
            ..Request::default()
        },
    )
    .await?;
    Ok(None)
}

async fn refresh(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let (Some(id), Some(secret)) = (s.creds.client_id.clone(), s.creds.client_secret.clone())
    else {
        return Ok(Some(
            "no OAuth client named (PARTICLE_CLIENT_ID, PARTICLE_CLIENT_SECRET)",
        ));
    };
    let mut form = password_form(s, s.creds.password.clone());
    form[3].1 = id.clone();
    form[4].1 = secret.clone();
    let json = log_in(s, "login", form).await?;
    let refresh_token = text(&json, "refresh_token")?;
    let form = vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", refresh_token),
        ("client_id", id),
        ("client_secret", secret),
    ];
    let answer = s.send("refresh", Request::token(form)).await?;
    if let Some(token) = answer.json.get("access_token").and_then(Value::as_str) {
        s.created_token(token);
    }
    Ok(None)
}

async fn get_user(s: &mut Session, step: &str) -> Result<Option<&'static str>, FlowError> {
    let authorization = bearer(&token(s)?);
    s.send(
        step,
        Request {
            method: "GET",
            path: "/v1/user".into(),
            authorization,
            ..Request::default()
        },
    )
    .await?;
    Ok(None)
}

fn device(s: &Session) -> Option<String> {
    s.creds.device.clone()
}

async fn devices(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let authorization = bearer(&token(s)?);
    s.send(
        "list",
        Request {
            method: "GET",
            path: "/v1/devices".into(),
            authorization: authorization.clone(),
            ..Request::default()
        },
    )
    .await?;
    if let Some(device) = device(s) {
        s.send(
            "detail",
            Request {
                method: "GET",
                path: format!("/v1/devices/{device}"),
                authorization,
                ..Request::default()
            },
        )
        .await?;
    }
    Ok(None)
}

async fn device_calls(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let Some(device) = device(s) else {
        return Ok(Some("no device named (PARTICLE_DEVICE)"));
    };
    let authorization = bearer(&token(s)?);
    if let Some(function) = s.creds.function.clone() {
        s.send(
            "call",
            Request {
                method: "POST",
                path: format!("/v1/devices/{device}/{function}"),
                authorization: authorization.clone(),
                json: None,
                form: vec![("arg", "parity".into())],
            },
        )
        .await?;
    }
    // The first variable the device lists, read without keeping the listing twice.
    let detail = s
        .send(
            "variables",
            Request {
                method: "GET",
                path: format!("/v1/devices/{device}"),
                authorization: authorization.clone(),
                ..Request::default()
            },
        )
        .await?;
    let variable = detail
        .json
        .get("variables")
        .and_then(Value::as_object)
        .and_then(|v| v.keys().next().cloned());
    if let Some(variable) = variable {
        s.send(
            "read",
            Request {
                method: "GET",
                path: format!("/v1/devices/{device}/{variable}"),
                authorization,
                ..Request::default()
            },
        )
        .await?;
    }
    Ok(None)
}

async fn unknown_names(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let Some(device) = device(s) else {
        return Ok(Some("no device named (PARTICLE_DEVICE)"));
    };
    let authorization = bearer(&token(s)?);
    s.send(
        "function",
        Request {
            method: "POST",
            path: format!("/v1/devices/{device}/parityNoSuchFunction"),
            authorization: authorization.clone(),
            json: None,
            form: vec![("arg", "parity".into())],
        },
    )
    .await?;
    s.send(
        "variable",
        Request {
            method: "GET",
            path: format!("/v1/devices/{device}/parityNoSuchVariable"),
            authorization,
            ..Request::default()
        },
    )
    .await?;
    Ok(None)
}

async fn events(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let authorization = bearer(&token(s)?);
    let name = s.event_name.clone();
    let path = format!("/v1/devices/events/{name}");
    let stream = s
        .open_stream(Request {
            method: "GET",
            path: path.clone(),
            authorization: authorization.clone(),
            ..Request::default()
        })
        .await?;
    s.send(
        "publish",
        Request {
            method: "POST",
            path: "/v1/devices/events".into(),
            authorization,
            json: None,
            form: vec![
                ("name", name.clone()),
                ("data", "parity".into()),
                ("private", "true".into()),
                ("ttl", "60".into()),
            ],
        },
    )
    .await?;
    s.read_events("stream", &path, stream, &name).await?;
    Ok(None)
}

/// Keeps the id of a webhook an answer created, for the cleanup.
fn keep_hook(s: &mut Session, answer: &Value, token: &str) -> Option<String> {
    let id = answer.get("id").and_then(Value::as_str)?.to_string();
    s.created_hook(&id, token);
    Some(id)
}

/// Issue 25: a webhook created for the run's unique event name, found in the list and
/// deleted. Nothing is published to that name, so no delivery is attempted (on the mock
/// the `example.com` host would be refused with a `hook-error`). The webhook is deleted by
/// the cleanup when a step after its creation fails.
async fn webhook(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let token = token(s)?;
    let authorization = bearer(&token);
    let name = s.event_name.clone();
    let path = "/v1/webhooks".to_string();
    let invalid = s
        .send(
            "create_invalid",
            Request {
                method: "POST",
                path: path.clone(),
                authorization: authorization.clone(),
                json: None,
                form: vec![("event", name.clone())],
            },
        )
        .await?;
    // Should a target accept a webhook without a url, it is deleted all the same.
    keep_hook(s, &invalid.json, &token);
    let created = s
        .send(
            "create",
            Request {
                method: "POST",
                path: path.clone(),
                authorization: authorization.clone(),
                json: None,
                form: vec![
                    ("event", name.clone()),
                    ("url", format!("https://example.com/{name}")),
                ],
            },
        )
        .await?;
    let id = keep_hook(s, &created.json, &token).ok_or(FlowError::Missing("id"))?;
    let listed = s
        .send(
            "list",
            Request {
                method: "GET",
                path: path.clone(),
                authorization: authorization.clone(),
                ..Request::default()
            },
        )
        .await?;
    let found = listed.json.as_array().is_some_and(|hooks| {
        hooks
            .iter()
            .any(|h| h.get("id").and_then(Value::as_str) == Some(&id))
    });
    if !found {
        return Err(FlowError::Missing("the created webhook in the list"));
    }
    let one = format!("{path}/{id}");
    let deleted = s
        .send(
            "delete",
            Request {
                method: "DELETE",
                path: one.clone(),
                authorization: authorization.clone(),
                ..Request::default()
            },
        )
        .await?;
    if deleted.status < 300 {
        s.deleted_hook(&id);
    }
    s.send(
        "delete_unknown",
        Request {
            method: "DELETE",
            path: one,
            authorization,
            ..Request::default()
        },
    )
    .await?;
    Ok(None)
}

/// The product as the account's member and as the product itself (a client-credentials
/// token of the product's client, revoked by the flow or by the cleanup).
async fn product(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let Some(product) = s.creds.product.clone() else {
        return Ok(Some("no product named (PARTICLE_PRODUCT)"));
    };
    let base = format!("/v1/products/{product}");
    let user = bearer(&token(s)?);
    s.send("product", Request::get(base.clone(), user.clone()))
        .await?;
    s.send("devices", Request::get(format!("{base}/devices"), user))
        .await?;
    let (Some(id), Some(secret)) = (
        s.creds.product_client_id.clone(),
        s.creds.product_client_secret.clone(),
    ) else {
        return Ok(None);
    };
    let form = vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", id),
        ("client_secret", secret),
        ("expires_in", TOKEN_LIFETIME.into()),
    ];
    let answer = s.send("product_token", Request::token(form)).await?;
    let token = text(&answer.json, "access_token")?;
    s.created_token(&token);
    let as_product = bearer(&token);
    for (step, path) in [
        ("product_devices", format!("{base}/devices")),
        ("product_customers", format!("{base}/customers")),
        ("product_user", "/v1/user".to_string()),
    ] {
        s.send(step, Request::get(path, as_product.clone())).await?;
    }
    let revoked = s
        .send(
            "revoke",
            Request::delete("/v1/access_tokens/current", as_product),
        )
        .await?;
    if revoked.status < 300 {
        s.revoked(&token);
    }
    Ok(None)
}

/// An API user of the product with one scope: a call in its scope, one out of it, one no
/// API user may make; then deleted (by the cleanup when a step after its creation fails),
/// and its token tried once more. The API user's token never expires, so the deletion is
/// what ends it.
async fn api_user(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let Some(product) = s.creds.product.clone() else {
        return Ok(Some("no product named (PARTICLE_PRODUCT)"));
    };
    let owner = token(s)?;
    let base = format!("/v1/products/{product}");
    let created = s
        .send(
            "create",
            Request {
                method: "POST",
                path: format!("{base}/team"),
                authorization: bearer(&owner),
                json: Some(serde_json::json!({
                    "friendly_name": s.event_name.clone(),
                    "scopes": ["devices:list"],
                })),
                ..Request::default()
            },
        )
        .await?;
    let made = created.json.get("created");
    let username = made
        .and_then(|c| c.get("username"))
        .and_then(Value::as_str)
        .ok_or(FlowError::Missing("created.username"))?;
    let member = format!("{base}/team/{username}");
    s.created_api_user(&member, &owner);
    let token = made
        .and_then(|c| c.pointer("/tokens/0/token"))
        .and_then(Value::as_str)
        .ok_or(FlowError::Missing("created.tokens[0].token"))?
        .to_string();
    s.secret_token(&token);
    let as_api_user = bearer(&token);
    for (step, path) in [
        ("in_scope", format!("{base}/devices")),
        ("out_of_scope", format!("{base}/customers")),
        ("not_allowed", "/v1/user".to_string()),
    ] {
        s.send(step, Request::get(path, as_api_user.clone()))
            .await?;
    }
    let deleted = s
        .send("delete", Request::delete(member.clone(), bearer(&owner)))
        .await?;
    if deleted.status < 300 {
        s.deleted_api_user(&member);
    }
    s.send(
        "deleted_token",
        Request::get(format!("{base}/devices"), as_api_user),
    )
    .await?;
    Ok(None)
}

async fn auth_errors(s: &mut Session) -> Result<Option<&'static str>, FlowError> {
    let path = "/v1/user".to_string();
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    s.send(
        "bad_token",
        Request {
            method: "GET",
            path: path.clone(),
            authorization: bearer(unknown),
            ..Request::default()
        },
    )
    .await?;
    s.send(
        "malformed_header",
        Request {
            method: "GET",
            path: path.clone(),
            authorization: Some("Bearer".into()),
            ..Request::default()
        },
    )
    .await?;
    s.send(
        "missing_token",
        Request {
            method: "GET",
            path,
            ..Request::default()
        },
    )
    .await?;
    Ok(None)
}
