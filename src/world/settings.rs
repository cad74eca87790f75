//! [`WorldSettings`]: the per-world subset of the configuration.

use crate::config::Config;
use crate::rate_limit::RateLimitOverrides;

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
                rules: c.rate_limits.clone(),
            },
            journal_size: c.journal_size,
        }
    }
}
