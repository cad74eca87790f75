//! Behaviour tests over real HTTP, one module per feature, all built into one binary.

mod healthcheck;
mod helpers;
mod scopes;
mod smoke;
mod teams;
