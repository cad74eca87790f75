//! Tenants: isolated worlds served at `/t/<id>`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::config::Config;
use crate::error::ApiError;
use crate::support::paging::{Page, PageRequest};
use crate::world::fixtures::Fixtures;
use crate::world::{Registry, World, WorldSettings};

/// A tenant as listed (`GET /__mock/tenants`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantInfo {
    /// The tenant id.
    pub id: String,
    /// Its base URL, `http://HOST/t/<id>`: use it as the client's `baseUrl`.
    pub base_url: String,
}

/// Creates a tenant from `fixtures` (default: the fixtures the server started with, not
/// any document a reset has loaded since), with its own clock (system time, independently settable) and settings; refuses
/// with 429 past `--max-tenants`.
pub(crate) fn create_tenant(
    registry: &Registry,
    config: &Config,
    fixtures: Option<Fixtures>,
) -> Result<(String, Arc<World>), ApiError> {
    let _gate = registry.tenant_gate.lock();
    if registry.tenants.len() >= config.max_tenants {
        return Err(ApiError::TooManyTenants {
            max: config.max_tenants,
        });
    }
    let fixtures = fixtures.unwrap_or_else(|| registry.startup_fixtures.as_ref().clone());
    let settings = WorldSettings::for_tenant(config, &registry.default.settings);
    let records = &settings.budgets.records;
    if records.used().saturating_add(fixtures.record_count()) > records.cap() {
        return Err(ApiError::ServerFull {
            what: "directory records",
            max: records.cap(),
            option: "--max-total-records",
        });
    }
    let id = loop {
        let id = registry.default.generator.alphanumeric(12);
        if !registry.tenants.contains_key(&id) {
            break id;
        }
    };
    // A seeded server gives each tenant its own reproducible stream.
    let seed = config.seed.map(|s| {
        s ^ u64::from_le_bytes(*b"tenant\0\0").wrapping_add(registry.tenants.len() as u64)
    });
    let world = Arc::new(World::new(fixtures, settings, Clock::system(), seed));
    registry.tenants.insert(id.clone(), world.clone());
    Ok((id, world))
}

/// The live tenant ids, sorted.
pub(crate) fn tenant_ids(registry: &Registry) -> Vec<String> {
    let mut ids: Vec<String> = registry.tenants.iter().map(|e| e.key().clone()).collect();
    ids.sort();
    ids
}

/// One page of the live tenant ids, sorted (one pass over the registry, keeping only
/// the page).
pub(crate) fn tenant_page(registry: &Registry, request: &PageRequest) -> Page<String> {
    let (items, more) = crate::support::paging::smallest_after(
        registry.tenants.iter().map(|e| e.key().clone()),
        request.cursor.as_ref(),
        request.limit,
    );
    let next_cursor = more.then(|| items.last().cloned()).flatten();
    Page { items, next_cursor }
}

/// Deletes a tenant; whether it existed.
pub(crate) fn delete_tenant(registry: &Registry, id: &str) -> bool {
    let removed = registry.tenants.remove(id).is_some();
    if removed {
        registry
            .deleted_since_trim
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    removed
}
