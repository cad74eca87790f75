//! An offline, in-memory emulator of the Particle Cloud API's authentication surface,
//! for testing Particle client code without the real cloud.
//!
//! # Quick start
//!
//! ```
//! # #[tokio::main] async fn main() {
//! use particle_auth_mock::MockServer;
//! use std::time::Duration;
//!
//! let mock = MockServer::start().await;            // default fixtures, 127.0.0.1:0
//! let url = format!("{}/oauth/token", mock.uri());  // point particle-api-js' baseUrl here
//! mock.clock().advance(Duration::from_secs(3600)); // move time instead of sleeping
//! # let _ = url;
//! # }
//! ```
//!
//! # Layout
//!
//! - `server`: [`MockServer`] and [`MockServerBuilder`]: bind, serve, stop on drop.
//! - `app`: the router and its layers (CORS, tenant routing, JSON error safety net).
//! - `routes/*`: HTTP handlers, one module per part of the spec; they only translate.
//! - `extract`: extractors (bearer auth, token form, JSON bodies) rejecting with [`ApiError`].
//! - `error`: [`ApiError`], rendered as Particle-shaped JSON.
//! - `oauth`, `account`: the domain logic of `/oauth/token`, tokens, user and MFA endpoints.
//! - `scopes`: the one table of what each route needs (scope, human only, any token) and
//!   its enforcement; `teams`: API users of product and org teams; `products`: the
//!   product and org resources API users call.
//! - `world`: one isolated world (store, clock, generator, settings, journal, faults).
//! - `control`: the control plane's logic (clock readings, users, tokens, tenants), shared
//!   by `routes/control.rs` and the [`MockServer`] / [`Tenant`] methods.
//! - `journal`, `faults`: the request journal and injected faults of a world.
//! - `middleware/*`: the journal, fault and control-guard layers.
//! - `tenant`: [`Tenant`], and the control methods it shares with [`MockServer`].
//! - `store`: users, products, teams and live credentials.
//! - `clock`: [`Clock`], the only reader of the OS time.
//! - `rate_limit`: per-client limits of §6 (windows, lockout, bounded memory);
//!   `middleware::rate_limit` applies them to requests.
//! - `tokens`: token generation and constant-time comparison.
//! - `totp`: RFC 6238 verification with skew and replay protection.
//! - `fixtures`: [`Fixtures`], the embedded default set and validation.
//! - `config`: [`Config`], every option (clap + `PARTICLE_MOCK_*`).
//! - [`healthcheck`]: the binary's `healthcheck` subcommand (a container `HEALTHCHECK`).
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::self_named_module_files)]

mod clock;
mod config;
mod control;
mod error;
mod faults;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(all(test, not(feature = "fuzzing")))]
mod fuzzing;
mod http;
mod journal;
mod particle;
#[cfg(test)]
mod proptests;
mod rate_limit;
mod server;
mod support;
mod tokens;
mod totp;
mod world;

pub use clock::{Clock, Millis};
pub use config::Config;
pub use control::{
    parse_duration, ClockState, IssuedToken, LiveToken, MembershipSpec, NewUser, TenantInfo,
    TokenOrder, TotpCodes, UserPatch, UserView,
};
pub use error::ApiError;
pub use faults::{FaultInfo, FaultSpec};
pub use journal::{JournalEntry, JournalFilter};
pub use rate_limit::{
    Algorithm, ClientRateLimits, HeaderStyle, Limit, RateLimitSettings, RateLimitSnapshot,
    RateLimitSummary, Rule, RuleCounter, RuleOverride, RuleSetting,
};
pub use server::tenant::Tenant;
pub use server::{shutdown_signal, MockServer, MockServerBuilder, StartError};
pub use world::fixtures::{FixtureError, Fixtures};
