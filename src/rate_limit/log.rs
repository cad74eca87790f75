//! One client's state: its log of admitted requests, read by the sliding and fixed
//! algorithms, its failure streak and block, and the `Retry-After` arithmetic.

use smallvec::SmallVec;

use crate::clock::Millis;
use crate::rate_limit::rules::{Algorithm, Limit, Rule, MAX_WINDOW_MS, REBASE_AFTER_MS};

/// One rule's standing after a decision, for the rate-limit headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quota {
    pub rule: Rule,
    pub limit: Limit,
    /// Requests counted now (may exceed the limit after it was lowered at run time).
    pub count: u32,
    pub remaining: u32,
    /// Whole seconds until `remaining` grows (0 if nothing is counted).
    pub reset_secs: u64,
}

/// One admitted request in a client's log.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mark {
    /// Milliseconds after the client's base instant.
    pub(super) at: u32,
    /// The route rule's index, or `NO_RULE`.
    pub(super) rule: u8,
}

pub(super) const NO_RULE: u8 = u8::MAX;

/// Everything known about one client, kept small: 40 bytes (48 with its key in the
/// table), and no heap allocation while its log holds two entries or fewer.
#[derive(Debug, Clone)]
pub(super) struct ClientState {
    /// The instant offsets count from, in whole minutes since the Unix epoch: a `u32` of
    /// minutes lasts to the year 10136, past the clock's last instant (9999-12-31), where
    /// one of seconds would end in 2106 and switch every limit off after it.
    pub(super) base_min: u32,
    /// Admitted requests inside the retention horizon, oldest first.
    pub(super) marks: SmallVec<[Mark; 2]>,
    /// Offset of the latest instant this client was seen at (time never runs backwards
    /// for a client).
    pub(super) last_seen: u32,
    /// Offset of the end of the lockout (0 or a past instant: not blocked).
    pub(super) blocked_until: u32,
    /// Consecutive failed token requests.
    pub(super) streak: u16,
    /// Rules already reported (logged) in the current episode.
    pub(super) noticed: u16,
}

impl ClientState {
    pub(super) fn new(now: Millis) -> Self {
        Self {
            base_min: mins_of(now),
            marks: SmallVec::new(),
            last_seen: 0,
            blocked_until: 0,
            streak: 0,
            noticed: 0,
        }
    }

    fn base(&self) -> Millis {
        Millis::from(self.base_min) * MINUTE_MS
    }

    pub(super) fn offset(&self, at: Millis) -> u32 {
        u32::try_from((at - self.base()).max(0)).unwrap_or(u32::MAX)
    }

    pub(super) fn abs(&self, offset: u32) -> Millis {
        self.base() + Millis::from(offset)
    }

    /// Brings the state to `now` (monotonic per client): drops marks past the
    /// retention, moves the base forward when offsets grow large. Returns the
    /// effective now.
    pub(super) fn advance(&mut self, now: Millis, retention: i64) -> Millis {
        let now = now.max(self.abs(self.last_seen));
        let horizon = now - retention;
        let keep_from = self.marks.partition_point(|m| self.abs(m.at) <= horizon);
        if keep_from > 0 {
            self.marks.drain(..keep_from);
        }
        if now - self.base() > REBASE_AFTER_MS {
            let new_base_min = mins_of(now - i64::from(MAX_WINDOW_MS) - MINUTE_MS);
            let new_base = Millis::from(new_base_min) * MINUTE_MS;
            let base = self.base();
            let shift = |off: u32| -> u32 {
                u32::try_from((base + Millis::from(off) - new_base).max(0)).unwrap_or(0)
            };
            for m in &mut self.marks {
                m.at = shift(m.at);
            }
            self.last_seen = shift(self.last_seen);
            self.blocked_until = shift(self.blocked_until);
            self.base_min = new_base_min;
        }
        self.last_seen = self.offset(now);
        now
    }

    pub(super) fn blocked_until(&self, now: Millis) -> Option<Millis> {
        let until = self.abs(self.blocked_until);
        (self.blocked_until != 0 && until > now).then_some(until)
    }

    pub(super) fn is_expired(&self, now: Millis, retention: i64) -> bool {
        let horizon = now - retention;
        self.marks.iter().all(|m| self.abs(m.at) <= horizon)
            && self.blocked_until(now).is_none()
            && self.abs(self.last_seen) <= horizon
    }

    /// The marks inside a rule's current window (all rules' marks), oldest first.
    fn in_window(&self, limit: Limit, algorithm: Algorithm, now: Millis) -> &[Mark] {
        let window = limit.window();
        let counts_from = match algorithm {
            // (now − window, now]
            Algorithm::Sliding => now - window + 1,
            // [k·window, now]
            Algorithm::Fixed => now - now.rem_euclid(window),
        };
        let first = self.marks.partition_point(|m| self.abs(m.at) < counts_from);
        self.marks.get(first..).unwrap_or_default()
    }

    /// How many requests a rule counts at `now`, and the instant of the `nth` of them
    /// (0 = oldest), if there are that many.
    pub(super) fn usage(
        &self,
        rule: Rule,
        limit: Limit,
        algorithm: Algorithm,
        now: Millis,
        nth: usize,
    ) -> (usize, Option<Millis>) {
        let marks = self.in_window(limit, algorithm, now);
        if rule == Rule::Global {
            // Every mark counts: no scan.
            return (marks.len(), marks.get(nth).map(|m| self.abs(m.at)));
        }
        let tag = rule.index() as u8;
        let mut count = 0;
        let mut found = None;
        for m in marks.iter().filter(|m| m.rule == tag) {
            if count == nth {
                found = Some(self.abs(m.at));
            }
            count += 1;
        }
        (count, found)
    }

    /// When the slot taken by the `nth` counted request frees, or `None` if fewer are
    /// counted: under `sliding` when that request leaves the window, under `fixed` at
    /// the window's end.
    pub(super) fn frees_at(
        &self,
        limit: Limit,
        algorithm: Algorithm,
        now: Millis,
        nth_at: Option<Millis>,
    ) -> Option<Millis> {
        let at = nth_at?;
        Some(match algorithm {
            Algorithm::Sliding => at + limit.window(),
            Algorithm::Fixed => now - now.rem_euclid(limit.window()) + limit.window(),
        })
    }

    pub(super) fn quota(
        &self,
        rule: Rule,
        limit: Limit,
        algorithm: Algorithm,
        now: Millis,
    ) -> Quota {
        let (count, oldest) = self.usage(rule, limit, algorithm, now, 0);
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let reset = self
            .frees_at(limit, algorithm, now, oldest)
            .map_or(0, |at| secs_until(at, now));
        Quota {
            rule,
            limit,
            count,
            remaining: limit.count.saturating_sub(count),
            reset_secs: reset,
        }
    }
}

/// One minute in milliseconds: the unit of a client's base instant.
const MINUTE_MS: Millis = 60_000;

/// Whole minutes since the epoch, clamped to a `u32` (which holds every instant the
/// clock accepts).
pub(super) fn mins_of(at: Millis) -> u32 {
    u32::try_from(at.div_euclid(MINUTE_MS).max(0)).unwrap_or(u32::MAX)
}

/// Whole seconds from `now` to `at`, rounded up.
pub(super) fn secs_until(at: Millis, now: Millis) -> u64 {
    let ms = u64::try_from((at - now).max(0)).unwrap_or(0);
    ms.div_ceil(1000)
}
