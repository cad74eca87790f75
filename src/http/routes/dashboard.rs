//! The live dashboard and the streams it reads: `GET /__mock/ui` (one page and its two
//! assets, embedded in the binary from `assets/ui/`), `GET /__mock/journal/stream` (the
//! request journal as server-sent events, usable with `curl -N` too) and
//! `GET /__mock/events/stream` (every event of the world, from the same bus as the
//! Particle event streams).
//!
//! Both are control routes, listed in `control::routes()` and guarded like the others,
//! except that the page and its assets need no control secret: a browser cannot send a
//! header on navigation, and the page holds nothing secret (it asks for the secret and
//! sends it on each of its own calls). `--no-control` turns them off like every control
//! route.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderName, HeaderValue, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde::Deserialize;

use crate::error::{ApiError, Refusal};
use crate::events::{
    Event as BusEvent, EventFilter, EventView, Scope, Subscription, RECENT_EVENTS,
};
use crate::http::extract::CurrentWorld;
use crate::http::state::AppState;
use crate::journal::{Delivery, JournalFilter, Matcher, Viewer, Watch, MAX_VIEWERS};

/// The dashboard's path; its assets are under it.
pub(crate) const UI_PATH: &str = "/__mock/ui";

/// How often an idle stream sends a comment line, so that proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The page: markup only; script and style come from [`ASSETS`] (the page's
/// Content-Security-Policy allows nothing inline).
const PAGE: &str = include_str!("../../../assets/ui/index.html");

/// The page's assets, by file name: content type and content.
const ASSETS: [(&str, &str, &str); 2] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../assets/ui/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../../assets/ui/app.css"),
    ),
];

/// Same-origin only: the page may load its own assets and call its own server, nothing
/// else, and may not be framed (no clickjacking of the clock or revoke buttons).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// Whether a path is the page or one of its assets (served without the control secret).
pub(crate) fn is_ui(path: &str) -> bool {
    path.strip_prefix(UI_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// `GET /__mock/ui`: the dashboard.
pub(crate) async fn page() -> Response {
    embedded("text/html; charset=utf-8", PAGE)
}

/// `GET /__mock/ui/{file}`: one of the page's assets.
pub(crate) async fn asset(Path(file): Path<String>) -> Result<Response, Refusal> {
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .map(|(_, content_type, body)| embedded(content_type, body))
        .ok_or_else(|| ApiError::NotFound("Not found".into()).into())
}

fn embedded(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The stream's query: the journal's filters, and how much of the journal to replay.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    path: Option<String>,
    status: Option<String>,
    client: Option<String>,
    /// Replay the last N matching journaled entries first (default 0: only new ones).
    backlog: Option<usize>,
}

impl StreamQuery {
    /// The query of `uri`: its filters, checked, and the backlog asked for.
    fn parse(uri: &Uri) -> Result<(Matcher, usize), Refusal> {
        let query: StreamQuery = serde_urlencoded::from_str(uri.query().unwrap_or(""))
            .map_err(|e| ApiError::BadRequest(format!("invalid journal stream query: {e}")))?;
        let matcher = Matcher::new(&JournalFilter {
            path: query.path,
            status: query.status,
            client: query.client,
            limit: None,
        })
        .map_err(ApiError::BadRequest)?;
        Ok((matcher, query.backlog.unwrap_or(0)))
    }
}

/// `GET /__mock/journal/stream`: one `data:` event per answered request of this world
/// (the journal entry's JSON, with `id:` its journal id), `event: dropped` with
/// `{"dropped":N}` when this viewer fell behind, a comment every 15 s when idle. Ends when
/// the server shuts down or the tenant is deleted.
pub(crate) async fn stream(
    State(state): State<AppState>,
    CurrentWorld(world): CurrentWorld,
    uri: Uri,
) -> Result<impl IntoResponse, Refusal> {
    let (matcher, backlog) = StreamQuery::parse(&uri)?;
    let viewer = state
        .viewers
        .admit()
        .ok_or(ApiError::TooManyViewers { max: MAX_VIEWERS })?;
    let watch = world.journal.watch(matcher, backlog, viewer);
    let opened = Event::default().comment("particle-auth-mock journal stream");
    let events = futures_util::stream::once(async { Ok(opened) })
        .chain(futures_util::stream::unfold(watch, next_event));
    let keep_alive = KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive");
    // `X-Accel-Buffering: no` tells nginx-style proxies not to buffer the stream.
    Ok((
        [(HeaderName::from_static("x-accel-buffering"), "no")],
        Sse::new(events).keep_alive(keep_alive),
    ))
}

/// The body of an `event: dropped`.
#[derive(serde::Serialize)]
struct Dropped {
    dropped: u64,
}

async fn next_event(mut watch: Watch) -> Option<(Result<Event, Infallible>, Watch)> {
    let event = match watch.next().await? {
        Delivery::Entry(entry) => Event::default().id(entry.id.to_string()).json_data(&*entry),
        Delivery::Dropped(dropped) => Event::default()
            .event("dropped")
            .json_data(Dropped { dropped }),
    }
    // Plain strings and numbers always serialise; never end the stream over it.
    .unwrap_or_else(|_| Event::default().comment("unserialisable event"));
    Some((Ok(event), watch))
}

/// The events stream's query: how many kept events to replay first.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    backlog: Option<usize>,
}

/// An event as the dashboard shows it: the control API's view and its kind of source,
/// where `special` is the cloud's own events (D5.5's `spark/…`, which neither a client
/// nor a device may publish).
#[derive(serde::Serialize)]
struct LiveEvent<'a> {
    #[serde(flatten)]
    event: &'a EventView,
    kind: &'static str,
}

fn live_event(event: &BusEvent) -> Event {
    let view = event.view();
    let special = view.name.starts_with("spark/") || view.name.starts_with("particle/");
    let kind = if special { "special" } else { view.source };
    Event::default()
        .id(view.seq.to_string())
        .json_data(LiveEvent { event: &view, kind })
        .unwrap_or_else(|_| Event::default().comment("unserialisable event"))
}

/// `GET /__mock/events/stream[?backlog=N]`: every event published in this world (the
/// control API's event JSON with `kind`: `device`, `api` or `special`; `id:` its
/// sequence number), after the last N kept ones. A viewer that falls `--event-buffer`
/// events behind is ended, like any subscriber (the page reconnects); it counts against
/// the journal streams' viewer cap.
pub(crate) async fn events_stream(
    State(state): State<AppState>,
    CurrentWorld(world): CurrentWorld,
    uri: Uri,
) -> Result<impl IntoResponse, Refusal> {
    let query: EventsQuery = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("invalid events stream query: {e}")))?;
    let viewer = state
        .viewers
        .admit()
        .ok_or(ApiError::TooManyViewers { max: MAX_VIEWERS })?;
    let filter = EventFilter {
        scope: Scope::All,
        prefix: None,
    };
    let subscription = world.events.subscribe(filter.clone()).ok_or_else(|| {
        ApiError::Unavailable.because("the world holds the most event subscribers it may")
    })?;
    // Subscribed first, then the backlog read up to `last`: an event published in
    // between is in both, and the live part skips it.
    let last = world.events.last_seq();
    let mut backlog = world.events.recent(0, &filter);
    backlog.retain(|e| e.seq <= last);
    let keep = query.backlog.unwrap_or(0).min(RECENT_EVENTS);
    let replay: Vec<Event> = backlog[backlog.len().saturating_sub(keep)..]
        .iter()
        .map(|e| live_event(e))
        .collect();
    let opened = Event::default().comment("particle-auth-mock events stream");
    let events = futures_util::stream::once(async { Ok(opened) })
        .chain(futures_util::stream::iter(replay.into_iter().map(Ok)))
        .chain(futures_util::stream::unfold(
            (subscription, viewer, last),
            next_bus_event,
        ));
    let keep_alive = KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive");
    Ok((
        [(HeaderName::from_static("x-accel-buffering"), "no")],
        Sse::new(events).keep_alive(keep_alive),
    ))
}

async fn next_bus_event(
    (mut subscription, viewer, last): (Subscription, Viewer, u64),
) -> Option<(Result<Event, Infallible>, (Subscription, Viewer, u64))> {
    loop {
        // An overrun or a reset world ends the stream; the page reconnects.
        let event = subscription.next().await.ok()?;
        if event.seq > last {
            return Some((Ok(live_event(&event)), (subscription, viewer, last)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_page_and_what_is_under_it_are_the_dashboard() {
        assert!(is_ui("/__mock/ui") && is_ui("/__mock/ui/app.js"));
        assert!(!is_ui("/__mock/uix") && !is_ui("/__mock/clock") && !is_ui("/ui"));
    }

    #[test]
    fn every_asset_the_page_links_is_embedded() {
        for (name, _, body) in ASSETS {
            assert!(PAGE.contains(&format!("{UI_PATH}/{name}")), "{name}");
            assert!(!body.is_empty(), "{name}");
        }
    }
}
