//! Normalisation: every token, id, e-mail, time and secret in an answer becomes a numbered
//! reference (`<token:1>`, `<id:2>`, `<email:1>`, `<time:3>`, `<secret:1>`, `<event:1>`).
//! The same value always maps to the same reference within one side's run, so equalities
//! ("the token login gave is the one deleted later") survive, while the values themselves
//! never reach a report or a snapshot.

use std::collections::HashMap;

use serde_json::Value;

/// The shortest password-like secret replaced wherever it occurs inside a longer text.
/// Shorter ones (the mock's own `password`) are replaced only as whole values: replacing
/// them inside texts would also rewrite ordinary words of error messages. E-mails, tokens
/// and event names are replaced inside texts whatever their length.
const MIN_EMBEDDED_SECRET: usize = 12;

/// One side's references, numbered by first appearance.
#[derive(Debug, Default)]
pub(crate) struct Normaliser {
    /// Value → reference, for every value seen so far.
    references: HashMap<String, String>,
    /// Kind → how many references of that kind exist.
    counters: HashMap<&'static str, usize>,
    /// Values known to be secret (credentials, the run's unique event name), with the
    /// kind of reference they get.
    secrets: Vec<(String, &'static str)>,
}

impl Normaliser {
    /// Registers a value that must never appear in output (a password, an e-mail, an OTP
    /// secret, a token): it becomes a reference of `kind` wherever it appears.
    pub(crate) fn secret(&mut self, value: &str, kind: &'static str) {
        if !value.is_empty() && !self.secrets.iter().any(|(v, _)| v == value) {
            self.secrets.push((value.to_string(), kind));
            // Longest first, so that a secret containing another is replaced whole.
            self.secrets
                .sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        }
    }

    fn reference(&mut self, kind: &'static str, value: &str) -> String {
        if let Some(found) = self.references.get(value) {
            return found.clone();
        }
        let counter = self.counters.entry(kind).or_insert(0);
        *counter += 1;
        let made = format!("<{kind}:{counter}>");
        self.references.insert(value.to_string(), made.clone());
        made
    }

    /// A whole string value, normalised.
    pub(crate) fn string(&mut self, text: &str) -> String {
        if let Some(kind) = self
            .secrets
            .iter()
            .find(|(v, _)| v == text)
            .map(|(_, kind)| *kind)
        {
            return self.reference(kind, text);
        }
        if let Some(kind) = classify(text) {
            return self.reference(kind, text);
        }
        self.scrub(text)
    }

    /// A text with references put in place of the secrets and hex identifiers inside it.
    pub(crate) fn scrub(&mut self, text: &str) -> String {
        let mut out = text.to_string();
        let secrets = self.secrets.clone();
        for (secret, kind) in secrets {
            let embedded = kind != "secret" || secret.len() >= MIN_EMBEDDED_SECRET;
            if embedded && out.contains(&secret) {
                let reference = self.reference(kind, &secret);
                out = out.replace(&secret, &reference);
            }
        }
        // Hex runs of a token's or an id's length inside a longer text (a hook URL, a
        // stream line, an error naming a device).
        let mut result = String::with_capacity(out.len());
        let mut word = String::new();
        for c in out.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_alphanumeric() {
                word.push(c);
                continue;
            }
            if let Some(kind) = hex_kind(&word) {
                let reference = self.reference(kind, &word);
                result.push_str(&reference);
            } else {
                result.push_str(&word);
            }
            word.clear();
            result.push(c);
        }
        result.pop();
        result
    }

    /// A JSON value with every string normalised (object keys are kept: they are the shape).
    pub(crate) fn json(&mut self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.string(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.json(v))).collect())
            }
            other => other.clone(),
        }
    }
}

/// The reference kind a whole value gets by its form, if any.
fn classify(text: &str) -> Option<&'static str> {
    if let Some(kind) = hex_kind(text) {
        return Some(kind);
    }
    if text.starts_with("eyJ") && text.matches('.').count() == 2 && !text.contains(' ') {
        return Some("token");
    }
    if is_email(text) {
        return Some("email");
    }
    if is_time(text) {
        return Some("time");
    }
    None
}

/// 40 hex digits are a token (or a client secret); 24 are an id (device, user, webhook).
fn hex_kind(word: &str) -> Option<&'static str> {
    let hex = !word.is_empty() && word.chars().all(|c| c.is_ascii_hexdigit());
    match word.len() {
        40 if hex => Some("token"),
        24 if hex => Some("id"),
        _ => None,
    }
}

fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && text.len() <= 254
        && !text.contains(char::is_whitespace)
        && !domain.contains('@')
}

/// An ISO 8601 date-time (`2017-09-22T14:02:37.021Z`) or date (`2017-12-07`).
fn is_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || b[10] == b'T')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_get_equal_references_and_kinds_count_apart() {
        let mut n = Normaliser::default();
        let token = "254406f79c1999af65a7df4388971354f85cfee9";
        assert_eq!(n.string(token), "<token:1>");
        assert_eq!(n.string("0123456789abcdef01234567"), "<id:1>");
        assert_eq!(n.string(token), "<token:1>");
        assert_eq!(n.string("a@example.com"), "<email:1>");
        assert_eq!(n.string("2017-09-22T14:02:37.021Z"), "<time:1>");
        assert_eq!(n.string("bearer"), "bearer");
    }

    #[test]
    fn secrets_are_replaced_whole_and_inside_texts() {
        let mut n = Normaliser::default();
        n.secret("Sup3r-S3cret-Pa55", "secret");
        n.secret("password", "secret");
        assert_eq!(n.string("password"), "<secret:1>");
        assert_eq!(n.string("Bad password"), "Bad password");
        assert_eq!(n.string("was Sup3r-S3cret-Pa55!"), "was <secret:2>!");
        assert_eq!(
            n.string("https://x/v1/webhooks/5b0967d2a59e2a0c90006018"),
            "https://x/v1/webhooks/<id:1>"
        );
    }
}
