//! The HTTP layer: everything that knows about requests and responses.
//!
//! - `state`: [`AppState`](state::AppState), what every handler and stage shares.
//! - `app`: the whole service assembled: the router from the route tables, each row's
//!   pipeline stage, the pipeline in front.
//! - `pipeline`: what runs for every request, in order: world routing and the trailing
//!   slash in front of the router; then, around the handler of the row the router chose,
//!   the control guard, the journal, rate limits, injected faults, the body limit.
//! - `layers`: the tower-http layers around the whole service (trace, catch-panic).
//! - `extract`: extractors (bearer auth, token form, JSON bodies) rejecting with `ApiError`.
//! - `redact`: what logs and the journal may show of a path.
//! - `routes`: the handlers, and the one Particle route table.
//!
//! May import: `particle`, `control`, `world` and everything below them; never `server`.

pub(crate) mod app;
pub(crate) mod extract;
pub(crate) mod layers;
pub(crate) mod pipeline;
pub(crate) mod redact;
pub(crate) mod routes;
pub(crate) mod state;

/// Marker a response may carry to make the server drop the connection unanswered (an
/// injected fault); the accept loop in `server` honours it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;
