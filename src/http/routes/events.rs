//! Event streams and publishing (particle-api-devices.md D5, D6): the SSE routes of
//! D5.1 and the publish routes of D6. Handlers parse the path and body and call
//! `particle::events`; this module owns only the wire: the stream's headers, the `:ok`
//! comment flushed at once, one pre-rendered frame per event, a keep-alive newline after
//! `--event-keepalive-ms` of silence, and the end of a stream whose token died (D5.6),
//! whose reader fell a full buffer behind, or whose server is shutting down.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hyper::body::Frame;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use crate::control;
use crate::error::{ApiError, Refusal};
use crate::events::{End, StreamSlot, Subscription};
use crate::http::extract::{Caller, CurrentWorld, JsonOrForm};
use crate::http::pipeline::limit::{stream_refusal_status, ClientAddr};
use crate::http::redact::redact_path_and_query;
use crate::http::routes::reply::{ok, OK_TRUE};
use crate::http::state::AppState;
use crate::journal::Recorded;
use crate::particle::events::{
    plan_stream, publish_from_api, token_alive, Publish, StreamPlan, StreamTarget,
};
use crate::rate_limit::Rule;
use crate::tokens::TokenKey;
use crate::world::World;

/// The first bytes of every stream (D5.2): a comment, flushed with the headers.
const OPENING: &[u8] = b":ok\n\n";

/// What an idle stream sends (D5.3: production "sends a newline").
const KEEP_ALIVE: &[u8] = b"\n";

/// `GET /v1/events[/{prefix}]` (D5.1): the caller's events and every public one whose
/// name starts with the prefix; without a prefix, the documented 400.
pub(super) async fn stream_public(
    State(state): State<AppState>,
    client: ClientAddr,
    uri: Uri,
    prefix: Option<Path<String>>,
    caller: Caller,
) -> Result<Response, Refusal> {
    let prefix = prefix.map(|Path(p)| p);
    open(
        &state,
        caller,
        client,
        &uri,
        StreamTarget::Public,
        prefix.as_deref(),
    )
}

/// Every other stream of D5.1: the caller's devices, one device, a product, a product's
/// device, an org, an org's device; the target is read from the path's parameters.
pub(super) async fn stream(
    State(state): State<AppState>,
    client: ClientAddr,
    uri: Uri,
    Path(params): Path<HashMap<String, String>>,
    caller: Caller,
) -> Result<Response, Refusal> {
    let product = params.get("productIdOrSlug").map(String::as_str);
    let org = params.get("orgIdOrSlug").map(String::as_str);
    // api-js turns the device `mine` into `/v1/devices/events`; a path with it literally
    // means the same.
    let device = params
        .get("deviceId")
        .map(String::as_str)
        .filter(|d| !d.eq_ignore_ascii_case("mine"));
    let target = match (org, product, device) {
        (Some(o), _, Some(d)) => StreamTarget::OrgDevice(o, d),
        (Some(o), _, None) => StreamTarget::Org(o),
        (None, Some(p), Some(d)) => StreamTarget::ProductDevice(p, d),
        (None, Some(p), None) => StreamTarget::Product(p),
        (None, None, Some(d)) => StreamTarget::Device(d),
        (None, None, None) => StreamTarget::Mine,
    };
    let prefix = params.get("rest").map(String::as_str);
    open(&state, caller, client, &uri, target, prefix)
}

/// Plans the stream (every refusal happens here, before a byte is streamed) and starts it.
fn open(
    state: &AppState,
    caller: Caller,
    client: ClientAddr,
    uri: &Uri,
    target: StreamTarget<'_>,
    prefix: Option<&str>,
) -> Result<Response, Refusal> {
    let plan = plan_stream(&caller.world, caller.token.owner, target, prefix)?;
    let slot = match admit_stream(&caller.world, client.0) {
        Ok(slot) => slot,
        Err(refusal) => {
            let mut response = refusal.into_response();
            *response.status_mut() = stream_refusal_status(&caller.world);
            return Ok(response);
        }
    };
    let StreamPlan {
        filter,
        product_frames,
    } = plan;
    let subscription = caller.world.events.subscribe(filter).ok_or_else(|| {
        ApiError::Unavailable.because("the world holds the most event subscribers it may")
    })?;
    let keep_alive = Duration::from_millis(state.config.event_keepalive_ms.max(1));
    // A shutdown closes the buses after raising the flag: a stream subscribed after that
    // would never be closed, so it is refused instead.
    let closing = state.closing.subscribe();
    if *closing.borrow() {
        return Err(ApiError::Unavailable.because("the server is shutting down"));
    }
    let live = Live {
        _slot: slot,
        subscription,
        world: Arc::downgrade(&caller.world),
        token: caller.key,
        product_frames,
        keep_alive,
        last_sent: Instant::now(),
        check: Box::pin(tokio::time::sleep(keep_alive)),
        closing,
        opened: false,
        ended: false,
        client: client.0,
        path: redact_path_and_query(uri.path(), uri.query()),
    };
    let body = Body::new(live);
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    // D5.2 (SPARK-SRV's headers; production's are unknown).
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
    Ok(response)
}

/// D5.7: counts the stream against its client's `event-streams` rule (the most open at
/// once), or refuses it with the rate-limit answer.
fn admit_stream(world: &Arc<World>, client: IpAddr) -> Result<StreamSlot, Refusal> {
    let settings = world.rate_limit_settings();
    let max = settings
        .enabled
        .then(|| settings.limit(Rule::EventStreams))
        .flatten()
        .map(|l| l.count);
    world.streams.admit(client, max).ok_or_else(|| {
        let max = max.unwrap_or(0);
        ApiError::RateLimited {
            description: format!(
                "Rate limit exceeded: {max} simultaneous event streams from one client (event-streams)."
            ),
            retry_after: None,
        }
        .because(format!("event-streams limit {max} reached"))
    })
}

/// One open stream: an HTTP body polled by the connection itself (no task, no future
/// built per event). Each poll hands over the next event's frame, or the keep-alive after
/// a whole `keep_alive` of silence; the token is re-checked every `keep_alive`, busy or
/// not (D5.6).
struct Live {
    /// Its place in the client's `event-streams` count, given back when the stream ends.
    _slot: StreamSlot,
    subscription: Subscription,
    /// Weak: a deleted tenant's streams must not keep its world alive.
    world: Weak<World>,
    /// The token the stream was opened with (D5.6).
    token: TokenKey,
    product_frames: bool,
    keep_alive: Duration,
    /// When the last bytes were handed over.
    last_sent: Instant,
    /// Due at the next token check: `keep_alive` after the last check, or sooner when a
    /// keep-alive falls due first. Armed once and moved, never rebuilt.
    check: Pin<Box<Sleep>>,
    /// True once the server is shutting down. Not polled: a shutdown closes every
    /// world's bus, which ends the stream; this only tells that end from a world reset.
    closing: watch::Receiver<bool>,
    opened: bool,
    ended: bool,
    /// For the journal entry of a stream ended by the mock.
    client: IpAddr,
    path: String,
}

impl Live {
    /// Ends the stream; `None` as the body's last frame.
    fn end(&mut self) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.ended = true;
        Poll::Ready(None)
    }

    /// Hands `bytes` to the connection.
    fn send(&mut self, bytes: Bytes) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.last_sent = Instant::now();
        Poll::Ready(Some(Ok(Frame::data(bytes))))
    }

    /// Whether the stream's token still holds; journals the end when it does not.
    fn token_alive(&self) -> bool {
        let Some(world) = self.world.upgrade() else {
            return false;
        };
        if token_alive(&world, &self.token) {
            return true;
        }
        self.journal("event stream closed: its access token was revoked or expired");
        false
    }

    /// Records why the mock ended this stream in the world's journal.
    fn journal(&self, reason: &str) {
        let Some(world) = self.world.upgrade() else {
            return;
        };
        world.journal.record(Recorded {
            time_ms: world.now(),
            client: self.client,
            method: Method::GET,
            path: self.path.clone(),
            status: Some(StatusCode::OK.as_u16()),
            reason: Some(reason.to_string()),
        });
    }
}

impl HttpBody for Live {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        if !this.opened {
            this.opened = true;
            return this.send(Bytes::from_static(OPENING));
        }
        match this.subscription.poll_next(cx) {
            Poll::Ready(Ok(event)) => {
                let frame = if this.product_frames {
                    event.product_frame.clone()
                } else {
                    event.frame.clone()
                };
                return this.send(frame);
            }
            Poll::Ready(Err(end)) => {
                match end {
                    End::Overrun => this.journal(
                        "event stream closed: the reader fell a full buffer behind (--event-buffer)",
                    ),
                    End::Closed if *this.closing.borrow() => {}
                    End::Closed => this.journal("event stream closed: the world was reset"),
                }
                return this.end();
            }
            Poll::Pending => {}
        }
        while this.check.as_mut().poll(cx).is_ready() {
            if !this.token_alive() {
                return this.end();
            }
            let now = Instant::now();
            let quiet_until = this.last_sent + this.keep_alive;
            if now >= quiet_until {
                this.check.as_mut().reset(now + this.keep_alive);
                return this.send(Bytes::from_static(KEEP_ALIVE));
            }
            // Bytes went out since the check was armed: the next keep-alive is due a
            // whole `keep_alive` after them, and the token is checked again then.
            this.check.as_mut().reset(quiet_until);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }
}

/// `POST /v1/devices/events` (D6): publishes as the caller.
pub(super) async fn publish_event(caller: Caller) -> Result<impl IntoResponse, Refusal> {
    let publish = publish_body(&caller)?;
    publish_from_api(&caller.world, caller.token.owner, None, publish)?;
    Ok(ok(OK_TRUE))
}

/// `POST /v1/products/{productIdOrSlug}/events` (D6): publishes to the product.
pub(super) async fn publish_product_event(
    Path(product): Path<String>,
    caller: Caller,
) -> Result<impl IntoResponse, Refusal> {
    let publish = publish_body(&caller)?;
    publish_from_api(&caller.world, caller.token.owner, Some(&product), publish)?;
    Ok(ok(OK_TRUE))
}

/// The publish body, JSON or form (D6): `name`, `data`, `private`, `ttl`. JSON values
/// may be strings, numbers or booleans; a form sends text.
#[derive(serde::Deserialize)]
pub(super) struct PublishBody {
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    private: Option<Value>,
    #[serde(default)]
    ttl: Option<Value>,
}

fn publish_body(caller: &Caller) -> Result<Publish, Refusal> {
    publish_fields(caller.body()?)
}

fn publish_fields(body: PublishBody) -> Result<Publish, Refusal> {
    let text = |v: Option<Value>| match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    };
    // D6: missing, "" and "false" are public, as the local cloud read them.
    let private = match body.private {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) => !(s.is_empty() || s.eq_ignore_ascii_case("false")),
        Some(_) => true,
    };
    let ttl =
        match text(body.ttl) {
            None => None,
            Some(t) if t.is_empty() => None,
            Some(t) => Some(t.trim().parse::<u32>().map_err(|_| {
                ApiError::BadRequest("ttl must be a whole number of seconds.".into())
            })?),
        };
    Ok(Publish {
        name: text(body.name),
        data: text(body.data),
        private,
        ttl,
    })
}

/// `POST /__mock/devices/{deviceId}/events` (control API): the simulated device publishes
/// (the same body and limits as D6); answers the event as published.
pub(super) async fn publish_as_device(
    CurrentWorld(world): CurrentWorld,
    Path(device): Path<String>,
    JsonOrForm(body): JsonOrForm<PublishBody>,
) -> Result<impl IntoResponse, Refusal> {
    let event = control::events::publish_as(&world, &device, publish_fields(body)?)?;
    Ok(ok(serde_json::json!({ "ok": true, "event": event })))
}

/// The wait's query: a name prefix, the last sequence number already seen, how long.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitQuery {
    name: Option<String>,
    #[serde(default)]
    after: u64,
    #[serde(default)]
    timeout_ms: u64,
}

/// `GET /__mock/events?name=&after=&timeout_ms=` (control API): the kept events after
/// `after` whose name starts with `name`, waiting up to `timeout_ms` for the first;
/// `last_seq` is what to pass as `after` next time.
pub(super) async fn wait_for_events(
    CurrentWorld(world): CurrentWorld,
    uri: Uri,
) -> Result<impl IntoResponse, Refusal> {
    let query: WaitQuery = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("invalid events query: {e}")))?;
    let wait = Duration::from_millis(query.timeout_ms);
    let events =
        control::events::wait_for_events(&world, query.name.as_deref(), query.after, wait).await;
    Ok(ok(serde_json::json!({
        "events": events,
        "last_seq": world.events.last_seq(),
        "stats": world.events.stats(),
    })))
}
