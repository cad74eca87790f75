//! The event bus of one world (particle-api-devices.md D5, D6): every published event
//! goes through [`EventBus::publish`], whoever publishes it (the API's publish routes, a
//! simulated device through the control API, the cloud's own special events), and
//! reaches every subscriber whose [`EventFilter`] matches: the SSE streams, the
//! dashboard's live panel, and later the webhooks.
//!
//! Fair and bounded: each subscriber has its own bounded buffer, filled with `try_send`,
//! so the publisher never waits for a reader. A subscriber whose buffer is full is
//! dropped from the bus on the spot (its [`Subscription`] drains what it holds, then
//! ends with [`End::Overrun`]), so one stalled reader costs the others nothing. The SSE
//! frame of an event is rendered once, when it is published, and shared (reference
//! counted) by every stream that delivers it.
//!
//! Free of HTTP and of the directory: who may see an event is decided by the caller of
//! [`EventBus::subscribe`] (the `particle` layer), which turns a token and a path into a
//! [`Scope`]; events carry the facts a scope is matched against ([`Audience`]).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::clock::{iso8601, Millis};

/// Most subscribers one world holds at once; a subscription beyond it is refused (the
/// connection caps bound the streams well before this).
pub(crate) const MAX_SUBSCRIBERS: usize = 100_000;

/// How many recent events a world keeps for the control API's "wait for an event"
/// (an event published just before the wait began is still found).
pub(crate) const RECENT_EVENTS: usize = 256;

/// Who published an event: its `coreid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A (simulated) device: `coreid` is its id.
    Device(Box<str>),
    /// A client through `POST /v1/devices/events` or the product route: `"coreid":"api"`.
    Api,
    /// The cloud itself about a webhook (`hook-sent`, `hook-response`, `hook-error`):
    /// `"coreid":"particle-internal"` (D5.2).
    Internal,
}

impl Source {
    /// The `coreid` the wire shows.
    pub(crate) fn coreid(&self) -> &str {
        match self {
            Source::Device(id) => id,
            Source::Api => "api",
            Source::Internal => "particle-internal",
        }
    }

    /// The kind of source, in one word, for the dashboard.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Source::Device(_) => "device",
            Source::Api => "api",
            Source::Internal => "internal",
        }
    }
}

/// A party an event belongs to or a stream is opened by: a user, a customer, an API user
/// or a product token (the world's indices; the `particle` layer maps tokens to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Party {
    /// A human user.
    User(u32),
    /// A product's customer.
    Customer(u32),
    /// An API user.
    ApiUser(u32),
    /// A product bearer token.
    Product(u32),
}

/// Who may see an event, decided when it is published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Audience {
    /// The device's owner (user, else customer), or the API publisher.
    pub owner: Option<Party>,
    /// The device's product, or the product published to.
    pub product: Option<u32>,
    /// The org of that product.
    pub org: Option<Box<str>>,
    /// Published with `private: false`: on `/v1/events/{prefix}` for everyone (D5.4).
    pub public: bool,
}

/// An event to publish.
#[derive(Debug, Clone)]
pub(crate) struct NewEvent {
    /// The name (already checked by the publisher).
    pub name: String,
    /// The data; `None` is shown as `null`.
    pub data: Option<String>,
    /// Seconds; echoed as a number (D12 item 10).
    pub ttl: u32,
    /// Who published it.
    pub source: Source,
    /// Who may see it.
    pub audience: Audience,
    /// The `userid` product streams show (24 hex), if there is one.
    pub userid: Option<String>,
    /// The `version` product streams show (the device's firmware version).
    pub version: u32,
}

/// A published event, shared by every subscriber that receives it.
#[derive(Debug)]
pub(crate) struct Event {
    /// Sequence number within the world, from 1.
    pub seq: u64,
    /// The name.
    pub name: Box<str>,
    /// The data.
    pub data: Option<Box<str>>,
    /// When it was published, on the world's clock.
    pub published_at: Millis,
    /// Seconds, as published.
    pub ttl: u32,
    /// Who published it.
    pub source: Source,
    /// Who may see it.
    pub audience: Audience,
    /// Its SSE frame (`event:`, `data:`, blank line) for user and device streams.
    pub frame: Bytes,
    /// Its SSE frame for product and org streams (with `userid`, `version`, `public`,
    /// `productID`, D5.2).
    pub product_frame: Bytes,
}

/// An event as the control API, the Rust helpers and the dashboard show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventView {
    /// Sequence number within the world.
    pub seq: u64,
    /// The name.
    pub name: String,
    /// The data.
    pub data: Option<String>,
    /// Seconds.
    pub ttl: u32,
    /// ISO 8601 on the world's clock.
    pub published_at: String,
    /// The `coreid` streams show.
    pub coreid: String,
    /// `device`, `api` or `internal`.
    pub source: &'static str,
    /// Published with `private:false`.
    pub public: bool,
    /// The product it belongs to, if any.
    pub product_id: Option<u32>,
}

impl Event {
    /// The event as the control API shows it.
    pub(crate) fn view(&self) -> EventView {
        EventView {
            seq: self.seq,
            name: self.name.to_string(),
            data: self.data.as_deref().map(str::to_string),
            ttl: self.ttl,
            published_at: iso8601(self.published_at),
            coreid: self.source.coreid().to_string(),
            source: self.source.kind(),
            public: self.audience.public,
            product_id: self.audience.product,
        }
    }
}

/// The `data:` JSON of a frame, in the recorded key order (D5.2).
#[derive(Serialize)]
struct Wire<'a> {
    data: Option<&'a str>,
    ttl: u32,
    published_at: &'a str,
    coreid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    userid: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public: Option<bool>,
    #[serde(rename = "productID", skip_serializing_if = "Option::is_none")]
    product_id: Option<Option<u32>>,
}

impl Event {
    fn new(seq: u64, new: NewEvent, now: Millis) -> Self {
        let published_at = iso8601(now);
        let mut wire = Wire {
            data: new.data.as_deref(),
            ttl: new.ttl,
            published_at: &published_at,
            coreid: new.source.coreid(),
            userid: None,
            version: None,
            public: None,
            product_id: None,
        };
        let frame = render(&new.name, &wire);
        wire.userid = Some(new.userid.as_deref());
        wire.version = Some(new.version);
        wire.public = Some(new.audience.public);
        wire.product_id = Some(new.audience.product);
        let product_frame = render(&new.name, &wire);
        Self {
            seq,
            name: new.name.into(),
            data: new.data.map(Into::into),
            published_at: now,
            ttl: new.ttl,
            source: new.source,
            audience: new.audience,
            frame,
            product_frame,
        }
    }
}

/// `event: <name>\ndata: <one-line JSON>\n\n` (D5.2): the name only on the `event:`
/// line. Serialising a struct of strings and numbers cannot fail; if it ever did, the
/// data line would be `{}` rather than a broken frame.
fn render(name: &str, wire: &Wire<'_>) -> Bytes {
    let mut out = Vec::with_capacity(160 + name.len());
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    if serde_json::to_writer(&mut out, wire).is_err() {
        out.extend_from_slice(b"{}");
    }
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// Which events a subscriber receives: a scope and an optional name prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventFilter {
    /// Whose events.
    pub scope: Scope,
    /// A case-sensitive name prefix (D5.4); `None` for every name.
    pub prefix: Option<Box<str>>,
}

/// Whose events a subscriber receives (D5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `/v1/devices/events`: the party's devices' events and its own API publishes.
    Owned(Party),
    /// `/v1/events/{prefix}`: as [`Scope::Owned`], plus every public event.
    OwnedOrPublic(Party),
    /// One device's events; `private_too` for its owner or its product's team.
    Device {
        /// The device id (lower case).
        id: Box<str>,
        /// Whether private events are included.
        private_too: bool,
    },
    /// Every event of a product's devices and of publishes to the product.
    Product(u32),
    /// Every event of the org's products.
    Org(Box<str>),
    /// Everything (the dashboard; a webhook subscription filters further).
    All,
}

impl EventFilter {
    /// Whether `event` passes this filter.
    pub(crate) fn matches(&self, event: &Event) -> bool {
        if let Some(prefix) = &self.prefix {
            if !event.name.starts_with(&**prefix) {
                return false;
            }
        }
        let audience = &event.audience;
        match &self.scope {
            Scope::Owned(party) => audience.owner == Some(*party),
            Scope::OwnedOrPublic(party) => audience.public || audience.owner == Some(*party),
            Scope::Device { id, private_too } => {
                matches!(&event.source, Source::Device(d) if d.eq_ignore_ascii_case(id))
                    && (*private_too || audience.public)
            }
            Scope::Product(product) => audience.product == Some(*product),
            Scope::Org(org) => audience.org.as_deref() == Some(&**org),
            Scope::All => true,
        }
    }
}

/// Why a subscription ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The subscriber fell a full buffer behind and was dropped (the publisher never waits).
    Overrun,
    /// The bus is gone (the world was reset to new fixtures or deleted).
    Closed,
}

/// One subscriber as the bus holds it.
#[derive(Debug)]
struct Subscriber {
    filter: EventFilter,
    sender: mpsc::Sender<Arc<Event>>,
    overrun: Arc<AtomicBool>,
}

/// The subscribers and counters shared by the bus and its subscriptions.
#[derive(Debug, Default)]
struct Inner {
    /// A read-write lock: publishing (frequent) only reads the table, and a subscription
    /// takes the write side once when it opens and once when it ends. Never held across
    /// an `.await` (nothing here is async).
    subscribers: RwLock<HashMap<u64, Subscriber>>,
    next_id: AtomicU64,
}

/// Counters the control API and the dashboard show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct BusStats {
    /// Events published since the world started.
    pub published: u64,
    /// Deliveries into subscribers' buffers.
    pub delivered: u64,
    /// Subscribers dropped for falling a full buffer behind.
    pub overruns: u64,
    /// Subscribers now.
    pub subscribers: usize,
}

/// One world's event bus.
#[derive(Debug)]
pub(crate) struct EventBus {
    inner: Arc<Inner>,
    buffer: usize,
    seq: AtomicU64,
    delivered: AtomicU64,
    overruns: AtomicU64,
    /// The last [`RECENT_EVENTS`] events (a plain mutex: one push per publish).
    recent: Mutex<VecDeque<Arc<Event>>>,
    /// Wakes the control API's waiters when an event is published.
    published: tokio::sync::watch::Sender<u64>,
    /// Sees every event right after its fan-out (the webhooks' dispatcher, set once
    /// when the world's first webhook is created). It must not block: it only decides
    /// and queues.
    tap: std::sync::OnceLock<Tap>,
}

/// What a [`Tap`] runs on each event.
pub(crate) type TapFn = Box<dyn Fn(&Arc<Event>) + Send + Sync>;

/// A function every published event is shown to, after the subscribers.
pub(crate) struct Tap(pub TapFn);

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tap")
    }
}

impl EventBus {
    /// A bus whose subscribers each hold at most `buffer` unread events.
    pub(crate) fn new(buffer: usize) -> Self {
        Self {
            inner: Arc::default(),
            buffer: buffer.max(1),
            seq: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            recent: Mutex::new(VecDeque::with_capacity(RECENT_EVENTS)),
            published: tokio::sync::watch::channel(0).0,
            tap: std::sync::OnceLock::new(),
        }
    }

    /// Sets the bus's tap with `make` unless one is set already (`make` then does not
    /// run): the tap is installed at most once in a bus's life.
    pub(crate) fn tap_once(&self, make: impl FnOnce() -> Tap) {
        self.tap.get_or_init(make);
    }

    /// Subscribes with `filter`; `None` when [`MAX_SUBSCRIBERS`] already are.
    pub(crate) fn subscribe(&self, filter: EventFilter) -> Option<Subscription> {
        let (sender, receiver) = mpsc::channel(self.buffer);
        let overrun = Arc::new(AtomicBool::new(false));
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let mut subscribers = self.inner.subscribers.write();
        if subscribers.len() >= MAX_SUBSCRIBERS {
            return None;
        }
        subscribers.insert(
            id,
            Subscriber {
                filter,
                sender,
                overrun: overrun.clone(),
            },
        );
        Some(Subscription {
            id,
            receiver,
            overrun,
            bus: Arc::downgrade(&self.inner),
        })
    }

    /// Publishes `new` at `now` to every matching subscriber, without waiting for any;
    /// a subscriber whose buffer is full is dropped (see [`End::Overrun`]). Returns the
    /// event as published.
    pub(crate) fn publish(&self, new: NewEvent, now: Millis) -> Arc<Event> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let event = Arc::new(Event::new(seq, new, now));
        let mut gone: smallvec::SmallVec<[u64; 4]> = smallvec::SmallVec::new();
        let mut delivered = 0u64;
        {
            let subscribers = self.inner.subscribers.read();
            for (id, subscriber) in subscribers.iter() {
                if !subscriber.filter.matches(&event) {
                    continue;
                }
                match subscriber.sender.try_send(event.clone()) {
                    Ok(()) => delivered += 1,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        subscriber.overrun.store(true, Ordering::Relaxed);
                        gone.push(*id);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => gone.push(*id),
                }
            }
        }
        if !gone.is_empty() {
            let mut subscribers = self.inner.subscribers.write();
            for id in &gone {
                if let Some(s) = subscribers.remove(id) {
                    if s.overrun.load(Ordering::Relaxed) {
                        self.overruns.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        self.delivered.fetch_add(delivered, Ordering::Relaxed);
        {
            let mut recent = self.recent.lock();
            if recent.len() >= RECENT_EVENTS {
                recent.pop_front();
            }
            recent.push_back(event.clone());
        }
        self.published.send_replace(seq);
        if let Some(tap) = self.tap.get() {
            (tap.0)(&event);
        }
        event
    }

    /// The kept recent events after sequence number `after` that pass `filter`,
    /// oldest first.
    pub(crate) fn recent(&self, after: u64, filter: &EventFilter) -> Vec<Arc<Event>> {
        self.recent
            .lock()
            .iter()
            .filter(|e| e.seq > after && filter.matches(e))
            .cloned()
            .collect()
    }

    /// The sequence number of the last event published (0 before any).
    pub(crate) fn last_seq(&self) -> u64 {
        self.seq.load(Ordering::Relaxed)
    }

    /// Word of every publish (the last sequence number), for waiters.
    pub(crate) fn watch_published(&self) -> tokio::sync::watch::Receiver<u64> {
        self.published.subscribe()
    }

    /// The bus's counters now.
    pub(crate) fn stats(&self) -> BusStats {
        BusStats {
            published: self.seq.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            overruns: self.overruns.load(Ordering::Relaxed),
            subscribers: self.inner.subscribers.read().len(),
        }
    }

    /// Drops every subscriber: their subscriptions end with [`End::Closed`] once drained
    /// (a world reset: the streams of the old world's tokens must not outlive it).
    pub(crate) fn close_all(&self) {
        self.inner.subscribers.write().clear();
        self.recent.lock().clear();
    }
}

/// One subscriber's end of the bus: receives the matching events; unsubscribes when
/// dropped.
#[derive(Debug)]
pub(crate) struct Subscription {
    id: u64,
    receiver: mpsc::Receiver<Arc<Event>>,
    overrun: Arc<AtomicBool>,
    bus: Weak<Inner>,
}

impl Subscription {
    /// The next event, or why the subscription ended.
    pub(crate) async fn next(&mut self) -> Result<Arc<Event>, End> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// The next event or why the subscription ended, for a hand-written poll (an HTTP
    /// body): registers `cx`'s waker when nothing is ready.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Arc<Event>, End>> {
        self.receiver.poll_recv(cx).map(|next| match next {
            Some(event) => Ok(event),
            None if self.overrun.load(Ordering::Relaxed) => Err(End::Overrun),
            None => Err(End::Closed),
        })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(inner) = self.bus.upgrade() {
            inner.subscribers.write().remove(&self.id);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event(name: &str, source: Source, audience: Audience) -> NewEvent {
        NewEvent {
            name: name.into(),
            data: Some("25.34".into()),
            ttl: 60,
            source,
            audience,
            userid: Some("5d447a8c6c0ad300017dd72e".into()),
            version: 91,
        }
    }

    fn owned_by(user: u32) -> Audience {
        Audience {
            owner: Some(Party::User(user)),
            product: Some(13961),
            org: None,
            public: false,
        }
    }

    #[test]
    fn frames_are_rendered_byte_for_byte() {
        let bus = EventBus::new(4);
        let e = bus.publish(
            event(
                "temperature",
                Source::Device("0123456789abcdef01234567".into()),
                owned_by(0),
            ),
            1_437_178_338_174,
        );
        assert_eq!(
            &e.frame[..],
            b"event: temperature\ndata: {\"data\":\"25.34\",\"ttl\":60,\"published_at\":\"2015-07-18T00:12:18.174Z\",\"coreid\":\"0123456789abcdef01234567\"}\n\n"
        );
        assert_eq!(
            &e.product_frame[..],
            b"event: temperature\ndata: {\"data\":\"25.34\",\"ttl\":60,\"published_at\":\"2015-07-18T00:12:18.174Z\",\"coreid\":\"0123456789abcdef01234567\",\"userid\":\"5d447a8c6c0ad300017dd72e\",\"version\":91,\"public\":false,\"productID\":13961}\n\n"
        );
    }

    #[test]
    fn filters_match_prefix_case_sensitively_and_scope() {
        let bus = EventBus::new(4);
        let e = bus.publish(
            event("temperature", Source::Device("ab".into()), owned_by(1)),
            0,
        );
        let f = |scope, prefix: Option<&str>| EventFilter {
            scope,
            prefix: prefix.map(Into::into),
        };
        assert!(f(Scope::Owned(Party::User(1)), Some("temp")).matches(&e));
        assert!(!f(Scope::Owned(Party::User(1)), Some("Temp")).matches(&e));
        assert!(!f(Scope::Owned(Party::User(2)), None).matches(&e));
        assert!(!f(Scope::OwnedOrPublic(Party::User(2)), None).matches(&e));
        assert!(f(
            Scope::Device {
                id: "AB".into(),
                private_too: true
            },
            None
        )
        .matches(&e));
        assert!(!f(
            Scope::Device {
                id: "ab".into(),
                private_too: false
            },
            None
        )
        .matches(&e));
        assert!(f(Scope::Product(13961), None).matches(&e));
        assert!(!f(Scope::Org("o".into()), None).matches(&e));
    }

    #[tokio::test]
    async fn a_full_buffer_drops_that_subscriber_only_and_the_publisher_never_waits() {
        // Arrange: a stalled subscriber and a reading one.
        let bus = EventBus::new(2);
        let all = || EventFilter {
            scope: Scope::All,
            prefix: None,
        };
        let mut stalled = bus.subscribe(all()).unwrap();
        let mut reader = bus.subscribe(all()).unwrap();
        // Act: more events than the stalled one's buffer holds.
        for n in 0..5 {
            bus.publish(event(&format!("e{n}"), Source::Api, owned_by(0)), 0);
            assert_eq!(&*reader.next().await.unwrap().name, format!("e{n}"));
        }
        // Assert: it drains what it held, then learns why it ended.
        assert_eq!(&*stalled.next().await.unwrap().name, "e0");
        assert_eq!(&*stalled.next().await.unwrap().name, "e1");
        assert_eq!(stalled.next().await.unwrap_err(), End::Overrun);
        let stats = bus.stats();
        assert_eq!((stats.overruns, stats.subscribers), (1, 1));
        drop(reader);
        assert_eq!(bus.stats().subscribers, 0);
    }

    #[test]
    fn recent_events_are_kept_and_capped() {
        let bus = EventBus::new(1);
        for n in 0..(RECENT_EVENTS + 3) {
            bus.publish(event(&format!("e{n}"), Source::Api, owned_by(0)), 0);
        }
        let all = EventFilter {
            scope: Scope::All,
            prefix: None,
        };
        let kept = bus.recent(0, &all);
        assert_eq!(kept.len(), RECENT_EVENTS);
        assert_eq!(bus.recent(bus.last_seq() - 1, &all).len(), 1);
    }
}

/// The event streams open per client in one world (devices spec D5.7's "100 simultaneous
/// SSE connections from each public IP address"). An entry lives only while its client
/// has a stream open, so the map is bounded by the open streams. A plain mutex: taken
/// once when a stream opens and once when it ends.
#[derive(Debug, Default)]
pub(crate) struct StreamGauge {
    open: Mutex<HashMap<std::net::IpAddr, u32>>,
}

impl StreamGauge {
    /// A slot for one more stream of `client`, or `None` when it has `max` open already
    /// (`None` for `max`: no cap).
    pub(crate) fn admit(
        self: &Arc<Self>,
        client: std::net::IpAddr,
        max: Option<u32>,
    ) -> Option<StreamSlot> {
        let mut open = self.open.lock();
        let count = open.entry(client).or_insert(0);
        if max.is_some_and(|max| *count >= max) {
            if *count == 0 {
                open.remove(&client);
            }
            return None;
        }
        *count += 1;
        Some(StreamSlot {
            gauge: self.clone(),
            client,
        })
    }
}

/// One open stream counted against its client; uncounted when dropped.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    gauge: Arc<StreamGauge>,
    client: std::net::IpAddr,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.gauge.open.lock();
        if let Some(count) = open.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}
