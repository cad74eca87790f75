//! [`WorldSettings`]: the per-world subset of the configuration.

use std::sync::Arc;

use crate::config::Config;
use crate::rate_limit::RateLimitOverrides;
use crate::support::budget::Tally;

/// The server-wide tallies that every world of one server shares (the default world's
/// are handed to each tenant): caps on the sum over all worlds.
#[derive(Debug, Clone)]
pub(crate) struct Budgets {
    /// Access tokens, refresh tokens and MFA challenges (`--max-total-tokens`).
    pub credentials: Arc<Tally>,
    /// Rate-limited clients tracked (`--max-total-tracked-clients`).
    pub tracked_clients: Arc<Tally>,
    /// Users, customers, devices, OAuth clients and API users (`--max-total-records`).
    pub records: Arc<Tally>,
}

impl Budgets {
    /// Fresh tallies with the caps of `config`.
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            credentials: Arc::new(Tally::new(config.max_total_tokens)),
            tracked_clients: Arc::new(Tally::new(config.max_total_tracked_clients)),
            records: Arc::new(Tally::new(config.max_total_records)),
        }
    }
}

/// The per-world subset of [`Config`]: what a tenant carries with it.
#[derive(Debug, Clone)]
pub(crate) struct WorldSettings {
    pub mfa_token_ttl_secs: u64,
    pub otp_skew: u8,
    pub otp_max_failures: u8,
    pub default_token_lifetime: i64,
    pub refresh_token_lifetime: i64,
    pub max_tokens: usize,
    /// The rate-limit options, resolved against the world's fixtures when it is built.
    pub rate_limits: RateLimitOverrides,
    /// Requests kept in the journal (0: none).
    pub journal_size: usize,
    /// Events an event subscriber may hold unread (`--event-buffer`).
    pub event_buffer: usize,
    /// Longest event data a publish accepts (`--max-event-data-bytes`).
    pub max_event_data_bytes: usize,
    /// Where and how webhooks are delivered (`--webhook-*`).
    pub webhooks: WebhookSettings,
    /// The server-wide tallies (shared with every other world of the server).
    pub budgets: Budgets,
}

/// The webhook options of [`Config`], per world.
#[derive(Debug, Clone)]
pub(crate) struct WebhookSettings {
    /// Real-time cap on one delivery (`--webhook-timeout-ms`).
    pub timeout_ms: u64,
    /// Hosts besides loopback a delivery may go to (`--webhook-allow-host`), lower case.
    pub allow_hosts: Arc<[String]>,
    /// Deliveries waiting for a sender (`--webhook-queue`).
    pub queue: usize,
    /// Deliveries sent at once (`--webhook-concurrency`).
    pub concurrency: usize,
}

impl WorldSettings {
    /// The settings of a new tenant: `config`'s, sharing the tallies of `server` (the
    /// default world's settings).
    pub(crate) fn for_tenant(config: &Config, server: &WorldSettings) -> Self {
        Self {
            budgets: server.budgets.clone(),
            ..Self::from(config)
        }
    }
}

impl From<&Config> for WorldSettings {
    fn from(c: &Config) -> Self {
        Self {
            mfa_token_ttl_secs: c.mfa_token_ttl,
            otp_skew: c.otp_skew,
            otp_max_failures: c.otp_max_failures.max(1),
            default_token_lifetime: c.token_lifetime.max(0),
            refresh_token_lifetime: c.refresh_token_lifetime.max(0),
            max_tokens: c.max_tokens.max(1),
            rate_limits: RateLimitOverrides {
                base: None,
                disabled: c.no_rate_limits,
                algorithm: c.rate_limit_algorithm,
                headers: c.rate_limit_headers,
                max_tracked_clients: c.max_tracked_clients,
                stream_limit_status: c.stream_limit_status,
                rules: c.rate_limits.clone(),
            },
            journal_size: c.journal_size,
            event_buffer: c.event_buffer.max(1),
            max_event_data_bytes: c.max_event_data_bytes,
            webhooks: WebhookSettings {
                timeout_ms: c.webhook_timeout_ms.max(1),
                allow_hosts: c
                    .webhook_allow_hosts
                    .iter()
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect(),
                queue: c.webhook_queue.max(1),
                concurrency: c.webhook_concurrency.max(1),
            },
            budgets: Budgets::new(c),
        }
    }
}
