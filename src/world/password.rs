//! [`Password`]: a user's or customer's password as a world keeps it. In memory it is the
//! text the user chose (a login compares it in constant time, as before); written to a
//! state document (`world::state`) it is only ever a salted, iterated SHA-256 hash, so a
//! state file never holds a password someone may use elsewhere. A password read back
//! from a state document is checked against that hash.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::tokens::secrets_equal;

/// Rounds of SHA-256 per hash: enough that a copied state file is not a password list
/// that falls to a dictionary in seconds, few enough that saving a world of 100,000
/// users stays a background chore (docs/fidelity.md § Persistence).
const ROUNDS: u32 = 1_000;
/// The scheme tag a stored hash starts with.
const SCHEME: &str = "sha256-iter";
/// Salt bytes per hash.
const SALT_BYTES: usize = 16;

/// A salted, iterated SHA-256 hash of a password.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PasswordHash {
    rounds: u32,
    salt: [u8; SALT_BYTES],
    digest: [u8; 32],
}

impl PasswordHash {
    /// Hashes `password` with a fresh random salt.
    fn new(password: &str) -> Self {
        let salt: [u8; SALT_BYTES] = rand::random();
        Self {
            rounds: ROUNDS,
            salt,
            digest: digest(password, &salt, ROUNDS),
        }
    }

    /// Whether `given` hashes to this digest (compared in constant time).
    fn matches(&self, given: &str) -> bool {
        secrets_equal(&digest(given, &self.salt, self.rounds), &self.digest)
    }

    /// `sha256-iter$ROUNDS$SALT_HEX$DIGEST_HEX`.
    fn encode(&self) -> String {
        format!(
            "{SCHEME}${}${}${}",
            self.rounds,
            hex::encode(self.salt),
            hex::encode(self.digest)
        )
    }

    /// Parses [`PasswordHash::encode`]'s form; `None` for anything else.
    fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split('$');
        if parts.next()? != SCHEME {
            return None;
        }
        let rounds: u32 = parts
            .next()?
            .parse()
            .ok()
            .filter(|r| (1..=100_000).contains(r))?;
        let mut salt = [0u8; SALT_BYTES];
        hex::decode_to_slice(parts.next()?, &mut salt).ok()?;
        let mut digest = [0u8; 32];
        hex::decode_to_slice(parts.next()?, &mut digest).ok()?;
        parts.next().is_none().then_some(Self {
            rounds,
            salt,
            digest,
        })
    }
}

/// SHA-256 of salt and password, then `rounds - 1` more times over the previous digest
/// and the salt.
fn digest(password: &str, salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut d: [u8; 32] = Sha256::new()
        .chain_update(salt)
        .chain_update(password.as_bytes())
        .finalize()
        .into();
    for _ in 1..rounds {
        d = Sha256::new()
            .chain_update(d)
            .chain_update(salt)
            .finalize()
            .into();
    }
    d
}

/// A password: the text (set by a fixture, a sign-up or a change) or, once read back from
/// a state document, only its hash.
#[derive(Clone, Default)]
pub(crate) struct Password {
    /// The text, when this process was given it.
    plain: Option<String>,
    /// The hash a state document holds: computed once, on the first save, off the
    /// request path; given when the password came from a state document. Shared by
    /// clones, so a save hashes its copy of the directory (outside the directory's lock)
    /// and the world's own record finds the hash cached next time.
    hash: Arc<OnceLock<PasswordHash>>,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl From<String> for Password {
    fn from(plain: String) -> Self {
        Self {
            plain: Some(plain),
            hash: Arc::default(),
        }
    }
}

impl Password {
    /// Whether `given` is this password (constant time for a known text).
    pub(crate) fn matches(&self, given: &str) -> bool {
        match (&self.plain, self.hash.get()) {
            (Some(plain), _) => secrets_equal(plain.as_bytes(), given.as_bytes()),
            (None, Some(hash)) => hash.matches(given),
            (None, None) => false,
        }
    }

    /// The hash to write, computed on first use.
    fn hash(&self) -> &PasswordHash {
        self.hash
            .get_or_init(|| PasswordHash::new(self.plain.as_deref().unwrap_or_default()))
    }
}

impl Serialize for Password {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hash().encode())
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let hash = PasswordHash::decode(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "a password must be stored as `{SCHEME}$ROUNDS$SALT$DIGEST` (never as text)"
            ))
        })?;
        Ok(Self {
            plain: None,
            hash: Arc::new(OnceLock::from(hash)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_written_only_as_a_hash_that_still_checks() {
        let password = Password::from("hunter2-secret".to_string());
        let json = serde_json::to_string(&password).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        assert!(json.starts_with("\"sha256-iter$1000$"), "{json}");
        let back: Password = serde_json::from_str(&json).unwrap();
        assert!(back.matches("hunter2-secret"));
        assert!(!back.matches("hunter2"));
        // Written again, it is the same hash (no double hashing).
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn a_hash_made_on_a_copy_is_cached_for_the_original() {
        let original = Password::from("pw".to_string());
        let copy = original.clone();
        let written = serde_json::to_string(&copy).unwrap();
        assert!(original.hash.get().is_some());
        assert_eq!(serde_json::to_string(&original).unwrap(), written);
    }

    #[test]
    fn a_plain_text_password_in_a_document_is_refused() {
        assert!(serde_json::from_str::<Password>("\"hunter2\"").is_err());
        assert!(serde_json::from_str::<Password>("\"sha256-iter$0$00$00\"").is_err());
    }
}
