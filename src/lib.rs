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
//! mock.controls().clock().advance(Duration::from_secs(3600)); // move time instead of sleeping
//! # let _ = url;
//! # }
//! ```
//!
//! # The public API
//!
//! At the root: [`MockServer`] and [`MockServerBuilder`] (start, stop on drop), [`Tenant`]
//! (an isolated world on the same server), [`Controls`] (the control methods both hand
//! out), [`Clock`], [`Millis`], [`Config`], [`InvalidOption`], [`Fixtures`], the errors
//! [`ApiError`] and [`StartError`], and [`shutdown_signal`]. A test's own webhook target
//! is in [`webhooks`] ([`webhooks::WebhookReceiver`], [`webhooks::ReceivedRequest`]); a
//! refused fixtures document's error in [`fixtures`] ([`fixtures::FixtureError`]). The
//! types the control methods take and return are in [`control`]; rate-limit settings and
//! reports in [`rate_limit`].
//!
//! # Layout
//!
//! One folder per layer; a module may import only from the layers below it (a test,
//! `tests/layering.rs`, fails on an import that runs back up):
//!
//! | layer | owns |
//! | --- | --- |
//! | `bin/particle-auth-mock/` | the binary: command line, tracing, signals, the `healthcheck` subcommand |
//! | `parity/` | the `parity` subcommand: safe flows against a target and an in-process mock, normalisation, diff, snapshots |
//! | `server/` | [`MockServer`], its builder, [`Tenant`], [`Controls`], [`webhooks::WebhookReceiver`], the accept loop and connection limits, housekeeping sweeps, signals |
//! | `http/` | app state, the pipeline (world routing, control guard, journal, limits, faults, body limit), extractors (one bearer parser), redaction (one redactor), `routes/` (handlers and THE Particle route table) |
//! | `control/` | control-plane operations: clock, users, tokens, rate limits, tenants, account state (password resets, clients, customers) |
//! | `particle/` | the emulated API's domain: oauth, account, lifecycle (sign-up, changes, reset), scopes, teams, products, devices, clients, customers, forms |
//! | [`fixtures`], [`webhooks`] (in `lib.rs`) | public paths to the fixtures error and the test's webhook receiver |
//! | `world/` | `World` (one isolated mock), the tenant registry, store, fixtures, per-world settings |
//! | `config.rs` | [`Config`]: every option, with code defaults |
//! | `rate_limit/`, `journal.rs`, `events.rs`, `faults.rs`, `totp.rs` | the engines: limits of §6, the request journal, the event bus (D5, D6), injected faults, RFC 6238 |
//! | `clock.rs`, `tokens.rs` | time (the only reader of the OS clock) and token generation |
//! | `error.rs`, `support/` | [`ApiError`] rendered as Particle-shaped JSON; shared map types and text helpers |
//!
//! Imports run one way: binary → parity → server → http → control → particle → world → config →
//! engines → clock/tokens → error/support. `control` sits above `particle` because the
//! control API issues tokens and creates API users through the same code as the
//! Particle routes. Only `server` and `http` know about connections and requests (`error`
//! renders its own JSON answer).
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::self_named_module_files)]
#![deny(clippy::wildcard_imports)]

mod clock;
mod config;
pub mod control;
mod error;
mod events;
mod faults;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(all(test, not(feature = "fuzzing")))]
mod fuzzing;
mod http;
mod journal;
pub mod parity;
mod particle;
#[cfg(test)]
mod proptests;
pub mod rate_limit;
mod server;
mod support;
mod tokens;
mod totp;
mod world;

pub use clock::{Clock, Millis};
pub use config::{Config, InvalidOption};
pub use error::ApiError;
pub use server::tenant::Tenant;
pub use server::{shutdown_signal, Controls, MockServer, MockServerBuilder, StartError};
pub use world::fixtures::Fixtures;

pub mod fixtures {
    //! The fixtures document: [`Fixtures`] (also at the crate root) and the error a
    //! refused document gives, [`FixtureError`].
    pub use crate::world::fixtures::{FixtureError, Fixtures};
}

pub mod webhooks {
    //! A test's own webhook target: [`WebhookReceiver`], a loopback HTTP server that
    //! records every request the mock's webhooks send it, as [`ReceivedRequest`]s.
    pub use crate::server::{ReceivedRequest, WebhookReceiver};
}

/// The README's Rust example, compiled by `cargo test --doc` so it stays true as printed.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
