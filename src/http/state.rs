//! The HTTP application: shared state, every route and every layer, in one place.
//!
//! One middleware pipeline (`crate::http::pipeline`: CORS, world routing, control guard,
//! request journal, rate limits, injected faults, JSON error safety net, a debug line per
//! request), then the router (Particle routes, the control API under `/__mock/`, then a
//! 404 JSON fallback).

use std::sync::Arc;

use crate::config::Config;
use crate::error::ApiError;
use crate::http::routes::{RouteIndex, PARTICLE_ROUTES};
use crate::world::Registry;

/// State shared by every handler: cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    /// All worlds.
    pub registry: Arc<Registry>,
    /// The process configuration.
    pub config: Arc<Config>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The Particle route table, indexed for the pipeline's lookup.
    pub routes: Arc<RouteIndex>,
    /// The address the server is bound to (the real port when `--listen` asked for
    /// port 0; set by the server once bound), for URLs built without a `Host` header.
    pub bound: std::net::SocketAddr,
    /// The open journal streams (capped, and ended on shutdown).
    pub viewers: Arc<crate::journal::Viewers>,
}

impl AppState {
    /// The state of a server of `registry` configured by `config`.
    pub(crate) fn new(registry: Arc<Registry>, config: Arc<Config>) -> Self {
        Self {
            registry,
            body_limit: config.max_body_bytes,
            bound: config.listen,
            config,
            // A unit test builds this index from the same constant table.
            routes: Arc::new(
                RouteIndex::new(PARTICLE_ROUTES).expect("the Particle route table is valid"),
            ),
            viewers: Arc::default(),
        }
    }
}

/// The whole service: the router (Particle routes, control API, 404 fallback) inside the
/// middleware pipeline.
pub(crate) fn app(state: AppState) -> crate::http::pipeline::Pipeline {
    let router = crate::http::routes::router()
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(state.clone());
    // The pipeline wraps the router (not `Router::layer`, which runs after routing): it
    // must rewrite tenant paths before the router sees them.
    crate::http::pipeline::Pipeline::new(state, router)
}

/// Unknown route: 404 JSON (§5.3 suggests this body).
async fn not_found() -> ApiError {
    ApiError::NotFound("Not found".into())
}
