//! Text helpers: bounded echoes of client input, and path globs.

/// At most this many characters of a client's input are echoed in an error or a log.
pub(crate) const ECHO_CHARS: usize = 64;

/// The longest string one field of a request body may hold, in bytes: a JSON string
/// (key or value, measured as sent, escapes included) or a decoded form name or value,
/// in every Particle and control body and in fixtures documents. Far above any real
/// field (emails, names, scopes, secrets), far below the body cap times the number of
/// places a string is copied to.
pub(crate) const MAX_FIELD_BYTES: usize = 8 * 1024;

/// The message of a body refused for a field over [`MAX_FIELD_BYTES`].
pub(crate) fn field_too_long() -> String {
    format!("A field of the request body is longer than {MAX_FIELD_BYTES} bytes")
}

/// Whether every string of the JSON text `bytes` (keys and values, as sent) is at most
/// `max` bytes long: one pass, no allocation. Malformed JSON is left to the parser.
pub(crate) fn json_strings_within(bytes: &[u8], max: usize) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut len = 0usize;
    for &b in bytes {
        if !in_string {
            if b == b'"' {
                in_string = true;
                len = 0;
            }
            continue;
        }
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            in_string = false;
            continue;
        }
        len += 1;
        if len > max {
            return false;
        }
    }
    true
}

/// `text` cut to [`ECHO_CHARS`] characters, for echoing client input in an error
/// description or a log line without letting it grow the answer.
pub(crate) fn truncate(text: &str) -> String {
    text.chars().take(ECHO_CHARS).collect()
}

/// Matches `text` against `pattern`, where `*` stands for any run of characters (`/`
/// included) and everything else must be equal.
///
/// Linear in the two lengths: the literal pieces between stars are found leftmost-first
/// in turn (a piece found further right could only leave less room for the rest), each
/// with the standard library's linear substring search. Backtracking over stars cost
/// O(pattern × text) on patterns such as `*zzz…zy`.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut middle: Vec<&str> = pieces.collect();
    let Some(last) = middle.pop() else {
        // No star: the whole text must be the pattern.
        return rest.is_empty();
    };
    let Some(inner) = rest.strip_suffix(last) else {
        return false;
    };
    rest = inner;
    for piece in middle.into_iter().filter(|p| !p.is_empty()) {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// The slug of `text`: lowercase ASCII alphanumerics, every other run of characters one
/// `-`, no leading or trailing `-`, at most `max` characters; `fallback` if nothing is left.
/// API-user names and OAuth client ids are made with it.
pub(crate) fn slug(text: &str, max: usize, fallback: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(max);
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        fallback.into()
    } else {
        trimmed.to_string()
    }
}

/// Deserializes an optional text field that may arrive as a JSON string, number or
/// boolean, as its text: what the form-shaped routes do with every field (a JSON `97531246`
/// and a form `97531246` are the same password), so that a numeric value in a text field
/// is handled one way everywhere. `null` is absent; an array or object is refused without
/// quoting anything of it.
pub(crate) fn scalar_text<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s)),
        serde_json::Value::Number(n) => Ok(Some(n.to_string())),
        serde_json::Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(serde::de::Error::custom("expected a string")),
    }
}

/// [`scalar_text`] for a field that must be present.
pub(crate) fn scalar_text_required<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: serde::Deserializer<'de>,
{
    scalar_text(deserializer)?.ok_or_else(|| serde::de::Error::custom("expected a string"))
}

/// A body decoder's message without the values it quotes: serde's `invalid type:
/// integer `97531246`, expected a string` names the value sent, which may be a password;
/// the kind and what was expected are enough to fix the request. (`unknown variant` keeps
/// its quote: only enumerated fields such as `algorithm` have variants, and none is a
/// secret.)
pub(crate) fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let kind = rest.split([' ', ',']).next().unwrap_or_default();
            let tail = rest.rfind(", expected").map_or("", |at| &rest[at..]);
            return format!("{prefix}{kind}{tail}");
        }
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_measured_as_sent_keys_included() {
        assert!(json_strings_within(br#"{"name":"abcd","n":12345678}"#, 4));
        assert!(!json_strings_within(br#"{"name":"abcde"}"#, 4));
        assert!(!json_strings_within(br#"{"abcde":1}"#, 4));
        // An escaped quote does not end the string; the escape counts as sent.
        assert!(!json_strings_within(br#"["a\"bc"]"#, 4));
        assert!(json_strings_within(br#"["a\"b"]"#, 4));
        assert!(json_strings_within(b"[1, 2, 3]", 0));
    }

    #[test]
    fn long_input_is_cut_to_64_characters_and_short_input_kept() {
        assert_eq!(truncate("abc"), "abc");
        assert_eq!(truncate(&"é".repeat(100)).chars().count(), 64);
    }

    #[test]
    fn decoder_messages_lose_the_values_they_quote() {
        let e = serde_json::from_str::<Option<String>>("97531246").unwrap_err();
        let m = without_values(&e.to_string());
        assert_eq!(
            m,
            "invalid type: integer, expected a string at line 1 column 8"
        );
        let e = serde_json::from_str::<bool>(r#""hunter2, expected x""#).unwrap_err();
        assert!(!without_values(&e.to_string()).contains("hunter2"));
        assert_eq!(without_values("unknown field `x`"), "unknown field `x`");
    }

    #[test]
    fn globs_match_pieces_leftmost_first() {
        for (pattern, text, expected) in [
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("ab*", "ab", true),
            ("*b*b*", "abab", true),
            ("*b*b*", "ab", false),
            ("/t/*/v1/*/x", "/t/1/v1/2/3/x", true),
            ("**", "", true),
            ("", "", true),
            ("", "x", false),
            ("*é*", "aéb", true),
        ] {
            assert_eq!(glob_match(pattern, text), expected, "{pattern} {text}");
        }
        // Issue 27 (3): thousands of `z` then `y` against a long path of `z`s.
        let pattern = format!("*{}y", "z".repeat(1_000));
        assert!(!glob_match(&pattern, &"z".repeat(14_000)));
    }
}
