//! Text helpers: bounded echoes of client input, and path globs.

/// At most this many characters of a client's input are echoed in an error or a log.
pub(crate) const ECHO_CHARS: usize = 64;

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
    fn long_input_is_cut_to_64_characters_and_short_input_kept() {
        assert_eq!(truncate("abc"), "abc");
        assert_eq!(truncate(&"é".repeat(100)).chars().count(), 64);
    }
}
