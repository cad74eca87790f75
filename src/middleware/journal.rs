//! Records every non-control request of a world in its journal: time on the world's
//! clock, client IP (the client the rate limiter counts: with `--trust-forwarded`, the
//! one a proxy names), method, masked path and query, status, refusal reason. Bodies
//! are never read.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::clock::iso8601;
use crate::error::RefusalReason;
use crate::extract::CurrentWorld;
use crate::journal::{mask_path_and_query, JournalEntry};
use crate::middleware::rate_limit::client_ip;
use crate::server::DropConnection;

/// The journal layer (wired in `app.rs`, inside the world routing).
pub(crate) async fn record_request(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let Some(CurrentWorld(world)) = req.extensions().get::<CurrentWorld>().cloned() else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    if !world.journal.enabled() || path == "/__mock" || path.starts_with("/__mock/") {
        return next.run(req).await;
    }
    let time_ms = world.now();
    let client = client_ip(&req, state.config.trust_forwarded).to_string();
    let method = req.method().to_string();
    let path = mask_path_and_query(path, req.uri().query());
    let response = next.run(req).await;
    let dropped = response.extensions().get::<DropConnection>().is_some();
    world.journal.record(JournalEntry {
        id: 0,
        time: iso8601(time_ms),
        time_ms,
        client,
        method,
        path,
        status: (!dropped).then(|| response.status().as_u16()),
        reason: response
            .extensions()
            .get::<RefusalReason>()
            .map(|r| r.0.clone()),
        dropped,
    });
    response
}
