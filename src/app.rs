//! The HTTP application: shared state, every route and every layer, in one place.
//!
//! Layers, outermost first: CORS (and `OPTIONS` preflight on any path, §7) → world routing
//! (`/t/<id>/…` to a tenant, everything else to the default world) → request journal →
//! control guard → rate limits (the world's own limiter, §6) → injected faults → JSON
//! error safety net → the router (Particle routes, the control API under `/__mock/`,
//! then a 404 JSON fallback).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use dashmap::DashMap;
use http_body_util::BodyExt;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::ApiError;
use crate::extract::CurrentWorld;
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

/// The whole service: layers around the router.
pub(crate) fn app(state: AppState) -> Router {
    let router = crate::routes::router()
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(state.clone());
    Router::new()
        .fallback_service(router)
        .layer(middleware::from_fn(json_errors))
        // Per world (they read `CurrentWorld`): the journal sees what the faults answered,
        // and the 429s of the rate limiter (which, like Particle's load balancer, sits in
        // front of everything else a request meets).
        .layer(middleware::from_fn(
            crate::middleware::faults::inject_faults,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::rate_limit::rate_limit,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::guard::guard_control,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::journal::record_request,
        ))
        .layer(middleware::from_fn_with_state(state, route_to_world))
        .layer(middleware::from_fn(cors))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The path only: query strings may carry access_token (§2.1).
            tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
        }))
}

/// Unknown route: 404 JSON (§5.3 suggests this body).
async fn not_found() -> ApiError {
    ApiError::NotFound("Not found".into())
}

/// §7: `Access-Control-Allow-Origin: *` on every answer; preflight on any path.
async fn cors(req: Request, next: Next) -> Response {
    if req.method() == Method::OPTIONS {
        let requested = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or(HeaderValue::from_static(
                "X-Requested-With, Content-Type, Accept, Authorization",
            ));
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("300"),
        );
        return response;
    }
    let mut response = next.run(req).await;
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// Routes `/t/<id>/rest` to tenant `<id>` (rewriting the path to `/rest`) and everything
/// else to the default world.
async fn route_to_world(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let world = match path.strip_prefix("/t/") {
        Some(rest) => {
            let (id, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let Some(world) = state.registry.tenants.get(id).map(|w| w.clone()) else {
                return ApiError::NotFound("Tenant not found".into())
                    .because(format!(
                        "unknown tenant `{}`",
                        id.chars().take(64).collect::<String>()
                    ))
                    .into_response();
            };
            let tail = if tail.is_empty() { "/" } else { tail };
            let new_uri = match req.uri().query() {
                Some(q) => format!("{tail}?{q}"),
                None => tail.to_string(),
            };
            match new_uri.parse::<Uri>() {
                Ok(uri) => *req.uri_mut() = uri,
                Err(_) => return ApiError::NotFound("Not found".into()).into_response(),
            }
            world
        }
        None => state.registry.default.clone(),
    };
    req.extensions_mut().insert(CurrentWorld(world));
    next.run(req).await
}

/// Safety net: an error answer that is not JSON (an extractor's plain-text rejection)
/// becomes a Particle-shaped JSON body, because clients `JSON.parse` every error.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = body
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        s if s.is_server_error() => "server_error",
        _ => "invalid_request",
    };
    let body = serde_json::json!({
        "error": error,
        "error_description": if text.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text },
    });
    let mut response = Response::from_parts(parts, Body::from(body.to_string()));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    crate::error::json_headers(response.headers_mut());
    response
}
