//! [`Tenant`]: an isolated world on a running [`MockServer`], served at `/t/<id>`, with
//! its own users, tokens, clock, journal and faults; and the control methods that
//! [`MockServer`] (for its default world) and [`Tenant`] share, one per control endpoint.

use std::sync::Arc;

use crate::clock::Clock;
use crate::world::fixtures::Fixtures;
use crate::world::Registry;
use crate::world::World;

/// The control methods of a world, generated on [`MockServer`](crate::MockServer) and
/// [`Tenant`] alike; each mirrors one endpoint of the control API and calls the same
/// domain function. The type needs a `fn world_ref(&self) -> &World`.
macro_rules! world_controls {
    () => {
        /// Resets to another fixtures document, which later resets then go back to
        /// (`POST /__mock/reset` with a body).
        pub fn reset_to(&self, fixtures: $crate::Fixtures) {
            self.world_ref().reset(Some(fixtures));
        }

        /// Reads the clock: now, and whether it is frozen (`GET /__mock/clock`). Set,
        /// advance, freeze and resume it through [`clock`](Self::clock).
        pub fn clock_state(&self) -> $crate::ClockState {
            $crate::control::clock_state(&self.world_ref().clock)
        }

        /// Adds a user (`POST /__mock/users`).
        ///
        /// # Errors
        /// `400` if the email is taken or a field is invalid.
        pub fn add_user(
            &self,
            user: $crate::NewUser,
        ) -> Result<$crate::UserView, $crate::ApiError> {
            $crate::control::add_user(self.world_ref(), user)
        }

        /// Changes a user (`PATCH /__mock/users/{email}`).
        ///
        /// # Errors
        /// `404` for an unknown user, `400` for an invalid field (nothing changes then).
        pub fn update_user(
            &self,
            email: &str,
            patch: $crate::UserPatch,
        ) -> Result<$crate::UserView, $crate::ApiError> {
            $crate::control::update_user(self.world_ref(), email, patch)
        }

        /// Removes a user; its tokens die with it (`DELETE /__mock/users/{email}`).
        ///
        /// # Errors
        /// `404` for an unknown user.
        pub fn remove_user(&self, email: &str) -> Result<(), $crate::ApiError> {
            $crate::control::remove_user(self.world_ref(), email)
        }

        /// A user's current and next TOTP code on this world's clock
        /// (`GET /__mock/users/{email}/totp`).
        ///
        /// # Errors
        /// `404` for an unknown user, `400` for a user without MFA.
        pub fn totp(&self, email: &str) -> Result<$crate::TotpCodes, $crate::ApiError> {
            $crate::control::totp_codes(self.world_ref(), email)
        }

        /// Issues a token directly, for a user or a new API user (`POST /__mock/tokens`).
        ///
        /// # Errors
        /// `404` for an unknown user, `400` for an invalid order.
        pub fn issue_token(
            &self,
            order: $crate::TokenOrder,
        ) -> Result<$crate::IssuedToken, $crate::ApiError> {
            $crate::control::issue_token(self.world_ref(), order)
        }

        /// Every live access token (`GET /__mock/tokens`).
        pub fn live_tokens(&self) -> Vec<$crate::LiveToken> {
            $crate::control::live_tokens(self.world_ref())
        }

        /// The journaled requests matching `filter`, oldest first (`GET /__mock/journal`).
        ///
        /// # Errors
        /// `400` for a malformed status filter.
        pub fn journal(
            &self,
            filter: &$crate::JournalFilter,
        ) -> Result<Vec<$crate::JournalEntry>, $crate::ApiError> {
            self.world_ref()
                .journal
                .list(filter)
                .map_err($crate::ApiError::BadRequest)
        }

        /// Forgets every journaled request (`DELETE /__mock/journal`).
        pub fn clear_journal(&self) {
            self.world_ref().journal.clear();
        }

        /// Adds a fault (`POST /__mock/faults`).
        ///
        /// # Errors
        /// `400` for an invalid fault.
        pub fn add_fault(
            &self,
            spec: $crate::FaultSpec,
        ) -> Result<$crate::FaultInfo, $crate::ApiError> {
            self.world_ref()
                .faults
                .add(spec)
                .map_err($crate::ApiError::BadRequest)
        }

        /// The live faults (`GET /__mock/faults`).
        pub fn faults(&self) -> Vec<$crate::FaultInfo> {
            self.world_ref().faults.list()
        }

        /// Removes every fault (`DELETE /__mock/faults`).
        pub fn clear_faults(&self) {
            self.world_ref().faults.clear();
        }

        /// This world's rate-limit state: settings, and every tracked client's
        /// counters, failure streak and block (`GET /__mock/rate-limits/clients` shows
        /// the clients).
        ///
        /// ```
        /// # #[tokio::main] async fn main() {
        /// use particle_auth_mock::MockServer;
        ///
        /// // Arrange
        /// let mock = MockServer::start().await;
        /// // Act: one request from 127.0.0.1.
        /// reqwest::get(format!("{}/v1/user", mock.uri())).await.unwrap();
        /// // Assert: it was counted against the global limit.
        /// let snapshot = mock.rate_limits();
        /// assert_eq!(snapshot.clients[0].client, "127.0.0.1");
        /// assert_eq!(snapshot.clients[0].counters[0].count, 1);
        /// # }
        /// ```
        pub fn rate_limits(&self) -> $crate::RateLimitSnapshot {
            self.world_ref().rate_limit_snapshot()
        }

        /// This world's rate-limit settings, tracked clients and untracked admissions,
        /// without reading any client (`GET /__mock/rate-limits`).
        pub fn rate_limit_summary(&self) -> $crate::RateLimitSummary {
            self.world_ref().rate_limit_summary()
        }

        /// One client's counters in this world (an IPv6 address names its /64), or
        /// `None` if it is not tracked (`GET /__mock/rate-limits/clients?client=IP`).
        pub fn rate_limit_client(
            &self,
            client: std::net::IpAddr,
        ) -> Option<$crate::ClientRateLimits> {
            self.world_ref().rate_limit_client(client)
        }

        /// Forgets one client's counters, failure streak and block; whether it was tracked
        /// (`DELETE /__mock/rate-limits/clients/{client}`).
        pub fn reset_rate_limit_client(&self, client: std::net::IpAddr) -> bool {
            self.world_ref().reset_rate_limit_client(client)
        }

        /// Forgets every client's counters, failure streaks and blocks
        /// (`DELETE /__mock/rate-limits/clients`).
        pub fn reset_rate_limits(&self) {
            self.world_ref().reset_rate_limits();
        }

        /// This world's rate-limit settings in force (`settings` of
        /// `GET /__mock/rate-limits`).
        pub fn rate_limit_settings(&self) -> $crate::RateLimitSettings {
            self.world_ref().rate_limit_settings()
        }

        /// Changes this world's limits, algorithm, header style or cap at run time
        /// (`PUT`/`PATCH /__mock/rate-limits`). Counters are kept and read against the
        /// new limits; `reset` goes back to the configured settings.
        ///
        /// ```
        /// # #[tokio::main] async fn main() {
        /// use particle_auth_mock::{Limit, MockServer, Rule};
        ///
        /// // Arrange: a mock whose token endpoint admits one request per minute.
        /// let mock = MockServer::start().await;
        /// mock.set_rate_limit_settings(
        ///     mock.rate_limit_settings().with_rule(Rule::Oauth, Some(Limit::secs(1, 60))),
        /// );
        /// let url = format!("{}/oauth/token", mock.uri());
        /// // Act
        /// let client = reqwest::Client::new();
        /// let first = client.post(&url).send().await.unwrap();
        /// let second = client.post(&url).send().await.unwrap();
        /// // Assert: the second is refused, with the exact wait.
        /// assert_eq!(first.status(), 400);
        /// assert_eq!(second.status(), 429);
        /// assert_eq!(second.headers()["retry-after"], "60");
        /// # }
        /// ```
        pub fn set_rate_limit_settings(&self, settings: $crate::RateLimitSettings) {
            self.world_ref().set_rate_limit_settings(settings);
        }

        /// Drops now the rate-limit state of clients whose windows have all passed (the
        /// server also does it every 5 s); returns how many were dropped
        /// (`POST /__mock/rate-limits/evict`).
        pub fn evict_rate_limits(&self) -> usize {
            self.world_ref().evict_rate_limits()
        }
    };
}
pub(crate) use world_controls;

/// An isolated tenant of a running [`MockServer`](crate::MockServer), from
/// [`MockServer::create_tenant`](crate::MockServer::create_tenant). Its base URL is
/// `http://HOST/t/<id>`; every Particle route and control endpoint works under it.
/// The tenant lives until [`delete`](Self::delete)d or the server stops; a handle kept
/// after `DELETE /__mock/tenants/{id}` acts on a detached world no request reaches.
///
/// ```
/// # #[tokio::main] async fn main() {
/// use particle_auth_mock::MockServer;
/// use std::time::Duration;
///
/// // Arrange: one server, two tenants.
/// let mock = MockServer::start().await;
/// let a = mock.create_tenant().unwrap();
/// let b = mock.create_tenant().unwrap();
/// // Act: move only a's clock.
/// a.clock().advance(Duration::from_secs(86_400));
/// // Assert: b did not move with it.
/// assert!(a.clock().now_millis() - b.clock().now_millis() >= 86_400_000);
/// assert!(a.uri().ends_with(&format!("/t/{}", a.id())));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Tenant {
    id: String,
    uri: String,
    world: Arc<World>,
    registry: Arc<Registry>,
}

impl Tenant {
    pub(crate) fn new(id: String, uri: String, world: Arc<World>, registry: Arc<Registry>) -> Self {
        Self {
            id,
            uri,
            world,
            registry,
        }
    }

    fn world_ref(&self) -> &World {
        &self.world
    }

    /// The tenant id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The base URL, `http://127.0.0.1:PORT/t/<id>`: the client's `baseUrl`.
    pub fn uri(&self) -> String {
        self.uri.clone()
    }

    /// The tenant's own clock (it starts at the system time and moves independently).
    pub fn clock(&self) -> Clock {
        self.world.clock.clone()
    }

    /// Back to the tenant's fixtures (`POST /t/<id>/__mock/reset`).
    pub fn reset(&self) {
        self.world.reset(None);
    }

    /// Deletes the tenant (`DELETE /__mock/tenants/{id}`); whether it still existed.
    pub fn delete(self) -> bool {
        crate::control::delete_tenant(&self.registry, &self.id)
    }

    world_controls!();
}

/// Creates a tenant on `registry` and its handle.
pub(crate) fn create(
    registry: &Arc<Registry>,
    config: &crate::Config,
    server_uri: &str,
    fixtures: Option<Fixtures>,
) -> Result<Tenant, crate::ApiError> {
    let (id, world) = crate::control::create_tenant(registry, config, fixtures)?;
    let uri = format!("{server_uri}/t/{id}");
    Ok(Tenant::new(id, uri, world, registry.clone()))
}
