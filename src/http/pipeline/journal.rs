//! Records every non-control request of a world in its journal: time on the world's
//! clock, client IP (the client the rate limiter counts: with `--trust-forwarded`, the
//! one a proxy names; see `limit::client_ip`), method, masked path and query, status, refusal reason. Bodies
//! are never read.

use axum::extract::Request;
use axum::response::Response;

use crate::error::RefusalReason;
use crate::http::redact::redact_path_and_query;
use crate::http::DropConnection;
use crate::journal::Recorded;

/// A request being journaled: what was known before the answer.
pub(crate) struct Pending {
    time_ms: crate::clock::Millis,
    client: std::net::IpAddr,
    method: axum::http::Method,
    path: String,
}

/// Starts journaling a non-control request of `client` to `world`, arrived at `now`;
/// `None` when the journal is off and nobody watches it.
pub(crate) fn start(
    world: &crate::world::World,
    req: &Request,
    client: std::net::IpAddr,
    now: crate::clock::Millis,
) -> Option<Pending> {
    if !world.journal.wanted() {
        return None;
    }
    Some(Pending {
        time_ms: now,
        client,
        method: req.method().clone(),
        path: redact_path_and_query(req.uri().path(), req.uri().query()),
    })
}

impl Pending {
    /// Records the answer in `world`'s journal (the world it started in).
    pub(crate) fn finish(self, world: &crate::world::World, response: &Response) {
        let dropped = response.extensions().get::<DropConnection>().is_some();
        world.journal.record(Recorded {
            time_ms: self.time_ms,
            client: self.client,
            method: self.method,
            path: self.path,
            status: (!dropped).then(|| response.status().as_u16()),
            reason: response
                .extensions()
                .get::<RefusalReason>()
                .map(|r| r.0.clone()),
        });
    }
}
