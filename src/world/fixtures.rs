//! Fixtures: the users, products, orgs, clients, customers, devices, API users and
//! pre-issued tokens a world starts from.
//!
//! The default set is embedded in the binary (`fixtures/default.json`); `--fixtures PATH`
//! or [`Fixtures::from_json`] loads another. A document is checked completely before use:
//! malformed JSON is reported with its line and column, a wrong type or unknown field with
//! its field path, and cross-references (a membership naming an unknown product, duplicate
//! emails, an invalid base32 secret, …) with the path of the offending entry.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::world::devices::{Function, Variables, DEFAULT_DEVICE_OS};

/// The embedded default fixtures document.
pub(crate) const DEFAULT_FIXTURES: &str = include_str!("../../fixtures/default.json");

/// Scope names an API user may hold (particle-api.md §3.7).
pub(crate) const KNOWN_SCOPES: &[&str] = &[
    "clients:create",
    "clients:list",
    "clients:remove",
    "clients:update",
    "configuration:get",
    "configuration:update",
    "customers:list",
    "customers:remove",
    "customers:update",
    "devices.diagnostics.metadata:get",
    "devices.diagnostics.summary:get",
    "devices.diagnostics:get",
    "devices.diagnostics:update",
    "devices.function:call",
    "devices.variable:get",
    "devices:get",
    "devices:import",
    "devices:list",
    "devices:ping",
    "devices:release",
    "devices:remove",
    "devices:update",
    "events:get",
    "events:send",
    "firmware.binary:get",
    "firmware:create",
    "firmware:get",
    "firmware:list",
    "firmware:release",
    "firmware:remove",
    "firmware:update",
    "groups.impact:get",
    "groups:create",
    "groups:get",
    "groups:list",
    "groups:remove",
    "groups:update",
    "integrations:create",
    "integrations:get",
    "integrations:list",
    "integrations:remove",
    "integrations:test",
    "integrations:update",
    "locations:get",
    "organization:get",
    "products:get",
    "products:list",
    "service_agreements.notifications:list",
    "service_agreements.usage_reports:create",
    "service_agreements.usage_reports:get",
    "service_agreements:list",
    "sims.status:get",
    "sims.usage:get",
    "sims:get",
    "sims:import",
    "sims:list",
    "sims:remove",
    "sims:update",
    "teams.users:invite",
    "teams.users:list",
    "teams.users:remove",
    "teams.users:update",
];

/// Team roles a membership may name, with the 24-hex role ids the team list shows.
pub(crate) const ROLES: &[(&str, &str)] = &[
    ("Owner", "000000000000000000000001"),
    ("Administrator", "000000000000000000000002"),
    ("Developer", "000000000000000000000003"),
    ("View-only", "000000000000000000000004"),
    ("Support", "000000000000000000000005"),
];

/// A validated fixtures document.
///
/// ```
/// use particle_auth_mock::Fixtures;
///
/// // Arrange: a minimal document with one user.
/// let json = r#"{"users":[{"email":"a@example.com","password":"pw"}]}"#;
/// // Act
/// let fixtures = Fixtures::from_json(json).unwrap();
/// // Assert
/// assert_eq!(fixtures.user_emails(), vec!["a@example.com"]);
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    #[serde(default)]
    pub(crate) users: Vec<UserFixture>,
    #[serde(default)]
    pub(crate) orgs: Vec<OrgFixture>,
    #[serde(default)]
    pub(crate) products: Vec<ProductFixture>,
    #[serde(default)]
    pub(crate) memberships: Vec<MembershipFixture>,
    #[serde(default)]
    pub(crate) clients: Vec<ClientFixture>,
    #[serde(default)]
    pub(crate) customers: Vec<CustomerFixture>,
    #[serde(default)]
    pub(crate) devices: Vec<DeviceFixture>,
    #[serde(default)]
    pub(crate) api_users: Vec<ApiUserFixture>,
    #[serde(default)]
    pub(crate) tokens: Vec<TokenFixture>,
    /// Optional rate-limit settings (see `docs/rate-limits.md`); flags apply on top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rate_limits: Option<crate::rate_limit::RateLimitSection>,
}

/// A human account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserFixture {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaFixture>,
}

/// MFA enrolment of a user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MfaFixture {
    /// Base32 TOTP secret.
    pub secret: String,
    /// Single-use recovery codes.
    #[serde(default)]
    pub recovery_codes: Vec<String>,
}

/// An organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrgFixture {
    pub id: String,
    pub slug: String,
    #[serde(default)]
    pub name: String,
}

/// A product.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProductFixture {
    pub id: u32,
    pub slug: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub platform_id: u32,
    /// Owning org, by id or slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

/// A user's role in a product or an org (exactly one of the two).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MembershipFixture {
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    pub role: String,
}

/// An OAuth client of a product (`product`) or of a user (`owner`): exactly one of the two.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientFixture {
    pub id: String,
    pub secret: String,
    #[serde(default)]
    pub name: String,
    /// Owning product, by id or slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Owning user (email): a `/v1/clients` client acting for that user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `installed` (default) or `web`.
    #[serde(default = "default_client_type", rename = "type")]
    pub client_type: String,
    /// A web client's redirect URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
}

fn default_client_type() -> String {
    "installed".into()
}

/// Longest device group name, and most groups per device.
pub(crate) const MAX_GROUP: usize = 64;
pub(crate) const MAX_GROUPS: usize = 32;

/// A product's customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomerFixture {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub product: String,
}

/// A device.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeviceFixture {
    /// 24 hex characters.
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Owning user (email), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Product, by id or slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Customer (email) that owns it within its product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    #[serde(default)]
    pub platform_id: u32,
    #[serde(default)]
    pub online: bool,
    #[serde(default)]
    pub cellular: bool,
    /// Its functions: names (returning 1), or objects with a behaviour (D3; see
    /// `docs/devices.md`).
    #[serde(default)]
    pub functions: Vec<Function>,
    /// Its variables: name to type, or to `{"type","value"}` (D4).
    #[serde(default)]
    pub variables: Variables,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Product device groups (account spec A11), e.g. `["field", "beta"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Device OS version (`system_firmware_version`, D2.2): it sets the argument and
    /// name limits of D3/D4.
    #[serde(default = "default_device_os")]
    pub system_firmware_version: String,
    /// The product firmware version it runs (`firmware_version`, D2.2; a flash through
    /// the control API changes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<u32>,
    /// Product development device (D2.5).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub development: bool,
    /// Product firmware locked to this version (D2.5 `desired_firmware_version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_firmware_version: Option<u32>,
    /// `firmware_updates_forced` (D2.5).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub firmware_updates_forced: bool,
    /// Shouting rainbows (`signal`, D2.5).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signaling: bool,
    /// When it was last updated through the API (`updated_at` of D2.5 answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<crate::clock::Millis>,
}

fn default_device_os() -> String {
    DEFAULT_DEVICE_OS.into()
}

impl DeviceFixture {
    /// A device nobody owns yet, offline, with no functions or variables (a product
    /// import of an unknown id, A11).
    pub(crate) fn unclaimed(id: String, platform_id: u32) -> Self {
        Self {
            id,
            name: String::new(),
            owner: None,
            product: None,
            customer: None,
            platform_id,
            online: false,
            cellular: false,
            functions: Vec::new(),
            variables: Variables::new(),
            serial_number: None,
            notes: None,
            groups: Vec::new(),
            system_firmware_version: default_device_os(),
            firmware_version: None,
            development: false,
            desired_firmware_version: None,
            firmware_updates_forced: false,
            signaling: false,
            updated_at: None,
        }
    }

    /// A function by name (case-sensitive, as Device OS matches it).
    pub(crate) fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }
}

/// An API user with a known token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiUserFixture {
    pub friendly_name: String,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    pub scopes: Vec<String>,
    pub token: String,
}

/// A pre-issued access token with a known value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenFixture {
    pub token: String,
    pub user: String,
    #[serde(default = "default_client")]
    pub client: String,
    /// ISO 8601, or `null` for a token that never expires.
    #[serde(default)]
    pub expires_at: Option<String>,
}

fn default_client() -> String {
    "particle".into()
}

/// The largest fixtures document read, from a file (`--fixtures`) or a control upload
/// (`POST /__mock/reset`, `POST /__mock/tenants`): 2 MiB.
pub(crate) const MAX_FIXTURES_BYTES: usize = 2 * 1024 * 1024;

/// Why a fixtures document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct FixtureError {
    /// The file path, or `<inline>` / `<embedded default>`.
    pub origin: String,
    /// What is wrong and where (line and column, or field path).
    pub message: String,
}

pub(super) fn is_24_hex(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Fixtures {
    /// The embedded default fixtures (see `fixtures/default.json` and the README).
    ///
    /// ```
    /// use particle_auth_mock::Fixtures;
    ///
    /// // Arrange + Act
    /// let fixtures = Fixtures::default_set();
    /// // Assert: the documented accounts are there.
    /// let emails = fixtures.user_emails();
    /// assert!(emails.contains(&"user@example.com") && emails.contains(&"mfa@example.com"));
    /// ```
    pub fn default_set() -> Self {
        Self::parse(DEFAULT_FIXTURES, "<embedded default>")
            .expect("the embedded default fixtures are valid (a unit test checks them)")
    }

    /// Parses and validates a fixtures document.
    pub fn from_json(json: &str) -> Result<Self, FixtureError> {
        Self::parse(json, "<inline>")
    }

    /// Reads, parses and validates a fixtures file. A refusal names the file and the line
    /// and column (malformed JSON) or the field path (everything else).
    ///
    /// ```
    /// use particle_auth_mock::Fixtures;
    ///
    /// // Arrange: a file whose membership names an unknown product.
    /// let path = std::env::temp_dir().join(format!("fixtures-doc-{}.json", std::process::id()));
    /// std::fs::write(&path, r#"{"users":[{"email":"a@x.io","password":"p"}],
    ///     "memberships":[{"user":"a@x.io","product":"nope","role":"Administrator"}]}"#).unwrap();
    /// // Act
    /// let error = Fixtures::from_path(&path).unwrap_err();
    /// // Assert
    /// assert_eq!(error.origin, path.display().to_string());
    /// assert_eq!(error.message, "at `memberships[0].product`: unknown product `nope`");
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// Only a regular file of at most 2 MiB is read (`/dev/zero` or a
    /// FIFO is refused before it is opened; a file growing past the cap while read is
    /// refused too).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, FixtureError> {
        use std::io::Read;
        let path = path.as_ref();
        let origin = path.display().to_string();
        let fail = |message: String| FixtureError {
            origin: origin.clone(),
            message,
        };
        let meta =
            std::fs::metadata(path).map_err(|e| fail(format!("cannot read the file: {e}")))?;
        if !meta.is_file() {
            return Err(fail("not a regular file".into()));
        }
        let too_large = || {
            fail(format!(
                "the file is larger than {MAX_FIXTURES_BYTES} bytes"
            ))
        };
        if meta.len() > MAX_FIXTURES_BYTES as u64 {
            return Err(too_large());
        }
        let file =
            std::fs::File::open(path).map_err(|e| fail(format!("cannot read the file: {e}")))?;
        let mut text = String::new();
        file.take(MAX_FIXTURES_BYTES as u64 + 1)
            .read_to_string(&mut text)
            .map_err(|e| fail(format!("cannot read the file: {e}")))?;
        if text.len() > MAX_FIXTURES_BYTES {
            return Err(too_large());
        }
        Self::parse(&text, &origin)
    }

    /// Parses `json` (reported as coming from `origin`) and validates it.
    pub(crate) fn parse(json: &str, origin: &str) -> Result<Self, FixtureError> {
        let fail = |message: String| FixtureError {
            origin: origin.to_string(),
            message,
        };
        if !crate::support::text::json_strings_within(
            json.as_bytes(),
            crate::support::text::MAX_FIELD_BYTES,
        ) {
            return Err(fail(format!(
                "a string is longer than {} bytes",
                crate::support::text::MAX_FIELD_BYTES
            )));
        }
        let mut de = serde_json::Deserializer::from_str(json);
        let fixtures: Fixtures = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                fail(format!("malformed JSON: {inner}"))
            } else {
                fail(format!("at `{path}`: {inner}"))
            }
        })?;
        de.end().map_err(|e| fail(format!("malformed JSON: {e}")))?;
        fixtures.validate().map_err(fail)?;
        Ok(fixtures)
    }

    /// How many directory records the document makes (users, customers, devices, OAuth
    /// clients, API users): what a world built from it takes of `--max-total-records`.
    pub(crate) fn record_count(&self) -> usize {
        self.users.len()
            + self.customers.len()
            + self.devices.len()
            + self.clients.len()
            + self.api_users.len()
    }

    /// The emails of the fixture users, in order.
    pub fn user_emails(&self) -> Vec<&str> {
        self.users.iter().map(|u| u.email.as_str()).collect()
    }

    /// The document as JSON (what `reset` and tenants start from).
    ///
    /// ```
    /// use particle_auth_mock::Fixtures;
    ///
    /// // Arrange
    /// let fixtures = Fixtures::from_json(r#"{"users":[{"email":"a@x.io","password":"p"}]}"#).unwrap();
    /// // Act
    /// let json = fixtures.to_json();
    /// // Assert: it reads back to the same document.
    /// assert_eq!(Fixtures::from_json(&json).unwrap().user_emails(), vec!["a@x.io"]);
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Whether `id` has the shape the library accepts for a client id (`/^[a-z0-9-_]{3,40}$/i`).
pub(crate) fn valid_client_id(id: &str) -> bool {
    (3..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(json: &str) -> String {
        Fixtures::from_json(json).unwrap_err().message
    }

    #[test]
    fn the_embedded_default_is_valid_and_has_the_documented_accounts() {
        let f = Fixtures::parse(DEFAULT_FIXTURES, "default").unwrap();
        assert!(f.user_emails().contains(&"user@example.com"));
        let mfa = f
            .users
            .iter()
            .find(|u| u.email == "mfa@example.com")
            .unwrap();
        assert_eq!(mfa.mfa.as_ref().unwrap().secret, "JBSWY3DPEHPK3PXP");
        assert_eq!(mfa.mfa.as_ref().unwrap().recovery_codes.len(), 10);
        assert!(f
            .products
            .iter()
            .any(|p| p.id == 1001 && p.slug == "demo-product"));
        assert!(f.orgs.iter().any(|o| o.slug == "demo-org"));
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let message = error_of("{\n  \"users\": [\n    {\"email\": }\n  ]\n}");
        assert!(message.contains("malformed JSON"), "{message}");
        assert!(message.contains("line 3 column"), "{message}");
    }

    #[test]
    fn a_wrong_type_names_the_field_path() {
        let message = error_of(r#"{"products":[{"id":"x","slug":"s"}]}"#);
        assert!(message.contains("products[0].id"), "{message}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let message = error_of(r#"{"userz":[]}"#);
        assert!(message.contains("unknown field `userz`"), "{message}");
    }

    #[test]
    fn duplicate_emails_are_refused() {
        let message = error_of(
            r#"{"users":[{"email":"a@x.io","password":"p"},{"email":"A@x.io","password":"p"}]}"#,
        );
        assert!(
            message.contains("users[1].email") && message.contains("duplicate"),
            "{message}"
        );
    }

    #[test]
    fn a_membership_in_an_unknown_product_is_refused() {
        let message = error_of(
            r#"{"users":[{"email":"a@x.io","password":"p"}],
                "memberships":[{"user":"a@x.io","product":"nope","role":"Administrator"}]}"#,
        );
        assert_eq!(
            message,
            "at `memberships[0].product`: unknown product `nope`"
        );
    }

    #[test]
    fn an_invalid_base32_secret_is_refused() {
        let message =
            error_of(r#"{"users":[{"email":"a@x.io","password":"p","mfa":{"secret":"1111!"}}]}"#);
        assert!(message.contains("users[0].mfa.secret"), "{message}");
    }

    #[test]
    fn an_unknown_scope_is_refused() {
        let message = error_of(
            r#"{"products":[{"id":1,"slug":"p"}],
                "api_users":[{"friendly_name":"a","username":"a+1@api.particle.io","product":"p",
                "scopes":["devices:fly"],"token":"2222222222222222222222222222222222222222"}]}"#,
        );
        assert_eq!(
            message,
            "at `api_users[0].scopes[0]`: unknown scope `devices:fly`"
        );
    }

    #[test]
    fn a_bad_token_value_is_refused() {
        let message = error_of(
            r#"{"users":[{"email":"a@x.io","password":"p"}],"tokens":[{"token":"xyz","user":"a@x.io"}]}"#,
        );
        assert!(message.contains("tokens[0].token"), "{message}");
    }

    #[test]
    fn a_rate_limits_section_is_typed_and_checked() {
        let ok = Fixtures::from_json(
            r#"{"rate_limits":{"algorithm":"fixed","rules":{"oauth":"5/60s"}}}"#,
        );
        assert!(ok.is_ok());
        let message = error_of(r#"{"rate_limits":{"rules":{"oauth":"5 per minute"}}}"#);
        assert!(message.contains("rate_limits.rules"), "{message}");
        let message = error_of(r#"{"rate_limits":{"rules":{"logins":"off"}}}"#);
        assert!(message.contains("unknown variant `logins`"), "{message}");
        let message = error_of(r#"{"rate_limits":{"max_tracked_clients":0}}"#);
        assert!(message.contains("max_tracked_clients"), "{message}");
    }

    #[test]
    fn from_path_reports_the_file() {
        let error = Fixtures::from_path("/nonexistent/fixtures.json").unwrap_err();
        assert_eq!(error.origin, "/nonexistent/fixtures.json");
        assert!(error.message.contains("cannot read"));
    }
}
