//! Behaviour tests over real HTTP, one module per feature, all built into one binary.

mod helpers;
mod limits;
mod races;
mod scopes;
mod secrets;
mod smoke;
mod teams;
