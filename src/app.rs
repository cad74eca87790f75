//! The HTTP application: shared state, every route and every layer, in one place.
//!
//! One middleware pipeline (`crate::middleware`: CORS, world routing, control guard,
//! request journal, rate limits, injected faults, JSON error safety net, a debug line per
//! request), then the router (Particle routes, the control API under `/__mock/`, then a
//! 404 JSON fallback).

use std::sync::Arc;

use dashmap::DashMap;

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
    /// The open journal streams (capped, and ended on shutdown).
    pub viewers: Arc<crate::journal::Viewers>,
}

/// The whole service: the router (Particle routes, control API, 404 fallback) inside the
/// middleware pipeline.
pub(crate) fn app(state: AppState) -> crate::middleware::Pipeline {
    let router = crate::routes::router()
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(state.clone());
    // The pipeline wraps the router (not `Router::layer`, which runs after routing): it
    // must rewrite tenant paths before the router sees them.
    crate::middleware::Pipeline::new(state, router)
}

/// The path as logs may show it: a token in a path (`DELETE /v1/access_tokens/{token}`)
/// and any segment shaped like one (40 hex characters) become `[redacted]`.
pub(crate) fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    let secret =
        |segment: &str| segment.len() == 40 && segment.bytes().all(|b| b.is_ascii_hexdigit());
    let after_tokens = path
        .strip_prefix("/v1/access_tokens/")
        .is_some_and(|rest| rest != "current" && !rest.is_empty());
    if !after_tokens && !path.split('/').any(secret) {
        return std::borrow::Cow::Borrowed(path);
    }
    let redacted: Vec<&str> = path
        .split('/')
        .enumerate()
        .map(|(i, segment)| {
            if secret(segment) || (after_tokens && i == 3) {
                "[redacted]"
            } else {
                segment
            }
        })
        .collect();
    std::borrow::Cow::Owned(redacted.join("/"))
}

/// Unknown route: 404 JSON (§5.3 suggests this body).
async fn not_found() -> ApiError {
    ApiError::NotFound("Not found".into())
}
#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn tokens_in_paths_are_redacted_for_logs() {
        let token = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            loggable_path(&format!("/v1/access_tokens/{token}")),
            "/v1/access_tokens/[redacted]"
        );
        assert_eq!(
            loggable_path("/v1/access_tokens/not-a-token"),
            "/v1/access_tokens/[redacted]"
        );
        assert_eq!(
            loggable_path("/v1/access_tokens/current"),
            "/v1/access_tokens/current"
        );
        assert_eq!(loggable_path(&format!("/x/{token}/y")), "/x/[redacted]/y");
        assert_eq!(loggable_path("/v1/user"), "/v1/user");
    }
}
