//! HTTP middleware that is not a route: it wraps the router per world (after the tenant
//! routing has inserted `CurrentWorld`).
//!
//! - `journal`: records each request in the world's journal (`GET /__mock/journal`).
//! - `faults`: applies the world's injected faults (`POST /__mock/faults`).
//! - `guard`: `--no-control` and `--control-secret` for the control routes.
//! - `rate_limit`: the world's per-client rate limits (§6, `crate::rate_limit`).

pub(crate) mod faults;
pub(crate) mod guard;
pub(crate) mod journal;
pub(crate) mod rate_limit;
