//! Guards the control routes (`/__mock/…` except health and readiness): `--no-control`
//! makes them answer 404 like any unknown route; `--control-secret` requires an
//! `X-Mock-Control-Secret` header with that value (compared in constant time), else 401.
//! It runs after the tenant routing, so `/t/<id>/__mock/…` is guarded the same way.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::{no_store_headers, ApiError};
use crate::routes::control::UNGUARDED;
use crate::tokens::secrets_equal;

/// The header carrying the control secret.
pub(crate) const SECRET_HEADER: &str = "x-mock-control-secret";

/// The guard layer (wired in `app.rs`, inside the world routing); other paths pass.
pub(crate) async fn guard_control(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let is_control = path == "/__mock" || path.starts_with("/__mock/");
    if !is_control || UNGUARDED.contains(&path) {
        return next.run(req).await;
    }
    if state.config.no_control {
        return ApiError::NotFound("Not found".into())
            .because("control API disabled (--no-control)")
            .into_response();
    }
    if let Some(secret) = state.config.control_secret.as_deref() {
        let given = req
            .headers()
            .get(SECRET_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !secrets_equal(secret.as_bytes(), given) {
            let mut response = ApiError::ControlSecretRequired.into_response();
            no_store_headers(response.headers_mut());
            return response;
        }
    }
    next.run(req).await
}
