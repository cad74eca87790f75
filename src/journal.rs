//! The request journal: the last N requests a world answered, so a test can see exactly
//! what its client sent and why it was refused.
//!
//! An entry holds the time (on the world's clock), the client IP, the method, the path
//! with its query string masked, the status and the refusal reason in words. Bodies are
//! never recorded, and secrets that travel in the URL (an `access_token`, a `password`, an
//! `otp`, a token in a path segment) are replaced by `[redacted]` before anything is stored
//! (by `http::redact`, the one redactor of logs and journal alike).
//! Control calls (`/__mock/…`) are not journaled.
//!
//! The journal also feeds live viewers ([`Journal::watch`], behind
//! `GET /__mock/journal/stream`): every entry goes through a bounded broadcast that never
//! waits for a viewer (a viewer that falls more than [`FEED_CAPACITY`] entries behind loses
//! the oldest and is told how many), and that is not even built while nobody watches: the
//! request path then pays one relaxed atomic load. [`Viewers`] caps how many watch at once,
//! process-wide, and ends every watch when the server shuts down.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch, OwnedSemaphorePermit, Semaphore};

use crate::clock::Millis;
use crate::support::text::glob_match;

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Sequence number within the world, from 1 (not reset by clearing).
    pub id: u64,
    /// When the request arrived, ISO 8601 on the world's clock.
    pub time: String,
    /// The same instant in milliseconds since the Unix epoch.
    pub time_ms: Millis,
    /// The client's IP address.
    pub client: String,
    /// The HTTP method.
    pub method: String,
    /// The path (inside the tenant, without its `/t/<id>` prefix) and query string,
    /// secrets masked.
    pub path: String,
    /// The status answered; `None` when the connection was dropped by a fault.
    pub status: Option<u16>,
    /// Why the request was refused, in words (`wrong password for user@example.com`).
    pub reason: Option<String>,
    /// Whether an injected fault closed the connection without an answer.
    pub dropped: bool,
}

/// Which entries to return; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalFilter {
    /// Path pattern (exact, or a glob where `*` matches any run of characters) matched
    /// against the path without its query string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A status (`401`) or a class (`4xx`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A client IP address, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Only the last `limit` matching entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// What the journal keeps of one request: compact, and formatted into a [`JournalEntry`]
/// only when read (recording is on every request's path; reading is rare).
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// Arrival, on the world's clock.
    pub time_ms: Millis,
    /// The client the rate limiter counts.
    pub client: IpAddr,
    /// The HTTP method.
    pub method: http::Method,
    /// Path and query, secrets masked.
    pub path: String,
    /// The status answered; `None` when a fault dropped the connection.
    pub status: Option<u16>,
    /// The refusal reason, if any.
    pub reason: Option<String>,
}

impl Recorded {
    fn to_entry(&self, id: u64) -> JournalEntry {
        JournalEntry {
            id,
            time: crate::clock::iso8601(self.time_ms),
            time_ms: self.time_ms,
            client: self.client.to_string(),
            method: self.method.to_string(),
            path: self.path.clone(),
            status: self.status,
            reason: self.reason.clone(),
            dropped: self.status.is_none(),
        }
    }
}

/// The longest `path` filter accepted, in bytes: far above any route's path pattern, and
/// a bound on what one match costs (the matcher is linear in pattern plus path).
pub(crate) const MAX_PATH_PATTERN: usize = 1024;

/// Formats picked records as journal entries (outside any lock).
fn formatted(picked: Vec<(u64, Arc<Recorded>)>) -> Vec<JournalEntry> {
    picked.iter().map(|(id, r)| r.to_entry(*id)).collect()
}

/// How many entries a world's live feed holds for its slowest viewer: a viewer further
/// behind loses the oldest (and is told how many). Allocated only while someone watches.
pub(crate) const FEED_CAPACITY: usize = 1024;

/// How many journal streams may be open at once, over all worlds of a server.
pub(crate) const MAX_VIEWERS: usize = 32;

/// A bounded ring of [`JournalEntry`]s, and the live feed of its viewers. A plain mutex:
/// each request holds it only for one push (a few nanoseconds), and reads are rare.
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    entries: Mutex<VecDeque<(u64, Arc<Recorded>)>>,
    next_id: AtomicU64,
    /// Shared with the viewers' [`Watch`]es, which outlive neither the server nor (see
    /// `Drop`) this journal's sender.
    feed: Arc<Feed>,
}

/// The live side of a journal: a broadcast that exists only while someone watches.
#[derive(Debug, Default)]
struct Feed {
    /// How many [`Watch`]es are open: the one thing the request path reads (relaxed) when
    /// nobody watches.
    viewers: AtomicUsize,
    /// The sender, created for the first viewer and dropped after the last, so a world
    /// nobody watches holds no buffer. A mutex, not a lock-free cell: it is taken only
    /// while someone watches, for one `send` (itself behind the broadcast's own lock).
    sender: Mutex<Option<broadcast::Sender<Arc<JournalEntry>>>>,
}

impl Feed {
    fn watched(&self) -> bool {
        self.viewers.load(Ordering::Relaxed) > 0
    }

    fn subscribe(self: &Arc<Self>) -> (broadcast::Receiver<Arc<JournalEntry>>, ViewerGuard) {
        let mut sender = self.sender.lock();
        let receiver = sender
            .get_or_insert_with(|| broadcast::channel(FEED_CAPACITY).0)
            .subscribe();
        self.viewers.fetch_add(1, Ordering::Relaxed);
        (receiver, ViewerGuard(self.clone()))
    }

    fn send(&self, entry: Arc<JournalEntry>) {
        if let Some(sender) = self.sender.lock().as_ref() {
            // An error only means every receiver is gone already.
            let _ = sender.send(entry);
        }
    }
}

/// Counts one viewer of a [`Feed`]; the last one out drops the feed's buffer.
#[derive(Debug)]
struct ViewerGuard(Arc<Feed>);

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        let mut sender = self.0.sender.lock();
        if self.0.viewers.fetch_sub(1, Ordering::Relaxed) == 1 {
            sender.take();
        }
    }
}

impl Journal {
    /// A journal keeping the last `capacity` requests (0 disables it).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            next_id: AtomicU64::new(1),
            feed: Arc::default(),
        }
    }

    /// Whether anything is recorded at all.
    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Whether requests must be recorded now: the journal keeps them, or someone watches
    /// (a stream works with `--journal-size 0` too).
    pub(crate) fn wanted(&self) -> bool {
        self.enabled() || self.feed.watched()
    }

    /// Records one request (its `id` is assigned here), dropping the oldest when full,
    /// and hands it to the live viewers, if any.
    pub(crate) fn record(&self, entry: Recorded) {
        if !self.wanted() {
            return;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // Formatted outside the lock when a viewer is known to watch.
        let mut live = self.feed.watched().then(|| Arc::new(entry.to_entry(id)));
        let evicted = {
            let mut entries = self.entries.lock();
            // Sent under the ring's lock, which `watch` also takes: a new viewer's backlog
            // and its live entries meet without a gap or an overlap.
            if self.feed.watched() {
                let live = live.take().unwrap_or_else(|| Arc::new(entry.to_entry(id)));
                self.feed.send(live);
            }
            if self.enabled() {
                let evicted = (entries.len() >= self.capacity)
                    .then(|| entries.pop_front())
                    .flatten();
                entries.push_back((id, Arc::new(entry)));
                evicted
            } else {
                None
            }
        };
        // The evicted entry's strings are freed outside the lock.
        drop(evicted);
    }

    /// The matching entries, oldest first.
    ///
    /// Under the ring's lock the records are only shared (a reference count each);
    /// matching the client's pattern, applying `limit` and formatting all happen after
    /// it is released, so no filter, however costly, stalls the requests that record.
    pub(crate) fn list(&self, filter: &JournalFilter) -> Result<Vec<JournalEntry>, String> {
        let matcher = Matcher::new(filter)?;
        let snapshot = self.snapshot();
        Ok(formatted(matcher.last_matches(&snapshot, filter.limit)))
    }

    /// The ring's records, shared (taken under the lock, read after it).
    fn snapshot(&self) -> Vec<(u64, Arc<Recorded>)> {
        self.entries.lock().iter().cloned().collect()
    }

    /// Starts watching: the last `backlog` journaled entries that match, then every new
    /// one that does, as they are recorded (see [`Watch::next`]). `viewer` is the slot
    /// [`Viewers::admit`] gave, held for as long as the watch lives.
    pub(crate) fn watch(&self, matcher: Matcher, backlog: usize, viewer: Viewer) -> Watch {
        let entries = self.entries.lock();
        let (receiver, guard) = self.feed.subscribe();
        // Shared under the lock (so backlog and live entries meet without a gap or an
        // overlap), matched after it.
        let snapshot: Vec<(u64, Arc<Recorded>)> = entries.iter().cloned().collect();
        drop(entries);
        let backlog = matcher.last_matches(&snapshot, Some(backlog));
        Watch {
            backlog: formatted(backlog).into(),
            receiver,
            matcher,
            _guard: guard,
            viewer,
        }
    }

    /// Forgets every entry.
    pub(crate) fn clear(&self) {
        self.entries.lock().clear();
    }
}

impl Drop for Journal {
    /// A deleted tenant's viewers see their stream end.
    fn drop(&mut self) {
        self.feed.sender.lock().take();
    }
}

/// A [`JournalFilter`]'s conditions, checked (`status` parsed once).
#[derive(Debug, Clone, Default)]
pub(crate) struct Matcher {
    path: Option<String>,
    status: Option<StatusFilter>,
    client: Option<String>,
}

impl Matcher {
    /// The conditions of `filter` (its `limit` is not one); an error for a malformed
    /// status filter.
    pub(crate) fn new(filter: &JournalFilter) -> Result<Self, String> {
        if filter
            .path
            .as_ref()
            .is_some_and(|p| p.len() > MAX_PATH_PATTERN)
        {
            return Err(format!(
                "invalid path filter: longer than {MAX_PATH_PATTERN} bytes"
            ));
        }
        Ok(Self {
            path: filter.path.clone(),
            status: filter
                .status
                .as_deref()
                .map(StatusFilter::parse)
                .transpose()?,
            client: filter.client.clone(),
        })
    }

    /// Whether `entry` meets every condition.
    pub(crate) fn matches(&self, entry: &JournalEntry) -> bool {
        let path = entry.path.split('?').next().unwrap_or("");
        self.path.as_deref().is_none_or(|p| glob_match(p, path))
            && self.client.as_deref().is_none_or(|c| c == entry.client)
            && self.status.is_none_or(|s| s.matches(entry.status))
    }

    /// Whether a recorded (not yet formatted) entry meets every condition: the same
    /// test as [`Matcher::matches`], without formatting.
    fn matches_recorded(&self, recorded: &Recorded) -> bool {
        let path = recorded.path.split('?').next().unwrap_or("");
        self.path.as_deref().is_none_or(|p| glob_match(p, path))
            && self
                .client
                .as_deref()
                .is_none_or(|c| c.parse::<IpAddr>().is_ok_and(|ip| ip == recorded.client))
            && self.status.is_none_or(|s| s.matches(recorded.status))
    }

    /// The last `limit` (all if `None`) records of `ring` that match, oldest first,
    /// cloned (not formatted: the caller formats them after releasing the lock). Walks
    /// from the newest and stops at `limit`.
    fn last_matches(
        &self,
        ring: &[(u64, Arc<Recorded>)],
        limit: Option<usize>,
    ) -> Vec<(u64, Arc<Recorded>)> {
        let mut found: Vec<(u64, Arc<Recorded>)> = ring
            .iter()
            .rev()
            .filter(|(_, r)| self.matches_recorded(r))
            .take(limit.unwrap_or(usize::MAX))
            .map(|(id, r)| (*id, r.clone()))
            .collect();
        found.reverse();
        found
    }
}

/// What a [`Watch`] delivers next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// A matching entry (from the backlog, then live).
    Entry(Arc<JournalEntry>),
    /// The viewer fell behind and this many entries (matching or not) were lost.
    Dropped(u64),
}

/// One viewer's subscription to a world's journal ([`Journal::watch`]).
#[derive(Debug)]
pub(crate) struct Watch {
    backlog: VecDeque<JournalEntry>,
    receiver: broadcast::Receiver<Arc<JournalEntry>>,
    matcher: Matcher,
    _guard: ViewerGuard,
    viewer: Viewer,
}

impl Watch {
    /// The next delivery; `None` once the watch is over: the server is shutting down, or
    /// the world is gone (a deleted tenant).
    pub(crate) async fn next(&mut self) -> Option<Delivery> {
        if let Some(entry) = self.backlog.pop_front() {
            return Some(Delivery::Entry(Arc::new(entry)));
        }
        loop {
            let received = tokio::select! {
                received = self.receiver.recv() => received,
                () = self.viewer.stopping() => return None,
            };
            match received {
                Ok(entry) if self.matcher.matches(&entry) => return Some(Delivery::Entry(entry)),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => return Some(Delivery::Dropped(n)),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// The journal streams of one server: at most [`MAX_VIEWERS`] open at once, and all of
/// them ended by [`close`](Self::close) when the server shuts down (a stream never ends by
/// itself, so a graceful shutdown would otherwise wait for it).
#[derive(Debug)]
pub(crate) struct Viewers {
    slots: Arc<Semaphore>,
    closing: watch::Sender<bool>,
}

impl Default for Viewers {
    fn default() -> Self {
        Self {
            slots: Arc::new(Semaphore::new(MAX_VIEWERS)),
            closing: watch::channel(false).0,
        }
    }
}

impl Viewers {
    /// A slot for one more viewer; `None` when [`MAX_VIEWERS`] are watching or the server
    /// is shutting down.
    pub(crate) fn admit(&self) -> Option<Viewer> {
        if *self.closing.borrow() {
            return None;
        }
        let slot = self.slots.clone().try_acquire_owned().ok()?;
        Some(Viewer {
            _slot: slot,
            closing: self.closing.subscribe(),
        })
    }

    /// Ends every watch, now and to come.
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// One admitted viewer: its slot, and word of the server's shutdown.
#[derive(Debug)]
pub(crate) struct Viewer {
    _slot: OwnedSemaphorePermit,
    closing: watch::Receiver<bool>,
}

impl Viewer {
    /// Completes when the server shuts down.
    async fn stopping(&mut self) {
        // An error means the server (and its `Viewers`) is gone: stop too.
        let _ = self.closing.wait_for(|closing| *closing).await;
    }
}

#[derive(Debug, Clone, Copy)]
enum StatusFilter {
    Exact(u16),
    Class(u16),
}

impl StatusFilter {
    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().to_ascii_lowercase();
        let invalid =
            || format!("status filter `{text}` is neither a status (401) nor a class (4xx)");
        match text.strip_suffix("xx") {
            Some(d) if d.len() == 1 => d
                .parse::<u16>()
                .ok()
                .filter(|d| (1..=5).contains(d))
                .map(Self::Class)
                .ok_or_else(invalid),
            Some(_) => Err(invalid()),
            None => text.parse().map(Self::Exact).map_err(|_| invalid()),
        }
    }

    fn matches(self, status: Option<u16>) -> bool {
        match (self, status) {
            (Self::Exact(s), Some(x)) => s == x,
            (Self::Class(c), Some(x)) => x / 100 == c,
            (_, None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, status: Option<u16>, client: &str) -> Recorded {
        Recorded {
            time_ms: 0,
            client: client.parse().unwrap(),
            method: http::Method::GET,
            path: path.into(),
            status,
            reason: None,
        }
    }

    #[test]
    fn keeps_only_the_last_n_entries() {
        let journal = Journal::new(2);
        for p in ["/a", "/b", "/c"] {
            journal.record(entry(p, Some(200), "127.0.0.1"));
        }
        let all = journal.list(&JournalFilter::default()).unwrap();
        assert_eq!(
            all.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
            ["/b", "/c"]
        );
        assert_eq!(all[1].id, 3);
    }

    #[test]
    fn a_zero_capacity_journal_records_nothing() {
        let journal = Journal::new(0);
        journal.record(entry("/a", Some(200), "127.0.0.1"));
        assert!(journal.list(&JournalFilter::default()).unwrap().is_empty());
    }

    #[test]
    fn filters_by_path_status_class_client_and_limit() {
        let journal = Journal::new(10);
        journal.record(entry("/oauth/token", Some(400), "10.0.0.1"));
        journal.record(entry("/v1/user?x=1", Some(200), "10.0.0.2"));
        journal.record(entry("/v1/devices", Some(401), "10.0.0.1"));
        let filter = |path: Option<&str>, status: Option<&str>, client: Option<&str>| {
            journal
                .list(&JournalFilter {
                    path: path.map(Into::into),
                    status: status.map(Into::into),
                    client: client.map(Into::into),
                    limit: None,
                })
                .unwrap()
                .len()
        };
        assert_eq!(filter(Some("/v1/*"), None, None), 2);
        assert_eq!(filter(Some("/v1/user"), None, None), 1);
        assert_eq!(filter(None, Some("4xx"), None), 2);
        assert_eq!(filter(None, Some("401"), Some("10.0.0.1")), 1);
        assert!(journal
            .list(&JournalFilter {
                status: Some("4x".into()),
                ..Default::default()
            })
            .is_err());
        let last = journal
            .list(&JournalFilter {
                limit: Some(1),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(last[0].path, "/v1/devices");
    }

    fn watch(
        journal: &Journal,
        viewers: &Viewers,
        filter: &JournalFilter,
        backlog: usize,
    ) -> Watch {
        let viewer = viewers.admit().expect("a free slot");
        journal.watch(Matcher::new(filter).unwrap(), backlog, viewer)
    }

    async fn next_path(watch: &mut Watch) -> String {
        match watch.next().await {
            Some(Delivery::Entry(e)) => e.path.clone(),
            other => panic!("expected an entry, got {other:?}"),
        }
    }

    #[test]
    fn nobody_watching_a_disabled_journal_wants_nothing_recorded() {
        let journal = Journal::new(0);
        let viewers = Viewers::default();
        assert!(!journal.wanted());
        let w = watch(&journal, &viewers, &JournalFilter::default(), 0);
        assert!(journal.wanted());
        drop(w);
        assert!(!journal.wanted());
        // The last viewer out drops the feed's buffer.
        assert!(journal.feed.sender.lock().is_none());
    }

    #[tokio::test]
    async fn a_watch_gets_the_backlog_then_live_entries_that_match() {
        let journal = Journal::new(10);
        let viewers = Viewers::default();
        journal.record(entry("/a", Some(400), "10.0.0.1"));
        journal.record(entry("/b", Some(200), "10.0.0.1"));
        journal.record(entry("/c", Some(401), "10.0.0.1"));
        let filter = JournalFilter {
            status: Some("4xx".into()),
            ..Default::default()
        };
        let mut w = watch(&journal, &viewers, &filter, 1);
        journal.record(entry("/d", Some(200), "10.0.0.1"));
        journal.record(entry("/e", Some(403), "10.0.0.1"));
        assert_eq!(next_path(&mut w).await, "/c");
        assert_eq!(next_path(&mut w).await, "/e");
    }

    #[tokio::test]
    async fn a_viewer_that_falls_behind_the_feed_is_told_how_many_it_lost() {
        let journal = Journal::new(0);
        let viewers = Viewers::default();
        let mut w = watch(&journal, &viewers, &JournalFilter::default(), 0);
        let extra = 10;
        for _ in 0..FEED_CAPACITY + extra {
            journal.record(entry("/x", Some(200), "10.0.0.1"));
        }
        assert_eq!(w.next().await, Some(Delivery::Dropped(extra as u64)));
        for _ in 0..FEED_CAPACITY {
            assert_eq!(next_path(&mut w).await, "/x");
        }
    }

    #[tokio::test]
    async fn closing_the_viewers_ends_every_watch_and_refuses_new_ones() {
        let journal = Journal::new(10);
        let viewers = Viewers::default();
        let mut w = watch(&journal, &viewers, &JournalFilter::default(), 0);
        viewers.close();
        assert_eq!(w.next().await, None);
        assert!(viewers.admit().is_none());
    }

    #[test]
    fn at_most_max_viewers_are_admitted_and_a_slot_frees_when_one_goes() {
        let viewers = Viewers::default();
        let mut admitted: Vec<Viewer> = (0..MAX_VIEWERS).map_while(|_| viewers.admit()).collect();
        assert_eq!(admitted.len(), MAX_VIEWERS);
        assert!(viewers.admit().is_none());
        admitted.pop();
        assert!(viewers.admit().is_some());
    }

    #[tokio::test]
    async fn a_dropped_journal_ends_its_watches() {
        let journal = Journal::new(10);
        let viewers = Viewers::default();
        let mut w = watch(&journal, &viewers, &JournalFilter::default(), 0);
        drop(journal);
        assert_eq!(w.next().await, None);
    }

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob_match("/v1/*", "/v1/access_tokens/current"));
        assert!(glob_match("/oauth/token", "/oauth/token"));
        assert!(!glob_match("/oauth/token", "/oauth/tokens"));
        assert!(glob_match("*/current", "/v1/access_tokens/current"));
        assert!(glob_match("/v1/*/current", "/v1/access_tokens/current"));
        assert!(!glob_match("/v1/*", "/oauth/token"));
        assert!(glob_match("*", "/anything"));
    }
}
