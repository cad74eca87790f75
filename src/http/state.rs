//! The state every handler and pipeline stage shares ([`AppState`]); the application is
//! assembled from it in `http::app`.

use std::sync::Arc;

use crate::config::Config;
use crate::world::Registry;

/// State shared by every handler: cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    /// All worlds.
    pub registry: Arc<Registry>,
    /// The process configuration.
    pub config: Arc<Config>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The address the server is bound to (the real port when `--listen` asked for
    /// port 0; set by the server once bound), for URLs built without a `Host` header.
    pub bound: std::net::SocketAddr,
    /// The open journal streams (capped, and ended on shutdown).
    pub viewers: Arc<crate::journal::Viewers>,
    /// Set once when the server shuts down: every event stream ends (a stream never
    /// ends by itself, so a graceful shutdown would otherwise wait for it).
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// The state of a server of `registry` configured by `config`.
    pub(crate) fn new(registry: Arc<Registry>, config: Arc<Config>) -> Self {
        Self {
            registry,
            body_limit: config.max_body_bytes,
            bound: config.listen,
            config,
            viewers: Arc::default(),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }
}
