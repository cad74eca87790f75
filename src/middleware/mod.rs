//! HTTP middleware that is not a route: each child wraps the router in `app.rs` and
//! keeps its domain logic in a plain module.

pub(crate) mod rate_limit;
