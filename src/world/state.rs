//! The state document: one world written as versioned JSON and read back.
//! `GET`/`PUT /__mock/state`, [`Controls::export_state`](crate::Controls::export_state)
//! and the `--state-file` all speak it.
//!
//! What it keeps: the directory (users with their MFA enrolments and pending enrolments,
//! products, orgs, memberships, OAuth clients, customers, devices with their scripted
//! functions, variables and online state, their recorded calls and claim codes, API users,
//! password resets), the live access tokens, refresh tokens and MFA challenges, the
//! clock's mode (its offset from the system time, or the instant it is frozen at) and the
//! rate-limit settings in force. Passwords are written only as salted hashes
//! (`world::password`); tokens, client secrets, TOTP secrets and recovery codes are
//! written as they are, because a restored world must accept them (docs/persistence.md).
//!
//! What it does not keep: rate-limit counters, the journal, injected faults, open event
//! streams, and the fixtures a reset goes back to (those come from the command line of
//! the process that loads the document; fixture files may hold plain-text passwords).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::{iso8601, Mode};
use crate::rate_limit::{RateLimitSection, RateLimitSettings};
use crate::tokens::{token_hex, TokenKey};
use crate::world::store::{AccessToken, Directory, MfaChallenge, RefreshToken, Store};
use crate::world::webhooks::{Webhook, MAX_WEBHOOKS};
use crate::world::World;

/// What the `format` field says: this is a state document of this mock.
pub(crate) const STATE_FORMAT: &str = "particle-auth-mock/state";
/// The document version this build writes and reads. Bumped when a field changes
/// meaning or goes away; a field added with a default keeps it.
pub(crate) const STATE_VERSION: u32 = 1;
/// Largest state document read (a file; `PUT /__mock/state` is held to the body limit).
pub(crate) const MAX_STATE_BYTES: usize = 256 * 1024 * 1024;

/// One world, as a state document holds it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateDocument {
    /// Always [`STATE_FORMAT`].
    format: String,
    /// Always [`STATE_VERSION`] once parsed.
    version: u32,
    /// When it was written, on the world's clock (for a person reading the file).
    saved_at: String,
    /// The clock's offset from the system time, or the instant it stands at.
    clock: Mode,
    /// The rate-limit settings in force (counters are not kept).
    rate_limits: RateLimitSection,
    /// Users, products, teams, clients, customers, devices, API users, resets.
    directory: Directory,
    /// Live access tokens.
    tokens: Vec<Keyed<AccessToken>>,
    /// Live refresh tokens.
    refresh_tokens: Vec<Keyed<RefreshToken>>,
    /// Outstanding MFA challenges (a restart inside the 5 minutes keeps them usable).
    mfa_challenges: Vec<Challenge>,
    /// Webhooks and integrations (their delivery log is not kept).
    #[serde(default)]
    webhooks: Vec<Webhook>,
}

/// A credential and its 40-hex token.
#[derive(Debug, Serialize, Deserialize)]
struct Keyed<V> {
    #[serde(with = "token_hex")]
    token: TokenKey,
    #[serde(flatten)]
    value: V,
}

/// An MFA challenge and its `mfa_token`.
#[derive(Debug, Serialize, Deserialize)]
struct Challenge {
    mfa_token: String,
    #[serde(flatten)]
    value: MfaChallenge,
}

/// Why a state document was refused; the message names the field or the version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct StateError(pub String);

/// The header fields, read first so that another version is named as such rather than
/// reported as whichever field it changed.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<serde_json::Value>,
}

/// Writes `world` as a state document.
pub(crate) fn export(world: &World) -> StateDocument {
    let store = world.store();
    // A copy, so that no lock is held while it is written (passwords are hashed then,
    // once: the copy shares each password's hash cell with the world's record).
    let directory = store.directory.read().clone();
    let tokens = store
        .tokens
        .iter()
        .map(|e| Keyed {
            token: *e.key(),
            value: *e.value(),
        })
        .collect();
    let refresh_tokens = store
        .refresh_tokens
        .iter()
        .map(|e| Keyed {
            token: *e.key(),
            value: *e.value(),
        })
        .collect();
    let mfa_challenges = store
        .mfa_challenges
        .iter()
        .map(|e| Challenge {
            mfa_token: e.key().clone(),
            value: *e.value(),
        })
        .collect();
    let webhooks = store
        .webhooks
        .hooks()
        .iter()
        .map(|h| Webhook::clone(h))
        .collect();
    StateDocument {
        format: STATE_FORMAT.into(),
        version: STATE_VERSION,
        saved_at: iso8601(world.now()),
        clock: world.clock.mode(),
        rate_limits: section_of(&world.rate_limit_settings()),
        directory,
        tokens,
        refresh_tokens,
        mfa_challenges,
        webhooks,
    }
}

/// The settings as the section that rebuilds them from the defaults: the same names and
/// forms the control API's `PUT /__mock/rate-limits` takes.
fn section_of(settings: &RateLimitSettings) -> RateLimitSection {
    serde_json::to_value(settings)
        .and_then(serde_json::from_value)
        .unwrap_or_default()
}

impl StateDocument {
    /// The document as pretty JSON (a person may read or diff the file).
    pub(crate) fn to_json(&self) -> Vec<u8> {
        // Serializing plain data into memory cannot fail; an empty answer would be
        // refused by `parse`, never taken for a world.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Parses a document: the format and version first (another version is named as
    /// such), then every field. Nothing is applied.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, StateError> {
        if bytes.len() > MAX_STATE_BYTES {
            return Err(StateError(format!(
                "the state document is {} bytes; the most read is {MAX_STATE_BYTES}",
                bytes.len()
            )));
        }
        let header: Header = serde_json::from_slice(bytes)
            .map_err(|e| StateError(format!("not a state document: invalid JSON ({e})")))?;
        if header.format.as_deref() != Some(STATE_FORMAT) {
            return Err(StateError(format!(
                "not a state document: `format` must be \"{STATE_FORMAT}\""
            )));
        }
        match header.version {
            Some(v) if v == STATE_VERSION => {}
            other => {
                let found = other.map_or_else(|| "none".to_string(), |v| v.to_string());
                return Err(StateError(format!(
                    "state document version {found}; this build of particle-auth-mock reads \
                     version {STATE_VERSION} only"
                )));
            }
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            StateError(format!(
                "invalid state document at `{}`: {}",
                e.path(),
                e.inner()
            ))
        })
    }
}

/// Replaces `world`'s state with `doc`'s: directory, credentials, clock mode and
/// rate-limit settings, in one swap of the store (a request sees the old world or the
/// new one). Rate-limit counters, the journal and faults are cleared, and open event
/// streams end, as a reset does; the fixtures a later reset goes back to are unchanged.
pub(crate) fn import(world: &World, doc: StateDocument) -> Result<(), StateError> {
    let section = doc.rate_limits;
    section
        .validate("rate_limits.")
        .map_err(|e| StateError(format!("invalid state document {e}")))?;
    check_references(&doc.directory, &doc.tokens, &doc.refresh_tokens)?;
    if doc.webhooks.len() > MAX_WEBHOOKS {
        return Err(StateError(format!(
            "invalid state document: {} webhooks; a world holds at most {MAX_WEBHOOKS}",
            doc.webhooks.len()
        )));
    }
    let store = Store::from_directory(doc.directory, &world.settings.budgets);
    for t in doc.tokens {
        store.tokens.insert(t.token, t.value);
    }
    for t in doc.refresh_tokens {
        store.refresh_tokens.insert(t.token, t.value);
    }
    for c in doc.mfa_challenges {
        store.mfa_challenges.insert(c.mfa_token, c.value);
    }
    store.webhooks.restore(doc.webhooks);
    world.store.store(Arc::new(store));
    world.clock.restore(doc.clock);
    let mut settings = RateLimitSettings::default();
    settings.apply_section(&section);
    world.rate_limiter.set_settings(settings);
    world.rate_limiter.reset_all();
    world.journal.clear();
    world.faults.clear();
    world.events.close_all();
    world.generation.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Every credential names an OAuth client the directory has (a client index past the
/// end would make every lookup of it fail silently).
fn check_references(
    directory: &Directory,
    tokens: &[Keyed<AccessToken>],
    refresh_tokens: &[Keyed<RefreshToken>],
) -> Result<(), StateError> {
    let clients = directory.clients.len();
    let bad = tokens
        .iter()
        .map(|t| t.value.client)
        .chain(refresh_tokens.iter().map(|t| t.value.client))
        .find(|c| usize::from(*c) >= clients);
    match bad {
        Some(c) => Err(StateError(format!(
            "invalid state document: a token names client {c}, but the directory has {clients}"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_version_is_named_as_such() {
        let doc = format!(r#"{{"format":"{STATE_FORMAT}","version":2,"whatever":1}}"#);
        let e = StateDocument::parse(doc.as_bytes()).unwrap_err();
        assert!(e.0.contains("version 2"), "{e}");
        assert!(e.0.contains("reads version 1"), "{e}");
    }

    #[test]
    fn a_corrupt_document_is_refused_with_the_field() {
        assert!(StateDocument::parse(b"{\"format\":")
            .unwrap_err()
            .0
            .contains("invalid JSON"));
        assert!(StateDocument::parse(b"{}")
            .unwrap_err()
            .0
            .contains("`format`"));
        let doc = format!(r#"{{"format":"{STATE_FORMAT}","version":1,"clock":7}}"#);
        let e = StateDocument::parse(doc.as_bytes()).unwrap_err();
        assert!(e.0.contains("invalid state document"), "{e}");
    }
}
