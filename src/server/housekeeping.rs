//! Housekeeping: the periodic sweep of expired rate-limit state, tokens, refresh tokens
//! and MFA challenges of every world, and handing freed memory back to the OS.

use std::sync::Arc;
use std::time::Duration;

use crate::world::Registry;

/// How often expired rate-limit state is swept from every world.
pub(super) const RATE_LIMIT_SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Every few seconds, drops the expired rate-limit state of every world, and its expired
/// tokens, refresh tokens and MFA challenges, so a long-running server does not grow
/// (off the async workers: a sweep of a million entries takes a while).
pub(super) async fn sweep_rate_limits(registry: Arc<Registry>) {
    let mut tick = tokio::time::interval(RATE_LIMIT_SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let registry = registry.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let evicted = sweep_all(&registry) + sweep_expired_tokens(&registry);
            let tenants_gone = registry
                .deleted_since_trim
                .swap(0, std::sync::atomic::Ordering::Relaxed);
            if evicted >= RELEASE_AFTER_EVICTING || tenants_gone > 0 {
                release_freed_memory();
            }
        })
        .await;
    }
}

/// How often the credential tables are checked for a table near its cap.
pub(super) const EVICTIONS_CHECK_EVERY: Duration = Duration::from_millis(50);

/// Every 50 ms, prepares the eviction candidates of every credential table past 15/16
/// of its cap (one pass over the table, off the async workers), so that a login at the
/// cap evicts one token in O(log n) instead of scanning the table itself.
pub(super) async fn prepare_evictions(registry: Arc<Registry>) {
    let mut tick = tokio::time::interval(EVICTIONS_CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let registry = registry.clone();
        let _ = tokio::task::spawn_blocking(move || {
            // The worlds first: no registry lock is held across a pass.
            let mut worlds = vec![registry.default.clone()];
            worlds.extend(registry.tenants.iter().map(|t| t.value().clone()));
            for world in worlds {
                world.prepare_evictions();
            }
        })
        .await;
    }
}

/// Entries a sweep must have evicted before freed memory is handed back to the OS.
pub(super) const RELEASE_AFTER_EVICTING: usize = 1024;

/// Hands the memory of evicted entries and shrunk tables back to the OS. glibc keeps
/// freed blocks under its (adaptive) mmap threshold in the heap, and a big table's 64
/// shards are such blocks: without this, RSS stays near its peak after a flood.
pub(super) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free heap pages to the OS; it takes no pointer
    // and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Drops the expired rate-limit state of the default world and every tenant; returns
/// how many clients went.
pub(super) fn sweep_all(registry: &Registry) -> usize {
    let mut worlds = vec![registry.default.clone()];
    worlds.extend(registry.tenants.iter().map(|t| t.value().clone()));
    worlds.iter().map(|w| w.evict_rate_limits()).sum()
}

/// Drops the expired tokens, refresh tokens and MFA challenges of every world.
pub(super) fn sweep_expired_tokens(registry: &Registry) -> usize {
    let mut worlds = vec![registry.default.clone()];
    worlds.extend(registry.tenants.iter().map(|t| t.value().clone()));
    worlds
        .iter()
        .map(|w| w.store().evict_expired(w.now()))
        .sum()
}
