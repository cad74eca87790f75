//! Behaviour tests over real HTTP, one module per feature, all built into one binary.

mod account;
mod bearer;
mod binary;
mod cors;
mod helpers;
mod library;
mod lifetimes;
mod mfa;
mod oauth;
mod scopes;
mod smoke;
mod teams;
mod token_endpoints;
