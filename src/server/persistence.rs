//! The state file (`--state-file`): the default world is loaded from it at
//! start and written to it after changes (at most once per `--state-save-interval-ms`)
//! and at shutdown. A write is atomic: a temporary file in the same directory, fsync,
//! rename over the old file, fsync of the directory; a crash at any point leaves the old
//! document or the new one, never a torn one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::server::StartError;
use crate::world::state::{self, StateDocument, MAX_STATE_BYTES};
use crate::world::World;

/// Loads `path` into `world` when it exists; a missing file is a first start. A file
/// that cannot be read, does not parse or is of another version stops start-up, and is
/// never written over (the saver starts only after this succeeded).
pub(super) fn load_state(world: &World, path: &Path) -> Result<(), StartError> {
    let refused = |message: String| StartError::State {
        path: path.to_path_buf(),
        message,
    };
    let bytes = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(refused(e.to_string())),
        Ok(meta) if meta.len() > MAX_STATE_BYTES as u64 => {
            return Err(refused(format!(
                "it is {} bytes; the most read is {MAX_STATE_BYTES}",
                meta.len()
            )))
        }
        Ok(_) => std::fs::read(path).map_err(|e| refused(e.to_string()))?,
    };
    let doc = StateDocument::parse(&bytes).map_err(|e| refused(e.0))?;
    state::import(world, doc).map_err(|e| refused(e.0))?;
    tracing::info!(path = %path.display(), "state loaded");
    Ok(())
}

/// Writes `bytes` to `path` atomically (see the module docs).
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state.json".into());
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path)?;
        // The rename itself is durable once the directory is synced.
        #[cfg(unix)]
        std::fs::File::open(&dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// What the last save wrote: the world's change count and its clock's mode (a clock set
/// through a [`Clock`] handle changes no count, so it is compared too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Written {
    generation: u64,
    clock: crate::clock::Mode,
}

/// Saves the default world to the state file when it changed.
#[derive(Debug, Clone)]
pub(super) struct StateSaver {
    world: Arc<World>,
    path: PathBuf,
    every: Duration,
    /// The generation and clock mode last written; one writer at a time (the loop's
    /// last write may still run on a blocking thread when the shutdown save starts).
    written: Arc<parking_lot::Mutex<Option<Written>>>,
}

impl StateSaver {
    /// The saver `config` asks for, if any.
    pub(super) fn for_config(config: &Config, world: Arc<World>) -> Option<Self> {
        let path = config.state_file.clone()?;
        Some(Self {
            world,
            path,
            every: Duration::from_millis(config.state_save_interval_ms.max(1)),
            written: Arc::default(),
        })
    }

    /// Every interval, writes the world if it changed since the last write.
    pub(super) async fn run(self) {
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let changed = *self.written.lock() != Some(self.now());
            if changed {
                self.save_now().await;
            }
        }
    }

    /// Writes the world now if it changed since the last write (off the async workers).
    pub(super) async fn save_now(&self) {
        let saver = self.clone();
        let _ = tokio::task::spawn_blocking(move || saver.save_blocking()).await;
    }

    /// The world's change count and clock mode now.
    fn now(&self) -> Written {
        Written {
            generation: self.world.generation(),
            clock: self.world.clock.mode(),
        }
    }

    fn save_blocking(&self) {
        let mut written = self.written.lock();
        // Read before exporting: a change made during the export is saved next time.
        let now = self.now();
        if *written == Some(now) {
            return;
        }
        let bytes = state::export(&self.world).to_json();
        match write_atomic(&self.path, &bytes) {
            Ok(()) => *written = Some(now),
            // Kept unwritten: the next tick tries again.
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "cannot save the state file")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("pam-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(names.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
