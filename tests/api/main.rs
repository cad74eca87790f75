//! Behaviour tests over real HTTP, one module per feature, all built into one binary.

mod helpers;
mod rate_limit;
mod scopes;
mod smoke;
mod teams;
