//! Redaction: what the log line and the journal may show of a request's path and query.
//! ONE redactor serves both, so a secret that one of them hides, the other hides too:
//!
//! - in the percent-decoded path, with or without a tenant prefix, any segment holding
//!   a token-shaped run of hex digits, and whatever follows an `access_tokens` segment
//!   (a token being revoked) except `current`, become `[redacted]` (see [`redact_path`]);
//! - the values of secret query parameters (`access_token`, `password`, `otp`, …,
//!   names compared case-insensitively after percent-decoding) become `[redacted]`.

use std::borrow::Cow;

/// What replaces a secret in anything logged or journaled.
pub(crate) const REDACTED: &str = "[redacted]";

/// Query parameters whose values are secrets (compared case-insensitively; `cursor`:
/// a token list's cursor names a token).
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
    "cursor",
];

/// The shortest run of hex digits taken for a token inside a path segment (the mock's
/// tokens are 40 hex characters; a run of 32 or more also catches a token cut short or
/// padded, `…/<token>0`).
const TOKEN_RUN: usize = 32;

/// Whether a (decoded) path segment carries something token-shaped.
fn token_shaped(segment: &str) -> bool {
    let mut run = 0;
    for b in segment.bytes() {
        run = if b.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= TOKEN_RUN {
            return true;
        }
    }
    false
}

/// The path as logs and the journal may show it. The path is percent-DECODED first (as
/// the router decodes it: `%65b37…` is `eb37…`), then every segment is judged, in every
/// path form (a tenant's `/t/<id>/…` included):
///
/// - a segment with a run of 32 or more hex digits becomes `[redacted]`;
/// - the segment after an `access_tokens` segment (a token being revoked or read) becomes
///   `[redacted]` unless it is `current` or empty;
/// - control characters and `%` are shown percent-encoded, so a decoded path cannot
///   forge a log line.
pub(crate) fn redact_path(path: &str) -> Cow<'_, str> {
    let decoded = percent_decode_path(path);
    let needs_work = decoded.split('/').any(token_shaped)
        || decoded.contains("access_tokens")
        || decoded.bytes().any(|b| b.is_ascii_control())
        || matches!(decoded, Cow::Owned(_));
    if !needs_work {
        return Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(decoded.len() + REDACTED.len());
    let mut previous = "";
    for (i, segment) in decoded.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let after_tokens =
            previous == "access_tokens" && !segment.is_empty() && segment != "current";
        if token_shaped(segment) || after_tokens {
            out.push_str(REDACTED);
        } else {
            for c in segment.chars() {
                if c.is_control() || c == '%' {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("%{b:02X}"));
                    }
                } else {
                    out.push(c);
                }
            }
        }
        previous = segment;
    }
    Cow::Owned(out)
}

/// `path` with its `%XX` escapes decoded (invalid UTF-8 shown as U+FFFD); borrowed
/// when there is nothing to decode.
fn percent_decode_path(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes.get(i + 1..i + 3).and_then(|hex| {
            let hex = std::str::from_utf8(hex).ok()?;
            u8::from_str_radix(hex, 16).ok()
        });
        match (bytes.get(i), escaped) {
            (Some(b'%'), Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (Some(&byte), _) => {
                out.push(byte);
                i += 1;
            }
            (None, _) => break,
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
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

    /// Every encoding trick a client could use to slip a token past the redaction.
    #[test]
    fn tokens_are_redacted_in_every_encoding_and_path_form() {
        let token = "eb37c0ffee0123456789abcdef0123456789abcd";
        let encoded_first = format!("%65{}", &token[1..]);
        let all_encoded: String = token.bytes().map(|b| format!("%{b:02x}")).collect();
        for path in [
            format!("/v1/access_tokens/{encoded_first}"),
            format!("/v1/access_tokens/{token}0"),
            format!("/v1/access_tokens/{all_encoded}"),
            format!("/t/tenant-1/v1/access_tokens/{token}"),
            format!("/t/tenant-1/v1/access_tokens/{encoded_first}"),
            format!("/t/tenant-1/v1/access_tokens/x{token}"),
            format!("/v1/access%5Ftokens/{encoded_first}"),
            format!("//v1/access_tokens/{token}%2Fmore"),
            format!("/v1/access_tokens/{}", token.to_uppercase()),
            format!("/x/{token};y/z"),
        ] {
            let shown = redact_path(&path);
            assert!(!shown.contains(&token[1..33]), "{path} -> {shown}");
            assert!(
                !shown.to_lowercase().contains(&token[1..33]),
                "{path} -> {shown}"
            );
            assert!(shown.contains(REDACTED), "{path} -> {shown}");
        }
    }

    #[test]
    fn a_decoded_path_cannot_forge_a_log_line() {
        assert_eq!(redact_path("/v1/user%0Afake"), "/v1/user%0Afake");
        assert_eq!(redact_path("/v1/%75ser"), "/v1/user");
        assert_eq!(redact_path("/v1/100%25"), "/v1/100%25");
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
        // A token list's cursor names a token.
        assert_eq!(
            redact_query("limit=2&cursor=0.1700000000000.0123456789abcdef0123456789abcdef01234567"),
            "limit=2&cursor=[redacted]"
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
