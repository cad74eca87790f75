//! Redaction: what logs and the journal may show of a request path.

/// The path as logs may show it: a token in a path (`DELETE /v1/access_tokens/{token}`)
/// and any segment shaped like one (40 hex characters) become `[redacted]`.
pub(crate) fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    let secret =
        |segment: &str| segment.len() == 40 && segment.bytes().all(|b| b.is_ascii_hexdigit());
    let after_tokens = path
        .strip_prefix("/v1/access_tokens/")
        .is_some_and(|rest| rest != "current" && !rest.is_empty());
    if !after_tokens && !path.split('/').any(secret) {
        return std::borrow::Cow::Borrowed(path);
    }
    let redacted: Vec<&str> = path
        .split('/')
        .enumerate()
        .map(|(i, segment)| {
            if secret(segment) || (after_tokens && i == 3) {
                "[redacted]"
            } else {
                segment
            }
        })
        .collect();
    std::borrow::Cow::Owned(redacted.join("/"))
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn tokens_in_paths_are_redacted_for_logs() {
        let token = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            loggable_path(&format!("/v1/access_tokens/{token}")),
            "/v1/access_tokens/[redacted]"
        );
        assert_eq!(
            loggable_path("/v1/access_tokens/not-a-token"),
            "/v1/access_tokens/[redacted]"
        );
        assert_eq!(
            loggable_path("/v1/access_tokens/current"),
            "/v1/access_tokens/current"
        );
        assert_eq!(loggable_path(&format!("/x/{token}/y")), "/x/[redacted]/y");
        assert_eq!(loggable_path("/v1/user"), "/v1/user");
    }
}
