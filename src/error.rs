//! [`ApiError`]: every refusal the mock can answer, rendered as the Particle-shaped JSON
//! body and headers the spec gives for it.
//!
//! Particle's error bodies are not uniform (particle-api.md §5.3): OAuth-style
//! `{"error","error_description"}` for `/oauth/token` and bearer checks, `{"ok":false,"error"}`
//! for missing resources, `{"ok":false,"errors":[..]}` for the legacy Basic-auth routes.
//! Each variant's doc names its status and body. Inside the crate a refusal may also carry
//! a plain-words reason for the request journal (`ApiError::because`, which makes a
//! `Refusal`); the reason travels beside the error, never in its body.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The reason a request was refused, in words, attached to the response's extensions so the
/// request journal can record it. Never sent to the client.
#[derive(Debug, Clone)]
pub(crate) struct RefusalReason(pub String);

/// Everything the mock answers with an error status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// `400 {"error":"invalid_request","error_description":..}` (OAuth shape, no-store headers).
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// `400 {"error":"invalid_client",..}` with `WWW-Authenticate: Basic realm="Service"`.
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    /// `400 {"error":"invalid_grant",..}`.
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// `400 {"error":"invalid_scope",..}`.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// `401 {"error":"invalid_token",..}` (no `WWW-Authenticate`, as recorded).
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// `403 {"error":"mfa_required","error_description":"Multi-factor authentication required","mfa_token":..}`.
    #[error("mfa_required")]
    MfaRequired {
        /// The JWT-shaped, single-use token to send back with the OTP.
        mfa_token: String,
    },
    /// `429 {"error":"rate_limit_exceeded","error_description":..}` with `Retry-After` when known.
    #[error("rate_limit_exceeded: {description}")]
    RateLimited {
        /// Which limit was hit, in words.
        description: String,
        /// Whole seconds until a request would be admitted again, if that is known.
        retry_after: Option<u64>,
    },
    /// `403 {"error":"unauthorized","error_description":..}`: an API user or scoped token
    /// calling what it may not (particle-api.md §3.6).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// `403 {"ok":false,"error":..}`: a caller that is authenticated but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// `400 {"ok":false,"error":..}`: a JSON endpoint's validation failure.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// `404 {"ok":false,"error":..}` (e.g. `Customer not found`).
    #[error("not found: {0}")]
    NotFound(String),
    /// `403 {"error":"Permission Denied","info":"I didn't recognize that device name or ID, …"}`:
    /// a device that is unknown or not the caller's (particle-api.md §5.3, exact body).
    #[error("device permission denied")]
    DevicePermissionDenied,
    /// `408 {"ok":false,"error":..}`: a device that did not answer (offline; devices spec
    /// D3 `Timed out.`, D4 `timed out`).
    #[error("device timed out: {0}")]
    DeviceTimeout(String),
    /// `500 {"ok":false,"code":500,"errors":[{"error":"Timed out, didn't hear back from device service"}]}`:
    /// signalling an offline device (devices spec D9, as recorded).
    #[error("device service timed out")]
    DeviceServiceTimeout,
    /// `403 {"errors":["That belongs to someone else."]}`: claiming a device another
    /// account owns (devices spec D2.3; particle-cli matches the text to offer a transfer).
    #[error("device belongs to someone else")]
    BelongsToSomeoneElse,
    /// `400 {"ok":false,"output":"Compiler timed out or encountered an error","errors":[..]}`:
    /// cloud compiles are not emulated (devices spec D11; particle-cli prints `errors[0]`).
    #[error("compile refused")]
    CompileRefused,
    /// `501 {"ok":false,"error":"Not implemented by particle-auth-mock: <route>"}`: a
    /// device-cloud area the mock does not emulate (devices spec D11).
    #[error("not implemented: {0}")]
    NotImplemented(String),
    /// `{"ok":false,"errors":[..]}` with the given status: the legacy Basic-auth routes.
    #[error("legacy error {status}: {message}")]
    Legacy {
        /// The HTTP status (400 or 401 as recorded).
        status: u16,
        /// The single entry of `errors`.
        message: String,
    },
    /// `413 {"error":"payload_too_large",..}`: the body exceeds the configured limit.
    #[error("payload too large")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// `401 {"ok":false,"error":..}`: a control call without the right
    /// `X-Mock-Control-Secret` header (`--control-secret`).
    #[error("control secret required")]
    ControlSecretRequired,
    /// `429 {"ok":false,"error":..}`: creating a tenant past `--max-tenants`.
    #[error("too many tenants (at most {max})")]
    TooManyTenants {
        /// The cap.
        max: usize,
    },
    /// `429 {"ok":false,"error":..}`: opening a journal stream (`GET /__mock/journal/stream`)
    /// while the most allowed are open.
    #[error("too many stream viewers (at most {max})")]
    TooManyViewers {
        /// The cap.
        max: usize,
    },
    /// `503 {"error":"server_error",..}`: something the mock could not do (logged, never detailed).
    #[error("server_error")]
    Unavailable,
    /// `503 {"error":"token_table_full",..}` with `Retry-After: 60`: `--max-tokens` live
    /// tokens exist and none may be evicted (never-expiring, fixture and API-user tokens).
    #[error("token table full (at most {max})")]
    TokenTableFull {
        /// The cap.
        max: usize,
    },
    /// `503 {"error":"server_full",..}` with `Retry-After: 60`: all worlds together hold
    /// the most the server allows of something (`--max-total-tokens`,
    /// `--max-total-records`) and nothing of this world may make room.
    #[error("server full: {what} (at most {max})")]
    ServerFull {
        /// What is full, in words (`live tokens`, `directory records`).
        what: &'static str,
        /// The server-wide cap.
        max: usize,
        /// The option that sets it (`--max-total-tokens`).
        option: &'static str,
    },
    /// `408 {"error":"request_timeout",..}`: the request (its body upload included) took
    /// longer than `--request-timeout-ms`; the connection is closed after the answer.
    #[error("request timeout")]
    RequestTimeout,
    /// `503 {"error":"server_busy",..}` with `Retry-After: 1`: more connections than
    /// `--max-connections` are open.
    #[error("too many connections")]
    TooManyConnections,
}

/// An [`ApiError`] with the reason in words the request journal records for it (secrets
/// never go there): what handlers and the domain return inside the crate when they know
/// more than the client may see. The client sees `error` alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// What the client sees.
    pub(crate) error: ApiError,
    /// Why, for the journal; `None` records the error's own description.
    pub(crate) reason: Option<String>,
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            reason: None,
        }
    }
}

impl Refusal {
    /// The reason in words for the journal: the explicit one, or the public description.
    fn into_reason(self) -> (ApiError, String) {
        match self.reason {
            Some(reason) => (self.error, reason),
            None => {
                let reason = self.error.to_string();
                (self.error, reason)
            }
        }
    }

    /// The reason the journal records, as [`IntoResponse`] attaches it.
    #[cfg(test)]
    pub(crate) fn reason(&self) -> String {
        self.clone().into_reason().1
    }
}

/// Shows what the client sees (the reason is for the journal only).
impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (error, reason) = self.into_reason();
        let mut response = error.render();
        response.extensions_mut().insert(RefusalReason(reason));
        response
    }
}

#[derive(Serialize)]
struct OAuthBody<'a> {
    error: &'a str,
    error_description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa_token: Option<&'a str>,
}

#[derive(Serialize)]
struct OkFalse<'a> {
    ok: bool,
    error: &'a str,
}

#[derive(Serialize)]
struct OkFalseErrors<'a> {
    ok: bool,
    errors: [&'a str; 1],
}

impl ApiError {
    /// `401 invalid_token`: "The access token provided is invalid." (unknown or revoked token).
    pub fn invalid_token() -> Self {
        Self::InvalidToken("The access token provided is invalid.".into())
    }

    /// `401 invalid_token`: "The access token provided has expired.".
    pub fn expired_token() -> Self {
        Self::InvalidToken("The access token provided has expired.".into())
    }

    /// `403 unauthorized`: "API users are not allowed to call this endpoint" (§3.6, exact text).
    pub fn api_users_not_allowed() -> Self {
        Self::Unauthorized("API users are not allowed to call this endpoint".into())
    }

    /// `429 rate_limit_exceeded` "Rate limit exceeded." with no `Retry-After`.
    pub fn rate_limited() -> Self {
        Self::RateLimited {
            description: "Rate limit exceeded.".into(),
            retry_after: None,
        }
    }

    /// This error with a reason in words for the request journal; the body is unchanged.
    pub(crate) fn because(self, reason: impl Into<String>) -> Refusal {
        Refusal {
            error: self,
            reason: Some(reason.into()),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.answer().status
    }

    /// THE mapping of a variant to its answer: status, body and headers, in one
    /// exhaustive `match`, so a new variant does not compile until its answer is written.
    fn answer(&self) -> Answer {
        use StatusCode as S;
        match self {
            Self::InvalidRequest(d) => Answer::oauth(S::BAD_REQUEST, "invalid_request", d),
            Self::InvalidClient(d) => Answer {
                www_authenticate: true,
                ..Answer::oauth(S::BAD_REQUEST, "invalid_client", d)
            },
            Self::InvalidGrant(d) => Answer::oauth(S::BAD_REQUEST, "invalid_grant", d),
            Self::InvalidScope(d) => Answer::oauth(S::BAD_REQUEST, "invalid_scope", d),
            Self::InvalidToken(d) => Answer::oauth(S::UNAUTHORIZED, "invalid_token", d),
            Self::Unauthorized(d) => Answer::oauth(S::FORBIDDEN, "unauthorized", d),
            Self::RateLimited {
                description,
                retry_after,
            } => Answer {
                retry_after: *retry_after,
                ..Answer::oauth(S::TOO_MANY_REQUESTS, "rate_limit_exceeded", description)
            },
            Self::MfaRequired { mfa_token } => Answer {
                body: serde_json::to_vec(&OAuthBody {
                    error: "mfa_required",
                    error_description: "Multi-factor authentication required",
                    mfa_token: Some(mfa_token),
                }),
                ..Answer::oauth(S::FORBIDDEN, "", "")
            },
            Self::PayloadTooLarge { limit } => Answer::oauth(
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &format!("The request body is larger than {limit} bytes."),
            ),
            Self::Unavailable => Answer::oauth(
                S::SERVICE_UNAVAILABLE,
                "server_error",
                "The server could not handle the request.",
            ),
            Self::RequestTimeout => Answer {
                close: true,
                ..Answer::oauth(
                    S::REQUEST_TIMEOUT,
                    "request_timeout",
                    "The request was not received in time; the connection is closed.",
                )
            },
            Self::TooManyConnections => Answer {
                close: true,
                retry_after: Some(1),
                ..Answer::oauth(
                    S::SERVICE_UNAVAILABLE,
                    "server_busy",
                    "Too many connections are open; retry in a moment.",
                )
            },
            Self::TokenTableFull { max } => Answer {
                retry_after: Some(60),
                ..Answer::oauth(
                    S::SERVICE_UNAVAILABLE,
                    "token_table_full",
                    &format!(
                        "The mock holds {max} live tokens (--max-tokens) and none may be evicted \
                         (tokens that never expire, fixture and API-user tokens); revoke some or \
                         raise the cap."
                    ),
                )
            },
            Self::ServerFull { what, max, option } => Answer {
                retry_after: Some(60),
                ..Answer::oauth(
                    S::SERVICE_UNAVAILABLE,
                    "server_full",
                    &format!(
                        "All worlds of the mock together hold {max} {what} ({option}) and this \
                         world has none that may make room; reset the world, delete tenants or \
                         raise the cap."
                    ),
                )
            },
            Self::Forbidden(m) => Answer::ok_false(S::FORBIDDEN, m),
            Self::BadRequest(m) => Answer::ok_false(S::BAD_REQUEST, m),
            Self::NotFound(m) => Answer::ok_false(S::NOT_FOUND, m),
            Self::ControlSecretRequired => Answer::ok_false(
                S::UNAUTHORIZED,
                "Control API: missing or wrong X-Mock-Control-Secret header",
            ),
            Self::TooManyTenants { max } => Answer::ok_false(
                S::TOO_MANY_REQUESTS,
                &format!("Too many tenants: at most {max} may live at once; delete some first"),
            ),
            Self::TooManyViewers { max } => Answer::ok_false(
                S::TOO_MANY_REQUESTS,
                &format!(
                    "Too many journal streams: at most {max} may be open at once; close one first"
                ),
            ),
            Self::DevicePermissionDenied => Answer {
                body: serde_json::to_vec(&serde_json::json!({
                    "error": "Permission Denied",
                    "info": "I didn't recognize that device name or ID, try opening https://api.particle.io/v1/devices?access_token=undefined",
                })),
                ..Answer::ok_false(S::FORBIDDEN, "")
            },
            Self::Legacy { status, message } => Answer {
                body: serde_json::to_vec(&OkFalseErrors {
                    ok: false,
                    errors: [message],
                }),
                ..Answer::ok_false(S::from_u16(*status).unwrap_or(S::BAD_REQUEST), "")
            },
            Self::DeviceTimeout(m) => Answer::ok_false(S::REQUEST_TIMEOUT, m),
            Self::DeviceServiceTimeout => Answer {
                body: serde_json::to_vec(&serde_json::json!({
                    "ok": false,
                    "code": 500,
                    "errors": [{ "error": "Timed out, didn't hear back from device service" }],
                })),
                ..Answer::ok_false(S::INTERNAL_SERVER_ERROR, "")
            },
            Self::BelongsToSomeoneElse => Answer {
                body: serde_json::to_vec(&serde_json::json!({
                    "errors": ["That belongs to someone else."],
                })),
                ..Answer::ok_false(S::FORBIDDEN, "")
            },
            Self::CompileRefused => Answer {
                body: serde_json::to_vec(&serde_json::json!({
                    "ok": false,
                    "output": "Compiler timed out or encountered an error",
                    "errors": ["particle-auth-mock does not compile firmware; build locally and flash the .bin"],
                })),
                ..Answer::ok_false(S::BAD_REQUEST, "")
            },
            Self::NotImplemented(route) => Answer::ok_false(
                S::NOT_IMPLEMENTED,
                &format!("Not implemented by particle-auth-mock: {route}"),
            ),
        }
    }
}

/// What one variant is answered with (built only by [`ApiError::answer`]).
struct Answer {
    status: StatusCode,
    /// The JSON body (a serialisation failure answers a bare `server_error`).
    body: Result<Vec<u8>, serde_json::Error>,
    /// `Cache-Control: no-store` and `Pragma: no-cache`: the OAuth-shaped answers, as
    /// `/oauth/token` and bearer errors send them.
    no_store: bool,
    /// `WWW-Authenticate: Basic realm="Service"` (a refused client, §1.7).
    www_authenticate: bool,
    /// `Retry-After`, in whole seconds.
    retry_after: Option<u64>,
    /// `Connection: close`: the connection ends after this answer.
    close: bool,
}

impl Answer {
    /// `{"error","error_description"}` with the no-store headers.
    fn oauth(status: StatusCode, error: &str, description: &str) -> Self {
        Self {
            status,
            body: serde_json::to_vec(&OAuthBody {
                error,
                error_description: description,
                mfa_token: None,
            }),
            no_store: true,
            www_authenticate: false,
            retry_after: None,
            close: false,
        }
    }

    /// `{"ok":false,"error"}`, cacheable as Particle sends it.
    fn ok_false(status: StatusCode, error: &str) -> Self {
        Self {
            status,
            body: serde_json::to_vec(&OkFalse { ok: false, error }),
            no_store: false,
            www_authenticate: false,
            retry_after: None,
            close: false,
        }
    }
}

/// Headers every JSON answer of the mock carries.
pub(crate) fn json_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, as `/oauth/token` and bearer errors send.
pub(crate) fn no_store_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.render();
        response
            .extensions_mut()
            .insert(RefusalReason(self.to_string()));
        response
    }
}

impl ApiError {
    /// The answer as a response, without a journal reason.
    fn render(&self) -> Response {
        let answer = self.answer();
        let body = answer
            .body
            .unwrap_or_else(|_| b"{\"error\":\"server_error\"}".to_vec());
        let mut response = (answer.status, body).into_response();
        let headers = response.headers_mut();
        json_headers(headers);
        if answer.no_store {
            no_store_headers(headers);
        }
        if answer.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Service\""),
            );
        }
        if let Some(secs) = answer.retry_after {
            headers.insert(
                HeaderName::from_static("retry-after"),
                HeaderValue::from(secs),
            );
        }
        if answer.close {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use http_body_util::BodyExt;

    use super::*;

    async fn render(error: ApiError) -> (u16, String, axum::http::HeaderMap) {
        let response = error.into_response();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap(), headers)
    }

    #[tokio::test]
    async fn every_variant_has_its_status_and_body() {
        let cases = [
            (
                ApiError::InvalidRequest("x".into()),
                400,
                r#"{"error":"invalid_request","error_description":"x"}"#,
            ),
            (
                ApiError::InvalidClient("y".into()),
                400,
                r#"{"error":"invalid_client","error_description":"y"}"#,
            ),
            (
                ApiError::InvalidGrant("User credentials are invalid".into()),
                400,
                r#"{"error":"invalid_grant","error_description":"User credentials are invalid"}"#,
            ),
            (
                ApiError::InvalidScope("Invalid scope".into()),
                400,
                r#"{"error":"invalid_scope","error_description":"Invalid scope"}"#,
            ),
            (
                ApiError::invalid_token(),
                401,
                r#"{"error":"invalid_token","error_description":"The access token provided is invalid."}"#,
            ),
            (
                ApiError::MfaRequired {
                    mfa_token: "a.b.c".into(),
                },
                403,
                r#"{"error":"mfa_required","error_description":"Multi-factor authentication required","mfa_token":"a.b.c"}"#,
            ),
            (
                ApiError::rate_limited(),
                429,
                r#"{"error":"rate_limit_exceeded","error_description":"Rate limit exceeded."}"#,
            ),
            (
                ApiError::api_users_not_allowed(),
                403,
                r#"{"error":"unauthorized","error_description":"API users are not allowed to call this endpoint"}"#,
            ),
            (
                ApiError::Forbidden("no".into()),
                403,
                r#"{"ok":false,"error":"no"}"#,
            ),
            (
                ApiError::BadRequest("bad".into()),
                400,
                r#"{"ok":false,"error":"bad"}"#,
            ),
            (
                ApiError::NotFound("Product not found.".into()),
                404,
                r#"{"ok":false,"error":"Product not found."}"#,
            ),
            (
                ApiError::Legacy {
                    status: 401,
                    message: "Bad password".into(),
                },
                401,
                r#"{"ok":false,"errors":["Bad password"]}"#,
            ),
            (
                ApiError::DevicePermissionDenied,
                403,
                r#"{"error":"Permission Denied","info":"I didn't recognize that device name or ID, try opening https://api.particle.io/v1/devices?access_token=undefined"}"#,
            ),
            (
                ApiError::PayloadTooLarge { limit: 10 },
                413,
                r#"{"error":"payload_too_large","error_description":"The request body is larger than 10 bytes."}"#,
            ),
            (
                ApiError::ControlSecretRequired,
                401,
                r#"{"ok":false,"error":"Control API: missing or wrong X-Mock-Control-Secret header"}"#,
            ),
            (
                ApiError::TooManyTenants { max: 2 },
                429,
                r#"{"ok":false,"error":"Too many tenants: at most 2 may live at once; delete some first"}"#,
            ),
            (
                ApiError::TooManyViewers { max: 3 },
                429,
                r#"{"ok":false,"error":"Too many journal streams: at most 3 may be open at once; close one first"}"#,
            ),
            (
                ApiError::Unavailable,
                503,
                r#"{"error":"server_error","error_description":"The server could not handle the request."}"#,
            ),
            (
                ApiError::RequestTimeout,
                408,
                r#"{"error":"request_timeout","error_description":"The request was not received in time; the connection is closed."}"#,
            ),
            (
                ApiError::TooManyConnections,
                503,
                r#"{"error":"server_busy","error_description":"Too many connections are open; retry in a moment."}"#,
            ),
            (
                ApiError::TokenTableFull { max: 2 },
                503,
                r#"{"error":"token_table_full","error_description":"The mock holds 2 live tokens (--max-tokens) and none may be evicted (tokens that never expire, fixture and API-user tokens); revoke some or raise the cap."}"#,
            ),
            (
                ApiError::ServerFull {
                    what: "live tokens",
                    max: 5,
                    option: "--max-total-tokens",
                },
                503,
                r#"{"error":"server_full","error_description":"All worlds of the mock together hold 5 live tokens (--max-total-tokens) and this world has none that may make room; reset the world, delete tenants or raise the cap."}"#,
            ),
            (
                ApiError::DeviceTimeout("Timed out.".into()),
                408,
                r#"{"ok":false,"error":"Timed out."}"#,
            ),
            (
                ApiError::DeviceServiceTimeout,
                500,
                r#"{"ok":false,"code":500,"errors":[{"error":"Timed out, didn't hear back from device service"}]}"#,
            ),
            (
                ApiError::BelongsToSomeoneElse,
                403,
                r#"{"errors":["That belongs to someone else."]}"#,
            ),
            (
                ApiError::CompileRefused,
                400,
                r#"{"ok":false,"output":"Compiler timed out or encountered an error","errors":["particle-auth-mock does not compile firmware; build locally and flash the .bin"]}"#,
            ),
            (
                ApiError::NotImplemented("GET /v1/libraries".into()),
                501,
                r#"{"ok":false,"error":"Not implemented by particle-auth-mock: GET /v1/libraries"}"#,
            ),
        ];
        let covered: BTreeSet<usize> = cases.iter().map(|(error, ..)| variant(error)).collect();
        assert_eq!(covered, (0..VARIANTS).collect(), "a variant has no case");
        for (error, status, body) in cases {
            let (got_status, got_body, headers) = render(error.clone()).await;
            assert_eq!(got_status, status, "{body}");
            assert_eq!(got_body, body);
            assert_eq!(
                headers[header::CONTENT_TYPE],
                "application/json; charset=utf-8"
            );
            // The headers beside the body: no-store for the OAuth shape only.
            let oauth = body.starts_with(r#"{"error":""#) && !body.contains("Permission Denied");
            assert_eq!(
                headers.get(header::CACHE_CONTROL).is_some(),
                oauth,
                "{body}"
            );
            assert_eq!(headers.get(header::PRAGMA).is_some(), oauth, "{body}");
            let expected_retry = match &error {
                ApiError::TooManyConnections => Some("1"),
                ApiError::TokenTableFull { .. } | ApiError::ServerFull { .. } => Some("60"),
                _ => None,
            };
            assert_eq!(
                headers.get("retry-after").map(|v| v.to_str().unwrap()),
                expected_retry,
                "{body}"
            );
            let closes = matches!(
                &error,
                ApiError::RequestTimeout | ApiError::TooManyConnections
            );
            assert_eq!(headers.get(header::CONNECTION).is_some(), closes, "{body}");
            let challenges = matches!(&error, ApiError::InvalidClient(_));
            assert_eq!(
                headers.get(header::WWW_AUTHENTICATE).is_some(),
                challenges,
                "{body}"
            );
        }
    }

    /// How many variants [`ApiError`] has; [`variant`] numbers them.
    const VARIANTS: usize = 27;

    /// Each variant's number: an exhaustive `match`, so a new variant does not compile
    /// here until it is numbered (and then the pin test wants a case for it).
    fn variant(error: &ApiError) -> usize {
        match error {
            ApiError::InvalidRequest(_) => 0,
            ApiError::InvalidClient(_) => 1,
            ApiError::InvalidGrant(_) => 2,
            ApiError::InvalidScope(_) => 3,
            ApiError::InvalidToken(_) => 4,
            ApiError::MfaRequired { .. } => 5,
            ApiError::RateLimited { .. } => 6,
            ApiError::Unauthorized(_) => 7,
            ApiError::Forbidden(_) => 8,
            ApiError::BadRequest(_) => 9,
            ApiError::NotFound(_) => 10,
            ApiError::DevicePermissionDenied => 11,
            ApiError::Legacy { .. } => 12,
            ApiError::PayloadTooLarge { .. } => 13,
            ApiError::ControlSecretRequired => 14,
            ApiError::TooManyTenants { .. } => 15,
            ApiError::TooManyViewers { .. } => 16,
            ApiError::Unavailable => 17,
            ApiError::TokenTableFull { .. } => 18,
            ApiError::ServerFull { .. } => 19,
            ApiError::RequestTimeout => 20,
            ApiError::TooManyConnections => 21,
            ApiError::DeviceTimeout(_) => 22,
            ApiError::DeviceServiceTimeout => 23,
            ApiError::BelongsToSomeoneElse => 24,
            ApiError::CompileRefused => 25,
            ApiError::NotImplemented(_) => 26,
        }
    }

    #[tokio::test]
    async fn invalid_client_carries_www_authenticate_and_no_store() {
        let (_, _, headers) = render(ApiError::InvalidClient("x".into())).await;
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Basic realm=\"Service\"");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::PRAGMA], "no-cache");
    }

    #[tokio::test]
    async fn rate_limited_carries_retry_after() {
        let (_, _, headers) = render(ApiError::RateLimited {
            description: "d".into(),
            retry_after: Some(17),
        })
        .await;
        assert_eq!(headers["retry-after"], "17");
    }

    #[tokio::test]
    async fn reasons_stay_out_of_the_body() {
        let error = ApiError::InvalidGrant("User credentials are invalid".into())
            .because("wrong password for user@example.com");
        assert_eq!(error.reason(), "wrong password for user@example.com");
        assert_eq!(
            error.error,
            ApiError::InvalidGrant("User credentials are invalid".into())
        );
        let response = error.into_response();
        assert_eq!(
            response.extensions().get::<RefusalReason>().unwrap().0,
            "wrong password for user@example.com"
        );
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(!String::from_utf8_lossy(&bytes).contains("user@example.com"));
    }
}
