//! Delivery (particle-api-devices.md D7.4): a world's hooks fire on its published
//! events, for real, to the test's own servers, and the answers come back as
//! `hook-sent`, `hook-response` and `hook-error` events on the owner's and the product's
//! streams (`"coreid":"particle-internal"`).
//!
//! Never in the way: the bus shows every event to a tap ([`start`] installs it once per
//! world) that only decides which hooks fire, renders their requests and queues them
//! with `try_send` on a bounded queue (`--webhook-queue`). A full queue drops the
//! delivery at once with a `hook-error` and a journal entry, and a destination that is
//! neither loopback nor allowed (`--webhook-allow-host`) gets its `hook-error` at once,
//! unsent. One dispatcher task per world sends at most `--webhook-concurrency`
//! requests at a time, each bounded by `--webhook-timeout-ms` (real time: a receiver's
//! clock is the wall's), so a hanging receiver holds one slot until its timeout and
//! nothing else. No retries.
//!
//! The one place the domain makes outbound requests (reqwest): the request itself is
//! rendered by [`request`](super::request) as plain data.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};

use crate::clock::iso8601;
use crate::events::{Audience, Event, NewEvent, Source, Tap};
use crate::journal::Recorded;
use crate::particle::webhooks::request::{fires, host_of, plan, refusal, variables, Planned};
use crate::particle::webhooks::template::render;
use crate::world::webhooks::{Delivery, HookOwner, Webhook};
use crate::world::{WebhookSettings, World};

/// The part of an answer turned into `hook-response` events (D7.4: the first 100 KB).
pub(crate) const MAX_RESPONSE: usize = 100 * 1024;

/// The size of one `hook-response` chunk (D7.4).
pub(crate) const CHUNK: usize = 512;

/// What the delivery log keeps of a body, bytes.
const LOGGED_BODY: usize = 4096;

/// One queued delivery.
struct Job {
    hook: Arc<Webhook>,
    event: Arc<Event>,
    planned: Planned,
}

/// Starts `world`'s deliveries: installs the bus tap and the dispatcher, once (later
/// calls do nothing). Outside a Tokio runtime nothing is delivered.
pub(crate) fn start(world: &Arc<World>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    world.events.tap_once(|| {
        let settings = world.settings.webhooks.clone();
        let (queue, jobs) = mpsc::channel::<Job>(settings.queue);
        let weak = Arc::downgrade(world);
        runtime.spawn(dispatch(weak.clone(), jobs, settings.clone()));
        Tap(Box::new(move |event| {
            on_event(&weak, &queue, &settings, event)
        }))
    });
}

/// The tap: which hooks `event` fires; each is refused, queued or dropped at once.
fn on_event(
    world: &Weak<World>,
    queue: &mpsc::Sender<Job>,
    settings: &WebhookSettings,
    event: &Arc<Event>,
) {
    if matches!(event.source, Source::Internal) {
        return;
    }
    let Some(world) = world.upgrade() else {
        return;
    };
    let hooks = world.store().webhooks.hooks();
    for hook in hooks.iter().filter(|h| fires(h, event)) {
        let planned = plan(hook, event);
        if let Some(why) = refusal(&planned.url, &settings.allow_hosts) {
            fail(&world, hook, event, &planned, "refused", why, None, None);
            continue;
        }
        let job = Job {
            hook: hook.clone(),
            event: event.clone(),
            planned,
        };
        if let Err(mpsc::error::TrySendError::Full(job)) = queue.try_send(job) {
            let why = format!(
                "dropped: the webhook queue is full ({} deliveries waiting, --webhook-queue)",
                settings.queue
            );
            fail(
                &world,
                &job.hook,
                event,
                &job.planned,
                "dropped",
                why,
                None,
                None,
            );
        }
    }
}

/// The dispatcher of one world: sends queued deliveries, at most `concurrency` at once;
/// ends when the world (and with it the queue's sender) is gone.
async fn dispatch(world: Weak<World>, mut jobs: mpsc::Receiver<Job>, settings: WebhookSettings) {
    let slots = Arc::new(Semaphore::new(settings.concurrency));
    let timeout = Duration::from_millis(settings.timeout_ms);
    let clients = Arc::new(Clients::new(timeout));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(job) = jobs.recv().await else {
            return;
        };
        let world = world.clone();
        let clients = clients.clone();
        tokio::spawn(async move {
            send(&world, &clients, job, settings.timeout_ms).await;
            drop(slot);
        });
    }
}

/// The two HTTP clients: one checking certificates, one not (`rejectUnauthorized:false`).
struct Clients {
    strict: Result<reqwest::Client, String>,
    lax: Result<reqwest::Client, String>,
}

impl Clients {
    fn new(timeout: Duration) -> Self {
        let build = |lax: bool| {
            reqwest::Client::builder()
                .timeout(timeout)
                // Offline by design: never through a proxy from the environment, never
                // redirected to a host the allow-list did not see.
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .danger_accept_invalid_certs(lax)
                .build()
                .map_err(|e| format!("error: no HTTP client ({e})"))
        };
        Self {
            strict: build(false),
            lax: build(true),
        }
    }
}

/// Sends one delivery and publishes what came of it.
async fn send(world: &Weak<World>, clients: &Clients, job: Job, timeout_ms: u64) {
    let Job {
        hook,
        event,
        planned,
    } = job;
    if let Some(world) = world.upgrade() {
        publish(
            &world,
            &event,
            format!("hook-sent/{}", event.name),
            Some("undefined".into()),
        );
    }
    let host = host_of(&planned.url).unwrap_or_default();
    let client = if hook.reject_unauthorized {
        &clients.strict
    } else {
        &clients.lax
    };
    let started = tokio::time::Instant::now();
    let outcome = match client {
        Ok(client) => exchange(client, &planned).await,
        Err(e) => Err(Failure::Other(e.clone())),
    };
    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let Some(world) = world.upgrade() else {
        return;
    };
    match outcome {
        Ok((status, body)) if (200..300).contains(&status) => {
            respond(&world, &hook, &event, &body);
            log(
                &world,
                &hook,
                &event,
                &planned,
                Outcome {
                    word: "sent",
                    status: Some(status),
                    response: Some(&body),
                    duration_ms: Some(elapsed),
                    error: None,
                },
            );
        }
        Ok((status, body)) => {
            let why = format!("error status {status} from {host}");
            publish_error(&world, &hook, &event, &why);
            log(
                &world,
                &hook,
                &event,
                &planned,
                Outcome {
                    word: "failed",
                    status: Some(status),
                    response: Some(&body),
                    duration_ms: Some(elapsed),
                    error: Some(why),
                },
            );
        }
        Err(failure) => {
            let why = match failure {
                Failure::Timeout => format!(
                    "timeout: no answer from {host} within {timeout_ms} ms (--webhook-timeout-ms)"
                ),
                Failure::Other(e) => format!("error from {host}: {e}"),
            };
            fail(
                &world,
                &hook,
                &event,
                &planned,
                "failed",
                why,
                None,
                Some(elapsed),
            );
        }
    }
}

/// Why a request got no answer.
enum Failure {
    Timeout,
    Other(String),
}

/// One request and the first [`MAX_RESPONSE`] bytes of its answer.
async fn exchange(client: &reqwest::Client, planned: &Planned) -> Result<(u16, Vec<u8>), Failure> {
    let method = reqwest::Method::from_bytes(planned.method.as_bytes())
        .map_err(|_| Failure::Other(format!("bad method {}", planned.method)))?;
    let mut request = client.request(method, &planned.url);
    for (name, value) in &planned.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some((user, password)) = &planned.auth {
        request = request.basic_auth(user, Some(password));
    }
    if let Some(body) = &planned.body {
        request = request.body(body.clone());
    }
    let classify = |e: reqwest::Error| {
        if e.is_timeout() {
            Failure::Timeout
        } else {
            Failure::Other(short_error(&e))
        }
    };
    let mut response = request.send().await.map_err(classify)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        let room = MAX_RESPONSE.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_RESPONSE {
            break;
        }
    }
    Ok((status, body))
}

/// reqwest's error and its innermost cause, without the URL (already in the log).
fn short_error(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_request() {
        "request failed"
    } else {
        "failed"
    };
    format!("{kind} ({cause})")
}

/// D7.4: `hook-response/<event>/<n>` (or the hook's `responseTopic`), the answer (or
/// its `responseTemplate` rendering) in 512-byte chunks, or one event with `unchunked`;
/// nothing for an empty answer.
fn respond(world: &World, hook: &Webhook, event: &Arc<Event>, body: &[u8]) {
    let vars = variables(event);
    let text = String::from_utf8_lossy(body).into_owned();
    let data = match &hook.response_template {
        Some(template) => {
            let mut context = match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(fields)) => fields,
                _ => serde_json::Map::new(),
            };
            if let serde_json::Value::Object(vars) = vars.clone() {
                for (k, v) in vars {
                    context.entry(k).or_insert(v);
                }
            }
            render(template, &serde_json::Value::Object(context))
        }
        None => text,
    };
    if data.is_empty() {
        return;
    }
    let topic = match (&hook.response_topic, &hook.owner) {
        (Some(topic), _) => render(topic, &vars),
        (None, HookOwner::User(_)) => format!("hook-response/{}", event.name),
        (None, HookOwner::Product(_) | HookOwner::Org(_)) => {
            format!("{}/hook-response/{}", event.source.coreid(), event.name)
        }
    };
    let data = cut(&data, MAX_RESPONSE);
    if hook.unchunked {
        publish(world, event, format!("{topic}/0"), Some(data.into()));
        return;
    }
    for (n, chunk) in chunks(data, CHUNK).enumerate() {
        publish(world, event, format!("{topic}/{n}"), Some(chunk.into()));
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` in pieces of at most `size` bytes, split between characters.
fn chunks(mut text: &str, size: usize) -> impl Iterator<Item = &str> {
    std::iter::from_fn(move || {
        if text.is_empty() {
            return None;
        }
        let mut piece = cut(text, size);
        if piece.is_empty() {
            // A character longer than `size` (impossible for 512): take it whole.
            let width = text.chars().next().map_or(text.len(), char::len_utf8);
            piece = &text[..width];
        }
        text = &text[piece.len()..];
        Some(piece)
    })
}

/// D7.4: `hook-error/<event>/0` (or the hook's `errorResponseTopic`) with the reason.
fn publish_error(world: &World, hook: &Webhook, event: &Arc<Event>, why: &str) {
    let topic = match &hook.error_response_topic {
        Some(topic) => render(topic, &variables(event)),
        None => format!("hook-error/{}", event.name),
    };
    publish(world, event, format!("{topic}/0"), Some(why.into()));
}

/// Publishes a result event about `event`: from the cloud, to the same owner, product
/// and org (D7.4: the owner's and the product's streams), never public.
fn publish(world: &World, event: &Event, name: String, data: Option<String>) {
    let audience = Audience {
        public: false,
        ..event.audience.clone()
    };
    world.events.publish(
        NewEvent {
            name,
            data,
            ttl: 60,
            source: Source::Internal,
            audience,
            userid: None,
            version: 0,
        },
        world.now(),
    );
}

/// A delivery that failed before or without an answer: its `hook-error` and its log.
#[allow(clippy::too_many_arguments)]
fn fail(
    world: &World,
    hook: &Webhook,
    event: &Arc<Event>,
    planned: &Planned,
    word: &'static str,
    why: String,
    status: Option<u16>,
    duration_ms: Option<u64>,
) {
    publish_error(world, hook, event, &why);
    log(
        world,
        hook,
        event,
        planned,
        Outcome {
            word,
            status,
            response: None,
            duration_ms,
            error: Some(why),
        },
    );
}

/// How a delivery ended, for the log.
struct Outcome<'a> {
    word: &'static str,
    status: Option<u16>,
    response: Option<&'a [u8]>,
    duration_ms: Option<u64>,
    error: Option<String>,
}

/// Whether a header's value is a secret the log must not show.
fn secret_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "key",
        "password",
        "auth",
        "signature",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

/// `scheme://user:password@host…` with the user information redacted.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://[redacted]@{host}{}", &rest[end..]),
        None => url.to_string(),
    }
}

fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(LOGGED_BODY)]);
    text.into_owned()
}

/// Logs a delivery (redacted) in the world's delivery log and its journal.
fn log(world: &World, hook: &Webhook, event: &Event, planned: &Planned, outcome: Outcome<'_>) {
    let mut headers: Vec<(String, String)> = planned
        .headers
        .iter()
        .map(|(n, v)| {
            let shown = if secret_header(n) {
                "[redacted]".to_string()
            } else {
                v.clone()
            };
            (n.clone(), shown)
        })
        .collect();
    if planned.auth.is_some() {
        headers.push(("Authorization".into(), "Basic [redacted]".into()));
    }
    let url = redact_url(&planned.url);
    let reason = match &outcome.error {
        Some(error) => format!("webhook {} for {}: {error}", hook.id, event.name),
        None => format!(
            "webhook {} for {}: {} in {} ms",
            hook.id,
            event.name,
            outcome.status.unwrap_or_default(),
            outcome.duration_ms.unwrap_or_default()
        ),
    };
    let delivery = Delivery {
        seq: 0,
        webhook_id: hook.id.clone(),
        event: event.name.to_string(),
        event_seq: event.seq,
        at: iso8601(world.now()),
        method: planned.method.clone(),
        url: url.clone(),
        headers,
        body: planned.body.as_deref().map(excerpt),
        status: outcome.status,
        response: outcome.response.map(excerpt),
        duration_ms: outcome.duration_ms,
        error: outcome.error,
        outcome: outcome.word,
    };
    world.store().webhooks.log(delivery);
    tracing::info!(webhook = %hook.id, outcome = outcome.word, "webhook delivery");
    world.journal.record(Recorded {
        time_ms: world.now(),
        // The mock itself is the client of a delivery.
        client: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        method: http::Method::from_bytes(planned.method.as_bytes()).unwrap_or(http::Method::POST),
        path: format!("webhook → {url}"),
        status: outcome.status,
        reason: Some(reason),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_512_bytes_split_between_characters() {
        let text = "é".repeat(300); // 600 bytes
        let pieces: Vec<&str> = chunks(&text, CHUNK).collect();
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].len(), 512);
        assert_eq!(pieces[1].len(), 88);
        assert_eq!(cut("abc", 2), "ab");
    }

    #[test]
    fn secrets_are_redacted_from_urls_and_headers() {
        assert_eq!(
            redact_url("http://u:p@127.0.0.1:1/x?y=1"),
            "http://[redacted]@127.0.0.1:1/x?y=1"
        );
        assert_eq!(redact_url("http://127.0.0.1/a@b"), "http://127.0.0.1/a@b");
        assert!(secret_header("X-Api-Key") && secret_header("Authorization"));
        assert!(!secret_header("Content-Type"));
    }
}
