//! Per-client rate limits (particle-api.md §6): windows, the failed-login lockout,
//! bounded memory and the `Retry-After` arithmetic. No HTTP here: the middleware
//! (`middleware::rate_limit`) feeds plain values in and renders the verdicts.
//!
//! # Rules
//!
//! | Rule | Applies to | Default |
//! | --- | --- | --- |
//! | `global` | every request except `/__mock/*` and CORS preflights | 10,000 / 300 s |
//! | `oauth` | `POST /oauth/token` | 100 / 300 s |
//! | `oauth-failures` | `POST /oauth/token`: consecutive failures → block | 10 failures → 1,800 s |
//! | `access-tokens-list` | `GET /v1/access_tokens` | 100 / 300 s |
//! | `access-token-delete` | `DELETE /v1/access_tokens/{token}` (not `current`) | 100 / 300 s |
//! | `users-create` | `POST /v1/users` (not served: 404) | 100 / 300 s |
//! | `user-delete` | `DELETE /v1/user` (not served: 404) | 100 / 300 s |
//! | `password-reset-post` | `POST /v1/user/password-reset` (not served) | 100 / 300 s |
//! | `password-reset-put` | `PUT /v1/user/password-reset` (not served) | 100 / 300 s |
//! | `events` | `GET /v1/events…` and the device/product/org event streams (not served) | 100 / 300 s |
//!
//! A request counts against `global` and against its route's rule, if any; it is
//! admitted only if every applicable rule has room, and only an admitted request is
//! counted (a refused one costs nothing).
//!
//! # Algorithms
//!
//! Both share one log per client: the time (ms) of each admitted request and its route
//! rule. They differ in which entries count:
//!
//! - **Sliding** (default, exact sliding log): a request at `t` is admitted if fewer than
//!   `count` admitted requests of the rule lie in `(t − window, t]`. `Retry-After` is the
//!   time until enough of them leave that interval for one more to fit.
//! - **Fixed**: windows are aligned on the Unix epoch (`[k·window, (k+1)·window)`, so
//!   300-s windows start at :00, :05, …); a request is admitted if fewer than `count`
//!   admitted requests lie in the current window. `Retry-After` is the time until the
//!   window ends.
//!
//! `Retry-After` is that time in whole seconds, rounded up, so a client that waits
//! exactly that long is admitted. Time comes from the world's [`Clock`](crate::Clock).
//!
//! # The lockout
//!
//! Answers of `POST /oauth/token` are classified: a 200 resets the failure streak; a 400,
//! a 401 or the handler's own 429 (too many OTP attempts) adds one failure; anything else
//! (403 `mfa_required`, 5xx) leaves the streak alone. When the streak reaches the
//! `oauth-failures` count the client's token requests are refused for the rule's window
//! and the streak starts again from zero. A streak is forgotten with the client's state
//! (after the longest window without activity).
//!
//! # Clients and memory
//!
//! An IPv4 client is keyed by its address, an IPv6 client by its /64 prefix (one
//! subscriber usually owns a whole /64); an IPv4-mapped IPv6 address counts as IPv4.
//! A client's state is dropped once all its windows have passed and it is not blocked:
//! lazily when it is next seen, by a periodic sweep, or by [`RateLimiter::evict_expired`].
//! At most `max_tracked_clients` are tracked; when a new client arrives and the table is
//! full, expired state is swept first (at most once per clock second); if the table is
//! still full, the new client's request is admitted **without tracking** and counted in
//! `untracked_admissions` (memory stays bounded; that client is unlimited until room frees).
//!
//! Time on a client never goes backwards: if the clock is set back, the client's own
//! latest instant is used until the clock catches up.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use dashmap::mapref::entry::Entry;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::clock::Millis;

/// The longest window (and lockout) accepted: 7 days. Keeps every offset in a `u32`.
const MAX_WINDOW_MS: u32 = 7 * 24 * 3600 * 1000;
/// A client's base instant is moved forward once offsets pass this (about 24.8 days).
const REBASE_AFTER_MS: i64 = 1 << 31;
/// Retention when no windowed rule is enabled (the failure streak still needs one).
const FALLBACK_RETENTION_MS: i64 = 300_000;
/// How long a full table waits between two sweeps triggered by new clients.
const FULL_SWEEP_EVERY_MS: i64 = 1_000;

/// A named limit of §6. Names are kebab-case on the command line, in the fixtures file
/// and in snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Every route: 10,000 requests / 300 s.
    Global,
    /// `POST /oauth/token`: 100 / 300 s.
    Oauth,
    /// Consecutive failed token requests (count) and the block that follows (window):
    /// 10 failures → 1,800 s.
    OauthFailures,
    /// `GET /v1/access_tokens`: 100 / 300 s.
    AccessTokensList,
    /// `DELETE /v1/access_tokens/{token}`: 100 / 300 s.
    AccessTokenDelete,
    /// `POST /v1/users`: 100 / 300 s (the route is not served).
    UsersCreate,
    /// `DELETE /v1/user`: 100 / 300 s (the route is not served).
    UserDelete,
    /// `POST /v1/user/password-reset`: 100 / 300 s (the route is not served).
    PasswordResetPost,
    /// `PUT /v1/user/password-reset`: 100 / 300 s (the route is not served).
    PasswordResetPut,
    /// `GET /v1/events` and the event streams: 100 / 300 s (the routes are not served).
    Events,
}

impl Rule {
    /// Every rule, in the order of §6.
    pub const ALL: [Rule; 10] = [
        Rule::Global,
        Rule::Oauth,
        Rule::OauthFailures,
        Rule::AccessTokensList,
        Rule::AccessTokenDelete,
        Rule::UsersCreate,
        Rule::UserDelete,
        Rule::PasswordResetPost,
        Rule::PasswordResetPut,
        Rule::Events,
    ];

    /// The rule's name as written in flags, the fixtures file and snapshots.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Global => "global",
            Rule::Oauth => "oauth",
            Rule::OauthFailures => "oauth-failures",
            Rule::AccessTokensList => "access-tokens-list",
            Rule::AccessTokenDelete => "access-token-delete",
            Rule::UsersCreate => "users-create",
            Rule::UserDelete => "user-delete",
            Rule::PasswordResetPost => "password-reset-post",
            Rule::PasswordResetPut => "password-reset-put",
            Rule::Events => "events",
        }
    }

    /// What the rule covers, in words (used in 429 descriptions).
    fn scope(self) -> &'static str {
        match self {
            Rule::Global => "all routes",
            Rule::Oauth | Rule::OauthFailures => "POST /oauth/token",
            Rule::AccessTokensList => "GET /v1/access_tokens",
            Rule::AccessTokenDelete => "DELETE /v1/access_tokens/{token}",
            Rule::UsersCreate => "POST /v1/users",
            Rule::UserDelete => "DELETE /v1/user",
            Rule::PasswordResetPost => "POST /v1/user/password-reset",
            Rule::PasswordResetPut => "PUT /v1/user/password-reset",
            Rule::Events => "GET /v1/events",
        }
    }

    /// The documented default (§6).
    pub fn default_limit(self) -> Limit {
        match self {
            Rule::Global => Limit::secs(10_000, 300),
            Rule::OauthFailures => Limit::secs(10, 1_800),
            _ => Limit::secs(100, 300),
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Rule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Rule::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Rule::ALL.iter().map(|r| r.name()).collect();
                format!(
                    "unknown rate-limit rule `{s}` (one of {})",
                    names.join(", ")
                )
            })
    }
}

/// `count` per `window`: for `oauth-failures`, `count` consecutive failures block the
/// client for `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests admitted per window (at least 1).
    pub count: u32,
    /// The window, in milliseconds (1 ms to 7 days).
    pub window_ms: u32,
}

impl Limit {
    /// `count` per `window_secs` seconds.
    pub const fn secs(count: u32, window_secs: u32) -> Self {
        Self {
            count,
            window_ms: window_secs * 1000,
        }
    }

    /// `count` per `window`; refused if `count` is 0 or the window is not within 1 ms–7 days.
    pub fn new(count: u32, window: Duration) -> Result<Self, String> {
        let window_ms = u32::try_from(window.as_millis()).unwrap_or(u32::MAX);
        let limit = Self { count, window_ms };
        limit.validate()?;
        Ok(limit)
    }

    fn validate(&self) -> Result<(), String> {
        if self.count == 0 {
            return Err("a limit's count must be at least 1 (use `off` to disable)".into());
        }
        if self.window_ms == 0 || self.window_ms > MAX_WINDOW_MS {
            return Err("a window must be between 1 ms and 7 days".into());
        }
        Ok(())
    }

    fn window(&self) -> i64 {
        i64::from(self.window_ms)
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.window_ms % 1000 == 0 {
            write!(f, "{}/{}s", self.count, self.window_ms / 1000)
        } else {
            write!(f, "{}/{}ms", self.count, self.window_ms)
        }
    }
}

impl FromStr for Limit {
    type Err = String;

    /// `COUNT/WINDOW`, the window a number with an optional unit: `ms`, `s` (the
    /// default), `m` or `h`; e.g. `100/300s`, `5/10`, `3/500ms`, `100/5m`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not COUNT/WINDOW (e.g. 100/300s, 5/1m, 3/500ms)");
        let (count, window) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let window = window.trim();
        let digits = window
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(window.len());
        let (number, unit) = window.split_at(digits);
        let number: u64 = number.parse().map_err(|_| bad())?;
        let factor = match unit {
            "ms" => 1,
            "" | "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            _ => return Err(bad()),
        };
        let window = number.checked_mul(factor).ok_or_else(bad)?;
        Limit::new(count, Duration::from_millis(window))
    }
}

impl Serialize for Limit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A rule's setting: a limit, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    /// The rule is switched off.
    Off,
    /// The rule applies with this limit.
    Limit(Limit),
}

impl RuleSetting {
    fn limit(self) -> Option<Limit> {
        match self {
            RuleSetting::Off => None,
            RuleSetting::Limit(l) => Some(l),
        }
    }
}

impl FromStr for RuleSetting {
    type Err = String;

    /// `off`, or a [`Limit`] (`100/300s`).
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "off" => Ok(RuleSetting::Off),
            other => other.parse().map(RuleSetting::Limit),
        }
    }
}

impl fmt::Display for RuleSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleSetting::Off => f.write_str("off"),
            RuleSetting::Limit(l) => l.fmt(f),
        }
    }
}

impl Serialize for RuleSetting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RuleSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One `--rate-limit NAME=SETTING` flag: `oauth=5/60s`, `global=off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleOverride {
    /// The rule.
    pub rule: Rule,
    /// Its new setting.
    pub setting: RuleSetting,
}

impl FromStr for RuleOverride {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, setting) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not NAME=COUNT/WINDOW or NAME=off"))?;
        let rule: Rule = name.trim().parse()?;
        let setting: RuleSetting = setting.parse()?;
        check_rule_setting(rule, setting)?;
        Ok(Self { rule, setting })
    }
}

fn check_rule_setting(rule: Rule, setting: RuleSetting) -> Result<(), String> {
    match setting {
        RuleSetting::Limit(l) if rule == Rule::OauthFailures && l.count > u32::from(u16::MAX) => {
            Err("oauth-failures counts at most 65535 failures".into())
        }
        RuleSetting::Limit(l) => l.validate(),
        RuleSetting::Off => Ok(()),
    }
}

/// Which requests of a window count (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Exact sliding log: the last `window` before each request (the default).
    #[default]
    Sliding,
    /// Epoch-aligned fixed windows.
    Fixed,
}

impl FromStr for Algorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sliding" => Ok(Algorithm::Sliding),
            "fixed" => Ok(Algorithm::Fixed),
            _ => Err(format!("unknown algorithm `{s}` (sliding or fixed)")),
        }
    }
}

/// Which rate-limit headers answers carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeaderStyle {
    /// None (the default; Particle documents none): only `Retry-After` on a 429.
    #[default]
    None,
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (seconds).
    #[serde(rename = "x-ratelimit")]
    XRateLimit,
    /// The IETF draft's structured `RateLimit-Policy` and `RateLimit` fields.
    Ietf,
}

impl FromStr for HeaderStyle {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(HeaderStyle::None),
            "x-ratelimit" => Ok(HeaderStyle::XRateLimit),
            "ietf" => Ok(HeaderStyle::Ietf),
            _ => Err(format!(
                "unknown header style `{s}` (none, x-ratelimit or ietf)"
            )),
        }
    }
}

/// Every rate-limit setting of one world; [`Default`] is §6.
///
/// ```
/// use particle_auth_mock::{Limit, RateLimitSettings, Rule};
///
/// // Arrange: the documented defaults, with a tiny token limit for an experiment.
/// let settings = RateLimitSettings::default().with_rule(Rule::Oauth, Some(Limit::secs(3, 10)));
/// // Assert
/// assert_eq!(settings.limit(Rule::Global), Some(Limit::secs(10_000, 300)));
/// assert_eq!(settings.limit(Rule::Oauth).unwrap().to_string(), "3/10s");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Whether any limit applies (`--no-rate-limits` clears it).
    pub enabled: bool,
    /// Sliding (default) or fixed windows.
    pub algorithm: Algorithm,
    /// Which headers answers carry.
    pub headers: HeaderStyle,
    /// Most clients tracked at once (default 1,000,000).
    pub max_tracked_clients: usize,
    rules: [Option<Limit>; Rule::ALL.len()],
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            algorithm: Algorithm::Sliding,
            headers: HeaderStyle::None,
            max_tracked_clients: 1_000_000,
            rules: Rule::ALL.map(|r| Some(r.default_limit())),
        }
    }
}

impl RateLimitSettings {
    /// The defaults with every limit switched off.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// The limit of a rule, or `None` if it is off.
    pub fn limit(&self, rule: Rule) -> Option<Limit> {
        self.rules.get(rule.index()).copied().flatten()
    }

    /// Sets (or with `None` switches off) one rule.
    pub fn with_rule(mut self, rule: Rule, limit: Option<Limit>) -> Self {
        self.set_rule(rule, limit);
        self
    }

    /// Sets (or with `None` switches off) one rule, in place.
    pub fn set_rule(&mut self, rule: Rule, limit: Option<Limit>) {
        if let Some(slot) = self.rules.get_mut(rule.index()) {
            *slot = limit;
        }
    }

    /// Uses this algorithm.
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Uses this header style.
    pub fn with_headers(mut self, headers: HeaderStyle) -> Self {
        self.headers = headers;
        self
    }

    /// Tracks at most this many clients (at least 1).
    pub fn with_max_tracked_clients(mut self, max: usize) -> Self {
        self.max_tracked_clients = max.max(1);
        self
    }

    /// Applies a fixtures-file section on top of these settings.
    pub(crate) fn apply_section(&mut self, section: &RateLimitSection) {
        if let Some(enabled) = section.enabled {
            self.enabled = enabled;
        }
        if let Some(algorithm) = section.algorithm {
            self.algorithm = algorithm;
        }
        if let Some(headers) = section.headers {
            self.headers = headers;
        }
        if let Some(max) = section.max_tracked_clients {
            self.max_tracked_clients = max.max(1);
        }
        for (rule, setting) in &section.rules {
            self.set_rule(*rule, setting.limit());
        }
    }

    /// How long a client's log must keep an admitted request.
    fn retention_ms(&self) -> i64 {
        Rule::ALL
            .into_iter()
            .filter(|r| *r != Rule::OauthFailures)
            .filter_map(|r| self.limit(r))
            .map(|l| l.window())
            .max()
            .unwrap_or(FALLBACK_RETENTION_MS)
    }
}

/// How [`RateLimitSettings`] serializes: every rule by name, `off` or `COUNT/WINDOW`.
#[derive(Serialize)]
struct SettingsView<'a> {
    enabled: bool,
    algorithm: Algorithm,
    headers: HeaderStyle,
    max_tracked_clients: usize,
    rules: BTreeMap<&'a str, RuleSetting>,
}

impl Serialize for RateLimitSettings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SettingsView {
            enabled: self.enabled,
            algorithm: self.algorithm,
            headers: self.headers,
            max_tracked_clients: self.max_tracked_clients,
            rules: Rule::ALL
                .into_iter()
                .map(|r| {
                    let setting = self.limit(r).map_or(RuleSetting::Off, RuleSetting::Limit);
                    (r.name(), setting)
                })
                .collect(),
        }
        .serialize(s)
    }
}

/// The `rate_limits` section of a fixtures file; every field optional, applied on top of
/// the defaults (command-line flags apply on top of it).
///
/// ```json
/// {"rate_limits": {"algorithm": "fixed", "headers": "ietf", "max_tracked_clients": 5000,
///                  "rules": {"oauth": "5/60s", "global": "off"}}}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimitSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<Algorithm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<HeaderStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tracked_clients: Option<usize>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rules: BTreeMap<Rule, RuleSetting>,
}

impl RateLimitSection {
    /// Checks every rule's limit (the values themselves were parsed already). Errors
    /// name the field as `at `{prefix}rules.oauth``: the fixtures file passes
    /// `rate_limits.`, the control API nothing.
    pub(crate) fn validate(&self, prefix: &str) -> Result<(), String> {
        if self.max_tracked_clients == Some(0) {
            return Err(format!(
                "at `{prefix}max_tracked_clients`: must be at least 1"
            ));
        }
        for (rule, setting) in &self.rules {
            check_rule_setting(*rule, *setting)
                .map_err(|e| format!("at `{prefix}rules.{rule}`: {e}"))?;
        }
        Ok(())
    }
}

/// The rate-limit options of [`Config`](crate::Config), applied on top of the defaults
/// and the fixtures section when a world is built.
#[derive(Debug, Clone, Default)]
pub(crate) struct RateLimitOverrides {
    /// Settings given whole to the library builder (replace defaults and fixtures).
    pub base: Option<RateLimitSettings>,
    pub disabled: bool,
    pub algorithm: Option<Algorithm>,
    pub headers: Option<HeaderStyle>,
    pub max_tracked_clients: Option<usize>,
    pub rules: Vec<RuleOverride>,
}

impl RateLimitOverrides {
    /// The settings of a world: defaults (or the builder's), then the fixtures section,
    /// then these flags.
    pub(crate) fn resolve(&self, section: Option<&RateLimitSection>) -> RateLimitSettings {
        let mut settings = match &self.base {
            Some(base) => base.clone(),
            None => {
                let mut s = RateLimitSettings::default();
                if let Some(section) = section {
                    s.apply_section(section);
                }
                s
            }
        };
        if self.disabled {
            settings.enabled = false;
        }
        if let Some(a) = self.algorithm {
            settings.algorithm = a;
        }
        if let Some(h) = self.headers {
            settings.headers = h;
        }
        if let Some(m) = self.max_tracked_clients {
            settings.max_tracked_clients = m.max(1);
        }
        for o in &self.rules {
            settings.set_rule(o.rule, o.setting.limit());
        }
        settings
    }
}

/// Who a request is counted against: an IPv4 address or an IPv6 /64 prefix, packed in
/// 8 bytes. An IPv6 key is the prefix itself; an IPv4 key is `0:ffff:a.b:c.d::/64`,
/// inside the reserved `::/8` block, where no real client's prefix lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ClientKey(u64);

/// The top 32 bits that mark an IPv4 key.
const V4_TAG: u64 = 0x0000_FFFF;

impl ClientKey {
    /// The key of an IPv4 address.
    pub(crate) fn v4(address: Ipv4Addr) -> Self {
        ClientKey(V4_TAG << 32 | u64::from(u32::from(address)))
    }
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => ClientKey::v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::v4(v4),
                None => ClientKey((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >> 32 == V4_TAG {
            Ipv4Addr::from(self.0 as u32).fmt(f)
        } else {
            write!(f, "{}/64", Ipv6Addr::from(u128::from(self.0) << 64))
        }
    }
}

/// The client a proxy names: `Forwarded: for=` (RFC 7239) first, then
/// `X-Forwarded-For`; in each, the leftmost entry that is a valid IP address (ports and
/// the brackets and quotes of IPv6 are accepted). `None` if neither names one.
///
/// Each argument holds every line of that header, in order.
pub(crate) fn forwarded_client(forwarded: &[&str], x_forwarded_for: &[&str]) -> Option<IpAddr> {
    let from_forwarded = forwarded
        .iter()
        .flat_map(|line| line.split(','))
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("for")
                .then(|| parse_node(value))
                .flatten()
        })
        .next();
    from_forwarded.or_else(|| {
        x_forwarded_for
            .iter()
            .flat_map(|line| line.split(','))
            .find_map(parse_node)
    })
}

/// One address of a forwarding header: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`,
/// `[2001:db8::1]`, `"[2001:db8::1]:443"`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| p.parse::<u16>().is_ok());
        return if port_ok {
            inside.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        } else {
            None
        };
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// What an answer of `POST /oauth/token` means for the failure streak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenOutcome {
    /// 200: the streak starts again.
    Success,
    /// 400, 401 or the handler's 429: one more failure.
    Failure,
    /// Anything else (403 `mfa_required`, 5xx): no change.
    Neutral,
}

impl TokenOutcome {
    /// Classifies an answer's status code.
    pub(crate) fn of_status(status: u16) -> Self {
        match status {
            200 => TokenOutcome::Success,
            400 | 401 | 429 => TokenOutcome::Failure,
            _ => TokenOutcome::Neutral,
        }
    }
}

/// One rule's standing after a decision, for the rate-limit headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quota {
    pub rule: Rule,
    pub limit: Limit,
    /// Requests counted now (may exceed the limit after it was lowered at run time).
    pub count: u32,
    pub remaining: u32,
    /// Whole seconds until `remaining` grows (0 if nothing is counted).
    pub reset_secs: u64,
}

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The rule whose wait is the longest.
    pub rule: Rule,
    pub limit: Limit,
    /// Whole seconds until a request would be admitted.
    pub retry_after: u64,
    /// Whether this is the first refusal of this episode (to be logged).
    pub first: bool,
    /// Every applicable rule's standing.
    pub quotas: SmallVec<[Quota; 2]>,
}

impl Refusal {
    /// The 429's `error_description`: which limit was hit.
    pub(crate) fn description(&self) -> String {
        let l = self.limit;
        match self.rule {
            Rule::OauthFailures => format!(
                "Rate limit exceeded: {} consecutive failed token requests; token requests from this client are blocked for {}.",
                l.count,
                human_window(l.window_ms)
            ),
            rule => format!(
                "Rate limit exceeded: {} requests per {} on {} ({}).",
                l.count,
                human_window(l.window_ms),
                rule.scope(),
                rule.name()
            ),
        }
    }

    /// The reason for the request journal.
    pub(crate) fn reason(&self) -> String {
        match self.rule {
            Rule::OauthFailures => format!(
                "oauth-failures lockout ({} consecutive failures) active for {} s more",
                self.limit.count, self.retry_after
            ),
            rule => format!("{rule} limit {} reached", self.limit),
        }
    }
}

fn human_window(ms: u32) -> String {
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

/// The limiter's decision on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No rule applies (limits off, or none covers the route).
    Unlimited,
    /// Admitted and counted: the standings after counting it, and the client's streak
    /// of failed token requests before it (a success after none changes nothing).
    Admitted(SmallVec<[Quota; 2]>, u16),
    /// Refused (429).
    Refused(Refusal),
}

/// One admitted request in a client's log.
#[derive(Debug, Clone, Copy)]
struct Mark {
    /// Milliseconds after the client's base instant.
    at: u32,
    /// The route rule's index, or `NO_RULE`.
    rule: u8,
}

const NO_RULE: u8 = u8::MAX;

/// Everything known about one client, kept small: 40 bytes (48 with its key in the
/// table), and no heap allocation while its log holds two entries or fewer.
#[derive(Debug, Clone)]
struct ClientState {
    /// The instant offsets count from, in whole seconds since the Unix epoch (a `u32`
    /// lasts until 2106; earlier or later clocks are clamped).
    base_secs: u32,
    /// Admitted requests inside the retention horizon, oldest first.
    marks: SmallVec<[Mark; 2]>,
    /// Offset of the latest instant this client was seen at (time never runs backwards
    /// for a client).
    last_seen: u32,
    /// Offset of the end of the lockout (0 or a past instant: not blocked).
    blocked_until: u32,
    /// Consecutive failed token requests.
    streak: u16,
    /// Rules already reported (logged) in the current episode.
    noticed: u16,
}

impl ClientState {
    fn new(now: Millis) -> Self {
        Self {
            base_secs: secs_of(now),
            marks: SmallVec::new(),
            last_seen: 0,
            blocked_until: 0,
            streak: 0,
            noticed: 0,
        }
    }

    fn base(&self) -> Millis {
        Millis::from(self.base_secs) * 1000
    }

    fn offset(&self, at: Millis) -> u32 {
        u32::try_from((at - self.base()).max(0)).unwrap_or(u32::MAX)
    }

    fn abs(&self, offset: u32) -> Millis {
        self.base() + Millis::from(offset)
    }

    /// Brings the state to `now` (monotonic per client): drops marks past the
    /// retention, moves the base forward when offsets grow large. Returns the
    /// effective now.
    fn advance(&mut self, now: Millis, retention: i64) -> Millis {
        let now = now.max(self.abs(self.last_seen));
        let horizon = now - retention;
        let keep_from = self.marks.partition_point(|m| self.abs(m.at) <= horizon);
        if keep_from > 0 {
            self.marks.drain(..keep_from);
        }
        if now - self.base() > REBASE_AFTER_MS {
            let new_base_secs = secs_of(now - i64::from(MAX_WINDOW_MS) - 1_000);
            let new_base = Millis::from(new_base_secs) * 1000;
            let base = self.base();
            let shift = |off: u32| -> u32 {
                u32::try_from((base + Millis::from(off) - new_base).max(0)).unwrap_or(0)
            };
            for m in &mut self.marks {
                m.at = shift(m.at);
            }
            self.last_seen = shift(self.last_seen);
            self.blocked_until = shift(self.blocked_until);
            self.base_secs = new_base_secs;
        }
        self.last_seen = self.offset(now);
        now
    }

    fn blocked_until(&self, now: Millis) -> Option<Millis> {
        let until = self.abs(self.blocked_until);
        (self.blocked_until != 0 && until > now).then_some(until)
    }

    fn is_expired(&self, now: Millis, retention: i64) -> bool {
        let horizon = now - retention;
        self.marks.iter().all(|m| self.abs(m.at) <= horizon)
            && self.blocked_until(now).is_none()
            && self.abs(self.last_seen) <= horizon
    }

    /// The marks inside a rule's current window (all rules' marks), oldest first.
    fn in_window(&self, limit: Limit, algorithm: Algorithm, now: Millis) -> &[Mark] {
        let window = limit.window();
        let counts_from = match algorithm {
            // (now − window, now]
            Algorithm::Sliding => now - window + 1,
            // [k·window, now]
            Algorithm::Fixed => now - now.rem_euclid(window),
        };
        let first = self.marks.partition_point(|m| self.abs(m.at) < counts_from);
        self.marks.get(first..).unwrap_or_default()
    }

    /// How many requests a rule counts at `now`, and the instant of the `nth` of them
    /// (0 = oldest), if there are that many.
    fn usage(
        &self,
        rule: Rule,
        limit: Limit,
        algorithm: Algorithm,
        now: Millis,
        nth: usize,
    ) -> (usize, Option<Millis>) {
        let marks = self.in_window(limit, algorithm, now);
        if rule == Rule::Global {
            // Every mark counts: no scan.
            return (marks.len(), marks.get(nth).map(|m| self.abs(m.at)));
        }
        let tag = rule.index() as u8;
        let mut count = 0;
        let mut found = None;
        for m in marks.iter().filter(|m| m.rule == tag) {
            if count == nth {
                found = Some(self.abs(m.at));
            }
            count += 1;
        }
        (count, found)
    }

    /// When the slot taken by the `nth` counted request frees, or `None` if fewer are
    /// counted: under `sliding` when that request leaves the window, under `fixed` at
    /// the window's end.
    fn frees_at(
        &self,
        limit: Limit,
        algorithm: Algorithm,
        now: Millis,
        nth_at: Option<Millis>,
    ) -> Option<Millis> {
        let at = nth_at?;
        Some(match algorithm {
            Algorithm::Sliding => at + limit.window(),
            Algorithm::Fixed => now - now.rem_euclid(limit.window()) + limit.window(),
        })
    }

    fn quota(&self, rule: Rule, limit: Limit, algorithm: Algorithm, now: Millis) -> Quota {
        let (count, oldest) = self.usage(rule, limit, algorithm, now, 0);
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let reset = self
            .frees_at(limit, algorithm, now, oldest)
            .map_or(0, |at| secs_until(at, now));
        Quota {
            rule,
            limit,
            count,
            remaining: limit.count.saturating_sub(count),
            reset_secs: reset,
        }
    }
}

/// Whole seconds since the epoch, clamped to a `u32`.
fn secs_of(at: Millis) -> u32 {
    u32::try_from(at.div_euclid(1000).max(0)).unwrap_or(u32::MAX)
}

/// Whole seconds from `now` to `at`, rounded up.
fn secs_until(at: Millis, now: Millis) -> u64 {
    let ms = u64::try_from((at - now).max(0)).unwrap_or(0);
    ms.div_ceil(1000)
}

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

/// A world's limiter: settings (replaceable at run time) and the per-client table.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Read on every request, replaced rarely: a lock-free swap cell.
    settings: ArcSwap<RateLimitSettings>,
    /// Per-client state. Sharded map: check-and-count happens under the shard's write
    /// lock of one entry, so concurrent requests of one client are counted exactly,
    /// and different clients rarely contend.
    clients: crate::support::maps::FastMap<ClientKey, ClientState>,
    /// Entries in `clients`, reserved before an insert so the cap is never exceeded.
    tracked: AtomicUsize,
    /// New clients admitted untracked because the table was full.
    untracked: AtomicU64,
    /// Clock instant of the last sweep triggered by a full table.
    last_full_sweep: AtomicI64,
    /// No tracked client was last seen before this (a lower bound): a sweep skips the
    /// scan while nobody can have outlived the retention yet.
    oldest_activity: AtomicI64,
}

impl RateLimiter {
    /// A limiter with these settings and no clients.
    pub(crate) fn new(settings: RateLimitSettings) -> Self {
        Self {
            settings: ArcSwap::from_pointee(settings),
            clients: crate::support::maps::big_map(),
            tracked: AtomicUsize::new(0),
            untracked: AtomicU64::new(0),
            last_full_sweep: AtomicI64::new(Millis::MIN),
            oldest_activity: AtomicI64::new(Millis::MAX),
        }
    }

    /// The settings in force.
    pub(crate) fn settings(&self) -> RateLimitSettings {
        RateLimitSettings::clone(&self.settings.load())
    }

    /// The header style in force.
    pub(crate) fn header_style(&self) -> HeaderStyle {
        self.settings.load().headers
    }

    /// Replaces the settings; counters are kept (they are read against the new limits).
    pub(crate) fn set_settings(&self, settings: RateLimitSettings) {
        self.settings.store(std::sync::Arc::new(settings));
    }

    /// Changes the settings in force with `change`, atomically: a concurrent change is
    /// never lost (`change` runs again on the newer settings if one raced it). Returns
    /// the settings stored.
    pub(crate) fn update_settings(
        &self,
        change: impl Fn(&mut RateLimitSettings),
    ) -> RateLimitSettings {
        let mut stored = None;
        self.settings.rcu(|current| {
            let mut next = RateLimitSettings::clone(current);
            change(&mut next);
            stored = Some(next.clone());
            next
        });
        stored.unwrap_or_else(|| self.settings())
    }

    /// Forgets every client.
    pub(crate) fn reset_all(&self) {
        // Count what goes rather than storing the length: a concurrent insert holds a
        // reservation that must stay counted.
        let mut removed = 0;
        self.clients.retain(|_, _| {
            removed += 1;
            false
        });
        self.tracked.fetch_sub(removed, Ordering::SeqCst);
        self.untracked.store(0, Ordering::Relaxed);
    }

    /// Forgets one client; whether it was tracked.
    pub(crate) fn reset_client(&self, client: ClientKey) -> bool {
        let removed = self.clients.remove(&client).is_some();
        if removed {
            self.tracked.fetch_sub(1, Ordering::SeqCst);
        }
        removed
    }

    /// Clients with state.
    pub(crate) fn tracked_clients(&self) -> usize {
        self.tracked.load(Ordering::SeqCst)
    }

    /// Drops the state of every client whose windows have all passed; how many went.
    pub(crate) fn evict_expired(&self, now: Millis) -> usize {
        let retention = self.settings.load().retention_ms();
        if now.saturating_sub(retention) < self.oldest_activity.load(Ordering::Acquire) {
            return 0;
        }
        // Clients inserted during the scan lower the bound again after this reset; the
        // scan lowers it to the oldest activity it kept.
        self.oldest_activity.store(Millis::MAX, Ordering::Release);
        let mut oldest = Millis::MAX;
        let mut evicted = 0;
        self.clients.retain(|_, state| {
            let keep = !state.is_expired(now, retention);
            if keep {
                oldest = oldest.min(state.abs(state.last_seen));
            } else {
                evicted += 1;
            }
            keep
        });
        self.oldest_activity.fetch_min(oldest, Ordering::AcqRel);
        self.tracked.fetch_sub(evicted, Ordering::SeqCst);
        // A flood that has passed leaves a table sized for it: give the memory back.
        if evicted > 0 {
            crate::support::maps::shrink_if_sparse(&self.clients, self.clients.len());
        }
        evicted
    }

    /// Inserts a new client's state (its room already reserved).
    fn insert_new<'a>(
        &'a self,
        vacant: dashmap::mapref::entry::VacantEntry<'a, ClientKey, ClientState>,
        now: Millis,
    ) -> dashmap::mapref::one::RefMut<'a, ClientKey, ClientState> {
        let state = ClientState::new(now);
        self.oldest_activity
            .fetch_min(state.abs(0), Ordering::AcqRel);
        vacant.insert(state)
    }

    /// Reserves room for one more client: sweeps once if the table is full.
    fn reserve(&self, max: usize, now: Millis) -> bool {
        for attempt in 0..2 {
            if self.tracked.fetch_add(1, Ordering::SeqCst) < max {
                return true;
            }
            self.tracked.fetch_sub(1, Ordering::SeqCst);
            let last = self.last_full_sweep.load(Ordering::Relaxed);
            let due = now.saturating_sub(last) >= FULL_SWEEP_EVERY_MS;
            if attempt > 0
                || !due
                || self
                    .last_full_sweep
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                break;
            }
            self.evict_expired(now);
        }
        false
    }

    /// Decides on one request of `client` to a route with rule `route` (see
    /// the route table) and counts it if admitted. Atomic per client.
    pub(crate) fn check(&self, client: ClientKey, route: Option<Rule>, now: Millis) -> Verdict {
        let settings = self.settings.load();
        if !settings.enabled {
            return Verdict::Unlimited;
        }
        let global = settings.limit(Rule::Global).map(|l| (Rule::Global, l));
        let routed = route
            .filter(|r| *r != Rule::Global && *r != Rule::OauthFailures)
            .and_then(|r| settings.limit(r).map(|l| (r, l)));
        let lockout = (route == Some(Rule::Oauth))
            .then(|| settings.limit(Rule::OauthFailures))
            .flatten();
        let rules: SmallVec<[(Rule, Limit); 2]> = routed.into_iter().chain(global).collect();
        if rules.is_empty() && lockout.is_none() {
            return Verdict::Unlimited;
        }
        let retention = settings.retention_ms();
        let algorithm = settings.algorithm;
        // One probe of the table: a new client is counted and inserted under the lock
        // of its shard; only a full table takes the slow path (which may sweep).
        let mut state = match self.clients.entry(client) {
            Entry::Occupied(o) => o.into_ref(),
            Entry::Vacant(v) => {
                if self.tracked.fetch_add(1, Ordering::SeqCst) < settings.max_tracked_clients {
                    self.insert_new(v, now)
                } else {
                    self.tracked.fetch_sub(1, Ordering::SeqCst);
                    // Release the shard: a sweep locks every shard.
                    drop(v);
                    if !self.reserve(settings.max_tracked_clients, now) {
                        self.untracked.fetch_add(1, Ordering::Relaxed);
                        // Counted as a fresh client would be, then forgotten.
                        let mut fresh = ClientState::new(now);
                        let rule = routed.map_or(NO_RULE, |(r, _)| r.index() as u8);
                        fresh.marks.push(Mark { at: 0, rule });
                        return Verdict::Admitted(
                            rules
                                .iter()
                                .map(|&(r, l)| fresh.quota(r, l, algorithm, now))
                                .collect(),
                            0,
                        );
                    }
                    match self.clients.entry(client) {
                        Entry::Occupied(o) => {
                            // Another request of this client inserted it meanwhile.
                            self.tracked.fetch_sub(1, Ordering::SeqCst);
                            o.into_ref()
                        }
                        Entry::Vacant(v) => self.insert_new(v, now),
                    }
                }
            }
        };
        let now = state.advance(now, retention);

        let mut worst: Option<(Rule, Limit, Millis)> = None;
        let mut consider = |rule: Rule, limit: Limit, free_at: Millis| {
            if worst.map_or(true, |(_, _, at)| free_at > at) {
                worst = Some((rule, limit, free_at));
            }
        };
        if let (Some(limit), Some(until)) = (lockout, state.blocked_until(now)) {
            consider(Rule::OauthFailures, limit, until);
        }
        for &(rule, limit) in &rules {
            let (count, _) = state.usage(rule, limit, algorithm, now, usize::MAX);
            if count >= limit.count as usize {
                // This many must leave before one more fits.
                let nth = count - limit.count as usize;
                let (_, nth_at) = state.usage(rule, limit, algorithm, now, nth);
                if let Some(at) = state.frees_at(limit, algorithm, now, nth_at) {
                    consider(rule, limit, at);
                }
            }
        }

        if let Some((rule, limit, free_at)) = worst {
            let first = state.noticed & rule.bit() == 0;
            state.noticed |= rule.bit();
            let quotas = rules
                .iter()
                .map(|&(r, l)| state.quota(r, l, algorithm, now))
                .collect();
            return Verdict::Refused(Refusal {
                rule,
                limit,
                retry_after: secs_until(free_at, now).max(1),
                first,
                quotas,
            });
        }

        let at = state.offset(now);
        let rule_tag = routed.map_or(NO_RULE, |(r, _)| r.index() as u8);
        state.marks.push(Mark { at, rule: rule_tag });
        for &(rule, _) in &rules {
            state.noticed &= !rule.bit();
        }
        if lockout.is_some() {
            state.noticed &= !Rule::OauthFailures.bit();
        }
        Verdict::Admitted(
            rules
                .iter()
                .map(|&(r, l)| state.quota(r, l, algorithm, now))
                .collect(),
            state.streak,
        )
    }

    /// Records the answer of an admitted `POST /oauth/token`. Returns the new block's
    /// end if this failure started a lockout.
    pub(crate) fn record_token_outcome(
        &self,
        client: ClientKey,
        outcome: TokenOutcome,
        now: Millis,
    ) -> Option<Limit> {
        let settings = self.settings.load();
        let limit = settings.limit(Rule::OauthFailures)?;
        if !settings.enabled || outcome == TokenOutcome::Neutral {
            return None;
        }
        let mut state = self.clients.get_mut(&client)?;
        let now = state.advance(now, settings.retention_ms());
        match outcome {
            TokenOutcome::Success => {
                state.streak = 0;
                None
            }
            TokenOutcome::Failure => {
                state.streak = state.streak.saturating_add(1);
                if u32::from(state.streak) < limit.count {
                    return None;
                }
                state.streak = 0;
                state.blocked_until = state.offset(now + limit.window());
                state.noticed |= Rule::OauthFailures.bit();
                Some(limit)
            }
            TokenOutcome::Neutral => None,
        }
    }

    /// One client's standing, if it is tracked.
    pub(crate) fn client(&self, client: ClientKey, now: Millis) -> Option<ClientRateLimits> {
        let settings = self.settings.load();
        let state = self.clients.get(&client)?;
        Some(describe(client, &state, &settings, now))
    }

    /// The settings and the size of the client table, without reading any client.
    pub(crate) fn summary(&self) -> RateLimitSummary {
        RateLimitSummary {
            settings: self.settings(),
            tracked_clients: self.tracked_clients(),
            untracked_admissions: self.untracked.load(Ordering::Relaxed),
        }
    }

    /// Every tracked client's standing.
    pub(crate) fn snapshot(&self, now: Millis) -> RateLimitSnapshot {
        let settings = self.settings.load();
        let mut clients: Vec<(ClientKey, ClientRateLimits)> = self
            .clients
            .iter()
            .map(|e| (*e.key(), describe(*e.key(), e.value(), &settings, now)))
            .collect();
        clients.sort_by_key(|(k, _)| *k);
        RateLimitSnapshot {
            settings: RateLimitSettings::clone(&settings),
            tracked_clients: self.tracked_clients(),
            untracked_admissions: self.untracked.load(Ordering::Relaxed),
            clients: clients.into_iter().map(|(_, c)| c).collect(),
        }
    }
}

fn describe(
    client: ClientKey,
    state: &ClientState,
    settings: &RateLimitSettings,
    now: Millis,
) -> ClientRateLimits {
    let now = now.max(state.abs(state.last_seen));
    let counters = Rule::ALL
        .into_iter()
        .filter(|r| *r != Rule::OauthFailures)
        .filter_map(|rule| {
            let limit = settings.limit(rule)?;
            let q = state.quota(rule, limit, settings.algorithm, now);
            (q.count > 0 || rule == Rule::Global).then_some(RuleCounter {
                rule,
                count: q.count,
                limit,
                remaining: q.remaining,
                reset_secs: q.reset_secs,
            })
        })
        .collect();
    ClientRateLimits {
        client: client.to_string(),
        counters,
        failure_streak: u32::from(state.streak),
        blocked_for_secs: state.blocked_until(now).map(|at| secs_until(at, now)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const T0: Millis = 1_767_225_600_000; // a multiple of 300 s
    const A: ClientKey = ClientKey(V4_TAG << 32 | 0x0A00_0001);

    fn key(n: u32) -> ClientKey {
        ClientKey::v4(Ipv4Addr::from(n))
    }

    fn limiter(rules: &[(Rule, Option<Limit>)], algorithm: Algorithm) -> RateLimiter {
        let mut s = RateLimitSettings::default().with_algorithm(algorithm);
        for &(r, l) in rules {
            s.set_rule(r, l);
        }
        RateLimiter::new(s)
    }

    fn retry(v: Verdict) -> u64 {
        match v {
            Verdict::Refused(r) => r.retry_after,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn admitted(v: &Verdict) -> bool {
        matches!(v, Verdict::Admitted(..))
    }

    #[test]
    fn concurrent_settings_changes_are_never_lost() {
        // Arrange: 4 threads, each adding 1 to the tracked-clients cap 2,000 times (a
        // read-then-store would lose some of the 8,000 changes).
        let limiter = RateLimiter::new(RateLimitSettings::default());
        let before = limiter.settings().max_tracked_clients;
        // Act
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..2_000 {
                        limiter.update_settings(|s| s.max_tracked_clients += 1);
                    }
                });
            }
        });
        // Assert
        assert_eq!(limiter.settings().max_tracked_clients, before + 8_000);
    }

    #[test]
    fn a_settings_change_returns_what_it_stored() {
        // Arrange
        let limiter = RateLimiter::new(RateLimitSettings::default());
        // Act
        let stored = limiter.update_settings(|s| s.headers = HeaderStyle::Ietf);
        // Assert
        assert_eq!(stored.headers, HeaderStyle::Ietf);
        assert_eq!(limiter.header_style(), HeaderStyle::Ietf);
    }

    #[test]
    fn limits_parse_with_units_and_print_back() {
        assert_eq!("100/300s".parse::<Limit>().unwrap(), Limit::secs(100, 300));
        assert_eq!("5/10".parse::<Limit>().unwrap(), Limit::secs(5, 10));
        assert_eq!("1/5m".parse::<Limit>().unwrap(), Limit::secs(1, 300));
        assert_eq!("2/1h".parse::<Limit>().unwrap(), Limit::secs(2, 3600));
        let ms: Limit = "3/500ms".parse().unwrap();
        assert_eq!((ms.window_ms, ms.to_string()), (500, "3/500ms".into()));
        assert!("0/10s".parse::<Limit>().is_err());
        assert!("10/0s".parse::<Limit>().is_err());
        assert!("10/8d".parse::<Limit>().is_err());
        assert!("ten/10s".parse::<Limit>().is_err());
    }

    #[test]
    fn overrides_name_a_rule_and_a_setting() {
        let o: RuleOverride = "oauth=5/60s".parse().unwrap();
        assert_eq!(o.rule, Rule::Oauth);
        assert_eq!(o.setting, RuleSetting::Limit(Limit::secs(5, 60)));
        let off: RuleOverride = "global=off".parse().unwrap();
        assert_eq!(off.setting, RuleSetting::Off);
        let e = "nope=1/1s".parse::<RuleOverride>().unwrap_err();
        assert!(e.contains("unknown rate-limit rule `nope`"), "{e}");
    }

    #[test]
    fn the_defaults_are_those_of_section_6() {
        let s = RateLimitSettings::default();
        assert!(s.enabled);
        assert_eq!(s.algorithm, Algorithm::Sliding);
        assert_eq!(s.max_tracked_clients, 1_000_000);
        assert_eq!(s.limit(Rule::Global), Some(Limit::secs(10_000, 300)));
        assert_eq!(s.limit(Rule::OauthFailures), Some(Limit::secs(10, 1800)));
        for r in Rule::ALL
            .into_iter()
            .filter(|r| !matches!(r, Rule::Global | Rule::OauthFailures))
        {
            assert_eq!(s.limit(r), Some(Limit::secs(100, 300)), "{r}");
        }
    }

    #[test]
    fn ipv4_is_keyed_by_address_and_ipv6_by_its_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::from(a), ClientKey::from(b));
        assert_ne!(ClientKey::from(a), ClientKey::from(c));
        assert_eq!(ClientKey::from(a).to_string(), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(ClientKey::from(mapped), A);
        assert_eq!(A.to_string(), "10.0.0.1");
        let loopback: IpAddr = "::1".parse().unwrap();
        assert_eq!(ClientKey::from(loopback).to_string(), "::/64");
        assert_ne!(ClientKey::from(loopback), key(0));
    }

    #[test]
    fn forwarded_headers_give_the_leftmost_valid_address() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            forwarded_client(&[], &["203.0.113.7, 10.0.0.1"]),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            forwarded_client(&[], &["unknown, 198.51.100.2:8080"]),
            Some(ip("198.51.100.2"))
        );
        assert_eq!(
            forwarded_client(&[], &["[2001:db8::1]:443"]),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            forwarded_client(
                &[r#"for="[2001:db8:cafe::17]:4711";proto=https, for=192.0.2.43"#],
                &["198.51.100.2"]
            ),
            Some(ip("2001:db8:cafe::17"))
        );
        assert_eq!(
            forwarded_client(&["proto=http;For=192.0.2.60:80"], &[]),
            Some(ip("192.0.2.60"))
        );
        assert_eq!(
            forwarded_client(&["for=_hidden"], &["192.0.2.9"]),
            Some(ip("192.0.2.9"))
        );
        assert_eq!(
            forwarded_client(&["for=\"[::1\""], &["garbage, 999.1.1.1"]),
            None
        );
        assert_eq!(forwarded_client(&[], &[]), None);
    }

    #[test]
    fn sliding_window_admits_exactly_count_and_retries_when_the_oldest_leaves() {
        // Arrange: 3 per 10 s; requests at 0 s, 2 s and 4.5 s.
        let l = limiter(
            &[(Rule::Oauth, Some(Limit::secs(3, 10)))],
            Algorithm::Sliding,
        );
        let o = Some(Rule::Oauth);
        for at in [0, 2_000, 4_500] {
            assert!(admitted(&l.check(A, o, T0 + at)));
        }
        // Act / Assert: the 4th is refused until the request at 0 s leaves (10 s).
        assert_eq!(retry(l.check(A, o, T0 + 5_000)), 5);
        assert_eq!(retry(l.check(A, o, T0 + 9_000)), 1);
        assert_eq!(retry(l.check(A, o, T0 + 9_999)), 1);
        assert!(admitted(&l.check(A, o, T0 + 10_000)));
        // Full again: the next frees when the request at 2 s leaves (12 s).
        assert_eq!(retry(l.check(A, o, T0 + 10_001)), 2);
        assert_eq!(retry(l.check(A, o, T0 + 11_500)), 1);
        assert!(admitted(&l.check(A, o, T0 + 12_000)));
    }

    #[test]
    fn fixed_window_retries_at_the_window_end() {
        // Arrange: 3 per 10 s, epoch-aligned; T0 starts a window.
        let l = limiter(&[(Rule::Oauth, Some(Limit::secs(3, 10)))], Algorithm::Fixed);
        let o = Some(Rule::Oauth);
        for at in [1_000, 2_000, 8_000] {
            assert!(admitted(&l.check(A, o, T0 + at)));
        }
        // Act / Assert
        assert_eq!(retry(l.check(A, o, T0 + 8_000)), 2);
        assert_eq!(retry(l.check(A, o, T0 + 9_500)), 1);
        assert!(admitted(&l.check(A, o, T0 + 10_000)));
        assert!(admitted(&l.check(A, o, T0 + 10_000)));
        assert!(admitted(&l.check(A, o, T0 + 12_300)));
        assert_eq!(retry(l.check(A, o, T0 + 12_300)), 8);
    }

    #[test]
    fn a_request_counts_against_global_and_its_route_and_the_longest_wait_wins() {
        let l = limiter(
            &[
                (Rule::Global, Some(Limit::secs(5, 100))),
                (Rule::Oauth, Some(Limit::secs(2, 10))),
            ],
            Algorithm::Sliding,
        );
        assert!(admitted(&l.check(A, Some(Rule::Oauth), T0)));
        assert!(admitted(&l.check(A, Some(Rule::Oauth), T0)));
        let Verdict::Refused(r) = l.check(A, Some(Rule::Oauth), T0 + 1_000) else {
            panic!()
        };
        assert_eq!((r.rule, r.retry_after), (Rule::Oauth, 9));
        for _ in 0..3 {
            assert!(admitted(&l.check(A, None, T0 + 2_000)));
        }
        let Verdict::Refused(r) = l.check(A, Some(Rule::Oauth), T0 + 3_000) else {
            panic!()
        };
        assert_eq!((r.rule, r.retry_after), (Rule::Global, 97));
        assert!(r
            .description()
            .contains("5 requests per 100 s on all routes"));
    }

    #[test]
    fn refused_requests_are_not_counted_and_only_the_first_is_noticed() {
        let l = limiter(
            &[(Rule::Oauth, Some(Limit::secs(1, 10)))],
            Algorithm::Sliding,
        );
        let o = Some(Rule::Oauth);
        assert!(admitted(&l.check(A, o, T0)));
        let Verdict::Refused(first) = l.check(A, o, T0 + 1) else {
            panic!()
        };
        let Verdict::Refused(second) = l.check(A, o, T0 + 2) else {
            panic!()
        };
        assert!(first.first && !second.first);
        assert!(admitted(&l.check(A, o, T0 + 10_000)));
    }

    #[test]
    fn ten_failures_block_token_requests_and_a_success_resets_the_streak() {
        let l = limiter(&[], Algorithm::Sliding);
        let o = Some(Rule::Oauth);
        for _ in 0..9 {
            assert!(admitted(&l.check(A, o, T0)));
            assert!(l
                .record_token_outcome(A, TokenOutcome::Failure, T0)
                .is_none());
        }
        assert!(admitted(&l.check(A, o, T0)));
        l.record_token_outcome(A, TokenOutcome::Success, T0);
        for _ in 0..9 {
            assert!(admitted(&l.check(A, o, T0)));
            l.record_token_outcome(A, TokenOutcome::Failure, T0);
        }
        assert!(admitted(&l.check(A, o, T0)));
        assert!(l
            .record_token_outcome(A, TokenOutcome::Failure, T0)
            .is_some());
        let Verdict::Refused(r) = l.check(A, o, T0 + 1) else {
            panic!()
        };
        assert_eq!(
            (r.rule, r.retry_after, r.first),
            (Rule::OauthFailures, 1800, false)
        );
        assert!(
            admitted(&l.check(A, None, T0 + 1)),
            "other routes stay open"
        );
        assert_eq!(retry(l.check(A, o, T0 + 1_799_001)), 1);
        assert!(admitted(&l.check(A, o, T0 + 1_800_000)));
    }

    #[test]
    fn state_is_evicted_once_every_window_has_passed() {
        let l = limiter(&[], Algorithm::Sliding);
        l.check(A, Some(Rule::Oauth), T0);
        l.check(key(2), None, T0 + 100_000);
        assert_eq!(l.evict_expired(T0 + 299_999), 0);
        assert_eq!(l.evict_expired(T0 + 300_000), 1);
        assert_eq!(l.tracked_clients(), 1);
        assert_eq!(l.evict_expired(T0 + 400_000), 1);
        assert_eq!(l.tracked_clients(), 0);
    }

    #[test]
    fn a_blocked_client_is_kept_until_its_block_ends() {
        let l = limiter(
            &[(Rule::OauthFailures, Some(Limit::secs(1, 1000)))],
            Algorithm::Sliding,
        );
        l.check(A, Some(Rule::Oauth), T0);
        l.record_token_outcome(A, TokenOutcome::Failure, T0);
        assert_eq!(l.evict_expired(T0 + 999_999), 0);
        assert_eq!(l.evict_expired(T0 + 1_000_000), 1);
    }

    #[test]
    fn a_full_table_admits_new_clients_untracked() {
        let l = RateLimiter::new(RateLimitSettings::default().with_max_tracked_clients(2));
        for n in 0..5 {
            assert!(admitted(&l.check(key(n), None, T0)));
        }
        assert_eq!(l.tracked_clients(), 2);
        assert_eq!(l.snapshot(T0).untracked_admissions, 3);
        // Once the windows pass, a new client takes a freed slot (sweep on demand).
        assert!(admitted(&l.check(key(9), None, T0 + 300_000)));
        assert_eq!(l.tracked_clients(), 1);
    }

    #[test]
    fn time_never_runs_backwards_for_a_client() {
        let l = limiter(
            &[(Rule::Oauth, Some(Limit::secs(1, 10)))],
            Algorithm::Sliding,
        );
        assert!(admitted(&l.check(A, Some(Rule::Oauth), T0 + 5_000)));
        assert_eq!(retry(l.check(A, Some(Rule::Oauth), T0)), 10);
    }

    #[test]
    fn offsets_are_rebased_for_long_lived_clients() {
        let l = limiter(
            &[(Rule::Oauth, Some(Limit::secs(2, 10)))],
            Algorithm::Sliding,
        );
        let o = Some(Rule::Oauth);
        let mut t = T0;
        for _ in 0..40 {
            assert!(admitted(&l.check(A, o, t)));
            t += 86_400_000; // one day, 40 days in all
        }
        assert!(admitted(&l.check(A, o, t)));
        assert!(admitted(&l.check(A, o, t + 1)));
        assert_eq!(retry(l.check(A, o, t + 2)), 10);
    }

    #[test]
    fn the_client_state_stays_small() {
        assert_eq!(std::mem::size_of::<ClientState>(), 40);
        assert_eq!(std::mem::size_of::<ClientKey>(), 8);
    }

    #[test]
    fn a_fixtures_section_parses_and_applies() {
        let section: RateLimitSection = serde_json::from_str(
            r#"{"algorithm":"fixed","headers":"ietf","rules":{"oauth":"5/60s","global":"off"}}"#,
        )
        .unwrap();
        let mut s = RateLimitSettings::default();
        s.apply_section(&section);
        assert_eq!(s.algorithm, Algorithm::Fixed);
        assert_eq!(s.headers, HeaderStyle::Ietf);
        assert_eq!(s.limit(Rule::Oauth), Some(Limit::secs(5, 60)));
        assert_eq!(s.limit(Rule::Global), None);
        let bad = serde_json::from_str::<RateLimitSection>(r#"{"rules":{"nope":"1/1s"}}"#);
        assert!(bad.is_err());
    }
}
