//! [`MockServer`]: starts the mock on a socket, in-process or from the binary, and stops
//! it when dropped (wiremock's shape, mini-redis's lifecycle).
//!
//! Connections are served by hyper directly (not `axum::serve`) so that the mock controls
//! the connection: header limits and timeouts are set on it, and a request the
//! application marks with [`DropConnection`] closes the connection without any answer.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::app::{app, AppState, Registry};
use crate::clock::Clock;
use crate::config::{Config, WorldSettings};
use crate::fixtures::{FixtureError, Fixtures};
use crate::rate_limit::{ClientRateLimits, RateLimitSettings, RateLimitSnapshot};
use crate::world::World;

/// How often expired rate-limit state is swept from every world.
const RATE_LIMIT_SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Marker a response may carry to make the server drop the connection unanswered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

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
    pub async fn start() -> Self {
        Self::builder()
            .start()
            .await
            .expect("the mock server starts with its default fixtures")
    }

    /// A builder with the library defaults (default fixtures, `127.0.0.1:0`, system clock).
    pub fn builder() -> MockServerBuilder {
        let mut config = Config::default();
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        MockServerBuilder {
            config,
            fixtures: None,
            clock: None,
            rate_limits: None,
        }
    }

    /// The base URL, `http://127.0.0.1:PORT`, to use as particle-api-js' `baseUrl`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bound socket address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// A handle to the default world's clock: advance it to expire tokens without sleeping.
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// Puts the default world back to its fixtures: issued tokens, API users and MFA
    /// changes are dropped.
    pub fn reset(&self) {
        self.state.registry.default.reset(None);
    }

    /// The default world's rate-limit state: settings, and every tracked client's
    /// counters, failure streak and block.
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
    pub fn rate_limits(&self) -> RateLimitSnapshot {
        self.default_world().rate_limit_snapshot()
    }

    /// One client's counters in the default world (an IPv6 address names its /64), or
    /// `None` if it is not tracked.
    pub fn rate_limit_client(&self, client: IpAddr) -> Option<ClientRateLimits> {
        self.default_world().rate_limit_client(client)
    }

    /// Forgets one client's counters, failure streak and block; whether it was tracked.
    pub fn reset_rate_limit_client(&self, client: IpAddr) -> bool {
        self.default_world().reset_rate_limit_client(client)
    }

    /// Forgets every client's counters, failure streaks and blocks.
    pub fn reset_rate_limits(&self) {
        self.default_world().reset_rate_limits();
    }

    /// The default world's rate-limit settings in force.
    pub fn rate_limit_settings(&self) -> RateLimitSettings {
        self.default_world().rate_limit_settings()
    }

    /// Changes the default world's limits, algorithm, header style or cap at run time.
    /// Counters are kept and read against the new limits; [`reset`](Self::reset) goes
    /// back to the configured settings.
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
    pub fn set_rate_limit_settings(&self, settings: RateLimitSettings) {
        self.default_world().set_rate_limit_settings(settings);
    }

    /// Drops now the rate-limit state of clients whose windows have all passed (the
    /// server also does it every 5 s); returns how many were dropped.
    pub fn evict_rate_limits(&self) -> usize {
        self.default_world().evict_rate_limits()
    }

    pub(crate) fn default_world(&self) -> &Arc<World> {
        &self.state.registry.default
    }

    /// Stops accepting, lets in-flight requests finish (up to 500 ms) and waits for the task.
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
    pub fn fixtures(mut self, fixtures: Fixtures) -> Self {
        self.fixtures = Some(fixtures);
        self
    }

    /// Makes tokens and generated names reproducible.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Uses this clock (e.g. [`Clock::manual`]) for the default world.
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
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Binds the socket and starts serving; `uri()` works as soon as this returns.
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
        let state = AppState {
            registry: Arc::new(Registry {
                default: Arc::new(world),
                tenants: Default::default(),
            }),
            body_limit: 64 * 1024,
            config: config.clone(),
        };
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

/// The accept loop: one hyper HTTP/1 connection per socket, until shutdown.
async fn serve(
    listener: TcpListener,
    state: AppState,
    mut stop: watch::Receiver<bool>,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let sweeper = tokio::spawn(sweep_rate_limits(state.registry.clone()));
    let router = app(state);
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
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                let response: Response = match router.oneshot(req.map(axum::body::Body::new)).await
                {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                if response.extensions().get::<DropConnection>().is_some() {
                    return Err(DroppedOnPurpose);
                }
                Ok::<_, DroppedOnPurpose>(response)
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(10))
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    sweeper.abort();
    // In-flight requests get a short grace period: the process must exit within 1 s.
    let _ = tokio::time::timeout(Duration::from_millis(500), graceful.shutdown()).await;
}

/// Every few seconds, drops the expired rate-limit state of every world (off the async
/// workers: a sweep of a million clients takes a while).
async fn sweep_rate_limits(registry: Arc<Registry>) {
    let mut tick = tokio::time::interval(RATE_LIMIT_SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let registry = registry.clone();
        let _ = tokio::task::spawn_blocking(move || sweep_all(&registry)).await;
    }
}

/// Drops the expired rate-limit state of the default world and every tenant; returns
/// how many clients went.
fn sweep_all(registry: &Registry) -> usize {
    let mut worlds = vec![registry.default.clone()];
    worlds.extend(registry.tenants.iter().map(|t| t.value().clone()));
    worlds.iter().map(|w| w.evict_rate_limits()).sum()
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

#[allow(dead_code)]
fn _assert_infallible(_: Infallible) {}

/// Completes on SIGINT (Ctrl-C) or SIGTERM: what the binary stops on.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limit::ClientKey;

    const T0: i64 = 1_767_225_600_000;

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
        let registry = Registry {
            default: world(&clock),
            tenants: Default::default(),
        };
        let tenant = world(&tenant_clock);
        registry.tenants.insert("t1".into(), tenant.clone());
        let client = ClientKey::from(IpAddr::from([10, 0, 0, 1]));
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
}
