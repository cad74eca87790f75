//! The control API under `/__mock/`, a prefix the real Particle API never uses.

use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::app::AppState;
use crate::routes::{ok, NoStore};

/// The control routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/__mock/health", get(health))
        .route("/__mock/ready", get(ready))
}

#[derive(Serialize)]
struct Health {
    ok: bool,
    status: &'static str,
}

/// Liveness: the process answers HTTP.
async fn health() -> impl IntoResponse {
    NoStore(ok(Health {
        ok: true,
        status: "live",
    }))
}

/// Readiness: fixtures are loaded and the socket is bound (always true once serving).
async fn ready() -> impl IntoResponse {
    NoStore(ok(Health {
        ok: true,
        status: "ready",
    }))
}
