//! HTTP middleware that is not a route, run as ONE pipeline around the router: a plain
//! async function per request, no tower layer (no boxed `Next`), which keeps the
//! per-request cost close to a bare handler's. The per-request log line and the panic
//! net are tower-http layers around it (`http::layers`, which also says why CORS and the
//! body limit stay here):
//!
//! 1. CORS: `OPTIONS` preflight on any Particle path; `Access-Control-Allow-Origin: *`
//!    on every Particle answer (§7). Control paths (`/__mock/…`, tenants' included) get
//!    no CORS header, and their preflight is refused `403` (see `guard`).
//! 2. World routing: `/t/<id>/rest` goes to tenant `<id>` as `/rest`; the rest to the
//!    default world (`CurrentWorld` is inserted for the extractors).
//! 3. For control routes (`/__mock/…`): `guard` (`--no-control`, `--control-secret`),
//!    then `body_limit`.
//!    For every other route, in this order: `journal` (records the request and its
//!    answer), `rate_limit` (the world's per-client limits, §6; in front of everything
//!    else, like Particle's load balancer), `faults` (injected faults), `body_limit`
//!    (THE body limit: 413 for a declared body over it, before it is read; the limit
//!    recorded for the reader).
//! 4. The request's row of the route table (`routes::RouteIndex`, looked up once, before
//!    the limiter, which needs its rule). A `Direct` row (the two busiest routes,
//!    `/oauth/token` and `GET /v1/access_tokens/current`) is answered by its function
//!    without route matching; any other goes to the router, behind a JSON safety net (a
//!    non-JSON error answer becomes JSON), with the row inserted for the extractors.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::error::ApiError;
use crate::http::extract::CurrentWorld;
use crate::http::routes::{Answer, CurrentRoute, Route};
use crate::http::state::AppState;
use crate::world::World;

pub(crate) mod body_limit;
pub(crate) mod faults;
pub(crate) mod guard;
pub(crate) mod journal;
pub(crate) mod limit;

/// The whole HTTP service: the pipeline (see the module documentation for the order)
/// around the router. Cheap to clone; one per server.
#[derive(Clone)]
pub(crate) struct Pipeline {
    state: AppState,
    router: axum::Router,
}

impl Pipeline {
    /// The pipeline around `router` (a router whose state is already supplied).
    pub(crate) fn new(state: AppState, router: axum::Router) -> Self {
        Self { state, router }
    }

    /// Answers one request that arrived from `peer`.
    pub(crate) async fn answer(&self, req: Request, peer: SocketAddr) -> Response {
        // Control answers carry no CORS header and control preflights are refused
        // (issue 16: no web page may reach the control API; `guard` refuses the rest).
        let control = is_control(without_tenant(req.uri().path()));
        if req.method() == Method::OPTIONS {
            if control {
                return guard::refusal("a preflight asks to let a web page in");
            }
            return preflight(&req);
        }
        let mut response = match route_to_world(&self.state, req) {
            Ok((req, world)) => self.in_world(&world, req, peer).await,
            Err(refusal) => refusal,
        };
        if control {
            return response;
        }
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        response
    }

    /// The router itself (its `poll_ready` is always ready), with the request's world
    /// inserted for the extractors.
    async fn route(&self, world: &Arc<World>, mut req: Request) -> Response {
        req.extensions_mut().insert(CurrentWorld(world.clone()));
        let mut router = self.router.clone();
        match tower::Service::call(&mut router, req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    /// Answers a request whose row is `route`: a direct row by its own function, any
    /// other through the router (with the row inserted for the `Caller` extractor).
    async fn answer_route(
        &self,
        world: &Arc<World>,
        route: Option<&'static Route>,
        mut req: Request,
    ) -> Response {
        match route {
            Some(
                route @ Route {
                    answer: Answer::Direct(direct),
                    ..
                },
            ) => direct(&self.state, world.clone(), req, route).await,
            Some(route) => {
                req.extensions_mut().insert(CurrentRoute(route));
                json_errors(self.route(world, req).await).await
            }
            None => json_errors(self.route(world, req).await).await,
        }
    }

    async fn in_world(&self, world: &Arc<World>, mut req: Request, peer: SocketAddr) -> Response {
        let state = &self.state;
        if is_control(req.uri().path()) {
            if let Some(refusal) = guard::check(state, &req) {
                return refusal;
            }
            if let Some(too_large) = body_limit::check(state, &mut req) {
                return body_limit::linger(req, too_large).await;
            }
            return json_errors(self.route(world, req).await).await;
        }
        let client = limit::client_ip(&req, peer.ip(), state.config.trust_forwarded);
        // The request's row of the route table: its rate-limit rule, and how it is answered.
        let route = state.routes.find(req.method(), req.uri().path());
        // One reading of the world's clock for the journal and the limiter.
        let now = world.now();
        let pending = journal::start(world, &req, client, now);
        let rule = route.and_then(|r| r.limit);
        let mut response = match limit::admit(world, rule, client, now) {
            Err(refused) => refused,
            Ok(admission) => {
                let faulted = match faults::take(world, &req) {
                    Some(action) => faults::act(action).await,
                    None => None,
                };
                let mut response = match faulted {
                    Some(faulted) => faulted,
                    None => match body_limit::check(state, &mut req) {
                        Some(too_large) => body_limit::linger(req, too_large).await,
                        None => self.answer_route(world, route, req).await,
                    },
                };
                if let Some(admission) = admission {
                    admission.finish(world, &mut response);
                }
                response
            }
        };
        if let Some(pending) = pending {
            pending.finish(world, &response);
        }
        std::mem::take(&mut response)
    }
}

/// Whether a path belongs to the control API (never journaled, limited or faulted).
fn is_control(path: &str) -> bool {
    path == "/__mock" || path.starts_with("/__mock/")
}

/// `path` without a `/t/<id>` tenant prefix.
fn without_tenant(path: &str) -> &str {
    match path.strip_prefix("/t/") {
        Some(rest) => rest.find('/').map_or("/", |slash| &rest[slash..]),
        None => path,
    }
}

/// §7: the preflight answer, echoing the requested headers.
fn preflight(req: &Request) -> Response {
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
    response
}

/// Finds the request's world, rewriting `/t/<id>/rest` to `/rest` for tenants.
#[allow(clippy::result_large_err)] // the error is the answer itself, built once
fn route_to_world(state: &AppState, mut req: Request) -> Result<(Request, Arc<World>), Response> {
    let path = req.uri().path();
    let world = match path.strip_prefix("/t/") {
        Some(rest) => {
            let (id, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let Some(world) = state.registry.tenants.get(id).map(|w| w.clone()) else {
                return Err(ApiError::NotFound("Tenant not found".into())
                    .because(format!(
                        "unknown tenant `{}`",
                        crate::support::text::truncate(id)
                    ))
                    .into_response());
            };
            let tail = if tail.is_empty() { "/" } else { tail };
            let new_uri = match req.uri().query() {
                Some(q) => format!("{tail}?{q}"),
                None => tail.to_string(),
            };
            match new_uri.parse::<Uri>() {
                Ok(uri) => *req.uri_mut() = uri,
                Err(_) => return Err(ApiError::NotFound("Not found".into()).into_response()),
            }
            world
        }
        None => state.registry.default.clone(),
    };
    Ok((req, world))
}

/// Safety net: an error answer that is not JSON (an extractor's plain-text rejection)
/// becomes a Particle-shaped JSON body, because clients `JSON.parse` every error.
async fn json_errors(response: Response) -> Response {
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
    let description = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let body = serde_json::json!({ "error": error, "error_description": description });
    let mut response = Response::from_parts(parts, Body::from(body.to_string()));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    crate::error::json_headers(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use crate::http::routes::Answer;
    use std::sync::Arc;

    use axum::body::Body;
    use axum::extract::Request;
    use axum::http::{header, Method};
    use axum::response::Response;
    use http_body_util::BodyExt;

    use crate::clock::Clock;
    use crate::config::Config;
    use crate::http::state::AppState;
    use crate::world::fixtures::Fixtures;
    use crate::world::Registry;
    use crate::world::World;
    use crate::world::WorldSettings;

    #[test]
    fn only_the_reserved_prefix_is_control() {
        assert!(super::is_control("/__mock/health") && !super::is_control("/__mockery"));
    }

    fn state() -> AppState {
        let config = Config::default();
        let world = World::new(
            Fixtures::default_set(),
            WorldSettings::from(&config),
            Clock::manual(1_767_225_600_000),
            None,
        );
        AppState::new(Arc::new(Registry::new(world)), Arc::new(config))
    }

    fn request(method: Method, path: &str, authorization: &str, body: &'static str) -> Request {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, authorization)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("a valid request")
    }

    async fn seen(response: Response) -> (u16, String, Option<String>) {
        let status = response.status().as_u16();
        let cache = response
            .headers()
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap_or("").to_owned());
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned(), cache)
    }

    /// `Direct` rows are answered by the pipeline, and the router has no entry for them
    /// (no dead route only a test reaches): the pipeline answers what the direct function
    /// answers, and the bare router answers the unknown-route 404.
    #[tokio::test]
    async fn direct_rows_are_answered_by_the_pipeline_alone() {
        // Arrange: requests whose answers do not depend on fresh randomness.
        let state = state();
        let pipeline = crate::http::state::app(state.clone());
        let world = state.registry.default.clone();
        let peer = SocketAddr::from(([127, 0, 0, 1], 9));
        let cases = [
            (
                Method::GET,
                "/v1/access_tokens/current",
                "Bearer 1111111111111111111111111111111111111111",
                "",
            ),
            (
                Method::GET,
                "/v1/access_tokens/current",
                "Bearer 2222222222222222222222222222222222222222",
                "",
            ),
            (
                Method::GET,
                "/v1/access_tokens/current",
                "Bearer 3333333333333333333333333333333333333333",
                "",
            ),
            (Method::GET, "/v1/access_tokens/current", "Bearer", ""),
            (
                Method::GET,
                "/v1/access_tokens/current",
                "Bearer 1111111111111111111111111111111111111111",
                "access_token=1111111111111111111111111111111111111111",
            ),
            (
                Method::POST,
                "/oauth/token",
                "Basic cGFydGljbGU6cGFydGljbGU=",
                "grant_type=password&username=user%40example.com&password=wrong",
            ),
            (
                Method::POST,
                "/oauth/token",
                "Basic cGFydGljbGU6d3Jvbmc=",
                "grant_type=password&username=user%40example.com&password=password",
            ),
            (
                Method::POST,
                "/oauth/token",
                "Basic cGFydGljbGU6cGFydGljbGU=",
                "grant_type=implicit",
            ),
        ];
        for (method, path, authorization, body) in cases {
            // Act
            let route = state.routes.find(&method, path).expect("a row");
            let Answer::Direct(direct) = route.answer else {
                panic!("{method} {path} is not a direct row");
            };
            let by_row = seen(
                direct(
                    &state,
                    world.clone(),
                    request(method.clone(), path, authorization, body),
                    route,
                )
                .await,
            )
            .await;
            let by_pipeline = seen(
                pipeline
                    .answer(request(method.clone(), path, authorization, body), peer)
                    .await,
            )
            .await;
            let by_router = seen(
                pipeline
                    .route(&world, request(method.clone(), path, authorization, body))
                    .await,
            )
            .await;
            // Assert
            assert_eq!(
                by_row, by_pipeline,
                "{method} {path} {authorization} {body}"
            );
            assert_eq!(by_router.0, 404, "{method} {path} is routed too");
            assert!(by_router.1.contains("Not found"), "{}", by_router.1);
        }
    }
}
