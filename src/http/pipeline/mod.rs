//! HTTP middleware that is not a route, run as ONE pipeline: a plain async function per
//! request in front of the router, and one stage around each row's handler (a small
//! tower service, no boxed `Next`), which keeps the per-request cost close to a bare
//! handler's. The per-request log line and the panic net are tower-http layers around it
//! (`http::layers`, which also says why CORS and the body limit stay here).
//!
//! In front of the router ([`Pipeline::answer`]):
//!
//! 1. CORS: `OPTIONS` preflight on any Particle path; `Access-Control-Allow-Origin: *`
//!    on every Particle answer (§7). Control paths (`/__mock/…`, tenants' included) get
//!    no CORS header, and their preflight is refused `403` (see `guard`).
//! 2. World routing: `/t/<id>/rest` goes to tenant `<id>` as `/rest`; the rest to the
//!    default world (`CurrentWorld` is inserted for the extractors).
//! 3. A trailing slash is dropped (`/v1/user/` is `/v1/user`), as the real API accepts
//!    both and Particle's own docs use `GET /v1/products/12857/team/`.
//!
//! Then the router, THE matcher: it decides once which row of the route table answers
//! (static segments win over parameters, `HEAD` reaches the `GET` row and gets its
//! headers with an empty body). Each row's handler is wrapped in its stage ([`Stage`]),
//! which reads that one decision:
//!
//! - control rows (`/__mock/…`): `guard` (`--no-control`, `--control-secret`, no web
//!   page), then `body_limit`, then the handler; every answer `no-store`.
//! - Particle rows, in this order: `journal` (records the request and its answer),
//!   `rate_limit` (the world's per-client limits, §6, with the row's rule; in front of
//!   everything else, like Particle's load balancer), `faults` (injected faults),
//!   `body_limit` (THE body limit: 413 for a declared body over it, before it is read),
//!   then the handler, with the row inserted for the `Caller` extractor's scope check.
//!
//! A request no row matches (an unknown path, or a method no row of the path has) gets
//! the same stages with no row ([`unrouted`]): journaled, counted by the global limit, and
//! answered 404. Every error answer goes through a JSON safety net (a non-JSON error
//! answer becomes JSON).
//!
//! Why the router decides and the pipeline does not dispatch: axum's router already is
//! a matchit matcher with `HEAD` and path parameters handled, and handlers keep axum's
//! own `Path` extractor; a second lookup in the pipeline (as before) could only disagree
//! with it. The stage is applied per row with `MethodRouter::route_layer`, so it knows
//! its row without a lookup.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt};

use crate::error::{no_store_headers, ApiError};
use crate::http::extract::{CurrentWorld, RequestTime};
use crate::http::routes::{dashboard, not_found, CurrentRoute, Route};
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

/// The address the request came from, inserted for the rate limiter's client identity.
#[derive(Debug, Clone, Copy)]
struct Peer(IpAddr);

/// Whether the request is for the control API, decided once in [`Pipeline::answer`].
#[derive(Debug, Clone, Copy)]
struct IsControl(bool);

impl Pipeline {
    /// The pipeline around `router` (a router whose state is already supplied, each row
    /// wrapped in its [`Stage`]).
    pub(crate) fn new(state: AppState, router: axum::Router) -> Self {
        Self { state, router }
    }

    /// Answers one request that arrived from `peer`.
    pub(crate) async fn answer(&self, req: Request, peer: SocketAddr) -> Response {
        // Control answers carry no CORS header and control preflights are refused: no
        // web page may reach the control API (`guard` refuses the rest).
        let control = is_control(without_tenant(req.uri().path()));
        let head = req.method() == Method::HEAD;
        // Any method but the safe ones may change the world (a state file saves then).
        let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
        if req.method() == Method::OPTIONS {
            if control {
                return guard::refusal("a preflight asks to let a web page in");
            }
            return preflight(&req);
        }
        if let Some(redirect) = dashboard_redirect(&self.state, &req) {
            return redirect;
        }
        let mut response = match route_to_world(&self.state, req) {
            Ok((mut req, world)) => {
                let extensions = req.extensions_mut();
                extensions.insert(CurrentWorld(world.clone()));
                extensions.insert(Peer(peer.ip()));
                extensions.insert(IsControl(control));
                // The router's `poll_ready` is always ready.
                let response = match self.router.clone().oneshot(req).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                if changes {
                    world.touch();
                }
                response
            }
            Err(refusal) => refusal,
        };
        if control {
            return response;
        }
        let headers = response.headers_mut();
        // The router wrote `Content-Length` from the body; the server writes it again
        // from the same body, after every other header, as for every answer before the
        // router carried the rows. A `HEAD` answer keeps it: its body is gone.
        if !head {
            headers.remove(header::CONTENT_LENGTH);
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        response
    }
}

/// What a [`Stage`] wraps: a control row, or a Particle row of the route table.
#[derive(Debug, Clone, Copy)]
enum Area {
    Control,
    Particle(&'static Route),
}

/// The pipeline stage around one row's handler (see the module documentation): a tower
/// layer given to `MethodRouter::route_layer`, so the row it runs for is the one the
/// router matched.
#[derive(Clone)]
pub(crate) struct Stage {
    state: Arc<AppState>,
    area: Area,
}

impl Stage {
    /// The stage of a Particle row.
    pub(crate) fn particle(state: &AppState, route: &'static Route) -> Self {
        Self {
            state: Arc::new(state.clone()),
            area: Area::Particle(route),
        }
    }

    /// The stage of a control row.
    pub(crate) fn control(state: &AppState) -> Self {
        Self {
            state: Arc::new(state.clone()),
            area: Area::Control,
        }
    }
}

impl<S> Layer<S> for Stage {
    type Service = Staged<S>;

    fn layer(&self, inner: S) -> Staged<S> {
        Staged {
            stage: self.clone(),
            inner,
        }
    }
}

/// A row's handler inside its [`Stage`].
#[derive(Clone)]
pub(crate) struct Staged<S> {
    stage: Stage,
    inner: S,
}

impl<S> Service<Request> for Staged<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let state = self.stage.state.clone();
        let area = self.stage.area;
        let inner = self.inner.clone();
        let handler = move |req: Request| async move {
            match inner.oneshot(req).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        };
        Box::pin(async move {
            Ok(match area {
                Area::Control => in_control(&state, req, handler).await,
                Area::Particle(route) => in_world(&state, Some(route), req, handler).await,
            })
        })
    }
}

/// The answer to a request no row matches (an unknown path, or a method no row of the
/// path has): the stages of its area with no row, then 404.
pub(crate) async fn unrouted(State(state): State<AppState>, req: Request) -> Response {
    let handler = |_: Request| async { not_found().await.into_response() };
    // The pipeline decided; a router used outside it decides here.
    let control = match req.extensions().get::<IsControl>() {
        Some(&IsControl(control)) => control,
        None => is_control(req.uri().path()),
    };
    if control {
        in_control(&state, req, handler).await
    } else {
        in_world(&state, None, req, handler).await
    }
}

/// The control stages: guard, body limit, the handler; every answer `no-store`.
async fn in_control<H, F>(state: &AppState, mut req: Request, handler: H) -> Response
where
    H: FnOnce(Request) -> F,
    F: Future<Output = Response>,
{
    if let Some(refusal) = guard::check(state, &req) {
        return refusal;
    }
    if let Ok(Some(host)) = guard::request_host(&req) {
        req.extensions_mut().insert(guard::RequestHost(host));
    }
    if let Some(too_large) = body_limit::check(state, &mut req) {
        return body_limit::linger(req, too_large).await;
    }
    let mut response = json_errors(handler(req).await).await;
    no_store_headers(response.headers_mut());
    response
}

/// The Particle stages (journal, rate limits, faults, body limit) around the handler of
/// `route` (`None`: no row matched).
async fn in_world<H, F>(
    state: &AppState,
    route: Option<&'static Route>,
    mut req: Request,
    handler: H,
) -> Response
where
    H: FnOnce(Request) -> F,
    F: Future<Output = Response>,
{
    let (Some(CurrentWorld(world)), Some(&Peer(peer))) = (
        req.extensions().get::<CurrentWorld>().cloned(),
        req.extensions().get::<Peer>(),
    ) else {
        // Only a router used outside `Pipeline::answer` gets here.
        return ApiError::Unavailable.into_response();
    };
    let world: &World = &world;
    let client = limit::client_ip(&req, peer, state.config.trust_forwarded);
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
                    None => {
                        if let Some(route) = route {
                            req.extensions_mut().insert(CurrentRoute(route));
                        }
                        req.extensions_mut().insert(limit::ClientAddr(client));
                        req.extensions_mut().insert(RequestTime(now));
                        json_errors(handler(req).await).await
                    }
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

/// `/`, `/__mock/` and `/__mock/ui/` (of the default world or a tenant) lead a browser to
/// the dashboard with `307` (a bare 404 would be the first thing a new user sees);
/// not with `--no-control`, where the dashboard is off.
fn dashboard_redirect(state: &AppState, req: &Request) -> Option<Response> {
    if state.config.no_control || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    let path = req.uri().path();
    let tail = without_tenant(path);
    if !matches!(tail, "/" | "/__mock" | "/__mock/" | "/__mock/ui/") {
        return None;
    }
    // A tenant's own dashboard: `/t/<id>` in front.
    let prefix = match path.strip_prefix("/t/") {
        Some(rest) => path
            .get(..3 + rest.find('/').unwrap_or(rest.len()))
            .unwrap_or_default(),
        None => "",
    };
    let location = HeaderValue::from_str(&format!("{prefix}{}", dashboard::UI_PATH)).ok()?;
    let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
    response.headers_mut().insert(header::LOCATION, location);
    no_store_headers(response.headers_mut());
    Some(response)
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

/// Finds the request's world, rewriting `/t/<id>/rest` to `/rest` for tenants, and
/// drops a trailing slash (`/v1/user/` is `/v1/user`; `/` stays).
#[allow(clippy::result_large_err)] // the error is the answer itself, built once
fn route_to_world(state: &AppState, mut req: Request) -> Result<(Request, Arc<World>), Response> {
    // The rewrites below keep only the path: the guard still needs an absolute-form
    // target's authority.
    if let Some(authority) = req.uri().authority().map(|a| a.as_str().to_string()) {
        req.extensions_mut()
            .insert(guard::TargetAuthority(authority));
    }
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let new_uri = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_string(),
        };
        if let Ok(uri) = new_uri.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
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
    #[test]
    fn only_the_reserved_prefix_is_control() {
        assert!(super::is_control("/__mock/health") && !super::is_control("/__mockery"));
    }
}
