//! [`Config`]: every option of the mock in one struct, shared by the binary (clap, with a
//! `PARTICLE_MOCK_*` environment variable per flag) and the library builder.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
    /// Probe a running mock's health endpoint: exit 0 on `200`, 1 otherwise (for a
    /// container `HEALTHCHECK` that has no shell or curl).
    Healthcheck(HealthcheckArgs),
}

/// Options of the `healthcheck` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthcheckArgs {
    /// URL to probe [default: `/__mock/health` on the port of `--listen`, over loopback
    /// when listening on every address, e.g. http://127.0.0.1:8080/__mock/health].
    #[arg(long, env = "PARTICLE_MOCK_HEALTHCHECK_URL")]
    pub url: Option<String>,
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
            journal_size: c.journal_size,
        }
    }
}
