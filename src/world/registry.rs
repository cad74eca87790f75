//! [`Registry`]: the default world and the tenants of one server.

use std::sync::Arc;

use dashmap::DashMap;

use crate::world::World;

/// Every world this process serves.
#[derive(Debug)]
pub(crate) struct Registry {
    /// The world at `/`.
    pub default: Arc<World>,
    /// Tenants by id, served at `/t/<id>`. Sharded map: tenant lookups happen on every
    /// tenant request, creation and deletion are rare.
    pub tenants: DashMap<String, Arc<World>>,
    /// Serialises tenant creation so the `--max-tenants` cap holds under concurrency.
    pub tenant_gate: parking_lot::Mutex<()>,
}

impl Registry {
    /// A registry serving `default` at `/` and no tenant yet.
    pub(crate) fn new(default: World) -> Self {
        Self {
            default: Arc::new(default),
            tenants: DashMap::new(),
            tenant_gate: parking_lot::Mutex::new(()),
        }
    }
}
