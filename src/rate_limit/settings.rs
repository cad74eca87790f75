//! Every rate-limit setting of one world ([`RateLimitSettings`]), the fixtures file's
//! `rate_limits` section, and the command-line overrides resolved against both.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rate_limit::rules::{
    check_rule_setting, Algorithm, HeaderStyle, Limit, Rule, RuleOverride, RuleSetting,
    FALLBACK_RETENTION_MS,
};

/// Every rate-limit setting of one world; [`Default`] is §6.
///
/// ```
/// use particle_auth_mock::rate_limit::{Limit, RateLimitSettings, Rule};
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
    /// The status of a refused event-stream open (the `events` rule, the global rule or
    /// `event-streams` on a stream route): 429 (default, the rate-limit list) or 529 (the
    /// SSE paragraph of particle-api-devices.md D5.7); any other value answers 429.
    pub stream_limit_status: u16,
    rules: [Option<Limit>; Rule::ALL.len()],
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            algorithm: Algorithm::Sliding,
            headers: HeaderStyle::None,
            max_tracked_clients: 1_000_000,
            stream_limit_status: STREAM_LIMIT_STATUSES[0],
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

    /// Answers a refused event-stream open with `status` (429 or 529; anything else is 429).
    pub fn with_stream_limit_status(mut self, status: u16) -> Self {
        self.stream_limit_status = status;
        self
    }

    /// The status a refused event-stream open gets: 529 when chosen, else 429.
    pub fn stream_refusal_status(&self) -> u16 {
        if self.stream_limit_status == 529 {
            529
        } else {
            429
        }
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
        if let Some(status) = section.stream_limit_status {
            self.stream_limit_status = status;
        }
        for (rule, setting) in &section.rules {
            self.set_rule(*rule, setting.limit());
        }
    }

    /// How long a client's log must keep an admitted request.
    pub(crate) fn retention_ms(&self) -> i64 {
        Rule::ALL
            .into_iter()
            .filter(|r| !matches!(r, Rule::OauthFailures | Rule::EventStreams))
            .filter_map(|r| self.limit(r))
            .map(|l| l.window())
            .max()
            .unwrap_or(FALLBACK_RETENTION_MS)
    }
}

/// The statuses a refused event-stream open may get; the first is the default.
pub(crate) const STREAM_LIMIT_STATUSES: [u16; 2] = [429, 529];

/// How [`RateLimitSettings`] serializes: every rule by name, `off` or `COUNT/WINDOW`.
#[derive(Serialize)]
pub(super) struct SettingsView<'a> {
    enabled: bool,
    algorithm: Algorithm,
    headers: HeaderStyle,
    max_tracked_clients: usize,
    stream_limit_status: u16,
    rules: BTreeMap<&'a str, RuleSetting>,
}

impl Serialize for RateLimitSettings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SettingsView {
            enabled: self.enabled,
            algorithm: self.algorithm,
            headers: self.headers,
            max_tracked_clients: self.max_tracked_clients,
            stream_limit_status: self.stream_refusal_status(),
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_limit_status: Option<u16>,
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
        if let Some(status) = self.stream_limit_status {
            if !STREAM_LIMIT_STATUSES.contains(&status) {
                return Err(format!(
                    "at `{prefix}stream_limit_status`: must be 429 or 529, not {status}"
                ));
            }
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
    pub stream_limit_status: Option<u16>,
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
        if let Some(status) = self.stream_limit_status {
            settings.stream_limit_status = status;
        }
        for o in &self.rules {
            settings.set_rule(o.rule, o.setting.limit());
        }
        settings
    }
}
