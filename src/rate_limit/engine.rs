//! The limiter itself: the table of clients, the decision on each request (every
//! applicable rule must have room), the lockout, bounded memory and the reports.

use crate::clock::Millis;
use crate::rate_limit::client::ClientKey;
use crate::rate_limit::log::{secs_until, ClientState, Mark, Quota, NO_RULE};
use crate::rate_limit::report::{
    ClientRateLimits, RateLimitSnapshot, RateLimitSummary, RuleCounter,
};
use crate::rate_limit::rules::{HeaderStyle, Limit, Rule, FULL_SWEEP_EVERY_MS};
use crate::rate_limit::settings::RateLimitSettings;
use crate::support::budget::Tally;

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use arc_swap::ArcSwap;
use dashmap::mapref::entry::Entry;
use smallvec::SmallVec;

/// What a `POST /oauth/token` request means for the client's failure streak, as the
/// login code reports it (`particle::oauth::login_outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenOutcome {
    /// A token was issued: the streak starts again.
    Success,
    /// A malformed request or a failed credential: one more failure.
    Failure,
    /// Anything else (an MFA challenge, the mock's own failures): no change.
    Neutral,
}

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The rule whose wait is the longest.
    pub rule: Rule,
    pub limit: Limit,
    /// Whole seconds until a request would be admitted.
    pub retry_after: u64,
    /// Whether this is the first refusal of this episode (to be logged).
    pub first: bool,
    /// Every applicable rule's standing.
    pub quotas: SmallVec<[Quota; 2]>,
}

impl Refusal {
    /// The 429's `error_description`: which limit was hit.
    pub(crate) fn description(&self) -> String {
        let l = self.limit;
        match self.rule {
            Rule::OauthFailures => format!(
                "Rate limit exceeded: {} consecutive failed token requests; token requests from this client are blocked for {}.",
                l.count,
                human_window(l.window_ms)
            ),
            rule => format!(
                "Rate limit exceeded: {} requests per {} on {} ({}).",
                l.count,
                human_window(l.window_ms),
                rule.scope(),
                rule.name()
            ),
        }
    }

    /// The reason for the request journal.
    pub(crate) fn reason(&self) -> String {
        match self.rule {
            Rule::OauthFailures => format!(
                "oauth-failures lockout ({} consecutive failures) active for {} s more",
                self.limit.count, self.retry_after
            ),
            rule => format!("{rule} limit {} reached", self.limit),
        }
    }
}

pub(super) fn human_window(ms: u32) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

/// The limiter's decision on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No rule applies (limits off, or none covers the route).
    Unlimited,
    /// Admitted and counted: the standings after counting it, and the client's streak
    /// of failed token requests before it (a success after none changes nothing).
    Admitted(SmallVec<[Quota; 2]>, u16),
    /// Refused (429).
    Refused(Refusal),
}

/// A world's limiter: settings (replaceable at run time) and the per-client table.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Read on every request, replaced rarely: a lock-free swap cell.
    settings: ArcSwap<RateLimitSettings>,
    /// Per-client state. Sharded map: check-and-count happens under the shard's write
    /// lock of one entry, so concurrent requests of one client are counted exactly,
    /// and different clients rarely contend.
    clients: crate::support::maps::FastMap<ClientKey, ClientState>,
    /// Entries in `clients`, reserved before an insert so the cap is never exceeded.
    tracked: AtomicUsize,
    /// New clients admitted untracked because the table was full.
    untracked: AtomicU64,
    /// Clock instant of the last sweep triggered by a full table.
    last_full_sweep: AtomicI64,
    /// The server-wide tally the tracked clients count in (`--max-total-tracked-clients`).
    tally: Option<std::sync::Arc<Tally>>,
    /// No tracked client was last seen before this (a lower bound): a sweep skips the
    /// scan while nobody can have outlived the retention yet.
    oldest_activity: AtomicI64,
}

impl Drop for RateLimiter {
    fn drop(&mut self) {
        // A deleted tenant gives its tracked clients' room back to the server.
        if let Some(tally) = &self.tally {
            tally.give(*self.tracked.get_mut());
        }
    }
}

impl RateLimiter {
    /// A limiter with these settings and no clients.
    pub(crate) fn new(settings: RateLimitSettings) -> Self {
        Self {
            settings: ArcSwap::from_pointee(settings),
            clients: crate::support::maps::big_map(),
            tracked: AtomicUsize::new(0),
            untracked: AtomicU64::new(0),
            last_full_sweep: AtomicI64::new(Millis::MIN),
            oldest_activity: AtomicI64::new(Millis::MAX),
            tally: None,
        }
    }

    /// The same limiter, its tracked clients also counted in the server-wide `tally`.
    pub(crate) fn counted_in(mut self, tally: std::sync::Arc<Tally>) -> Self {
        self.tally = Some(tally);
        self
    }

    /// Reserves room for one more tracked client, in this world (`max`) and in the
    /// server-wide tally; whether there was.
    fn take_slot(&self, max: usize) -> bool {
        if self.tracked.fetch_add(1, Ordering::SeqCst) >= max {
            self.tracked.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        if self.tally.as_ref().is_some_and(|t| !t.try_take(1)) {
            self.tracked.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// Gives back the room of `n` tracked clients.
    fn release(&self, n: usize) {
        self.tracked.fetch_sub(n, Ordering::SeqCst);
        if let Some(tally) = &self.tally {
            tally.give(n);
        }
    }

    /// The settings in force.
    pub(crate) fn settings(&self) -> RateLimitSettings {
        RateLimitSettings::clone(&self.settings.load())
    }

    /// The header style in force.
    pub(crate) fn header_style(&self) -> HeaderStyle {
        self.settings.load().headers
    }

    /// Replaces the settings; counters are kept (they are read against the new limits).
    pub(crate) fn set_settings(&self, settings: RateLimitSettings) {
        self.settings.store(std::sync::Arc::new(settings));
    }

    /// Changes the settings in force with `change`, atomically: a concurrent change is
    /// never lost (`change` runs again on the newer settings if one raced it). Returns
    /// the settings stored.
    pub(crate) fn update_settings(
        &self,
        change: impl Fn(&mut RateLimitSettings),
    ) -> RateLimitSettings {
        let mut stored = None;
        self.settings.rcu(|current| {
            let mut next = RateLimitSettings::clone(current);
            change(&mut next);
            stored = Some(next.clone());
            next
        });
        stored.unwrap_or_else(|| self.settings())
    }

    /// Forgets every client.
    pub(crate) fn reset_all(&self) {
        // Count what goes rather than storing the length: a concurrent insert holds a
        // reservation that must stay counted.
        let mut removed = 0;
        self.clients.retain(|_, _| {
            removed += 1;
            false
        });
        self.release(removed);
        self.untracked.store(0, Ordering::Relaxed);
    }

    /// Forgets one client; whether it was tracked.
    pub(crate) fn reset_client(&self, client: ClientKey) -> bool {
        let removed = self.clients.remove(&client).is_some();
        if removed {
            self.release(1);
        }
        removed
    }

    /// Clients with state.
    pub(crate) fn tracked_clients(&self) -> usize {
        self.tracked.load(Ordering::SeqCst)
    }

    /// Drops the state of every client whose windows have all passed; how many went.
    pub(crate) fn evict_expired(&self, now: Millis) -> usize {
        let retention = self.settings.load().retention_ms();
        if now.saturating_sub(retention) < self.oldest_activity.load(Ordering::Acquire) {
            return 0;
        }
        // Clients inserted during the scan lower the bound again after this reset; the
        // scan lowers it to the oldest activity it kept.
        self.oldest_activity.store(Millis::MAX, Ordering::Release);
        let mut oldest = Millis::MAX;
        let mut evicted = 0;
        self.clients.retain(|_, state| {
            let keep = !state.is_expired(now, retention);
            if keep {
                oldest = oldest.min(state.abs(state.last_seen));
            } else {
                evicted += 1;
            }
            keep
        });
        self.oldest_activity.fetch_min(oldest, Ordering::AcqRel);
        self.release(evicted);
        // A flood that has passed leaves a table sized for it: give the memory back.
        if evicted > 0 {
            crate::support::maps::shrink_if_sparse(&self.clients, self.clients.len());
        }
        evicted
    }

    /// Inserts a new client's state (its room already reserved).
    fn insert_new<'a>(
        &'a self,
        vacant: dashmap::mapref::entry::VacantEntry<'a, ClientKey, ClientState>,
        now: Millis,
    ) -> dashmap::mapref::one::RefMut<'a, ClientKey, ClientState> {
        let state = ClientState::new(now);
        self.oldest_activity
            .fetch_min(state.abs(0), Ordering::AcqRel);
        vacant.insert(state)
    }

    /// Reserves room for one more client: sweeps once if the table is full.
    fn reserve(&self, max: usize, now: Millis) -> bool {
        for attempt in 0..2 {
            if self.take_slot(max) {
                return true;
            }
            let last = self.last_full_sweep.load(Ordering::Relaxed);
            let due = now.saturating_sub(last) >= FULL_SWEEP_EVERY_MS;
            if attempt > 0
                || !due
                || self
                    .last_full_sweep
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                break;
            }
            self.evict_expired(now);
        }
        false
    }

    /// Decides on one request of `client` to a route with rule `route` (see
    /// the route table) and counts it if admitted. Atomic per client.
    pub(crate) fn check(&self, client: ClientKey, route: Option<Rule>, now: Millis) -> Verdict {
        let settings = self.settings.load();
        if !settings.enabled {
            return Verdict::Unlimited;
        }
        let global = settings.limit(Rule::Global).map(|l| (Rule::Global, l));
        let routed = route
            .filter(|r| !matches!(r, Rule::Global | Rule::OauthFailures | Rule::EventStreams))
            .and_then(|r| settings.limit(r).map(|l| (r, l)));
        let lockout = (route == Some(Rule::Oauth))
            .then(|| settings.limit(Rule::OauthFailures))
            .flatten();
        let rules: SmallVec<[(Rule, Limit); 2]> = routed.into_iter().chain(global).collect();
        if rules.is_empty() && lockout.is_none() {
            return Verdict::Unlimited;
        }
        let retention = settings.retention_ms();
        let algorithm = settings.algorithm;
        // One probe of the table: a new client is counted and inserted under the lock
        // of its shard; only a full table takes the slow path (which may sweep).
        let mut state = match self.clients.entry(client) {
            Entry::Occupied(o) => o.into_ref(),
            Entry::Vacant(v) => {
                if self.take_slot(settings.max_tracked_clients) {
                    self.insert_new(v, now)
                } else {
                    // Release the shard: a sweep locks every shard.
                    drop(v);
                    if !self.reserve(settings.max_tracked_clients, now) {
                        self.untracked.fetch_add(1, Ordering::Relaxed);
                        // Counted as a fresh client would be, then forgotten.
                        let mut fresh = ClientState::new(now);
                        let rule = routed.map_or(NO_RULE, |(r, _)| r.index() as u8);
                        fresh.marks.push(Mark { at: 0, rule });
                        return Verdict::Admitted(
                            rules
                                .iter()
                                .map(|&(r, l)| fresh.quota(r, l, algorithm, now))
                                .collect(),
                            0,
                        );
                    }
                    match self.clients.entry(client) {
                        Entry::Occupied(o) => {
                            // Another request of this client inserted it meanwhile.
                            self.release(1);
                            o.into_ref()
                        }
                        Entry::Vacant(v) => self.insert_new(v, now),
                    }
                }
            }
        };
        let now = state.advance(now, retention);

        let mut worst: Option<(Rule, Limit, Millis)> = None;
        let mut consider = |rule: Rule, limit: Limit, free_at: Millis| {
            if worst.is_none_or(|(_, _, at)| free_at > at) {
                worst = Some((rule, limit, free_at));
            }
        };
        if let (Some(limit), Some(until)) = (lockout, state.blocked_until(now)) {
            consider(Rule::OauthFailures, limit, until);
        }
        for &(rule, limit) in &rules {
            let (count, _) = state.usage(rule, limit, algorithm, now, usize::MAX);
            if count >= limit.count as usize {
                // This many must leave before one more fits.
                let nth = count - limit.count as usize;
                let (_, nth_at) = state.usage(rule, limit, algorithm, now, nth);
                if let Some(at) = state.frees_at(limit, algorithm, now, nth_at) {
                    consider(rule, limit, at);
                }
            }
        }

        if let Some((rule, limit, free_at)) = worst {
            let first = state.noticed & rule.bit() == 0;
            state.noticed |= rule.bit();
            let quotas = rules
                .iter()
                .map(|&(r, l)| state.quota(r, l, algorithm, now))
                .collect();
            return Verdict::Refused(Refusal {
                rule,
                limit,
                retry_after: secs_until(free_at, now).max(1),
                first,
                quotas,
            });
        }

        let at = state.offset(now);
        let rule_tag = routed.map_or(NO_RULE, |(r, _)| r.index() as u8);
        state.marks.push(Mark { at, rule: rule_tag });
        for &(rule, _) in &rules {
            state.noticed &= !rule.bit();
        }
        if lockout.is_some() {
            state.noticed &= !Rule::OauthFailures.bit();
        }
        Verdict::Admitted(
            rules
                .iter()
                .map(|&(r, l)| state.quota(r, l, algorithm, now))
                .collect(),
            state.streak,
        )
    }

    /// Records the answer of an admitted `POST /oauth/token`. Returns the new block's
    /// end if this failure started a lockout.
    pub(crate) fn record_token_outcome(
        &self,
        client: ClientKey,
        outcome: TokenOutcome,
        now: Millis,
    ) -> Option<Limit> {
        let settings = self.settings.load();
        let limit = settings.limit(Rule::OauthFailures)?;
        if !settings.enabled || outcome == TokenOutcome::Neutral {
            return None;
        }
        let mut state = self.clients.get_mut(&client)?;
        let now = state.advance(now, settings.retention_ms());
        match outcome {
            TokenOutcome::Success => {
                state.streak = 0;
                None
            }
            TokenOutcome::Failure => {
                state.streak = state.streak.saturating_add(1);
                if u32::from(state.streak) < limit.count {
                    return None;
                }
                state.streak = 0;
                state.blocked_until = state.offset(now + limit.window());
                state.noticed |= Rule::OauthFailures.bit();
                Some(limit)
            }
            TokenOutcome::Neutral => None,
        }
    }

    /// One client's standing, if it is tracked.
    pub(crate) fn client(&self, client: ClientKey, now: Millis) -> Option<ClientRateLimits> {
        let settings = self.settings.load();
        let state = self.clients.get(&client)?;
        Some(describe(client, &state, &settings, now))
    }

    /// The settings and the size of the client table, without reading any client.
    pub(crate) fn summary(&self) -> RateLimitSummary {
        RateLimitSummary {
            settings: self.settings(),
            tracked_clients: self.tracked_clients(),
            untracked_admissions: self.untracked.load(Ordering::Relaxed),
        }
    }

    /// Up to `limit` tracked clients after `after`, ordered by client, and whether more
    /// follow: one pass over the keys keeping `limit` of them (no copy of the table),
    /// then the standing of just those.
    pub(crate) fn clients_page(
        &self,
        after: Option<ClientKey>,
        limit: usize,
        now: Millis,
    ) -> (Vec<ClientRateLimits>, bool) {
        let (keys, more) = crate::support::paging::smallest_after(
            self.clients.iter().map(|e| *e.key()),
            after.as_ref(),
            limit,
        );
        let settings = self.settings.load();
        let page = keys
            .into_iter()
            .filter_map(|key| {
                let state = self.clients.get(&key)?;
                Some(describe(key, &state, &settings, now))
            })
            .collect();
        (page, more)
    }

    /// Every tracked client's standing.
    pub(crate) fn snapshot(&self, now: Millis) -> RateLimitSnapshot {
        let settings = self.settings.load();
        let mut clients: Vec<(ClientKey, ClientRateLimits)> = self
            .clients
            .iter()
            .map(|e| (*e.key(), describe(*e.key(), e.value(), &settings, now)))
            .collect();
        clients.sort_by_key(|(k, _)| *k);
        RateLimitSnapshot {
            settings: RateLimitSettings::clone(&settings),
            tracked_clients: self.tracked_clients(),
            untracked_admissions: self.untracked.load(Ordering::Relaxed),
            clients: clients.into_iter().map(|(_, c)| c).collect(),
        }
    }
}

pub(super) fn describe(
    client: ClientKey,
    state: &ClientState,
    settings: &RateLimitSettings,
    now: Millis,
) -> ClientRateLimits {
    let now = now.max(state.abs(state.last_seen));
    let counters = Rule::ALL
        .into_iter()
        .filter(|r| !matches!(r, Rule::OauthFailures | Rule::EventStreams))
        .filter_map(|rule| {
            let limit = settings.limit(rule)?;
            let q = state.quota(rule, limit, settings.algorithm, now);
            (q.count > 0 || rule == Rule::Global).then_some(RuleCounter {
                rule,
                count: q.count,
                limit,
                remaining: q.remaining,
                reset_secs: q.reset_secs,
            })
        })
        .collect();
    ClientRateLimits {
        client: client.to_string(),
        counters,
        failure_streak: u32::from(state.streak),
        blocked_for_secs: state.blocked_until(now).map(|at| secs_until(at, now)),
    }
}
