//! Token and name generation (OS randomness, or a seeded generator on request) and
//! constant-time comparison of secrets.
//!
//! Access and refresh tokens are 40 lowercase hex characters, as every recorded token is
//! (particle-api.md §1.6); the store keeps them as 20 binary bytes ([`TokenKey`]).
//! `mfa_token`s are opaque and JWT-shaped, as the docs example is.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parking_lot::Mutex;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use subtle::ConstantTimeEq;

/// A 40-hex token as the store keeps it: its 20 bytes.
pub(crate) type TokenKey = [u8; 20];

/// Parses a 40-hex token (either case) into its key; anything else is not a token we issued.
pub(crate) fn parse_token(text: &str) -> Option<TokenKey> {
    let mut key = [0u8; 20];
    if text.len() != 40 {
        return None;
    }
    hex::decode_to_slice(text, &mut key).ok()?;
    Some(key)
}

/// Renders a key as the 40 lowercase hex characters clients see.
pub(crate) fn format_token(key: &TokenKey) -> String {
    // Byte by byte through a table, into a string allocated once (`hex::encode`
    // collects chars one at a time; two tokens per login made it show in profiles).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(2 * key.len());
    for byte in key {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

/// Serde for a [`TokenKey`] as the 40 hex characters clients see (`#[serde(with)]`): how a
/// state document writes tokens.
pub(crate) mod token_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{format_token, parse_token, TokenKey};

    /// Writes the key as 40 lowercase hex characters.
    pub(crate) fn serialize<S: Serializer>(key: &TokenKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_token(key))
    }

    /// Reads 40 hex characters.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TokenKey, D::Error> {
        let text = String::deserialize(d)?;
        parse_token(&text).ok_or_else(|| serde::de::Error::custom("a token is 40 hex characters"))
    }
}

/// Compares two secrets in time that depends only on their lengths.
pub(crate) fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Bytes fetched from the OS CSPRNG at a time, per thread.
const OS_POOL_BYTES: usize = 4096;

thread_local! {
    /// This thread's bytes from the OS CSPRNG not handed out yet: `bytes[next..]`.
    static OS_POOL: std::cell::RefCell<OsPool> = const {
        std::cell::RefCell::new(OsPool { bytes: [0; OS_POOL_BYTES], next: OS_POOL_BYTES })
    };
}

/// Bytes read from the OS in one `getrandom` call, handed out once each.
struct OsPool {
    bytes: [u8; OS_POOL_BYTES],
    next: usize,
}

/// Fills `out` with bytes from the OS CSPRNG (`getrandom`). Small requests are served
/// from a per-thread pool refilled 4 KiB at a time, so a login costs no system call
/// (one per about a hundred logins); every byte is still the OS's, handed out once and
/// then zeroed in the pool.
fn os_random(out: &mut [u8]) {
    if out.len() > OS_POOL_BYTES / 8 {
        rand::rngs::OsRng.fill_bytes(out);
        return;
    }
    OS_POOL.with_borrow_mut(|pool| {
        if OS_POOL_BYTES - pool.next < out.len() {
            rand::rngs::OsRng.fill_bytes(&mut pool.bytes);
            pool.next = 0;
        }
        let taken = &mut pool.bytes[pool.next..pool.next + out.len()];
        out.copy_from_slice(taken);
        taken.fill(0);
        pool.next += out.len();
    });
}

/// Where random bytes come from: the OS CSPRNG, or a seeded ChaCha20 for reproducible runs.
#[derive(Debug)]
pub(crate) enum TokenGenerator {
    /// The OS CSPRNG (`getrandom`, read 4 KiB at a time per thread): the default.
    Os,
    /// A seeded generator (`--seed`): tokens, `mfa_token`s and generated names repeat run
    /// to run. The mutex is held only for the few nanoseconds of one fill.
    Seeded(Box<Mutex<ChaCha20Rng>>),
}

impl TokenGenerator {
    /// OS randomness unless a seed is given.
    pub(crate) fn new(seed: Option<u64>) -> Self {
        match seed {
            Some(seed) => Self::Seeded(Box::new(Mutex::new(ChaCha20Rng::seed_from_u64(seed)))),
            None => Self::Os,
        }
    }

    /// Fills `buf` with random bytes.
    pub(crate) fn fill(&self, buf: &mut [u8]) {
        match self {
            Self::Os => os_random(buf),
            Self::Seeded(rng) => rng.lock().fill_bytes(buf),
        }
    }

    /// A fresh access or refresh token key.
    pub(crate) fn token(&self) -> TokenKey {
        let mut key = [0u8; 20];
        self.fill(&mut key);
        key
    }

    /// Two fresh token keys from one fill (an access token and its refresh token).
    pub(crate) fn token_pair(&self) -> (TokenKey, TokenKey) {
        let mut bytes = [0u8; 40];
        self.fill(&mut bytes);
        let mut first = [0u8; 20];
        let mut second = [0u8; 20];
        first.copy_from_slice(&bytes[..20]);
        second.copy_from_slice(&bytes[20..]);
        (first, second)
    }

    /// `n` characters from `[a-z0-9]` (API-user username suffixes, recovery codes).
    pub(crate) fn alphanumeric(&self, n: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut bytes = vec![0u8; n];
        self.fill(&mut bytes);
        bytes
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect()
    }

    /// `n` characters from `[A-Za-z0-9+/]`: a device claim code (devices spec D12 item 14).
    pub(crate) fn claim_code(&self, n: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bytes = vec![0u8; n];
        self.fill(&mut bytes);
        bytes
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect()
    }

    /// An opaque, JWT-shaped `mfa_token` (`header.payload.signature`, base64url). Its
    /// payload carries only a random id: the binding to user and client lives in the store.
    pub(crate) fn mfa_token(&self) -> String {
        let mut id = [0u8; 16];
        let mut signature = [0u8; 32];
        self.fill(&mut id);
        self.fill(&mut signature);
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"jti":"{}"}}"#, hex::encode(id)));
        format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// A base32 TOTP secret of 20 random bytes (160 bits, RFC 4226's recommendation).
    pub(crate) fn totp_secret(&self) -> String {
        let mut bytes = [0u8; 20];
        self.fill(&mut bytes);
        base32_encode(&bytes)
    }
}

/// RFC 4648 base32 without padding, as authenticator apps expect secrets.
pub(crate) fn base32_encode(bytes: &[u8]) -> String {
    totp_rs::Secret::Raw(bytes.to_vec())
        .to_encoded()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_40_lowercase_hex_and_round_trip() {
        let generator = TokenGenerator::new(None);
        let key = generator.token();
        let text = format_token(&key);
        assert_eq!(text.len(), 40);
        assert!(text
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(parse_token(&text), Some(key));
        assert_ne!(generator.token(), key);
        let (a, b) = generator.token_pair();
        assert_ne!(a, b);
        let mut known = [0u8; 20];
        known[0] = 0x0f;
        known[1] = 0xa9;
        known[19] = 0x10;
        assert_eq!(format_token(&known), format!("0fa9{}10", "0".repeat(34)));
    }

    #[test]
    fn os_tokens_stay_distinct_across_pool_refills() {
        let generator = TokenGenerator::new(None);
        let mut seen = std::collections::HashSet::new();
        // 40 bytes a pair: 500 pairs draw 20,000 bytes, several 4 KiB refills.
        for _ in 0..500 {
            let (a, b) = generator.token_pair();
            assert!(seen.insert(a) && seen.insert(b));
        }
        // Larger than the pool serves: read from the OS directly.
        let long = generator.alphanumeric(4 * OS_POOL_BYTES);
        assert_eq!(long.len(), 4 * OS_POOL_BYTES);
        assert!(long.chars().collect::<std::collections::HashSet<_>>().len() > 30);
    }

    #[test]
    fn parse_token_refuses_other_shapes() {
        assert_eq!(parse_token("abc"), None);
        assert_eq!(parse_token(&"z".repeat(40)), None);
        assert_eq!(parse_token(&"é".repeat(20)), None);
    }

    #[test]
    fn a_seed_makes_output_reproducible() {
        let a = TokenGenerator::new(Some(7));
        let b = TokenGenerator::new(Some(7));
        assert_eq!(a.token(), b.token());
        assert_eq!(a.mfa_token(), b.mfa_token());
        assert_eq!(a.alphanumeric(10), b.alphanumeric(10));
        assert_ne!(
            TokenGenerator::new(Some(8)).token(),
            TokenGenerator::new(Some(7)).token()
        );
    }

    #[test]
    fn mfa_tokens_are_jwt_shaped() {
        let token = TokenGenerator::new(None).mfa_token();
        let parts: Vec<_> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert!(token.starts_with("eyJ"));
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(secrets_equal(b"password", b"password"));
        assert!(!secrets_equal(b"password", b"passwore"));
        assert!(!secrets_equal(b"password", b"pass"));
    }
}
