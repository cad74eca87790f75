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
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|b| *b == b'*')
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
}
