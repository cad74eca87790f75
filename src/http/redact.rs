//! Redaction: what the log line and the journal may show of a request's path and query.
//! ONE redactor serves both, so a secret that one of them hides, the other hides too:
//!
//! - any path segment shaped like a token (40 hex characters), and whatever follows
//!   `/v1/access_tokens/` (a token being revoked) except `current`, become `[redacted]`;
//! - the values of secret query parameters (`access_token`, `password`, `otp`, …,
//!   names compared case-insensitively after percent-decoding) become `[redacted]`.

use std::borrow::Cow;

/// What replaces a secret in anything logged or journaled.
pub(crate) const REDACTED: &str = "[redacted]";

/// Query parameters whose values are secrets (compared case-insensitively).
const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "refresh_token",
    "password",
    "otp",
    "mfa_token",
    "client_secret",
    "recovery_code",
    "token",
    "secret",
    "code",
];

/// Whether a path segment looks like a token.
fn token_shaped(segment: &str) -> bool {
    segment.len() == 40 && segment.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The path as logs and the journal may show it (see the module documentation).
pub(crate) fn redact_path(path: &str) -> Cow<'_, str> {
    let after_tokens = path
        .strip_prefix("/v1/access_tokens/")
        .is_some_and(|rest| rest != "current" && !rest.is_empty());
    if !after_tokens && !path.split('/').any(token_shaped) {
        return Cow::Borrowed(path);
    }
    // One allocation: a redacted segment is no longer than the 40 characters it replaces
    // (or the arbitrary segment after `/v1/access_tokens/`, which may be shorter).
    let mut out = String::with_capacity(path.len() + REDACTED.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let secret = token_shaped(segment) || (after_tokens && i == 3);
        out.push_str(if secret { REDACTED } else { segment });
    }
    Cow::Owned(out)
}

/// The path and query as the journal records them.
pub(crate) fn redact_path_and_query(path: &str, query: Option<&str>) -> String {
    let path = redact_path(path);
    match query {
        None => path.into_owned(),
        Some(query) => {
            let query = redact_query(query);
            let mut out = String::with_capacity(path.len() + 1 + query.len());
            out.push_str(&path);
            out.push('?');
            out.push_str(&query);
            out
        }
    }
}

/// A query string with the values of secret parameters replaced by `[redacted]`.
pub(crate) fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_decode(name).to_ascii_lowercase();
            if SECRET_PARAMS.contains(&decoded.as_str()) && !value.is_empty() {
                format!("{name}={REDACTED}")
            } else {
                pair.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_decode(text: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("{text}="))
        .ok()
        .and_then(|mut v| v.pop())
        .map_or_else(|| text.to_string(), |(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_paths_are_redacted_for_logs() {
        let token = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            redact_path(&format!("/v1/access_tokens/{token}")),
            "/v1/access_tokens/[redacted]"
        );
        assert_eq!(
            redact_path("/v1/access_tokens/not-a-token"),
            "/v1/access_tokens/[redacted]"
        );
        assert_eq!(
            redact_path("/v1/access_tokens/current"),
            "/v1/access_tokens/current"
        );
        assert_eq!(redact_path(&format!("/x/{token}/y")), "/x/[redacted]/y");
        assert_eq!(redact_path("/v1/user"), "/v1/user");
    }

    #[test]
    fn secrets_in_the_url_are_masked() {
        let masked = redact_path_and_query(
            "/v1/access_tokens/0123456789abcdef0123456789abcdef01234567",
            Some("access_token=abc&otp=123456&Password=pw&keep=me&password="),
        );
        assert_eq!(
            masked,
            "/v1/access_tokens/[redacted]?access_token=[redacted]&otp=[redacted]&Password=[redacted]&keep=me&password="
        );
        assert_eq!(
            redact_query("access%5Ftoken=abc"),
            "access%5Ftoken=[redacted]"
        );
    }

    #[test]
    fn the_journal_and_the_log_redact_the_same_path_alike() {
        // A path only the log's old rule caught: the journal now hides it too.
        assert_eq!(
            redact_path_and_query("/v1/access_tokens/abc", None),
            redact_path("/v1/access_tokens/abc")
        );
    }
}
