//! [`MockServer`]: starts the mock on a socket, in-process or from the binary, and stops
//! it when dropped (wiremock's shape, mini-redis's lifecycle).
//!
//! Connections are served by hyper directly (not `axum::serve`) so that the mock controls
//! the connection: header limits and timeouts are set on it, and a request the
//! application marks with [`DropConnection`] closes the connection without any answer.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
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
use crate::control::TenantInfo;
use crate::fixtures::{FixtureError, Fixtures};
use crate::tenant::Tenant;
use crate::world::World;

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

    pub(crate) fn default_world(&self) -> &Arc<World> {
        &self.state.registry.default
    }

    fn world_ref(&self) -> &World {
        self.default_world()
    }

    crate::tenant::world_controls!();

    /// Creates an isolated tenant from the fixtures this server was loaded with
    /// (`POST /__mock/tenants`); see [`Tenant`].
    ///
    /// # Errors
    /// `429` ([`ApiError::TooManyTenants`](crate::ApiError::TooManyTenants)) past `--max-tenants`.
    pub fn create_tenant(&self) -> Result<Tenant, crate::ApiError> {
        crate::tenant::create(&self.state.registry, &self.state.config, &self.uri(), None)
    }

    /// Creates an isolated tenant from another fixtures document (`POST /__mock/tenants`
    /// with a body).
    ///
    /// # Errors
    /// As [`create_tenant`](Self::create_tenant).
    pub fn create_tenant_with(&self, fixtures: Fixtures) -> Result<Tenant, crate::ApiError> {
        crate::tenant::create(
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
        let world = World::new(
            fixtures,
            WorldSettings::from(config.as_ref()),
            clock.clone(),
            config.seed,
        );
        let state = AppState {
            registry: Arc::new(Registry::new(world)),
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
    // In-flight requests get a short grace period: the process must exit within 1 s.
    let _ = tokio::time::timeout(Duration::from_millis(500), graceful.shutdown()).await;
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
