//! The HTTP application: shared state, every route and every layer, in one place.
//!
//! Layers: request tracing, then one middleware pipeline (`crate::middleware`: CORS,
//! world routing, control guard, request journal, rate limits, injected faults, JSON
//! error safety net), then the router (Particle routes, the control API under
//! `/__mock/`, then a 404 JSON fallback).

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware;
use axum::Router;
use dashmap::DashMap;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::ApiError;
use crate::world::World;

/// Every world this process serves.
#[derive(Debug)]
pub(crate) struct Registry {
    /// The world at `/`.
    pub default: Arc<World>,
    /// Tenants by id, served at `/t/<id>`. Sharded map: tenant lookups happen on every
    /// tenant request, creation and deletion are rare.
    pub tenants: DashMap<String, Arc<World>>,
    /// Serialises tenant creation so the `--max-tenants` cap holds under concurrency.
    pub tenant_gate: parking_lot::Mutex<()>,
}

impl Registry {
    /// A registry serving `default` at `/` and no tenant yet.
    pub(crate) fn new(default: World) -> Self {
        Self {
            default: Arc::new(default),
            tenants: DashMap::new(),
            tenant_gate: parking_lot::Mutex::new(()),
        }
    }
}

/// State shared by every handler: cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    /// All worlds.
    pub registry: Arc<Registry>,
    /// The process configuration.
    pub config: Arc<Config>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
}

/// The whole service: the router inside the middleware pipeline and request tracing.
pub(crate) fn app(state: AppState) -> Router {
    let router = crate::routes::router()
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(state.clone());
    Router::new()
        .fallback_service(router)
        .layer(middleware::from_fn_with_state(
            state,
            crate::middleware::pipeline,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The path only: query strings may carry access_token (§2.1).
            tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
        }))
}

/// Unknown route: 404 JSON (§5.3 suggests this body).
async fn not_found() -> ApiError {
    ApiError::NotFound("Not found".into())
}
