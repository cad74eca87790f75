//! The request journal: the last N requests a world answered, so a test can see exactly
//! what its client sent and why it was refused.
//!
//! An entry holds the time (on the world's clock), the client IP, the method, the path
//! with its query string masked, the status and the refusal reason in words. Bodies are
//! never recorded, and secrets that travel in the URL (an `access_token`, a `password`, an
//! `otp`, a token in a path segment) are replaced by `[redacted]` before anything is stored
//! (by `http::redact`, the one redactor of logs and journal alike).
//! Control calls (`/__mock/…`) are not journaled.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

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

/// A bounded ring of [`JournalEntry`]s. A plain mutex: each request holds it only for one
/// push (a few nanoseconds), and reads are rare.
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    entries: Mutex<VecDeque<(u64, Recorded)>>,
    next_id: AtomicU64,
}

impl Journal {
    /// A journal keeping the last `capacity` requests (0 disables it).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            next_id: AtomicU64::new(1),
        }
    }

    /// Whether anything is recorded at all.
    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Records one request (its `id` is assigned here), dropping the oldest when full.
    pub(crate) fn record(&self, entry: Recorded) {
        if !self.enabled() {
            return;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let evicted = {
            let mut entries = self.entries.lock();
            let evicted = (entries.len() >= self.capacity)
                .then(|| entries.pop_front())
                .flatten();
            entries.push_back((id, entry));
            evicted
        };
        // The evicted entry's strings are freed outside the lock.
        drop(evicted);
    }

    /// The matching entries, oldest first.
    pub(crate) fn list(&self, filter: &JournalFilter) -> Result<Vec<JournalEntry>, String> {
        let status = filter
            .status
            .as_deref()
            .map(StatusFilter::parse)
            .transpose()?;
        let entries = self.entries.lock();
        let mut found: Vec<JournalEntry> = entries
            .iter()
            .map(|(id, r)| r.to_entry(*id))
            .filter(|e| {
                let path = e.path.split('?').next().unwrap_or("");
                filter.path.as_deref().is_none_or(|p| glob_match(p, path))
                    && filter.client.as_deref().is_none_or(|c| c == e.client)
                    && status.is_none_or(|s| s.matches(e.status))
            })
            .collect();
        if let Some(limit) = filter.limit {
            let skip = found.len().saturating_sub(limit);
            found.drain(..skip);
        }
        Ok(found)
    }

    /// Forgets every entry.
    pub(crate) fn clear(&self) {
        self.entries.lock().clear();
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
