//! Guards the control routes (`/__mock/…` except health and readiness): `--no-control`
//! makes them answer 404 like any unknown route; `--control-secret` requires an
//! `X-Mock-Control-Secret` header with that value (compared in constant time), else 401.
//! It runs after the tenant routing, so `/t/<id>/__mock/…` is guarded the same way. The
//! dashboard page and its assets (`/__mock/ui…`) need no secret, only control on.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};

use crate::error::{no_store_headers, ApiError};
use crate::http::routes::control::UNGUARDED;
use crate::http::state::AppState;
use crate::tokens::secrets_equal;

/// The header carrying the control secret.
pub(crate) const SECRET_HEADER: &str = "x-mock-control-secret";

/// Checks a control request (`/__mock/…`, health and readiness excepted; the dashboard
/// page needs no secret): `Some` refusal with `--no-control` or without the right secret,
/// `None` to let it through.
pub(crate) fn check(state: &AppState, req: &Request) -> Option<Response> {
    let path = req.uri().path();
    if UNGUARDED.contains(&path) {
        return None;
    }
    if state.config.no_control {
        return Some(
            ApiError::NotFound("Not found".into())
                .because("control API disabled (--no-control)")
                .into_response(),
        );
    }
    // The dashboard page holds no secret: it asks for it, and sends it on its own calls.
    if crate::http::routes::dashboard::is_ui(path) {
        return None;
    }
    let secret = state.config.control_secret.as_deref()?;
    let given = req
        .headers()
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if secrets_equal(secret.as_bytes(), given) {
        return None;
    }
    let mut response = ApiError::ControlSecretRequired.into_response();
    no_store_headers(response.headers_mut());
    Some(response)
}
