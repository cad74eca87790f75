//! HTTP middleware that is not a route, wired in `app.rs`.

pub(crate) mod body_limit;
