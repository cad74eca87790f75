//! [`World`]: everything that belongs to one isolated mock: its fixtures, store, clock,
//! token generator and settings. The default world serves `/`, each tenant serves
//! `/t/<id>`; nothing is shared between worlds.

pub(crate) mod devices;
pub(crate) mod fixtures;
mod fixtures_check;
pub(crate) mod password;
pub(crate) mod registry;
mod settings;
pub(crate) mod state;
pub(crate) mod store;
pub(crate) mod tables;
pub(crate) mod webhooks;

pub(crate) use registry::Registry;
pub(crate) use settings::{WebhookSettings, WorldSettings};

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::clock::{Clock, Millis};
use crate::error::ApiError;
use crate::events::{EventBus, StreamGauge};
use crate::faults::Faults;
use crate::journal::Journal;
use crate::rate_limit::{
    ClientKey, ClientRateLimits, RateLimitSettings, RateLimitSnapshot, RateLimitSummary,
    RateLimiter,
};
use crate::tokens::TokenGenerator;
use crate::world::fixtures::Fixtures;
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
    /// The event bus: every publish of this world, to every matching stream.
    pub(crate) events: EventBus,
    /// Event streams open per client (the `event-streams` rule).
    pub(crate) streams: Arc<StreamGauge>,
    /// Bumped by every change that a state document would show (see [`World::touch`]):
    /// the state-file writer saves when it moved.
    pub(crate) generation: AtomicU64,
}

impl World {
    /// A world loaded from `fixtures`.
    pub(crate) fn new(
        fixtures: Fixtures,
        settings: WorldSettings,
        clock: Clock,
        seed: Option<u64>,
    ) -> Self {
        let store = Store::for_world(&fixtures, &settings.budgets);
        let limits = settings.rate_limits.resolve(fixtures.rate_limits.as_ref());
        Self {
            rate_limiter: RateLimiter::new(limits)
                .counted_in(settings.budgets.tracked_clients.clone()),
            journal: Journal::new(settings.journal_size),
            faults: Faults::default(),
            events: EventBus::new(settings.event_buffer),
            streams: Arc::default(),
            settings,
            clock,
            generator: TokenGenerator::new(seed),
            fixtures: ArcSwap::from_pointee(fixtures),
            store: ArcSwap::from_pointee(store),
            generation: AtomicU64::new(0),
        }
    }

    /// Marks the world changed: the request pipeline calls it after every request that
    /// may change state (any method but `GET`, `HEAD` and `OPTIONS`), the Rust control
    /// methods after theirs. A state file is saved when the count moved.
    pub(crate) fn touch(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// How many changes [`World::touch`] has counted.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
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
        let store = Store::for_world(&fixtures, &self.settings.budgets);
        self.store.store(Arc::new(store));
        self.journal.clear();
        self.faults.clear();
        // The old world's streams end: their tokens are gone with it.
        self.events.close_all();
        let limits = self
            .settings
            .rate_limits
            .resolve(fixtures.rate_limits.as_ref());
        self.rate_limiter.set_settings(limits);
        self.rate_limiter.reset_all();
        self.touch();
    }

    /// Every tracked client's rate-limit counters and blocks, now.
    pub(crate) fn rate_limit_snapshot(&self) -> RateLimitSnapshot {
        self.rate_limiter.snapshot(self.now())
    }

    /// The rate-limit settings and how many clients are tracked, without the clients.
    pub(crate) fn rate_limit_summary(&self) -> RateLimitSummary {
        self.rate_limiter.summary()
    }

    /// A page of the tracked clients after `after` (see `RateLimiter::clients_page`).
    pub(crate) fn rate_limit_clients_page(
        &self,
        after: Option<IpAddr>,
        limit: usize,
    ) -> (Vec<ClientRateLimits>, bool) {
        self.rate_limiter
            .clients_page(after.map(ClientKey::from), limit, self.now())
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
    /// is inserted: one token goes per new one, found in O(log n) among candidates the
    /// housekeeper picks ahead of the cap (`CountedMap`). The policy (docs/limits.md):
    ///
    /// 1. expired tokens go first;
    /// 2. then the expiring tokens closest to expiry, except the fixtures' tokens and
    ///    API users' tokens, which are never evicted;
    /// 3. a token that never expires (`expires_in=0`) is never evicted either: when only
    ///    such tokens remain, the new token is refused with `503`
    ///    ([`ApiError::TokenTableFull`]) rather than killing one a client was given.
    pub(crate) fn make_room_for_token(&self, store: &Store, now: Millis) -> Result<(), ApiError> {
        let cap = self.settings.max_tokens;
        let batch = eviction_batch(cap);
        while store.tokens.len() >= cap {
            if !store.tokens.evict_one(batch) && store.tokens.evict_expired(now) == 0 {
                return Err(ApiError::TokenTableFull { max: cap });
            }
        }
        // All worlds together at `--max-total-tokens`: this world makes room with one of
        // its own (one, not a loop: the others' tokens are not this world's to count).
        if store.tokens.over_total() && !store.tokens.evict_one(batch) {
            return Err(ApiError::ServerFull {
                what: "live tokens",
                max: self.settings.budgets.credentials.cap(),
                option: "--max-total-tokens",
            });
        }
        Ok(())
    }

    /// The same cap (`--max-tokens`) for refresh tokens: a login flood must not grow
    /// memory without bound, and a refresh token lives longer than its access token.
    /// Every refresh token may be evicted, the soonest to expire first.
    pub(crate) fn make_room_for_refresh_token(&self, store: &Store) {
        let tokens = &store.refresh_tokens;
        let (cap, batch) = (
            self.settings.max_tokens,
            eviction_batch(self.settings.max_tokens),
        );
        while tokens.len() >= cap && tokens.evict_one(batch) {}
        if tokens.over_total() {
            tokens.evict_one(batch);
        }
    }

    /// The same cap for outstanding MFA challenges (a flood of password grants for an
    /// MFA user opens one per request).
    pub(crate) fn make_room_for_challenge(&self, store: &Store) {
        let challenges = &store.mfa_challenges;
        let (cap, batch) = (
            self.settings.max_tokens,
            eviction_batch(self.settings.max_tokens),
        );
        while challenges.len() >= cap && challenges.evict_one(batch) {}
        if challenges.over_total() {
            challenges.evict_one(batch);
        }
    }

    /// Prepares the eviction candidates of every credential table past 15/16 of its cap
    /// (the housekeeper calls it often, off the request path); how many it prepared.
    pub(crate) fn prepare_evictions(&self) -> usize {
        let store = self.store();
        let cap = self.settings.max_tokens;
        let batch = eviction_batch(cap);
        let mut prepared = 0;
        if store.tokens.wants_candidates(cap, batch) {
            prepared += usize::from(store.tokens.prepare(batch));
        }
        if store.refresh_tokens.wants_candidates(cap, batch) {
            prepared += usize::from(store.refresh_tokens.prepare(batch));
        }
        if store.mfa_challenges.wants_candidates(cap, batch) {
            prepared += usize::from(store.mfa_challenges.prepare(batch));
        }
        prepared
    }
}

/// How many eviction candidates one pass over a table picks: 1/16 of the cap, so a pass
/// over n entries serves n/16 inserts (amortised O(1) per insert).
fn eviction_batch(cap: usize) -> usize {
    (cap / 16).max(1)
}
