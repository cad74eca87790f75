//! Webhook deliveries from the control plane: what each delivery sent where and what
//! came back (redacted), and a wait for the next one, so a test can await a delivery
//! without polling.

use std::time::Duration;

use crate::control::events::MAX_WAIT;
use crate::world::webhooks::Delivery;
use crate::world::World;

/// The logged deliveries after `after`, waiting up to `wait` (real time, capped at
/// [`MAX_WAIT`]) for the first one; an empty list when none came.
pub(crate) async fn deliveries(world: &World, after: u64, wait: Duration) -> Vec<Delivery> {
    let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
    loop {
        // A reset swaps the store: each round reads the store of now.
        let store = world.store();
        let mut logged = store.webhooks.watch_logged();
        let found = store.webhooks.deliveries(after);
        drop(store);
        if !found.is_empty() || wait.is_zero() {
            return found;
        }
        match tokio::time::timeout_at(deadline, logged.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Vec::new(),
        }
    }
}
