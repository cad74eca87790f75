//! [`World`]: everything that belongs to one isolated mock: its fixtures, store, clock,
//! token generator and settings. The default world serves `/`, each tenant serves
//! `/t/<id>`; nothing is shared between worlds.

pub(crate) mod fixtures;
mod fixtures_check;
pub(crate) mod registry;
mod settings;
pub(crate) mod store;
mod tables;

pub(crate) use registry::Registry;
pub(crate) use settings::WorldSettings;

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::clock::{Clock, Millis};
use crate::error::ApiError;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::rate_limit::{
    ClientKey, ClientRateLimits, RateLimitSettings, RateLimitSnapshot, RateLimitSummary,
    RateLimiter,
};
use crate::tokens::TokenGenerator;
use crate::world::fixtures::Fixtures;
use crate::world::store::Owner;
use crate::world::store::Store;

/// One isolated emulated cloud.
#[derive(Debug)]
pub struct World {
    /// Options that apply to this world.
    pub(crate) settings: WorldSettings,
    /// This world's time.
    pub(crate) clock: Clock,
    /// Random tokens and names (OS randomness, or seeded).
    pub(crate) generator: TokenGenerator,
    /// The fixtures `reset` goes back to.
    fixtures: ArcSwap<Fixtures>,
    /// The live data; swapped whole by `reset`, so a reset is atomic for readers.
    store: ArcSwap<Store>,
    /// Per-client rate limits (§6); each world counts its own clients.
    pub(crate) rate_limiter: RateLimiter,
    /// The last requests this world answered (control API).
    pub(crate) journal: Journal,
    /// Injected faults (control API).
    pub(crate) faults: Faults,
}

impl World {
    /// A world loaded from `fixtures`.
    pub(crate) fn new(
        fixtures: Fixtures,
        settings: WorldSettings,
        clock: Clock,
        seed: Option<u64>,
    ) -> Self {
        let store = Store::from_fixtures(&fixtures);
        let limits = settings.rate_limits.resolve(fixtures.rate_limits.as_ref());
        Self {
            rate_limiter: RateLimiter::new(limits),
            journal: Journal::new(settings.journal_size),
            faults: Faults::default(),
            settings,
            clock,
            generator: TokenGenerator::new(seed),
            fixtures: ArcSwap::from_pointee(fixtures),
            store: ArcSwap::from_pointee(store),
        }
    }

    /// The live store (a cheap, lock-free snapshot handle).
    pub(crate) fn store(&self) -> Guard<Arc<Store>> {
        self.store.load()
    }

    /// Now, on this world's clock.
    pub(crate) fn now(&self) -> Millis {
        self.clock.now_millis()
    }

    /// The fixtures this world resets to.
    pub(crate) fn fixtures(&self) -> Arc<Fixtures> {
        self.fixtures.load_full()
    }

    /// Drops every issued token, API user, user change and MFA change, the journal and
    /// the faults: back to the fixtures (or to a new fixtures document, which becomes what
    /// later resets go back to). The clock is left where it is. This is the one place a
    /// reset happens, for `POST /__mock/reset` and [`MockServer::reset`](crate::MockServer::reset) alike.
    pub(crate) fn reset(&self, fixtures: Option<Fixtures>) {
        if let Some(f) = fixtures {
            self.fixtures.store(Arc::new(f));
        }
        let fixtures = self.fixtures.load();
        let store = Store::from_fixtures(&fixtures);
        self.store.store(Arc::new(store));
        self.journal.clear();
        self.faults.clear();
        let limits = self
            .settings
            .rate_limits
            .resolve(fixtures.rate_limits.as_ref());
        self.rate_limiter.set_settings(limits);
        self.rate_limiter.reset_all();
    }

    /// Every tracked client's rate-limit counters and blocks, now.
    pub(crate) fn rate_limit_snapshot(&self) -> RateLimitSnapshot {
        self.rate_limiter.snapshot(self.now())
    }

    /// The rate-limit settings and how many clients are tracked, without the clients.
    pub(crate) fn rate_limit_summary(&self) -> RateLimitSummary {
        self.rate_limiter.summary()
    }

    /// One client's counters (an IPv6 address names its /64), if it is tracked.
    pub(crate) fn rate_limit_client(&self, client: IpAddr) -> Option<ClientRateLimits> {
        self.rate_limiter
            .client(ClientKey::from(client), self.now())
    }

    /// Forgets one client's counters, failure streak and block; whether it was tracked.
    pub(crate) fn reset_rate_limit_client(&self, client: IpAddr) -> bool {
        self.rate_limiter.reset_client(ClientKey::from(client))
    }

    /// Forgets every client's counters, streaks and blocks.
    pub(crate) fn reset_rate_limits(&self) {
        self.rate_limiter.reset_all();
    }

    /// The rate-limit settings in force.
    pub(crate) fn rate_limit_settings(&self) -> RateLimitSettings {
        self.rate_limiter.settings()
    }

    /// Replaces the rate-limit settings (limits, algorithm, headers, cap) at run time;
    /// counters are kept and read against the new limits. A `reset` goes back to the
    /// configured settings.
    pub(crate) fn set_rate_limit_settings(&self, settings: RateLimitSettings) {
        self.rate_limiter.set_settings(settings);
    }

    /// Changes the rate-limit settings in force with `change`, atomically (two
    /// concurrent changes both take effect); returns the settings stored.
    pub(crate) fn update_rate_limit_settings(
        &self,
        change: impl Fn(&mut RateLimitSettings),
    ) -> RateLimitSettings {
        self.rate_limiter.update_settings(change)
    }

    /// Drops the state of clients whose windows have all passed; how many went.
    pub(crate) fn evict_rate_limits(&self) -> usize {
        self.rate_limiter.evict_expired(self.now())
    }

    /// Keeps the live-token count under the cap (`--max-tokens`) before one more token
    /// is inserted. The policy (docs/limits.md):
    ///
    /// 1. expired tokens go first;
    /// 2. then the expiring tokens closest to expiry, except the fixtures' tokens and
    ///    API users' tokens, which are never evicted;
    /// 3. a token that never expires (`expires_in=0`) is never evicted either: when only
    ///    such tokens remain, the new token is refused with `503`
    ///    ([`ApiError::TokenTableFull`]) rather than killing one a client was given.
    pub(crate) fn make_room_for_token(&self, store: &Store, now: Millis) -> Result<(), ApiError> {
        let cap = self.settings.max_tokens;
        if store.tokens.len() < cap {
            return Ok(());
        }
        store.evict_expired(now);
        let evictable = make_room(
            store.tokens.len(),
            cap,
            || {
                store
                    .tokens
                    .iter()
                    .filter(|e| {
                        !matches!(e.value().owner, Owner::ApiUser(_))
                            && !store.fixture_tokens.contains(e.key())
                    })
                    .filter_map(|e| Some((e.value().expires_at?, *e.key())))
                    .collect()
            },
            |key| {
                store.tokens.remove(&key);
            },
        );
        // Refused only when nothing could be evicted (concurrent inserts racing this
        // eviction may overshoot the cap by one each, as before).
        if evictable == 0 && store.tokens.len() >= cap {
            return Err(ApiError::TokenTableFull { max: cap });
        }
        Ok(())
    }

    /// The same cap (`--max-tokens`) for refresh tokens: a login flood must not grow
    /// memory without bound, and a refresh token lives longer than its access token.
    pub(crate) fn make_room_for_refresh_token(&self, store: &Store) {
        let tokens = &store.refresh_tokens;
        make_room(
            tokens.len(),
            self.settings.max_tokens,
            || tokens.iter().map(|e| (e.expires_at, *e.key())).collect(),
            |key| {
                tokens.remove(&key);
            },
        );
    }

    /// The same cap for outstanding MFA challenges (a flood of password grants for an
    /// MFA user opens one per request).
    pub(crate) fn make_room_for_challenge(&self, store: &Store) {
        let challenges = &store.mfa_challenges;
        make_room(
            challenges.len(),
            self.settings.max_tokens,
            || {
                challenges
                    .iter()
                    .map(|e| (e.expires_at, e.key().clone()))
                    .collect()
            },
            |key| {
                challenges.remove(&key);
            },
        );
    }
}

/// Keeps a table of `len` entries under `cap` before one more insert: the entries
/// closest to expiry go (expired ones first, as they come first), a batch of at least
/// 1/16 of the cap at a time, picked by a linear-time selection: amortised O(1) per
/// insert (the request that triggers a batch still pays one O(n) pass).
/// `by_expiry` lists the evictable entries (only called when the table is full); `remove`
/// evicts one. Returns how many entries were evictable (`usize::MAX` when the table was
/// not full).
fn make_room<K>(
    len: usize,
    cap: usize,
    by_expiry: impl FnOnce() -> Vec<(Millis, K)>,
    remove: impl Fn(K),
) -> usize {
    if len < cap {
        return usize::MAX;
    }
    let excess = (len + 1).saturating_sub(cap);
    let mut by_expiry = by_expiry();
    let evictable = by_expiry.len();
    let batch = excess.max(cap / 16).min(by_expiry.len());
    // The `batch` soonest to expire, in linear time (a selection, not a sort): one O(n)
    // pass every n/16 inserts is amortised O(1) per insert.
    if batch > 0 && batch < by_expiry.len() {
        by_expiry.select_nth_unstable_by_key(batch - 1, |(at, _)| *at);
    }
    for (_, key) in by_expiry.into_iter().take(batch) {
        remove(key);
    }
    evictable
}

#[cfg(test)]
mod tests {
    use super::make_room;
    use std::cell::RefCell;

    #[test]
    fn make_room_evicts_a_batch_of_the_soonest_to_expire() {
        // Arrange: a full table of 64, expiries in scrambled order.
        let entries: Vec<(i64, u32)> = (0..64u32).map(|k| (i64::from((k * 37) % 64), k)).collect();
        let removed = RefCell::new(Vec::new());
        // Act
        let evictable = make_room(64, 64, || entries.clone(), |k| removed.borrow_mut().push(k));
        // Assert: 64/16 = 4 go, exactly the four soonest (expiries 0..4).
        let mut gone: Vec<i64> = removed
            .borrow()
            .iter()
            .map(|k| i64::from((k * 37) % 64))
            .collect();
        gone.sort_unstable();
        assert_eq!(gone, [0, 1, 2, 3]);
        assert_eq!(evictable, 64);
    }
}
