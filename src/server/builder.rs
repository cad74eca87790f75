//! [`MockServerBuilder`]: fixtures, seed, clock, rate limits or a whole [`Config`], then
//! `start`.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::Config;
use crate::http::state::AppState;
use crate::rate_limit::RateLimitSettings;
use crate::server::accept::{serve, Listeners};
use crate::server::controls::Controls;
use crate::server::persistence::load_state;
use crate::server::tls::tls_for;
use crate::server::{MockServer, StartError};
use crate::world::fixtures::Fixtures;
use crate::world::{Registry, World, WorldSettings};

/// Builds a [`MockServer`] with other fixtures, a seed, a clock or a whole [`Config`].
#[must_use]
#[derive(Debug, Clone)]
pub struct MockServerBuilder {
    pub(super) config: Config,
    pub(super) fixtures: Option<Fixtures>,
    pub(super) clock: Option<Clock>,
    pub(super) rate_limits: Option<RateLimitSettings>,
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
    /// assert_eq!(mock.controls().clock().now_millis(), 1_767_225_630_000);
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
        self.config.validate()?;
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
        if let Some(path) = &config.state_file {
            load_state(&world, path)?;
        }
        let mut state = AppState::new(Arc::new(Registry::new(world)), config.clone());
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
        state.bound = address;
        let tls = tls_for(&config)?;
        let secure = tls.is_some() && config.tls_listen.is_none();
        let (tls_listener, tls_address) = match (&tls, config.tls_listen) {
            (Some(_), Some(at)) => {
                let bound = TcpListener::bind(at)
                    .await
                    .map_err(|source| StartError::Bind { addr: at, source })?;
                let address = bound
                    .local_addr()
                    .map_err(|source| StartError::Bind { addr: at, source })?;
                (Some(bound), Some(address))
            }
            _ => (None, None),
        };
        let ca_file = tls.as_ref().and_then(|t| t.ca_file.clone());
        let listeners = match (tls, tls_listener) {
            (Some(tls), Some(secure)) => Listeners {
                plain: Some(listener),
                secure: Some((secure, tls.acceptor)),
            },
            (Some(tls), None) => Listeners {
                plain: None,
                secure: Some((listener, tls.acceptor)),
            },
            (None, _) => Listeners {
                plain: Some(listener),
                secure: None,
            },
        };
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listeners, state.clone(), rx, signal));
        Ok(MockServer {
            address,
            secure,
            tls_address,
            ca_file,
            controls: Controls::new(state.registry.default.clone()),
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}
