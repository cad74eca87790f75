//! [`Controls`]: the control methods of one world, one per control endpoint, calling the
//! same domain functions as the control API. [`MockServer`](crate::MockServer) (for its
//! default world) and [`Tenant`](crate::Tenant) hand them out through `controls()`, so
//! `mock.controls().add_user(…)` and `tenant.controls().add_user(…)` are the same code.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::control::{
    self, Behaviour, ClaimCode, ClockState, DevicePatch, DevicePublish, DeviceSettings, DeviceView,
    EventView, FaultInfo, FaultSpec, Function, FunctionCall, IssuedToken, JournalEntry,
    JournalFilter, LiveToken, NewUser, TokenOrder, TotpCodes, UserPatch, UserView, Variable,
    VariableUpdate,
};
use crate::error::ApiError;
use crate::rate_limit::{ClientRateLimits, RateLimitSettings, RateLimitSnapshot, RateLimitSummary};
use crate::world::fixtures::Fixtures;
use crate::world::World;

/// The control methods of one world (the default world of a
/// [`MockServer`](crate::MockServer), or a [`Tenant`](crate::Tenant)); each mirrors one
/// endpoint of the control API. Reach it through either handle (`mock.controls().clock()`,
/// `tenant.controls().add_user(…)`) or keep one with [`MockServer::controls`](crate::MockServer::controls).
#[derive(Debug, Clone)]
pub struct Controls {
    world: Arc<World>,
}

impl Controls {
    pub(crate) fn new(world: Arc<World>) -> Self {
        Self { world }
    }

    /// Passes `result` on after marking the world changed (a state file saves it).
    fn changed<T>(&self, result: T) -> T {
        self.world.touch();
        result
    }

    /// This world's clock: advance it to expire tokens without sleeping.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::MockServer;
    /// use std::time::Duration;
    ///
    /// // Arrange: a token that lives one minute.
    /// let mock = MockServer::start().await;
    /// let http = reqwest::Client::new();
    /// let login: serde_json::Value = http
    ///     .post(format!("{}/oauth/token", mock.uri()))
    ///     .basic_auth("particle", Some("particle"))
    ///     .form(&[("grant_type", "password"), ("username", "user@example.com"),
    ///             ("password", "password"), ("expires_in", "60")])
    ///     .send().await.unwrap().json().await.unwrap();
    /// let token = login["access_token"].as_str().unwrap();
    /// // Act: a minute passes, instantly.
    /// mock.controls().clock().advance(Duration::from_secs(60));
    /// // Assert
    /// let response = http.get(format!("{}/v1/user", mock.uri()))
    ///     .bearer_auth(token).send().await.unwrap();
    /// assert_eq!(response.status(), 401);
    /// # }
    /// ```
    pub fn clock(&self) -> Clock {
        self.world.clock.clone()
    }

    /// Puts this world back to its fixtures: issued tokens, API users and MFA changes
    /// are dropped (`POST /__mock/reset`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// # async fn login(uri: &str) -> serde_json::Value {
    /// #     reqwest::Client::new().post(format!("{uri}/oauth/token"))
    /// #         .basic_auth("particle", Some("particle"))
    /// #         .form(&[("grant_type", "password"), ("username", "user@example.com"), ("password", "password")])
    /// #         .send().await.unwrap().json().await.unwrap()
    /// # }
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange: a token issued during a test.
    /// let mock = MockServer::start().await;
    /// let token = login(&mock.uri()).await["access_token"].as_str().unwrap().to_string();
    /// // Act
    /// mock.controls().reset();
    /// // Assert: it is gone.
    /// let response = reqwest::Client::new().get(format!("{}/v1/user", mock.uri()))
    ///     .bearer_auth(token).send().await.unwrap();
    /// assert_eq!(response.status(), 401);
    /// # }
    /// ```
    pub fn reset(&self) {
        self.world.reset(None);
    }

    /// Resets to another fixtures document, which later resets then go back to
    /// (`POST /__mock/reset` with a body).
    pub fn reset_to(&self, fixtures: Fixtures) {
        self.world.reset(Some(fixtures));
    }

    /// This world as a state document, JSON (`GET /__mock/state`): users (passwords as
    /// salted hashes only), API users, clients, customers, devices, live tokens, refresh
    /// tokens, MFA enrolments, password resets, the clock's mode and the rate-limit
    /// settings. Give it to [`import_state`](Self::import_state) to snapshot and restore.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange: a snapshot of a fresh world, then a change.
    /// let mock = MockServer::start().await;
    /// let snapshot = mock.controls().export_state();
    /// mock.controls().remove_user("user@example.com").unwrap();
    /// // Act: restore the snapshot.
    /// mock.controls().import_state(&snapshot).unwrap();
    /// // Assert: the user is back (so it can be removed again).
    /// assert!(mock.controls().remove_user("user@example.com").is_ok());
    /// # }
    /// ```
    pub fn export_state(&self) -> String {
        String::from_utf8_lossy(&control::export_state(&self.world)).into_owned()
    }

    /// Replaces this world with a state document from
    /// [`export_state`](Self::export_state) or `GET /__mock/state`
    /// (`PUT /__mock/state`). Rate-limit counters, the journal and faults are cleared and
    /// open event streams end, as a reset does; the fixtures a later reset goes back to
    /// stay the same.
    ///
    /// # Errors
    /// `400` naming the field, or the version, of a document this build cannot read;
    /// the world is unchanged then.
    pub fn import_state(&self, document: &str) -> Result<(), ApiError> {
        control::import_state(&self.world, document.as_bytes())
    }

    /// Reads the clock: now, and whether it is frozen (`GET /__mock/clock`). Set,
    /// advance, freeze and resume it through [`clock`](Self::clock).
    pub fn clock_state(&self) -> ClockState {
        control::clock_state(&self.world.clock)
    }

    /// Adds a user (`POST /__mock/users`).
    ///
    /// # Errors
    /// `400` if the email is taken or a field is invalid.
    pub fn add_user(&self, user: NewUser) -> Result<UserView, ApiError> {
        self.changed(control::add_user(&self.world, user))
    }

    /// Changes a user (`PATCH /__mock/users/{email}`).
    ///
    /// # Errors
    /// `404` for an unknown user, `400` for an invalid field (nothing changes then).
    pub fn update_user(&self, email: &str, patch: UserPatch) -> Result<UserView, ApiError> {
        self.changed(control::update_user(&self.world, email, patch))
    }

    /// Removes a user; its tokens die with it (`DELETE /__mock/users/{email}`).
    ///
    /// # Errors
    /// `404` for an unknown user.
    pub fn remove_user(&self, email: &str) -> Result<(), ApiError> {
        self.changed(control::remove_user(&self.world, email))
    }

    /// A user's current and next TOTP code on this world's clock
    /// (`GET /__mock/users/{email}/totp`).
    ///
    /// # Errors
    /// `404` for an unknown user, `400` for a user without MFA.
    pub fn totp(&self, email: &str) -> Result<TotpCodes, ApiError> {
        control::totp_codes(&self.world, email)
    }

    /// Issues a token directly, for a user or a new API user (`POST /__mock/tokens`).
    ///
    /// # Errors
    /// `404` for an unknown user, `400` for an invalid order.
    pub fn issue_token(&self, order: TokenOrder) -> Result<IssuedToken, ApiError> {
        self.changed(control::issue_token(&self.world, order))
    }

    /// Every live access token (`GET /__mock/tokens`).
    pub fn live_tokens(&self) -> Vec<LiveToken> {
        control::live_tokens(&self.world)
    }

    /// The outstanding password-reset tokens, oldest first, as the reset email would carry
    /// them (`GET /__mock/password-resets`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange
    /// let mock = MockServer::start().await;
    /// // Act
    /// let resets = mock.controls().password_resets();
    /// // Assert: none until someone asks for one.
    /// assert!(resets.is_empty());
    /// # }
    /// ```
    pub fn password_resets(&self) -> Vec<control::PasswordReset> {
        control::password_resets(&self.world)
    }

    /// Every live OAuth client, with its secret (`GET /__mock/clients`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange
    /// let mock = MockServer::start().await;
    /// // Act
    /// let clients = mock.controls().clients();
    /// // Assert: the built-in clients and the fixtures' product and user clients.
    /// assert!(clients.iter().any(|c| c.id == "demo-product-2146" && c.kind == "product"));
    /// # }
    /// ```
    pub fn clients(&self) -> Vec<control::ClientInfo> {
        control::clients(&self.world)
    }

    /// Every live customer, never a password (`GET /__mock/customers`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange
    /// let mock = MockServer::start().await;
    /// // Act
    /// let customers = mock.controls().customers();
    /// // Assert
    /// assert_eq!(customers[0].email, "customer@example.com");
    /// # }
    /// ```
    pub fn customers(&self) -> Vec<control::CustomerInfo> {
        control::customers(&self.world)
    }

    /// The journaled requests matching `filter`, oldest first (`GET /__mock/journal`).
    ///
    /// # Errors
    /// `400` for a malformed status filter.
    pub fn journal(&self, filter: &JournalFilter) -> Result<Vec<JournalEntry>, ApiError> {
        self.world
            .journal
            .list(filter)
            .map_err(ApiError::BadRequest)
    }

    /// Forgets every journaled request (`DELETE /__mock/journal`).
    pub fn clear_journal(&self) {
        self.world.journal.clear();
    }

    /// Adds a fault (`POST /__mock/faults`).
    ///
    /// # Errors
    /// `400` for an invalid fault.
    pub fn add_fault(&self, spec: FaultSpec) -> Result<FaultInfo, ApiError> {
        self.world.faults.add(spec).map_err(ApiError::BadRequest)
    }

    /// The live faults (`GET /__mock/faults`).
    pub fn faults(&self) -> Vec<FaultInfo> {
        self.world.faults.list()
    }

    /// Removes every fault (`DELETE /__mock/faults`).
    pub fn clear_faults(&self) {
        self.world.faults.clear();
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
    /// let snapshot = mock.controls().rate_limits();
    /// assert_eq!(snapshot.clients[0].client, "127.0.0.1");
    /// assert_eq!(snapshot.clients[0].counters[0].count, 1);
    /// # }
    /// ```
    pub fn rate_limits(&self) -> RateLimitSnapshot {
        self.world.rate_limit_snapshot()
    }

    /// This world's rate-limit settings, tracked clients and untracked admissions,
    /// without reading any client (`GET /__mock/rate-limits`).
    pub fn rate_limit_summary(&self) -> RateLimitSummary {
        self.world.rate_limit_summary()
    }

    /// One client's counters in this world (an IPv6 address names its /64), or
    /// `None` if it is not tracked (`GET /__mock/rate-limits/clients?client=IP`).
    pub fn rate_limit_client(&self, client: std::net::IpAddr) -> Option<ClientRateLimits> {
        self.world.rate_limit_client(client)
    }

    /// Forgets one client's counters, failure streak and block; whether it was tracked
    /// (`DELETE /__mock/rate-limits/clients/{client}`).
    pub fn reset_rate_limit_client(&self, client: std::net::IpAddr) -> bool {
        self.world.reset_rate_limit_client(client)
    }

    /// Forgets every client's counters, failure streaks and blocks
    /// (`DELETE /__mock/rate-limits/clients`).
    pub fn reset_rate_limits(&self) {
        self.world.reset_rate_limits();
    }

    /// This world's rate-limit settings in force (`settings` of
    /// `GET /__mock/rate-limits`).
    pub fn rate_limit_settings(&self) -> RateLimitSettings {
        self.world.rate_limit_settings()
    }

    /// Changes this world's limits, algorithm, header style or cap at run time
    /// (`PUT`/`PATCH /__mock/rate-limits`). Counters are kept and read against the
    /// new limits; `reset` goes back to the configured settings.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::rate_limit::{Limit, Rule};
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange: a mock whose token endpoint admits one request per minute.
    /// let mock = MockServer::start().await;
    /// mock.controls().set_rate_limit_settings(
    ///     mock.controls().rate_limit_settings().with_rule(Rule::Oauth, Some(Limit::secs(1, 60))),
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
    pub fn set_rate_limit_settings(&self, settings: RateLimitSettings) {
        self.world.set_rate_limit_settings(settings);
        self.world.touch();
    }

    /// Drops now the rate-limit state of clients whose windows have all passed (the
    /// server also does it every 5 s); returns how many were dropped
    /// (`POST /__mock/rate-limits/evict`).
    pub fn evict_rate_limits(&self) -> usize {
        self.world.evict_rate_limits()
    }

    /// Every simulated device with its state (`GET /__mock/devices`).
    pub fn devices(&self) -> Vec<DeviceView> {
        control::devices(&self.world)
    }

    /// One device, by id in any case (`GET /__mock/devices/{id}`).
    pub fn device(&self, id: &str) -> Result<DeviceView, ApiError> {
        control::device(&self.world, id)
    }

    /// Takes a device online or offline, or sets its firmware or Device OS version
    /// (`PATCH /__mock/devices/{id}`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::control::DevicePatch;
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange: the default fixtures' online Argon.
    /// let mock = MockServer::start().await;
    /// // Act
    /// let patch = DevicePatch { online: Some(false), ..DevicePatch::default() };
    /// mock.controls().update_device("0123456789abcdef01234567", &patch).unwrap();
    /// // Assert: its variables now time out.
    /// let response = reqwest::Client::new()
    ///     .get(format!("{}/v1/devices/demo-argon/temperature", mock.uri()))
    ///     .bearer_auth("1111111111111111111111111111111111111111")
    ///     .send().await.unwrap();
    /// assert_eq!(response.status(), 408);
    /// # }
    /// ```
    pub fn update_device(&self, id: &str, patch: &DevicePatch) -> Result<DeviceView, ApiError> {
        self.changed(control::update_device(&self.world, id, patch))
    }

    /// Sets a variable's value, or adds a variable when `type` is given
    /// (`PUT /__mock/devices/{id}/variables/{name}`).
    pub fn set_variable(
        &self,
        id: &str,
        name: &str,
        update: &VariableUpdate,
    ) -> Result<Variable, ApiError> {
        self.changed(control::set_variable(&self.world, id, name, update))
    }

    /// Sets a function's behaviour, adding the function if new
    /// (`PUT /__mock/devices/{id}/functions/{name}`).
    pub fn set_function(
        &self,
        id: &str,
        name: &str,
        behaviour: Behaviour,
    ) -> Result<Function, ApiError> {
        self.changed(control::set_function(&self.world, id, name, behaviour))
    }

    /// The function calls devices received, oldest first, of one device or all
    /// (`GET /__mock/devices/calls`): what a test asserts its client sent.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::control::CallerKind;
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange
    /// let mock = MockServer::start().await;
    /// // Act: a client calls `led` with `on`.
    /// reqwest::Client::new()
    ///     .post(format!("{}/v1/devices/demo-argon/led", mock.uri()))
    ///     .bearer_auth("1111111111111111111111111111111111111111")
    ///     .json(&serde_json::json!({"args": "on"}))
    ///     .send().await.unwrap();
    /// // Assert
    /// let calls = mock.controls().device_calls(Some("0123456789abcdef01234567"));
    /// assert_eq!((calls[0].function.as_str(), calls[0].argument.as_str()), ("led", "on"));
    /// assert_eq!(calls[0].caller, CallerKind::User);
    /// # }
    /// ```
    pub fn device_calls(&self, device: Option<&str>) -> Vec<FunctionCall> {
        control::device_calls(&self.world, device)
    }

    /// The world's webhook deliveries after sequence number `after`, as
    /// `GET /__mock/webhooks/deliveries` answers them (JSON objects: `seq`, `webhook_id`,
    /// `event`, `method`, `url`, `headers`, `body`, `status`, `response`, `duration_ms`,
    /// `error`, `outcome`; secrets redacted), waiting up to `wait` (real time, at most
    /// 60 s) for the first one: a test points a webhook at its own receiver, publishes,
    /// and awaits the delivery here.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use std::time::Duration;
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange: a receiver of the test's own, and a webhook pointing at it.
    /// let mock = MockServer::start().await;
    /// let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let url = format!("http://{}/hook", receiver.local_addr().unwrap());
    /// tokio::spawn(async move {
    ///     let app = axum::Router::new().fallback(|| async { "thanks" });
    ///     axum::serve(receiver, app).await
    /// });
    /// let client = reqwest::Client::new();
    /// client.post(format!("{}/v1/integrations", mock.uri()))
    ///     .bearer_auth("1111111111111111111111111111111111111111")
    ///     .json(&serde_json::json!({"event": "temp", "url": url}))
    ///     .send().await.unwrap();
    /// // Act
    /// client.post(format!("{}/v1/devices/events", mock.uri()))
    ///     .bearer_auth("1111111111111111111111111111111111111111")
    ///     .json(&serde_json::json!({"name": "temp", "data": "21"}))
    ///     .send().await.unwrap();
    /// // Assert
    /// let deliveries = mock.controls().webhook_deliveries(0, Duration::from_secs(10)).await;
    /// assert_eq!(deliveries[0]["status"], 200);
    /// assert_eq!(deliveries[0]["response"], "thanks");
    /// # }
    /// ```
    pub async fn webhook_deliveries(
        &self,
        after: u64,
        wait: std::time::Duration,
    ) -> Vec<serde_json::Value> {
        control::webhooks::deliveries(&self.world, after, wait)
            .await
            .iter()
            .filter_map(|d| serde_json::to_value(d).ok())
            .collect()
    }

    /// Forgets the recorded calls (`DELETE /__mock/devices/calls`).
    pub fn clear_device_calls(&self) {
        control::clear_device_calls(&self.world);
        self.world.touch();
    }

    /// The claim codes handed out, oldest first (`GET /__mock/devices/claim-codes`).
    pub fn claim_codes(&self) -> Vec<ClaimCode> {
        control::claim_codes(&self.world)
    }

    /// The device settings in force (`GET /__mock/devices/settings`).
    pub fn device_settings(&self) -> DeviceSettings {
        control::device_settings(&self.world)
    }

    /// Sets how long a call to an offline device waits on the world's clock before its
    /// timeout answer (`PUT /__mock/devices/settings`).
    pub fn set_device_settings(
        &self,
        settings: DeviceSettings,
    ) -> Result<DeviceSettings, ApiError> {
        self.changed(control::set_device_settings(&self.world, settings))
    }

    /// Publishes an event as the simulated device `id` (`POST /__mock/devices/{id}/events`):
    /// every matching stream receives it with `"coreid"` the device's id. 404 for an
    /// unknown device, 400 for a name or data beyond D6's limits.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::control::DevicePublish;
    /// use particle_auth_mock::MockServer;
    ///
    /// let mock = MockServer::start().await;
    /// let event = mock
    ///     .controls()
    ///     .publish_as_device("0123456789abcdef01234567", DevicePublish::new("temp", "21.5"))
    ///     .unwrap();
    /// assert_eq!((event.coreid.as_str(), event.ttl), ("0123456789abcdef01234567", 60));
    /// # }
    /// ```
    pub fn publish_as_device(
        &self,
        id: &str,
        publish: DevicePublish,
    ) -> Result<EventView, ApiError> {
        control::events::publish_as(&self.world, id, publish.into())
    }

    /// The sequence number of the last event published in this world (0 before the
    /// first): pass it to [`wait_for_events`](Self::wait_for_events) as `after` to wait
    /// only for what comes next.
    pub fn last_event_seq(&self) -> u64 {
        self.world.events.last_seq()
    }

    /// The kept events after sequence number `after` whose name starts with `prefix`
    /// (`""` for every name), waiting up to `timeout` (real time, at most 60 s) for the
    /// first; empty when none came (`GET /__mock/events`). The world keeps its last 256
    /// events, so one published just before the wait began is still found.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::MockServer;
    /// use std::time::Duration;
    ///
    /// // Arrange
    /// let mock = MockServer::start().await;
    /// let mark = mock.controls().last_event_seq();
    /// // Act: a client publishes.
    /// reqwest::Client::new()
    ///     .post(format!("{}/v1/devices/events", mock.uri()))
    ///     .bearer_auth("1111111111111111111111111111111111111111")
    ///     .form(&[("name", "hello"), ("data", "world")])
    ///     .send().await.unwrap();
    /// // Assert
    /// let events = mock.controls().wait_for_events("hello", mark, Duration::from_secs(5)).await;
    /// assert_eq!((events[0].coreid.as_str(), events[0].data.as_deref()), ("api", Some("world")));
    /// # }
    /// ```
    pub async fn wait_for_events(
        &self,
        prefix: &str,
        after: u64,
        timeout: Duration,
    ) -> Vec<EventView> {
        control::events::wait_for_events(&self.world, Some(prefix), after, timeout).await
    }
}
