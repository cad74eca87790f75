//! [`Tenant`]: an isolated world on a running [`MockServer`], served at `/t/<id>`, with
//! its own users, tokens, clock, journal and faults, reached through [`Controls`].

use std::sync::Arc;

use crate::config::Config;
use crate::error::ApiError;
use crate::server::controls::Controls;
use crate::world::fixtures::Fixtures;
use crate::world::Registry;
use crate::world::World;

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
/// a.controls().clock().advance(Duration::from_secs(86_400));
/// // Assert: b did not move with it.
/// assert!(a.controls().clock().now_millis() - b.controls().clock().now_millis() >= 86_400_000);
/// assert!(a.uri().ends_with(&format!("/t/{}", a.id())));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Tenant {
    id: String,
    uri: String,
    /// The tenant's control methods, handed out by [`Tenant::controls`].
    controls: Controls,
    registry: Arc<Registry>,
}

impl Tenant {
    pub(crate) fn new(id: String, uri: String, world: Arc<World>, registry: Arc<Registry>) -> Self {
        Self {
            id,
            uri,
            controls: Controls::new(world),
            registry,
        }
    }

    /// The tenant id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The base URL, `http://127.0.0.1:PORT/t/<id>`: the client's `baseUrl`.
    pub fn uri(&self) -> String {
        self.uri.clone()
    }

    /// The tenant's control methods: its own clock (it starts at the system time and
    /// moves independently), `reset` back to its fixtures, users, tokens, journal, ….
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// Deletes the tenant (`DELETE /__mock/tenants/{id}`); whether it still existed.
    pub fn delete(self) -> bool {
        crate::control::delete_tenant(&self.registry, &self.id)
    }
}

/// Creates a tenant on `registry` and its handle.
pub(crate) fn create(
    registry: &Arc<Registry>,
    config: &Config,
    server_uri: &str,
    fixtures: Option<Fixtures>,
) -> Result<Tenant, ApiError> {
    let (id, world) = crate::control::create_tenant(registry, config, fixtures)?;
    let uri = format!("{server_uri}/t/{id}");
    Ok(Tenant::new(id, uri, world, registry.clone()))
}
