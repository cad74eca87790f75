//! THE body limit (one mechanism, so Particle and control routes cannot disagree). For every request, Particle and control
//! alike, this stage picks the limit once — `--max-body-bytes`, or
//! [`FIXTURES_BODY_LIMIT`] for the two control routes that take a fixtures document
//! (`POST /__mock/reset`, `POST /__mock/tenants`), or [`STATE_BODY_LIMIT`] for
//! `PUT /__mock/state` — and:
//!
//! - refuses a declared `Content-Length` over it with `413` JSON before any byte of the
//!   body is read;
//! - records it in the request ([`BodyLimit`]), where `extract::read_body`, the only
//!   reader of bodies, enforces it on the bytes as they arrive (chunked bodies).
//!
//! Routes that never read the body never buffer it. After an early `413` the rest of the
//! body is read and discarded ([`linger`]: at most [`LINGER_MAX_BYTES`], for at most
//! [`LINGER_TIMEOUT`]) before the answer goes out, so a client still sending its body
//! reads the answer instead of a reset. Why not tower-http's
//! `RequestBodyLimitLayer`: see `http::layers`.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::error::ApiError;
use crate::http::extract::BodyLimit;
use crate::http::state::AppState;

/// The body limit of the control routes that take a fixtures document, in bytes (the
/// same cap as a fixtures file's).
pub(crate) const FIXTURES_BODY_LIMIT: usize = crate::world::fixtures::MAX_FIXTURES_BYTES;

/// The body limit of `PUT /__mock/state`, in bytes: a world exported by `GET` must go
/// back in without the user raising `--max-body-bytes` (a default world is ~9 KB, one with
/// 2,000 users ~0.7 MB).
pub(crate) const STATE_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The body limit of a request to `path` (already stripped of any tenant prefix).
fn limit_for(state: &AppState, method: &Method, path: &str) -> usize {
    let fixtures = method == Method::POST && matches!(path, "/__mock/reset" | "/__mock/tenants");
    if fixtures {
        state.body_limit.max(FIXTURES_BODY_LIMIT)
    } else if method == Method::PUT && path == "/__mock/state" {
        state.body_limit.max(STATE_BODY_LIMIT)
    } else {
        state.body_limit
    }
}

/// `Some(413)` for a declared body over the request's limit; otherwise records the limit
/// in the request for the reader and lets it through.
pub(crate) fn check(state: &AppState, req: &mut Request) -> Option<Response> {
    let limit = limit_for(state, req.method(), req.uri().path());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Some(
            ApiError::PayloadTooLarge { limit }
                .because("declared Content-Length over the body limit")
                .into_response(),
        );
    }
    req.extensions_mut().insert(BodyLimit(limit));
    None
}

/// The most bytes of a refused body read and discarded before answering.
pub(crate) const LINGER_MAX_BYTES: usize = 8 * 1024 * 1024;

/// The longest a refused body is read before answering anyway.
pub(crate) const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

/// A lingering refusal: reads and discards what is left of `req`'s body (bounded in
/// bytes and time), then gives `refusal`. Past either bound the answer goes out and the
/// connection closes (hyper does not reuse a connection whose body is unread).
pub(crate) async fn linger(req: Request, refusal: Response) -> Response {
    let mut body = req.into_body();
    let drain = async {
        let mut read = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            read += frame.data_ref().map_or(0, |data| data.len());
            if read > LINGER_MAX_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIMEOUT, drain).await;
    refusal
}
