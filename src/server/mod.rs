//! [`MockServer`]: starts the mock on a socket, in-process or from the binary, and stops
//! it when dropped (wiremock's shape, mini-redis's lifecycle).
//!
//! Connections are served by hyper directly (not `axum::serve`) so that the mock controls
//! the connection: header limits and timeouts are set on it, and a request the
//! application marks with [`DropConnection`] closes the connection without any answer.

pub(crate) mod tenant;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::Config;
use crate::control::TenantInfo;
use crate::error::ApiError;
use crate::http::state::{app, AppState};
use crate::http::DropConnection;
use crate::rate_limit::RateLimitSettings;
use crate::server::tenant::Tenant;
use crate::world::fixtures::{FixtureError, Fixtures};
use crate::world::Registry;
use crate::world::World;
use crate::world::WorldSettings;

/// How often expired rate-limit state is swept from every world.
const RATE_LIMIT_SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The fixtures file was refused.
    #[error("invalid fixtures: {0}")]
    Fixtures(#[from] FixtureError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A running mock. Dropping it stops the server.
///
/// ```
/// # #[tokio::main] async fn main() {
/// use particle_auth_mock::MockServer;
///
/// // Arrange: a mock with the default fixtures on a free port.
/// let mock = MockServer::start().await;
/// // Act: log in with the documented default user.
/// let body = reqwest::Client::new()
///     .post(format!("{}/oauth/token", mock.uri()))
///     .basic_auth("particle", Some("particle"))
///     .form(&[("grant_type", "password"), ("username", "user@example.com"), ("password", "password")])
///     .send().await.unwrap()
///     .text().await.unwrap();
/// // Assert
/// assert!(body.contains("\"token_type\":\"bearer\""));
/// # }
/// ```
#[must_use = "the server stops when the MockServer is dropped"]
pub struct MockServer {
    address: SocketAddr,
    clock: Clock,
    state: AppState,
    shutdown: Option<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Builds a [`MockServer`] with other fixtures, a seed, a clock or a whole [`Config`].
#[must_use]
#[derive(Debug, Clone)]
pub struct MockServerBuilder {
    config: Config,
    fixtures: Option<Fixtures>,
    clock: Option<Clock>,
    rate_limits: Option<RateLimitSettings>,
}

impl MockServer {
    /// Starts a mock with the default fixtures on `127.0.0.1:0`.
    ///
    /// # Panics
    /// If the server cannot start (meant for tests; use [`MockServer::builder`] for a `Result`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange + Act
    /// let mock = MockServer::start().await;
    /// // Assert: bound to a free loopback port.
    /// assert!(mock.uri().starts_with("http://127.0.0.1:"));
    /// # }
    /// ```
    pub async fn start() -> Self {
        Self::builder()
            .start()
            .await
            .expect("the mock server starts with its default fixtures")
    }

    /// A builder with the library defaults (default fixtures, `127.0.0.1:0`, system clock).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::{Clock, MockServer};
    ///
    /// // Arrange
    /// let builder = MockServer::builder().clock(Clock::manual(0)).seed(1);
    /// // Act
    /// let mock = builder.start().await.unwrap();
    /// // Assert
    /// assert_eq!(mock.clock().now_millis(), 0);
    /// # }
    /// ```
    pub fn builder() -> MockServerBuilder {
        let config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Config::default()
        };
        MockServerBuilder {
            config,
            fixtures: None,
            clock: None,
            rate_limits: None,
        }
    }

    /// The base URL, `http://127.0.0.1:PORT`, to use as particle-api-js' `baseUrl`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange
    /// let mock = MockServer::start().await;
    /// // Act
    /// let uri = mock.uri();
    /// // Assert: no trailing slash, so `format!("{uri}/v1/user")` is right.
    /// assert_eq!(uri, format!("http://{}", mock.address()));
    /// assert!(!uri.ends_with('/'));
    /// # }
    /// ```
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bound socket address.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange + Act
    /// let mock = MockServer::start().await;
    /// // Assert: the kernel picked a real port.
    /// assert_ne!(mock.address().port(), 0);
    /// # }
    /// ```
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// A handle to the default world's clock: advance it to expire tokens without sleeping.
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
    /// mock.clock().advance(Duration::from_secs(60));
    /// // Assert
    /// let response = http.get(format!("{}/v1/user", mock.uri()))
    ///     .bearer_auth(token).send().await.unwrap();
    /// assert_eq!(response.status(), 401);
    /// # }
    /// ```
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// Puts the default world back to its fixtures: issued tokens, API users and MFA
    /// changes are dropped.
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
    /// mock.reset();
    /// // Assert: it is gone.
    /// let response = reqwest::Client::new().get(format!("{}/v1/user", mock.uri()))
    ///     .bearer_auth(token).send().await.unwrap();
    /// assert_eq!(response.status(), 401);
    /// # }
    /// ```
    pub fn reset(&self) {
        self.state.registry.default.reset(None);
    }

    #[allow(dead_code)] // used by the control API feature
    pub(crate) fn default_world(&self) -> &Arc<World> {
        &self.state.registry.default
    }

    fn world_ref(&self) -> &World {
        self.default_world()
    }

    crate::server::tenant::world_controls!();

    /// Creates an isolated tenant from the fixtures this server was loaded with
    /// (`POST /__mock/tenants`); see [`Tenant`].
    ///
    /// # Errors
    /// `429` ([`ApiError::TooManyTenants`](crate::ApiError::TooManyTenants)) past `--max-tenants`.
    pub fn create_tenant(&self) -> Result<Tenant, crate::ApiError> {
        crate::server::tenant::create(&self.state.registry, &self.state.config, &self.uri(), None)
    }

    /// Creates an isolated tenant from another fixtures document (`POST /__mock/tenants`
    /// with a body).
    ///
    /// # Errors
    /// As [`create_tenant`](Self::create_tenant).
    pub fn create_tenant_with(&self, fixtures: Fixtures) -> Result<Tenant, crate::ApiError> {
        crate::server::tenant::create(
            &self.state.registry,
            &self.state.config,
            &self.uri(),
            Some(fixtures),
        )
    }

    /// The live tenants (`GET /__mock/tenants`).
    pub fn tenants(&self) -> Vec<TenantInfo> {
        crate::control::tenant_ids(&self.state.registry)
            .into_iter()
            .map(|id| TenantInfo {
                base_url: format!("{}/t/{id}", self.uri()),
                id,
            })
            .collect()
    }

    /// Deletes a tenant (`DELETE /__mock/tenants/{id}`); whether it existed.
    pub fn delete_tenant(&self, id: &str) -> bool {
        crate::control::delete_tenant(&self.state.registry, id)
    }

    /// Stops accepting, lets in-flight requests finish (up to 500 ms) and waits for the task.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::MockServer;
    ///
    /// // Arrange
    /// let mock = MockServer::start().await;
    /// let address = mock.address();
    /// // Act
    /// mock.shutdown().await;
    /// // Assert: nothing listens there any more.
    /// assert!(tokio::net::TcpStream::connect(address).await.is_err());
    /// # }
    /// ```
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl MockServerBuilder {
    /// Uses these fixtures instead of the default set.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::{Fixtures, MockServer};
    ///
    /// // Arrange
    /// let fixtures = Fixtures::from_json(
    ///     r#"{"users":[{"email":"me@example.org","password":"pw"}]}"#).unwrap();
    /// // Act
    /// let mock = MockServer::builder().fixtures(fixtures).start().await.unwrap();
    /// // Assert: that user can log in.
    /// let response = reqwest::Client::new()
    ///     .post(format!("{}/oauth/token", mock.uri()))
    ///     .basic_auth("particle", Some("particle"))
    ///     .form(&[("grant_type", "password"), ("username", "me@example.org"), ("password", "pw")])
    ///     .send().await.unwrap();
    /// assert_eq!(response.status(), 200);
    /// # }
    /// ```
    pub fn fixtures(mut self, fixtures: Fixtures) -> Self {
        self.fixtures = Some(fixtures);
        self
    }

    /// Makes tokens and generated names reproducible.
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
    /// // Arrange: two mocks with the same seed.
    /// let a = MockServer::builder().seed(42).start().await.unwrap();
    /// let b = MockServer::builder().seed(42).start().await.unwrap();
    /// // Act
    /// let (a, b) = (login(&a.uri()).await, login(&b.uri()).await);
    /// // Assert
    /// assert_eq!(a["access_token"], b["access_token"]);
    /// # }
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Uses this clock (e.g. [`Clock::manual`]) for the default world.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::{Clock, MockServer};
    /// use std::time::Duration;
    ///
    /// // Arrange: a clock the test keeps a handle to.
    /// let clock = Clock::manual(1_767_225_600_000);
    /// let mock = MockServer::builder().clock(clock.clone()).start().await.unwrap();
    /// // Act
    /// clock.advance(Duration::from_secs(30));
    /// // Assert: the server sees the same time.
    /// assert_eq!(mock.clock().now_millis(), 1_767_225_630_000);
    /// # }
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Uses these rate-limit settings instead of the defaults and the fixtures file's
    /// `rate_limits` section (command-line options still apply on top).
    pub fn rate_limits(mut self, settings: RateLimitSettings) -> Self {
        self.rate_limits = Some(settings);
        self
    }

    /// Uses this whole configuration (its `listen` address included).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// # async fn login(uri: &str) -> serde_json::Value {
    /// #     reqwest::Client::new().post(format!("{uri}/oauth/token"))
    /// #         .basic_auth("particle", Some("particle"))
    /// #         .form(&[("grant_type", "password"), ("username", "user@example.com"), ("password", "password")])
    /// #         .send().await.unwrap().json().await.unwrap()
    /// # }
    /// use particle_auth_mock::{Config, MockServer};
    ///
    /// // Arrange: one-minute tokens on a free port.
    /// let config = Config {
    ///     listen: "127.0.0.1:0".parse().unwrap(),
    ///     token_lifetime: 60,
    ///     ..Config::default()
    /// };
    /// // Act
    /// let mock = MockServer::builder().config(config).start().await.unwrap();
    /// // Assert
    /// assert_eq!(login(&mock.uri()).await["expires_in"], 60);
    /// # }
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Binds the socket and starts serving; `uri()` works as soon as this returns.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use particle_auth_mock::{Config, MockServer, StartError};
    ///
    /// // Arrange: a fixtures file that does not exist.
    /// let config = Config {
    ///     fixtures: Some("/nonexistent/fixtures.json".into()),
    ///     ..Config::default()
    /// };
    /// // Act
    /// let result = MockServer::builder().config(config).start().await;
    /// // Assert: start-up is refused with the reason.
    /// assert!(matches!(result, Err(StartError::Fixtures(_))));
    /// # }
    /// ```
    pub async fn start(self) -> Result<MockServer, StartError> {
        self.start_with_shutdown(std::future::pending()).await
    }

    /// Like [`start`](Self::start), and also stops when `signal` completes (the binary
    /// passes SIGINT/SIGTERM).
    pub async fn start_with_shutdown(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<MockServer, StartError> {
        let fixtures = match (self.fixtures, &self.config.fixtures) {
            (Some(f), _) => f,
            (None, Some(path)) => Fixtures::from_path(path)?,
            (None, None) => Fixtures::default_set(),
        };
        let clock = self.clock.unwrap_or_default();
        let config = Arc::new(self.config);
        let mut settings = WorldSettings::from(config.as_ref());
        settings.rate_limits.base = self.rate_limits;
        let world = World::new(fixtures, settings, clock.clone(), config.seed);
        let state = AppState::new(Arc::new(Registry::new(world)), config.clone());
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, state.clone(), rx, signal));
        Ok(MockServer {
            address,
            clock,
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

/// How many connections over `--max-connections` are answered `503` at once; beyond
/// that they are closed without an answer (a flood must not cost a task per socket).
const MAX_REFUSALS_IN_FLIGHT: usize = 256;

/// How long an over-the-cap connection has to send its request head before it is
/// closed unanswered.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// Per-connection limits, from [`Config`].
#[derive(Debug, Clone, Copy)]
struct ConnectionLimits {
    max_header_bytes: usize,
    max_headers: usize,
    header_timeout: Duration,
    request_timeout: Duration,
}

impl ConnectionLimits {
    fn from_config(config: &Config) -> Self {
        Self {
            max_header_bytes: config.max_header_bytes,
            max_headers: config.max_headers,
            header_timeout: Duration::from_millis(config.header_timeout_ms.max(1)),
            request_timeout: Duration::from_millis(config.request_timeout_ms.max(1)),
        }
    }

    /// A hyper HTTP/1 builder with these limits: hyper answers `431` itself to a head
    /// over the size or count limit, and closes a connection whose head does not arrive
    /// within the header timeout (also the idle keep-alive timeout, see `Config`).
    fn http1(&self) -> hyper::server::conn::http1::Builder {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .max_header_size(self.max_header_bytes)
            .max_headers(self.max_headers)
            .keep_alive(true);
        builder
    }
}

/// The accept loop: one hyper HTTP/1 connection per socket, until shutdown.
async fn serve(
    listener: TcpListener,
    state: AppState,
    mut stop: watch::Receiver<bool>,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let limits = ConnectionLimits::from_config(&state.config);
    let slots = Arc::new(Semaphore::new(
        usize::try_from(state.config.max_connections.max(1)).unwrap_or(usize::MAX),
    ));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    let sweeper = tokio::spawn(sweep_rate_limits(state.registry.clone()));
    let viewers = state.viewers.clone();
    let pipeline = Arc::new(app(state));
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
            () = &mut signal => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refuse_connection(stream, &refusals);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let pipeline = pipeline.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let pipeline = pipeline.clone();
            async move {
                let answer = pipeline.answer(req.map(axum::body::Body::new), peer);
                let response = guarded(answer, limits.request_timeout).await;
                if response.extensions().get::<DropConnection>().is_some() {
                    return Err(DroppedOnPurpose);
                }
                Ok::<_, DroppedOnPurpose>(response)
            }
        });
        let connection = limits
            .http1()
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    sweeper.abort();
    // Journal streams never end by themselves: end them, or they would hold the
    // graceful shutdown for its whole grace period (and outlive it).
    viewers.close();
    // In-flight requests get a short grace period: the process must exit within 1 s.
    let _ = tokio::time::timeout(Duration::from_millis(500), graceful.shutdown()).await;
}

/// Awaits one request's answer within `timeout` (else `408`); a panic while answering
/// becomes `503 server_error` JSON (logged without detail) instead of a dropped
/// connection, and the server goes on serving.
async fn guarded(answer: impl Future<Output = Response>, timeout: Duration) -> Response {
    use futures_util::FutureExt;
    match tokio::time::timeout(timeout, std::panic::AssertUnwindSafe(answer).catch_unwind()).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => {
            tracing::error!("a request handler panicked; answered 503 server_error");
            ApiError::Unavailable.into_response()
        }
        Err(_) => ApiError::RequestTimeout.into_response(),
    }
}

/// A connection over `--max-connections`: answered `503` JSON with `Connection: close`
/// once its request head arrives (within [`REFUSAL_TIMEOUT`]), or closed at once when
/// [`MAX_REFUSALS_IN_FLIGHT`] refusals are already pending.
fn refuse_connection(stream: TcpStream, refusals: &Arc<Semaphore>) {
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        return;
    };
    tracing::debug!("connection refused: --max-connections reached");
    let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
        Ok::<_, Infallible>(ApiError::TooManyConnections.into_response())
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(REFUSAL_TIMEOUT)
        .keep_alive(false);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::spawn(async move {
        let _ = tokio::time::timeout(REFUSAL_TIMEOUT * 2, connection).await;
        drop(permit);
    });
}

/// Every few seconds, drops the expired rate-limit state of every world, and its expired
/// tokens, refresh tokens and MFA challenges, so a long-running server does not grow
/// (off the async workers: a sweep of a million entries takes a while).
async fn sweep_rate_limits(registry: Arc<Registry>) {
    let mut tick = tokio::time::interval(RATE_LIMIT_SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let registry = registry.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let evicted = sweep_all(&registry) + sweep_expired_tokens(&registry);
            if evicted >= RELEASE_AFTER_EVICTING {
                release_freed_memory();
            }
        })
        .await;
    }
}

/// Entries a sweep must have evicted before freed memory is handed back to the OS.
const RELEASE_AFTER_EVICTING: usize = 1024;

/// Hands the memory of evicted entries and shrunk tables back to the OS. glibc keeps
/// freed blocks under its (adaptive) mmap threshold in the heap, and a big table's 64
/// shards are such blocks: without this, RSS stays near its peak after a flood.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free heap pages to the OS; it takes no pointer
    // and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Drops the expired rate-limit state of the default world and every tenant; returns
/// how many clients went.
fn sweep_all(registry: &Registry) -> usize {
    let mut worlds = vec![registry.default.clone()];
    worlds.extend(registry.tenants.iter().map(|t| t.value().clone()));
    worlds.iter().map(|w| w.evict_rate_limits()).sum()
}

/// Drops the expired tokens, refresh tokens and MFA challenges of every world.
fn sweep_expired_tokens(registry: &Registry) -> usize {
    let mut worlds = vec![registry.default.clone()];
    worlds.extend(registry.tenants.iter().map(|t| t.value().clone()));
    worlds
        .iter()
        .map(|w| w.store().evict_expired(w.now()))
        .sum()
}

/// The error a service returns to make hyper close the connection without answering.
#[derive(Debug)]
struct DroppedOnPurpose;

impl std::fmt::Display for DroppedOnPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DroppedOnPurpose {}

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM: what the binary stops on.
///
/// The handlers are installed when this function is called, not when the future is first
/// polled, so a signal sent right after the binary prints its address is never lost (the
/// default action would kill the process instead of stopping it cleanly). Call it inside a
/// Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let interrupt = async {
                match interrupt {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            let terminate = async {
                match terminate {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = interrupt => {},
                () = terminate => {},
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limit::ClientKey;

    const T0: i64 = 1_767_225_600_000;

    async fn status_and_body(response: Response) -> (u16, String) {
        use http_body_util::BodyExt;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        (status, body)
    }

    #[tokio::test]
    async fn a_panic_while_answering_is_answered_503_json() {
        // Arrange: an answer that panics.
        let answer = async { panic!("a bug in a handler") };
        // Act
        let (status, body) = status_and_body(guarded(answer, Duration::from_secs(30)).await).await;
        // Assert: Particle-shaped JSON, and nothing of the panic's message.
        assert_eq!(status, 503);
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(json["error"], "server_error");
        assert!(!body.contains("a bug"), "{body}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_later_than_the_request_timeout_is_answered_408() {
        // Arrange: an answer that never comes (tokio's paused clock, no real wait).
        let answer = std::future::pending::<Response>();
        // Act
        let (status, body) = status_and_body(guarded(answer, Duration::from_secs(30)).await).await;
        // Assert
        assert_eq!(status, 408);
        assert!(body.contains("request_timeout"), "{body}");
    }

    #[tokio::test]
    async fn an_answer_in_time_passes_through_unchanged() {
        // Arrange
        let answer = async { (axum::http::StatusCode::IM_A_TEAPOT, "tea").into_response() };
        // Act
        let (status, body) = status_and_body(guarded(answer, Duration::from_secs(30)).await).await;
        // Assert
        assert_eq!((status, body.as_str()), (418, "tea"));
    }

    fn world(clock: &Clock) -> Arc<World> {
        Arc::new(World::new(
            Fixtures::default_set(),
            WorldSettings::from(&Config::default()),
            clock.clone(),
            None,
        ))
    }

    #[test]
    fn the_sweep_evicts_expired_clients_of_every_world() {
        // Arrange: one client in the default world, one in a tenant with its own clock.
        let clock = Clock::manual(T0);
        let tenant_clock = Clock::manual(T0);
        let registry = Registry::new(Arc::into_inner(world(&clock)).expect("sole owner"));
        let tenant = world(&tenant_clock);
        registry.tenants.insert("t1".into(), tenant.clone());
        let client = ClientKey::from(std::net::IpAddr::from([10, 0, 0, 1]));
        registry.default.rate_limiter.check(client, None, T0);
        tenant.rate_limiter.check(client, None, T0);
        // Act / Assert: each world's own time decides.
        assert_eq!(sweep_all(&registry), 0);
        clock.advance(Duration::from_secs(300));
        assert_eq!(sweep_all(&registry), 1);
        assert_eq!(tenant.rate_limiter.tracked_clients(), 1);
        tenant_clock.advance(Duration::from_secs(300));
        assert_eq!(sweep_all(&registry), 1);
        assert_eq!(tenant.rate_limiter.tracked_clients(), 0);
    }

    #[test]
    fn the_sweep_evicts_expired_tokens_of_every_world() {
        // Arrange: a 60-second token in the default world.
        let clock = Clock::manual(T0);
        let registry = Registry::new(Arc::into_inner(world(&clock)).expect("sole owner"));
        let store = registry.default.store();
        let before = store.tokens.len();
        crate::particle::oauth::issue(
            &registry.default,
            &store,
            crate::world::store::Owner::User(0),
            0,
            60,
            None,
        );
        assert_eq!(store.tokens.len(), before + 1);
        // Act / Assert: nothing goes before it expires; it and its refresh token go after.
        assert_eq!(sweep_expired_tokens(&registry), 0);
        clock.advance(Duration::from_secs(60));
        assert_eq!(sweep_expired_tokens(&registry), 1);
        assert_eq!(store.tokens.len(), before);
        clock.advance(Duration::from_secs(14 * 24 * 3600));
        assert_eq!(sweep_expired_tokens(&registry), 1);
        assert!(store.refresh_tokens.is_empty());
    }
}
