//! The safe flows: one table ([`FLOWS`]) of names, the requests each sends (what
//! `--dry-run` lists) and the spec [UNKNOWN]s each settles, and one function per flow.
//! Every token a flow creates lives at most an hour and is revoked by the flow or by the
//! cleanup that runs after all flows, even when one failed; so is every webhook.

mod auth;
mod devices;
mod product;
mod steps;

use crate::parity::flows::auth::{
    auth_errors, get_user, login, refresh, short_token, token_info, wrong_password,
};
use crate::parity::flows::devices::{device_calls, devices, events, unknown_names, webhook};
use crate::parity::flows::product::{api_user, product};
use crate::parity::session::{FlowError, Session};

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
