//! Fuzz targets for the parsers that read untrusted input, one function per target.
//!
//! Each takes raw bytes and must never panic; where a parser has an invariant, the
//! target asserts it. The same functions are driven by the `proptest` properties (in CI,
//! on stable) and by the cargo-fuzz targets under `fuzz/` (nightly, by hand), and both
//! start from the seed corpus in `tests/corpus/<target>/`. Public only with the
//! `fuzzing` feature, which exists for `fuzz/`.

use axum::http::{header, HeaderMap, HeaderValue, Method, Request};

use crate::clock::{iso8601, parse_iso8601};
use crate::http::extract::{basic_credentials, decode_body, find_bearer, parse_form};
use crate::rate_limit::forwarded_client;
use crate::world::fixtures::Fixtures;
use crate::world::store::Store;

/// A fuzz target: raw bytes in, a panic on a bug.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus directory and `fuzz/` binary.
pub const TARGETS: &[(&str, Target)] = &[
    ("form_body", form_body),
    ("authorization", authorization),
    ("fixtures", fixtures),
    ("expires_at", expires_at),
    ("forwarded", forwarded),
];

/// A form body (or query string): `parse_form`, and the JSON-or-form body decoder.
pub fn form_body(data: &[u8]) {
    let fields = parse_form(data);
    // Every decoded field came from the input: there cannot be more fields than `&`s.
    let separators = data.iter().filter(|b| **b == b'&').count();
    assert!(fields.len() <= separators + 1);
    let _ = decode_body::<serde_json::Value>(data, true);
    let _ = decode_body::<std::collections::HashMap<String, String>>(data, false);
}

/// An `Authorization` header value: the Basic decoder and the bearer finder (§2.1).
pub fn authorization(data: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value.clone());
    if let Some((user, _)) = basic_credentials(&headers) {
        assert!(!user.contains(':'), "the user part ends at the first colon");
    }
    let Ok(request) = Request::builder()
        .method(Method::GET)
        .uri("/v1/user")
        .header(header::AUTHORIZATION, value)
        .body(())
    else {
        return;
    };
    let (parts, ()) = request.into_parts();
    if let Ok(token) = find_bearer(&parts, b"", false) {
        assert!(!token.is_empty() && !token.chars().any(char::is_whitespace));
    }
}

/// A fixtures document: validation, then (when valid) building a world's store from it.
pub fn fixtures(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(fixtures) = Fixtures::from_json(text) {
        let _ = Store::from_fixtures(&fixtures);
    }
}

/// An `expires_at` parameter: whatever parses formats back to a date that parses to the
/// same instant.
pub fn expires_at(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(millis) = parse_iso8601(text) {
        if chrono::DateTime::from_timestamp_millis(millis).is_some() {
            assert_eq!(parse_iso8601(&iso8601(millis)), Some(millis));
        }
    }
}

/// `Forwarded` and `X-Forwarded-For` values (`--trust-forwarded`): the input's first line
/// is the `Forwarded` value, the rest the `X-Forwarded-For` value.
pub fn forwarded(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (forwarded, x_forwarded_for) = text.split_once('\n').unwrap_or((&text, ""));
    let client = forwarded_client(&[forwarded], &[x_forwarded_for]);
    if forwarded.is_empty() && x_forwarded_for.is_empty() {
        assert_eq!(client, None);
    }
}
