//! Behaviour tests over real HTTP, one module per feature, all built into one binary.

#![allow(clippy::field_reassign_with_default)] // tests tweak one option of a default Config

mod account;
mod account_gaps;
mod account_lifecycle;
mod account_resources;
mod bearer;
mod binary;
mod control_clock;
mod control_devices;
mod control_faults;
mod control_guard;
mod control_journal;
mod control_rate_limits;
mod control_stream;
mod control_support;
mod control_tenants;
mod control_users;
mod cors;
mod device_admin;
mod device_calls;
mod device_support;
mod dispatch;
mod events;
mod first_hour;
mod floods;
mod healthcheck;
mod helpers;
mod layers;
mod library;
mod lifetimes;
mod limits;
mod mfa;
mod oauth;
mod openapi;
mod options_doc;
mod races;
mod rate_limit;
mod scopes;
mod smoke;
mod start_up;
mod state;
mod state_file;
mod teams;
mod tls;
mod token_endpoints;
