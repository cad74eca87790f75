//! Behaviour tests over real HTTP, one module per feature, all built into one binary.

mod control_clock;
mod control_faults;
mod control_guard;
mod control_journal;
mod control_support;
mod control_tenants;
mod control_users;
mod helpers;
mod scopes;
mod smoke;
mod teams;
