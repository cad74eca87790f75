//! [`MockServer`]: starts the mock on a socket, in-process or from the binary, and stops
//! it when dropped (wiremock's shape, mini-redis's lifecycle).
//!
//! Connections are served by hyper directly (not `axum::serve`) so that the mock controls
//! the connection: header limits and timeouts are set on it, and a request the
//! application marks with [`DropConnection`] closes the connection without any answer.

mod controls;
pub(crate) mod tenant;

pub use controls::Controls;

mod accept;
mod builder;
mod housekeeping;
mod persistence;
mod receiver;
mod signals;
mod tls;
pub use builder::MockServerBuilder;
pub use receiver::{ReceivedRequest, WebhookReceiver};
pub use signals::shutdown_signal;

use std::net::SocketAddr;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::control::TenantInfo;
use crate::error::ApiError;
use crate::http::state::AppState;
use crate::server::tenant::Tenant;
use crate::world::fixtures::{FixtureError, Fixtures};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// An option's value was refused (named in the message).
    #[error(transparent)]
    Config(#[from] crate::config::InvalidOption),
    /// The fixtures file was refused.
    #[error("invalid fixtures: {0}")]
    Fixtures(#[from] FixtureError),
    /// The state file (`--state-file`) could not be read, is corrupt, or is of another
    /// version; the file is left as it is.
    #[error(
        "cannot load the state file {path}: {message}. The file was left as it is: move it \
         away (or fix it) to start"
    )]
    State {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// HTTPS could not be set up (`--tls-cert`/`--tls-key` unreadable or not a pair,
    /// the CA file not writable).
    #[error("cannot serve HTTPS: {0}")]
    Tls(String),
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
    /// The default world's control methods, handed out by [`MockServer::controls`].
    controls: Controls,
    /// Whether `address` speaks HTTPS (`--tls` without `--tls-listen`).
    secure: bool,
    /// The bound `--tls-listen` address, when HTTPS is served beside plain HTTP.
    tls_address: Option<SocketAddr>,
    /// Where the generated CA's PEM was written.
    ca_file: Option<std::path::PathBuf>,
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
    /// assert_eq!(mock.controls().clock().now_millis(), 0);
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
        let scheme = if self.secure { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }

    /// The HTTPS base URL (`https://127.0.0.1:PORT`), when HTTPS is served: on the
    /// `--listen` address with `--tls`, on its own with `--tls-listen`.
    pub fn https_uri(&self) -> Option<String> {
        match (self.secure, self.tls_address) {
            (true, _) => Some(format!("https://{}", self.address)),
            (false, Some(address)) => Some(format!("https://{address}")),
            (false, None) => None,
        }
    }

    /// Where the local CA certificate (PEM) was written, when one was generated: give it
    /// to clients (`NODE_EXTRA_CA_CERTS`, reqwest's `add_root_certificate`).
    pub fn tls_ca_file(&self) -> Option<&std::path::Path> {
        self.ca_file.as_deref()
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

    /// The default world's control methods: its clock, users, tokens, journal, devices,
    /// rate limits, ….
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// Creates an isolated tenant from the fixtures this server was loaded with
    /// (`POST /__mock/tenants`); see [`Tenant`].
    ///
    /// # Errors
    /// `429` ([`ApiError::TooManyTenants`](crate::ApiError::TooManyTenants)) past `--max-tenants`.
    pub fn create_tenant(&self) -> Result<Tenant, ApiError> {
        crate::server::tenant::create(&self.state.registry, &self.state.config, &self.uri(), None)
    }

    /// Creates an isolated tenant from another fixtures document (`POST /__mock/tenants`
    /// with a body).
    ///
    /// # Errors
    /// As [`create_tenant`](Self::create_tenant).
    pub fn create_tenant_with(&self, fixtures: Fixtures) -> Result<Tenant, ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    use axum::response::{IntoResponse, Response};

    use crate::clock::Clock;
    use crate::rate_limit::ClientKey;
    use crate::server::accept::guarded;
    use crate::server::housekeeping::{sweep_all, sweep_expired_tokens};
    use crate::world::{Registry, World, WorldSettings};

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
        )
        .expect("room for one token");
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

    #[test]
    fn the_housekeeper_prepares_evictions_only_near_the_cap() {
        // Arrange: a cap of 32; the fixtures hold 2 tokens (never evicted).
        let clock = Clock::manual(T0);
        let settings = WorldSettings::from(&Config {
            max_tokens: 32,
            ..Config::default()
        });
        let world = World::new(Fixtures::default_set(), settings, clock, None);
        let store = world.store();
        let login = || {
            crate::particle::oauth::issue(
                &world,
                &store,
                crate::world::store::Owner::User(0),
                0,
                3600,
                None,
            )
            .expect("room")
        };
        // Act / Assert: below 15/16 of the cap there is nothing to do; past it, the
        // access and refresh tables are prepared once, then not again.
        for _ in 0..27 {
            login();
        }
        assert_eq!(world.prepare_evictions(), 0);
        login();
        assert_eq!(store.tokens.len(), 30);
        assert_eq!(world.prepare_evictions(), 1);
        assert_eq!(world.prepare_evictions(), 0);
        login();
        login();
        assert_eq!(world.prepare_evictions(), 1);
    }
}
