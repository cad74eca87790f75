//! The event bus from the control plane: publish as a simulated device, and wait for
//! an event a client published (so a test asserts both directions without SSE code of
//! its own).

use std::time::Duration;

use crate::error::ApiError;
pub use crate::events::EventView;
use crate::events::{EventFilter, Scope};
use crate::particle::events::{publish_as_device, Publish};
use crate::world::World;

/// Longest wait a control call may ask for.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(60);

/// An event a simulated device publishes through the control plane (the same fields
/// and limits as D6's publish body).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevicePublish {
    /// The event name: 1–64 printable ASCII, not starting with `spark` or `particle`.
    pub name: String,
    /// The data (at most `--max-event-data-bytes`); `None` is shown as `null`.
    pub data: Option<String>,
    /// Private events stay off the public `/v1/events/{prefix}` streams.
    pub private: bool,
    /// Seconds (default 60).
    pub ttl: Option<u32>,
}

impl DevicePublish {
    /// A public event `name` with `data`.
    pub fn new(name: impl Into<String>, data: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            data: Some(data.into()),
            ..Self::default()
        }
    }
}

impl From<DevicePublish> for Publish {
    fn from(p: DevicePublish) -> Self {
        Publish {
            name: Some(p.name),
            data: p.data,
            private: p.private,
            ttl: p.ttl,
        }
    }
}

/// Publishes `publish` as the device `device_id` (404 if the world has none).
pub(crate) fn publish_as(
    world: &World,
    device_id: &str,
    publish: Publish,
) -> Result<EventView, ApiError> {
    Ok(publish_as_device(world, device_id, publish)
        .map_err(|refusal| refusal.error)?
        .view())
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
