//! The event bus from the control plane: publish as a simulated device, and wait for
//! an event a client published (so a test asserts both directions without SSE code of
//! its own).

use std::time::Duration;

use crate::error::ApiError;
use crate::events::{EventFilter, EventView, Scope};
use crate::particle::events::{publish_as_device, Publish};
use crate::world::World;

/// Longest wait a control call may ask for.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(60);

/// Publishes `publish` as the device `device_id` (404 if the world has none).
pub(crate) fn publish_as(
    world: &World,
    device_id: &str,
    publish: Publish,
) -> Result<EventView, ApiError> {
    Ok(publish_as_device(world, device_id, publish)?.view())
}

/// The kept events after `after` whose name starts with `prefix`, waiting up to `wait`
/// (real time, capped at [`MAX_WAIT`]) for the first one; an empty list when none came.
pub(crate) async fn wait_for_events(
    world: &World,
    prefix: Option<&str>,
    after: u64,
    wait: Duration,
) -> Vec<EventView> {
    let filter = EventFilter {
        scope: Scope::All,
        prefix: prefix.filter(|p| !p.is_empty()).map(Into::into),
    };
    let mut published = world.events.watch_published();
    let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
    loop {
        let found = world.events.recent(after, &filter);
        if !found.is_empty() {
            return found.iter().map(|e| e.view()).collect();
        }
        // Woken by every publish; a deadline passed (or a bus gone) ends the wait.
        match tokio::time::timeout_at(deadline, published.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Vec::new(),
        }
    }
}
