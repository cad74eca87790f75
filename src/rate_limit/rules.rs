//! The named limits of §6 and their values: [`Rule`], [`Limit`], per-rule settings and
//! overrides, the algorithm and the header style.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The longest window (and lockout) accepted: 7 days. Keeps every offset in a `u32`.
pub(super) const MAX_WINDOW_MS: u32 = 7 * 24 * 3600 * 1000;
/// A client's base instant is moved forward once offsets pass this (about 24.8 days).
pub(super) const REBASE_AFTER_MS: i64 = 1 << 31;
/// Retention when no windowed rule is enabled (the failure streak still needs one).
pub(super) const FALLBACK_RETENTION_MS: i64 = 300_000;
/// How long a full table waits between two sweeps triggered by new clients.
pub(super) const FULL_SWEEP_EVERY_MS: i64 = 1_000;

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
    /// `POST /v1/users`: 100 / 300 s.
    UsersCreate,
    /// `DELETE /v1/user`: 100 / 300 s.
    UserDelete,
    /// `POST /v1/user/password-reset`: 100 / 300 s.
    PasswordResetPost,
    /// `PUT /v1/user/password-reset`: 100 / 300 s.
    PasswordResetPut,
    /// Opening an event stream (`GET /v1/events` and every stream of devices spec
    /// D5.1): 100 / 300 s.
    Events,
    /// Event streams open at once per client (devices spec D5.7): `count` is the most
    /// (default 100); the window is not used. Not a per-request rule: the stream routes
    /// check it when a stream opens.
    EventStreams,
}

impl Rule {
    /// Every rule, in the order of §6.
    pub const ALL: [Rule; 11] = [
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
        Rule::EventStreams,
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
            Rule::EventStreams => "event-streams",
        }
    }

    /// What the rule covers, in words (used in 429 descriptions).
    pub(crate) fn scope(self) -> &'static str {
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
            Rule::EventStreams => "simultaneous event streams",
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

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn bit(self) -> u16 {
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

/// Why a rate-limit setting was refused; the message says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingError(pub(crate) String);

impl Limit {
    /// `count` per `window_secs` seconds.
    pub const fn secs(count: u32, window_secs: u32) -> Self {
        Self {
            count,
            window_ms: window_secs * 1000,
        }
    }

    /// `count` per `window`; refused if `count` is 0 or the window is not within 1 ms–7 days.
    ///
    /// # Errors
    /// [`SettingError`] naming what is wrong.
    pub fn new(count: u32, window: Duration) -> Result<Self, SettingError> {
        let window_ms = u32::try_from(window.as_millis()).unwrap_or(u32::MAX);
        let limit = Self { count, window_ms };
        limit.validate().map_err(SettingError)?;
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

    pub(crate) fn window(&self) -> i64 {
        i64::from(self.window_ms)
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.window_ms.is_multiple_of(1000) {
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
        Limit::new(count, Duration::from_millis(window)).map_err(|e| e.0)
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
    pub(crate) fn limit(self) -> Option<Limit> {
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

pub(super) fn check_rule_setting(rule: Rule, setting: RuleSetting) -> Result<(), String> {
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
