//! What the control API shows of a limiter: snapshots, summaries and per-client counters.

use serde::Serialize;

use crate::rate_limit::rules::{Limit, Rule};
use crate::rate_limit::settings::RateLimitSettings;

/// A client's counters and lockout, as [`RateLimitSnapshot`] shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientRateLimits {
    /// The client: an IPv4 address, or an IPv6 `/64` prefix.
    pub client: String,
    /// Each applicable rule with requests counted now.
    pub counters: Vec<RuleCounter>,
    /// Consecutive failed token requests so far.
    pub failure_streak: u32,
    /// Seconds left of a lockout, if the client is blocked.
    pub blocked_for_secs: Option<u64>,
}

/// One rule's counter for one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCounter {
    /// The rule.
    pub rule: Rule,
    /// Requests counted in the current window.
    pub count: u32,
    /// The rule's limit (`count/window`).
    pub limit: Limit,
    /// Requests left before a 429.
    pub remaining: u32,
    /// Whole seconds until `remaining` grows (0 if nothing is counted).
    pub reset_secs: u64,
}

/// Everything a world's limiter knows, at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateLimitSnapshot {
    /// The settings in force.
    pub settings: RateLimitSettings,
    /// Clients with state (at most `max_tracked_clients`).
    pub tracked_clients: usize,
    /// New clients admitted without tracking because the table was full.
    pub untracked_admissions: u64,
    /// Every tracked client, ordered by client.
    pub clients: Vec<ClientRateLimits>,
}

/// A world's limiter at a glance, without its clients (`GET /__mock/rate-limits`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateLimitSummary {
    /// The settings in force.
    pub settings: RateLimitSettings,
    /// Clients with state (at most `max_tracked_clients`).
    pub tracked_clients: usize,
    /// New clients admitted without tracking because the table was full.
    pub untracked_admissions: u64,
}
