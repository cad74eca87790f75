//! Refuses a request whose declared `Content-Length` exceeds `--max-body-bytes` with
//! `413` JSON before any byte of its body is read, whatever the Particle route. Bodies
//! without a length (chunked) are capped where they are read (`extract::read_body`);
//! routes that never read the body never buffer it.
//!
//! The control API (`/__mock/…`) is exempt: a fixtures document posted to
//! `/__mock/reset` or `/__mock/tenants` may be larger, and is capped at 2 MiB where it
//! is read (axum's default body limit, applied by its `Bytes` extractor); the control
//! API's other bodies go through the same extractor as Particle's, with the same cap.

use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::http::state::AppState;

/// `Some(413)` for a declared body over the limit (control routes are never passed here).
pub(crate) fn check(state: &AppState, req: &Request) -> Option<Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = state.body_limit;
    declared
        .is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX))
        .then(|| {
            ApiError::PayloadTooLarge { limit }
                .because("declared Content-Length over --max-body-bytes")
                .into_response()
        })
}
