//! [`Config`]: every option of the mock in one struct, shared by the binary (clap, with a
//! `PARTICLE_MOCK_*` environment variable per flag) and the library builder.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::rate_limit::{Algorithm, HeaderStyle, RateLimitOverrides, RuleOverride};

/// All options. `Config::default()` is what the binary runs with when given no flags,
/// except that the library binds `127.0.0.1:0` (see [`MockServer`](crate::MockServer)).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "particle-auth-mock",
    version,
    about = "Offline emulator of the Particle Cloud authentication API"
)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "PARTICLE_MOCK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Fixtures file to load instead of the embedded default set.
    #[arg(long, env = "PARTICLE_MOCK_FIXTURES")]
    pub fixtures: Option<PathBuf>,

    /// Seed for reproducible tokens, mfa_tokens and generated names (default: OS randomness).
    #[arg(long, env = "PARTICLE_MOCK_SEED")]
    pub seed: Option<u64>,

    /// Lifetime of an mfa_token, in seconds.
    #[arg(long, env = "PARTICLE_MOCK_MFA_TOKEN_TTL", default_value_t = 300)]
    pub mfa_token_ttl: u64,

    /// TOTP steps of clock skew accepted either side of the current one.
    #[arg(long, env = "PARTICLE_MOCK_OTP_SKEW", default_value_t = 1)]
    pub otp_skew: u8,

    /// Wrong codes after which an mfa_token dies with 429.
    #[arg(long, env = "PARTICLE_MOCK_OTP_MAX_FAILURES", default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..))]
    pub otp_max_failures: u8,

    /// Access-token lifetime, in seconds, when a request names none.
    #[arg(
        long,
        env = "PARTICLE_MOCK_TOKEN_LIFETIME",
        default_value_t = 7_776_000
    )]
    pub token_lifetime: i64,

    /// Refresh-token lifetime beyond its access token's expiry, in seconds.
    #[arg(
        long,
        env = "PARTICLE_MOCK_REFRESH_TOKEN_LIFETIME",
        default_value_t = 1_209_600
    )]
    pub refresh_token_lifetime: i64,

    /// Cap on live access tokens per world; when full, expired tokens are evicted first,
    /// then the tokens closest to expiry.
    #[arg(long, env = "PARTICLE_MOCK_MAX_TOKENS", default_value_t = 1_000_000)]
    pub max_tokens: usize,

    /// Switch every rate limit off (for functional test suites run from one address).
    #[arg(long, env = "PARTICLE_MOCK_NO_RATE_LIMITS")]
    pub no_rate_limits: bool,

    /// Rate-limit algorithm: `sliding` (exact sliding log, the default) or `fixed`
    /// (windows aligned on the Unix epoch).
    #[arg(
        long,
        env = "PARTICLE_MOCK_RATE_LIMIT_ALGORITHM",
        value_name = "sliding|fixed"
    )]
    pub rate_limit_algorithm: Option<Algorithm>,

    /// Rate-limit headers on every limited answer: `none` (default), `x-ratelimit`
    /// (`X-RateLimit-Limit/Remaining/Reset`) or `ietf` (`RateLimit-Policy` and `RateLimit`).
    #[arg(
        long,
        env = "PARTICLE_MOCK_RATE_LIMIT_HEADERS",
        value_name = "none|x-ratelimit|ietf"
    )]
    pub rate_limit_headers: Option<HeaderStyle>,

    /// One rate-limit rule: `NAME=COUNT/WINDOW` (window in ms, s, m or h; `s` if none) or
    /// `NAME=off`. Repeatable or comma-separated. Names: global, oauth, oauth-failures,
    /// access-tokens-list, access-token-delete, users-create, user-delete,
    /// password-reset-post, password-reset-put, events.
    #[arg(
        long = "rate-limit",
        env = "PARTICLE_MOCK_RATE_LIMIT",
        value_name = "NAME=COUNT/WINDOW|NAME=off",
        value_delimiter = ','
    )]
    pub rate_limits: Vec<RuleOverride>,

    /// Most clients whose rate-limit state is tracked at once (default 1,000,000); when
    /// full, new clients are admitted untracked.
    #[arg(long, env = "PARTICLE_MOCK_MAX_TRACKED_CLIENTS")]
    pub max_tracked_clients: Option<usize>,

    /// Take the client's address from `Forwarded: for=` or `X-Forwarded-For` (leftmost
    /// valid address) instead of the socket peer; only behind a trusted proxy, or to
    /// simulate many clients from one machine.
    #[arg(long, env = "PARTICLE_MOCK_TRUST_FORWARDED")]
    pub trust_forwarded: bool,

    /// Requests kept in each world's request journal (`GET /__mock/journal`); 0 disables it.
    #[arg(long, env = "PARTICLE_MOCK_JOURNAL_SIZE", default_value_t = 1_000)]
    pub journal_size: usize,

    /// Cap on live tenants (`POST /__mock/tenants` answers 429 beyond it).
    #[arg(long, env = "PARTICLE_MOCK_MAX_TENANTS", default_value_t = 1_000)]
    pub max_tenants: usize,

    /// Switch the control API off: `/__mock/…` answers 404 like any unknown route, except
    /// `/__mock/health` and `/__mock/ready`, which stay for health checks.
    #[arg(long, env = "PARTICLE_MOCK_NO_CONTROL")]
    pub no_control: bool,

    /// Require this secret in an `X-Mock-Control-Secret` header on every control call
    /// (health and readiness excepted).
    #[arg(long, env = "PARTICLE_MOCK_CONTROL_SECRET", hide_env_values = true)]
    pub control_secret: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self::parse_from(["particle-auth-mock"])
    }
}

/// The command line: options, and an optional subcommand.
#[derive(Debug, Parser)]
#[command(
    name = "particle-auth-mock",
    version,
    about = "Offline emulator of the Particle Cloud authentication API"
)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Server options.
    #[command(flatten)]
    pub config: Config,
}

/// Subcommands of the binary.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the mock (the default).
    Serve,
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
