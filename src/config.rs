//! [`Config`]: every option of the mock in one struct, shared by the binary (clap, with a
//! `PARTICLE_MOCK_*` environment variable per flag) and the library builder.
//!
//! `Config::default()` is written from the constants in [`defaults`], never by running
//! the clap parser: a library must not read the process environment or exit the process.
//! The binary alone parses the command line and the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::BoolishValueParser;

use crate::rate_limit::{Algorithm, HeaderStyle, RuleOverride};

/// All options. `Config::default()` is what the binary runs with when given no flags and
/// no `PARTICLE_MOCK_*` variable, except that the library binds `127.0.0.1:0` (see
/// [`MockServer`](crate::MockServer)).
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "particle-auth-mock",
    version,
    about = "Offline emulator of the Particle Cloud authentication API"
)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "PARTICLE_MOCK_LISTEN", value_name = "IP:PORT", default_value_t = defaults::LISTEN, value_parser = parse_address)]
    pub listen: SocketAddr,

    /// Fixtures file to load instead of the embedded default set [default: the embedded
    /// set].
    #[arg(long, env = "PARTICLE_MOCK_FIXTURES")]
    pub fixtures: Option<PathBuf>,

    /// Seed for reproducible tokens, mfa_tokens and generated names, a whole number
    /// [default: OS randomness].
    #[arg(long, env = "PARTICLE_MOCK_SEED", value_parser = parse_seed)]
    pub seed: Option<u64>,

    /// Lifetime of an mfa_token, in seconds.
    #[arg(long, env = "PARTICLE_MOCK_MFA_TOKEN_TTL", default_value_t = defaults::MFA_TOKEN_TTL)]
    pub mfa_token_ttl: u64,

    /// TOTP steps of clock skew accepted either side of the current one.
    #[arg(long, env = "PARTICLE_MOCK_OTP_SKEW", default_value_t = defaults::OTP_SKEW)]
    pub otp_skew: u8,

    /// Wrong codes after which an mfa_token dies with 429.
    #[arg(long, env = "PARTICLE_MOCK_OTP_MAX_FAILURES", default_value_t = defaults::OTP_MAX_FAILURES, value_parser = clap::value_parser!(u8).range(1..))]
    pub otp_max_failures: u8,

    /// Access-token lifetime, in seconds, when a request names none.
    #[arg(
        long,
        env = "PARTICLE_MOCK_TOKEN_LIFETIME",
        default_value_t = defaults::TOKEN_LIFETIME
    )]
    pub token_lifetime: i64,

    /// Refresh-token lifetime beyond its access token's expiry, in seconds.
    #[arg(
        long,
        env = "PARTICLE_MOCK_REFRESH_TOKEN_LIFETIME",
        default_value_t = defaults::REFRESH_TOKEN_LIFETIME
    )]
    pub refresh_token_lifetime: i64,

    /// Cap on live access tokens per world (and, separately, on refresh tokens and on
    /// outstanding MFA challenges); when full, expired entries are evicted first, then
    /// those closest to expiry.
    #[arg(long, env = "PARTICLE_MOCK_MAX_TOKENS", default_value_t = defaults::MAX_TOKENS)]
    pub max_tokens: usize,

    /// Largest request body accepted, in bytes; a larger one is answered `413` JSON
    /// (declared `Content-Length` is refused before any byte of the body is read).
    #[arg(long, env = "PARTICLE_MOCK_MAX_BODY_BYTES", default_value_t = defaults::MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Largest request head (request line and headers), in bytes; a larger one is
    /// answered `431` by the HTTP layer and the connection is closed.
    #[arg(long, env = "PARTICLE_MOCK_MAX_HEADER_BYTES", default_value_t = defaults::MAX_HEADER_BYTES)]
    pub max_header_bytes: usize,

    /// Most header fields in one request; more are answered `431` by the HTTP layer.
    #[arg(long, env = "PARTICLE_MOCK_MAX_HEADERS", default_value_t = defaults::MAX_HEADERS)]
    pub max_headers: usize,

    /// Milliseconds a client has to send a whole request head, counted from its first
    /// byte on a new connection and from the previous answer on a kept-alive one (so it is
    /// also the idle keep-alive timeout); then the connection is closed.
    #[arg(
        long,
        env = "PARTICLE_MOCK_HEADER_TIMEOUT_MS",
        default_value_t = defaults::HEADER_TIMEOUT_MS
    )]
    pub header_timeout_ms: u64,

    /// Milliseconds from a complete request head to the answer, body upload included; a
    /// slower request is answered `408` JSON and its connection closed.
    #[arg(
        long,
        env = "PARTICLE_MOCK_REQUEST_TIMEOUT_MS",
        default_value_t = defaults::REQUEST_TIMEOUT_MS
    )]
    pub request_timeout_ms: u64,

    /// Most connections served at once; a connection beyond it is answered `503` JSON
    /// (`Connection: close`, `Retry-After: 1`) and closed without reading its request.
    #[arg(long, env = "PARTICLE_MOCK_MAX_CONNECTIONS", default_value_t = defaults::MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Switch every rate limit off (for functional test suites run from one address).
    #[arg(long, env = "PARTICLE_MOCK_NO_RATE_LIMITS", value_parser = BoolishValueParser::new())]
    pub no_rate_limits: bool,

    /// Rate-limit algorithm: `sliding` (exact sliding log) or `fixed` (windows aligned on
    /// the Unix epoch) [default: sliding].
    #[arg(
        long,
        env = "PARTICLE_MOCK_RATE_LIMIT_ALGORITHM",
        value_name = "sliding|fixed"
    )]
    pub rate_limit_algorithm: Option<Algorithm>,

    /// Rate-limit headers on every limited answer: `none`, `x-ratelimit`
    /// (`X-RateLimit-Limit/Remaining/Reset`) or `ietf` (`RateLimit-Policy` and `RateLimit`)
    /// [default: none].
    #[arg(
        long,
        env = "PARTICLE_MOCK_RATE_LIMIT_HEADERS",
        value_name = "none|x-ratelimit|ietf"
    )]
    pub rate_limit_headers: Option<HeaderStyle>,

    /// One rate-limit rule: `NAME=COUNT/WINDOW` (window in ms, s, m or h; `s` if none) or
    /// `NAME=off`. Repeatable or comma-separated. Names: global, oauth, oauth-failures,
    /// access-tokens-list, access-token-delete, users-create, user-delete,
    /// password-reset-post, password-reset-put, events, event-streams (its COUNT is the most
    /// streams open at once; the window is not used).
    #[arg(
        long = "rate-limit",
        env = "PARTICLE_MOCK_RATE_LIMIT",
        value_name = "NAME=COUNT/WINDOW|NAME=off",
        value_delimiter = ','
    )]
    pub rate_limits: Vec<RuleOverride>,

    /// Most clients whose rate-limit state is tracked at once; when full, new clients are
    /// admitted untracked [default: 1000000].
    #[arg(long, env = "PARTICLE_MOCK_MAX_TRACKED_CLIENTS")]
    pub max_tracked_clients: Option<usize>,

    /// The status of a refused event-stream open (the `events`, global or `event-streams`
    /// rule on a stream route): 429 (default) or 529, which the SSE paragraph of
    /// Particle's docs names.
    #[arg(
        long,
        env = "PARTICLE_MOCK_STREAM_LIMIT_STATUS",
        value_name = "429|529"
    )]
    pub stream_limit_status: Option<u16>,

    /// Take the client's address from `Forwarded: for=` or `X-Forwarded-For` (leftmost
    /// valid address) instead of the socket peer; only behind a trusted proxy, or to
    /// simulate many clients from one machine.
    #[arg(long, env = "PARTICLE_MOCK_TRUST_FORWARDED", value_parser = BoolishValueParser::new())]
    pub trust_forwarded: bool,

    /// Requests kept in each world's request journal (`GET /__mock/journal`); 0 disables it.
    #[arg(long, env = "PARTICLE_MOCK_JOURNAL_SIZE", default_value_t = defaults::JOURNAL_SIZE)]
    pub journal_size: usize,

    /// Cap on live tenants (`POST /__mock/tenants` answers 429 beyond it).
    #[arg(long, env = "PARTICLE_MOCK_MAX_TENANTS", default_value_t = defaults::MAX_TENANTS)]
    pub max_tenants: usize,

    /// Cap on access tokens, refresh tokens and MFA challenges of all worlds together
    /// (the default world and every tenant); past it a world makes room by evicting one
    /// of its own, as at `--max-tokens`.
    #[arg(long, env = "PARTICLE_MOCK_MAX_TOTAL_TOKENS", default_value_t = defaults::MAX_TOTAL_TOKENS)]
    pub max_total_tokens: usize,

    /// Cap on rate-limited clients tracked by all worlds together; past it new clients
    /// are admitted untracked, as at `--max-tracked-clients`.
    #[arg(
        long,
        env = "PARTICLE_MOCK_MAX_TOTAL_TRACKED_CLIENTS",
        default_value_t = defaults::MAX_TOTAL_TRACKED_CLIENTS
    )]
    pub max_total_tracked_clients: usize,

    /// Cap on directory records (users, customers, devices, OAuth clients, API users) of
    /// all worlds together, fixtures included; past it creations answer 503 and new
    /// tenants 503.
    #[arg(long, env = "PARTICLE_MOCK_MAX_TOTAL_RECORDS", default_value_t = defaults::MAX_TOTAL_RECORDS)]
    pub max_total_records: usize,

    /// Switch the control API off: `/__mock/…` answers 404 like any unknown route, except
    /// `/__mock/health` and `/__mock/ready`, which stay for health checks.
    #[arg(long, env = "PARTICLE_MOCK_NO_CONTROL", value_parser = BoolishValueParser::new())]
    pub no_control: bool,

    /// Require this secret in an `X-Mock-Control-Secret` header on every control call
    /// (health, readiness and the dashboard page excepted: the page asks for it).
    #[arg(long, env = "PARTICLE_MOCK_CONTROL_SECRET", hide_env_values = true)]
    pub control_secret: Option<String>,

    /// More host names the control API answers to (its `Host` header), besides IP
    /// literals, `localhost` and `*.localhost`; a control request naming any other host is
    /// refused `403` (DNS rebinding). Comma-separated.
    #[arg(
        long = "allowed-host",
        env = "PARTICLE_MOCK_ALLOWED_HOSTS",
        value_name = "HOST",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Most connections open at once from one client address; a connection beyond it is
    /// closed at once. Unset: no per-client cap (only `--max-connections`).
    #[arg(long, env = "PARTICLE_MOCK_MAX_CONNECTIONS_PER_CLIENT")]
    pub max_connections_per_client: Option<u32>,

    /// Milliseconds of silence after which an event stream sends a keep-alive newline
    /// (and re-checks its token). Under 15,000: particle-api-js drops a stream silent
    /// for 15 s (particle-api-devices.md D5.3).
    #[arg(long, env = "PARTICLE_MOCK_EVENT_KEEPALIVE_MS", default_value_t = defaults::EVENT_KEEPALIVE_MS)]
    pub event_keepalive_ms: u64,

    /// Events an event stream may hold unread; a stream further behind is closed (and
    /// journaled) so that it never slows the publisher or other streams.
    #[arg(long, env = "PARTICLE_MOCK_EVENT_BUFFER", default_value_t = defaults::EVENT_BUFFER)]
    pub event_buffer: usize,

    /// Longest event `data` a publish accepts, in bytes (D6: 1024 by default; at most
    /// 8192, the longest body field the mock reads).
    #[arg(long, env = "PARTICLE_MOCK_MAX_EVENT_DATA_BYTES", default_value_t = defaults::MAX_EVENT_DATA_BYTES)]
    pub max_event_data_bytes: usize,

    /// Milliseconds a webhook delivery may take (connect, send, answer), on real time
    /// (particle-api-devices.md D7.4: 20 s); past it the delivery is a `hook-error`.
    #[arg(long, env = "PARTICLE_MOCK_WEBHOOK_TIMEOUT_MS", default_value_t = defaults::WEBHOOK_TIMEOUT_MS)]
    pub webhook_timeout_ms: u64,

    /// A host (name or address, exact, any case) webhooks may be delivered to besides
    /// loopback addresses and `localhost`; repeat or separate with commas. Any other
    /// destination gets an immediate `hook-error` naming this option (the mock is offline
    /// by design).
    #[arg(
        long = "webhook-allow-host",
        env = "PARTICLE_MOCK_WEBHOOK_ALLOW_HOSTS",
        value_name = "HOST",
        value_delimiter = ','
    )]
    pub webhook_allow_hosts: Vec<String>,

    /// Webhook deliveries one world may hold waiting for a sender; a delivery beyond it
    /// is dropped with a `hook-error` and a journal entry (publishing never waits).
    #[arg(long, env = "PARTICLE_MOCK_WEBHOOK_QUEUE", default_value_t = defaults::WEBHOOK_QUEUE)]
    pub webhook_queue: usize,

    /// Webhook deliveries one world sends at once; the others wait in the queue.
    #[arg(long, env = "PARTICLE_MOCK_WEBHOOK_CONCURRENCY", default_value_t = defaults::WEBHOOK_CONCURRENCY)]
    pub webhook_concurrency: usize,

    /// Keep the default world in this file: loaded at start if it exists (a corrupt file
    /// or one of another version stops start-up and is left as it is), saved after
    /// changes and at shutdown, atomically (docs/persistence.md).
    #[arg(long, env = "PARTICLE_MOCK_STATE_FILE", value_name = "PATH")]
    pub state_file: Option<PathBuf>,

    /// Shortest time between two saves of `--state-file`, in milliseconds: changes within
    /// it are written together.
    #[arg(long, env = "PARTICLE_MOCK_STATE_SAVE_INTERVAL_MS", default_value_t = defaults::STATE_SAVE_INTERVAL_MS)]
    pub state_save_interval_ms: u64,

    /// Serve HTTPS (rustls) on `--listen` with a certificate for `localhost`,
    /// `127.0.0.1`, `::1` and every `--allowed-host`, signed by a local CA made at start
    /// (its PEM goes to `--tls-ca-out`), or with `--tls-cert`/`--tls-key`.
    #[arg(long, env = "PARTICLE_MOCK_TLS", value_parser = BoolishValueParser::new())]
    pub tls: bool,

    /// Serve HTTPS on this address as well, keeping plain HTTP on `--listen` (implies
    /// `--tls`).
    #[arg(long, env = "PARTICLE_MOCK_TLS_LISTEN", value_name = "IP:PORT", value_parser = parse_address)]
    pub tls_listen: Option<SocketAddr>,

    /// Where the generated CA certificate (PEM) is written, for clients to trust
    /// (`NODE_EXTRA_CA_CERTS`, `curl --cacert`); the path is printed at start [default:
    /// particle-auth-mock-ca.pem in the temporary directory].
    #[arg(long, env = "PARTICLE_MOCK_TLS_CA_OUT", value_name = "PATH")]
    pub tls_ca_out: Option<PathBuf>,

    /// Your own certificate chain (PEM) instead of a generated one; needs `--tls-key`.
    #[arg(
        long,
        env = "PARTICLE_MOCK_TLS_CERT",
        value_name = "PATH",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of `--tls-cert`.
    #[arg(
        long,
        env = "PARTICLE_MOCK_TLS_KEY",
        value_name = "PATH",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
}

/// A setting refused at start-up: the option it belongs to and why
/// (`MockServerBuilder::start` and the binary check every numeric option).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --{option}: {reason}")]
pub struct InvalidOption {
    /// The option's long name, without the dashes (`max-tokens`).
    pub option: &'static str,
    /// Why the value was refused.
    pub reason: String,
}

/// Parses `IP:PORT` (`--listen`, `--tls-listen`), saying what is expected when the value
/// is a port alone, a host name or a URL (the standard "invalid socket address syntax"
/// says nothing).
pub(crate) fn parse_address(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    let hint = if text.contains("://") {
        "give IP:PORT without a scheme, e.g. 127.0.0.1:8080".to_string()
    } else if let Ok(port) = text.parse::<u16>() {
        format!("a port alone is not an address: give IP:PORT, e.g. 127.0.0.1:{port} (or 0.0.0.0:{port} for every interface)")
    } else if text.contains(|c: char| c.is_ascii_alphabetic()) && !text.contains('[') {
        "host names are not resolved: give IP:PORT, e.g. 127.0.0.1:8080 (or [::1]:8080)".into()
    } else {
        "expected IP:PORT, e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080".into()
    };
    Err(hint)
}

/// Parses `--seed`: a whole number.
pub(crate) fn parse_seed(text: &str) -> Result<u64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("expected a whole number from 0 to {}", u64::MAX))
}

impl Config {
    /// Whether HTTPS is served (`--tls`, `--tls-listen` or `--tls-cert`).
    pub fn serves_tls(&self) -> bool {
        self.tls || self.tls_listen.is_some() || self.tls_cert.is_some()
    }

    /// Whether plain HTTP is served on `--listen` (not when `--tls` alone moved it to
    /// HTTPS).
    pub fn serves_plain_http(&self) -> bool {
        !self.serves_tls() || self.tls_listen.is_some()
    }

    /// Checks every option whose value could make no sense (zero, negative, out of
    /// range, an empty control secret): the first refused one, named.
    ///
    /// ```
    /// use particle_auth_mock::Config;
    ///
    /// // Arrange
    /// let config = Config { max_tokens: 0, ..Config::default() };
    /// // Act
    /// let refused = config.validate().unwrap_err();
    /// // Assert
    /// assert_eq!(refused.option, "max-tokens");
    /// ```
    pub fn validate(&self) -> Result<(), InvalidOption> {
        use defaults as d;
        fn within<T: PartialOrd + std::fmt::Display>(
            option: &'static str,
            value: T,
            min: T,
            max: T,
        ) -> Result<(), InvalidOption> {
            if value < min || value > max {
                return Err(InvalidOption {
                    option,
                    reason: format!("{value} is outside {min}..={max}"),
                });
            }
            Ok(())
        }
        within(
            "mfa-token-ttl",
            self.mfa_token_ttl,
            1,
            d::MAX_LIFETIME_SECS as u64,
        )?;
        within("otp-skew", self.otp_skew, 0, 10)?;
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(InvalidOption {
                option: if self.tls_cert.is_some() {
                    "tls-key"
                } else {
                    "tls-cert"
                },
                reason: "--tls-cert and --tls-key go together".into(),
            });
        }
        within(
            "state-save-interval-ms",
            self.state_save_interval_ms,
            1,
            3_600_000,
        )?;
        within(
            "token-lifetime",
            self.token_lifetime,
            1,
            d::MAX_LIFETIME_SECS,
        )?;
        within(
            "refresh-token-lifetime",
            self.refresh_token_lifetime,
            1,
            d::MAX_LIFETIME_SECS,
        )?;
        within("max-tokens", self.max_tokens, 1, d::MAX_MAX_TOKENS)?;
        within(
            "max-body-bytes",
            self.max_body_bytes,
            1,
            d::MAX_MAX_BODY_BYTES,
        )?;
        within("max-header-bytes", self.max_header_bytes, 1024, 1024 * 1024)?;
        within("max-headers", self.max_headers, 1, 10_000)?;
        within("header-timeout-ms", self.header_timeout_ms, 1, 3_600_000)?;
        within("request-timeout-ms", self.request_timeout_ms, 1, 3_600_000)?;
        within("max-connections", self.max_connections, 1, 1_000_000)?;
        if let Some(per_client) = self.max_connections_per_client {
            within(
                "max-connections-per-client",
                per_client,
                1,
                self.max_connections,
            )?;
        }
        within(
            "event-keepalive-ms",
            self.event_keepalive_ms,
            1,
            d::MAX_EVENT_KEEPALIVE_MS,
        )?;
        within("event-buffer", self.event_buffer, 1, 65_536)?;
        within("max-event-data-bytes", self.max_event_data_bytes, 1, 8_192)?;
        within("webhook-timeout-ms", self.webhook_timeout_ms, 1, 600_000)?;
        within("webhook-queue", self.webhook_queue, 1, 100_000)?;
        within("webhook-concurrency", self.webhook_concurrency, 1, 1_000)?;
        if let Some(clients) = self.max_tracked_clients {
            within("max-tracked-clients", clients, 1, 100_000_000)?;
        }
        if let Some(status) = self.stream_limit_status {
            if status != 429 && status != 529 {
                return Err(InvalidOption {
                    option: "stream-limit-status",
                    reason: format!("{status} is neither 429 nor 529"),
                });
            }
        }
        within("journal-size", self.journal_size, 0, d::MAX_JOURNAL_SIZE)?;
        within("max-tenants", self.max_tenants, 0, d::MAX_MAX_TENANTS)?;
        within(
            "max-total-tokens",
            self.max_total_tokens,
            1,
            d::MAX_MAX_TOTAL,
        )?;
        within(
            "max-total-tracked-clients",
            self.max_total_tracked_clients,
            1,
            d::MAX_MAX_TOTAL,
        )?;
        within(
            "max-total-records",
            self.max_total_records,
            1,
            d::MAX_MAX_TOTAL,
        )?;
        let journals = self.journal_size.saturating_mul(self.max_tenants + 1);
        if journals > d::MAX_TOTAL_JOURNAL {
            return Err(InvalidOption {
                option: "journal-size",
                reason: format!(
                    "{} entries in each of up to {} worlds (--max-tenants {} and the default \
                     world) is {journals}, over the {} journal entries all worlds may hold; \
                     lower --journal-size or --max-tenants",
                    self.journal_size,
                    self.max_tenants + 1,
                    self.max_tenants,
                    d::MAX_TOTAL_JOURNAL
                ),
            });
        }
        if self
            .control_secret
            .as_deref()
            .is_some_and(|s| s.trim().is_empty())
        {
            return Err(InvalidOption {
                option: "control-secret",
                reason: "must not be empty (an empty secret would switch the guard off; \
                         leave the option unset to run without one)"
                    .into(),
            });
        }
        if let Some(host) = self.allowed_hosts.iter().find(|h| h.trim().is_empty()) {
            return Err(InvalidOption {
                option: "allowed-host",
                reason: format!("{host:?} is not a host name"),
            });
        }
        Ok(())
    }
}

/// The default of every option, one constant each: the clap attributes and
/// `Config::default()` both read them, so the two cannot disagree.
pub mod defaults {
    use std::net::SocketAddr;

    /// `--listen`.
    pub const LISTEN: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);
    /// `--mfa-token-ttl`, seconds.
    pub const MFA_TOKEN_TTL: u64 = 300;
    /// `--otp-skew`, steps.
    pub const OTP_SKEW: u8 = 1;
    /// `--otp-max-failures`.
    pub const OTP_MAX_FAILURES: u8 = 5;
    /// `--token-lifetime`, seconds (90 days, particle-api.md §1.5).
    pub const TOKEN_LIFETIME: i64 = 7_776_000;
    /// `--refresh-token-lifetime`, seconds (14 days).
    pub const REFRESH_TOKEN_LIFETIME: i64 = 1_209_600;
    /// `--max-tokens`.
    pub const MAX_TOKENS: usize = 1_000_000;
    /// `--max-body-bytes`.
    pub const MAX_BODY_BYTES: usize = 64 * 1024;
    /// `--max-header-bytes`.
    pub const MAX_HEADER_BYTES: usize = 16 * 1024;
    /// `--max-headers`.
    pub const MAX_HEADERS: usize = 100;
    /// `--header-timeout-ms`.
    pub const HEADER_TIMEOUT_MS: u64 = 10_000;
    /// `--request-timeout-ms`.
    pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
    /// `--max-connections`.
    pub const MAX_CONNECTIONS: u32 = 10_000;
    /// `--journal-size`.
    pub const JOURNAL_SIZE: usize = 1_000;
    /// `--max-tenants`.
    pub const MAX_TENANTS: usize = 1_000;
    /// `--max-total-tokens`.
    pub const MAX_TOTAL_TOKENS: usize = 4_000_000;
    /// `--max-total-tracked-clients`.
    pub const MAX_TOTAL_TRACKED_CLIENTS: usize = 2_000_000;
    /// `--max-total-records`.
    pub const MAX_TOTAL_RECORDS: usize = 1_000_000;
    /// `--event-keepalive-ms`: 9 s, the local cloud's interval and the low end of what
    /// production sends (particle-api-devices.md D5.3).
    pub const EVENT_KEEPALIVE_MS: u64 = 9_000;
    /// Largest `--event-keepalive-ms`: under particle-api-js' 15 s idle timeout.
    pub const MAX_EVENT_KEEPALIVE_MS: u64 = 14_999;
    /// `--event-buffer`, events.
    pub const EVENT_BUFFER: usize = 256;
    /// `--max-event-data-bytes`.
    pub const MAX_EVENT_DATA_BYTES: usize = 1024;
    /// `--webhook-timeout-ms`: 20 s (particle-api-devices.md D7.4).
    pub const WEBHOOK_TIMEOUT_MS: u64 = 20_000;
    /// `--webhook-queue`, deliveries.
    pub const WEBHOOK_QUEUE: usize = 1_000;
    /// `--webhook-concurrency`, deliveries.
    pub const WEBHOOK_CONCURRENCY: usize = 16;
    /// `--state-save-interval-ms`: a quarter of a second between saves at most.
    pub const STATE_SAVE_INTERVAL_MS: u64 = 250;

    /// Largest `--token-lifetime`, `--refresh-token-lifetime` and `--mfa-token-ttl`,
    /// seconds (100 years).
    pub const MAX_LIFETIME_SECS: i64 = 100 * 365 * 24 * 3600;
    /// Largest `--max-tokens`.
    pub const MAX_MAX_TOKENS: usize = 100_000_000;
    /// Largest `--max-body-bytes` (16 MiB).
    pub const MAX_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
    /// Largest `--journal-size`.
    pub const MAX_JOURNAL_SIZE: usize = 100_000;
    /// Largest `--max-tenants`.
    pub const MAX_MAX_TENANTS: usize = 100_000;
    /// Largest `--max-total-tokens`, `--max-total-tracked-clients`, `--max-total-records`.
    pub const MAX_MAX_TOTAL: usize = 300_000_000;
    /// Most journal entries all worlds may hold: `--journal-size` × (`--max-tenants` + 1)
    /// may not exceed it.
    pub const MAX_TOTAL_JOURNAL: usize = 5_000_000;
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: defaults::LISTEN,
            fixtures: None,
            seed: None,
            mfa_token_ttl: defaults::MFA_TOKEN_TTL,
            otp_skew: defaults::OTP_SKEW,
            otp_max_failures: defaults::OTP_MAX_FAILURES,
            token_lifetime: defaults::TOKEN_LIFETIME,
            refresh_token_lifetime: defaults::REFRESH_TOKEN_LIFETIME,
            max_tokens: defaults::MAX_TOKENS,
            max_body_bytes: defaults::MAX_BODY_BYTES,
            max_header_bytes: defaults::MAX_HEADER_BYTES,
            max_headers: defaults::MAX_HEADERS,
            header_timeout_ms: defaults::HEADER_TIMEOUT_MS,
            request_timeout_ms: defaults::REQUEST_TIMEOUT_MS,
            max_connections: defaults::MAX_CONNECTIONS,
            no_rate_limits: false,
            rate_limit_algorithm: None,
            rate_limit_headers: None,
            rate_limits: Vec::new(),
            max_tracked_clients: None,
            stream_limit_status: None,
            trust_forwarded: false,
            journal_size: defaults::JOURNAL_SIZE,
            max_tenants: defaults::MAX_TENANTS,
            max_total_tokens: defaults::MAX_TOTAL_TOKENS,
            max_total_tracked_clients: defaults::MAX_TOTAL_TRACKED_CLIENTS,
            max_total_records: defaults::MAX_TOTAL_RECORDS,
            no_control: false,
            control_secret: None,
            allowed_hosts: Vec::new(),
            max_connections_per_client: None,
            event_keepalive_ms: defaults::EVENT_KEEPALIVE_MS,
            event_buffer: defaults::EVENT_BUFFER,
            max_event_data_bytes: defaults::MAX_EVENT_DATA_BYTES,
            webhook_timeout_ms: defaults::WEBHOOK_TIMEOUT_MS,
            webhook_allow_hosts: Vec::new(),
            webhook_queue: defaults::WEBHOOK_QUEUE,
            webhook_concurrency: defaults::WEBHOOK_CONCURRENCY,
            state_file: None,
            state_save_interval_ms: defaults::STATE_SAVE_INTERVAL_MS,
            tls: false,
            tls_listen: None,
            tls_ca_out: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Config::default()` is code constants only (a library must not read the
    /// process environment). Malformed
    /// `PARTICLE_MOCK_*` variables (which the clap parser would refuse, exiting the
    /// process) change nothing. No other unit test reads these variables.
    #[test]
    fn the_default_config_never_reads_the_environment() {
        // Arrange
        std::env::set_var("PARTICLE_MOCK_LISTEN", "not an address");
        std::env::set_var("PARTICLE_MOCK_MAX_TOKENS", "-1");
        std::env::set_var("PARTICLE_MOCK_CONTROL_SECRET", "from-the-environment");
        // Act
        let config = Config::default();
        // Assert
        assert_eq!(config.listen, defaults::LISTEN);
        assert_eq!(config.max_tokens, defaults::MAX_TOKENS);
        assert_eq!(config.control_secret, None);
        std::env::remove_var("PARTICLE_MOCK_LISTEN");
        std::env::remove_var("PARTICLE_MOCK_MAX_TOKENS");
        std::env::remove_var("PARTICLE_MOCK_CONTROL_SECRET");
    }

    #[test]
    fn an_empty_control_secret_is_refused_by_name() {
        let config = Config {
            control_secret: Some(String::new()),
            ..Config::default()
        };
        assert_eq!(
            config.validate().map_err(|e| e.option),
            Err("control-secret")
        );
    }
}
