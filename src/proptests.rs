//! Property tests of the parsers that read untrusted input: the stable-toolchain
//! equivalent of the cargo-fuzz targets in `fuzz/` (which need nightly). Each property
//! drives a target of [`crate::fuzzing`] with generated input; the seed corpus in
//! `tests/corpus/<target>/` is replayed as explicit cases, and failures proptest finds are
//! kept in `proptest-regressions/` (committed) and replayed first on every run.
//!
//! `PROPTEST_CASES=100000 cargo test --lib proptests` runs a longer campaign.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use proptest::prelude::*;
use serde_json::Value;

use crate::clock::{iso8601, parse_iso8601};
use crate::fuzzing::{self, TARGETS};
use crate::http::extract::{basic_credentials, parse_form};
use crate::rate_limit::forwarded_client;

/// Every file of `tests/corpus/<target>/`.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| (path.display().to_string(), std::fs::read(&path).unwrap()))
        .collect()
}

#[test]
fn every_target_survives_its_seed_corpus() {
    for (name, target) in TARGETS {
        let files = corpus(name);
        assert!(!files.is_empty(), "empty corpus for {name}");
        for (path, data) in files {
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} panicked on {path}");
        }
    }
}

/// Bytes biased towards the characters parsers care about.
fn tricky_bytes() -> impl Strategy<Value = Vec<u8>> {
    let interesting = prop::sample::select(vec![
        b'=', b'&', b'%', b'+', b';', b':', b' ', b'\t', b'\r', b'\n', b'{', b'}', b'"', b'[',
        b']', b'\\', 0, 0x7f, 0x80, 0xff, b'B', b'T', b'Z', b'-',
    ]);
    prop::collection::vec(prop_oneof![any::<u8>(), interesting], 0..256)
}

/// A JSON value of any kind, small.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String("x".repeat(5000))),
        Just(Value::String("rc001-aaaaa".into())),
        Just(Value::String("user@example.com".into())),
        Just(Value::String(
            "1111111111111111111111111111111111111111".into()
        )),
        Just(Value::String("2017-12-07".into())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::hash_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the node at a pseudo-random path (chosen by `choices`) with `replacement`.
fn mutate(node: &mut Value, choices: &[usize], replacement: Value) {
    let Some((choice, rest)) = choices.split_first() else {
        *node = replacement;
        return;
    };
    match node {
        Value::Array(items) if !items.is_empty() => {
            let i = choice % items.len();
            mutate(&mut items[i], rest, replacement);
        }
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(choice % map.len()).unwrap().clone();
            mutate(map.get_mut(&key).unwrap(), rest, replacement);
        }
        _ => *node = replacement,
    }
}

proptest! {
    #[test]
    fn form_bodies_never_panic(data in tricky_bytes()) {
        fuzzing::form_body(&data);
    }

    #[test]
    fn form_bodies_round_trip_with_the_first_occurrence_winning(
        pairs in prop::collection::vec((".{1,12}", ".{0,12}"), 0..8)
    ) {
        let encoded = serde_urlencoded::to_string(&pairs).unwrap();
        let decoded = parse_form(encoded.as_bytes());
        let mut expected = HashMap::new();
        for (k, v) in &pairs {
            expected.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &expected {
            prop_assert_eq!(decoded.get(k), Some(v.as_str()));
        }
        prop_assert_eq!(decoded.len(), pairs.len());
    }

    #[test]
    fn authorization_headers_never_panic(data in tricky_bytes()) {
        fuzzing::authorization(&data);
    }

    #[test]
    fn basic_credentials_round_trip(user in "[^:]{0,20}", pass in ".{0,20}", scheme in "(Basic|basic|BASIC)") {
        let value = format!("{scheme} {}", STANDARD.encode(format!("{user}:{pass}")));
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(axum::http::header::AUTHORIZATION, value.parse().unwrap());
        prop_assert_eq!(basic_credentials(&headers), Some((user, pass)));
    }

    #[test]
    fn arbitrary_basic_payloads_never_panic(payload in prop::collection::vec(any::<u8>(), 0..64)) {
        fuzzing::authorization(format!("Basic {}", STANDARD.encode(payload)).as_bytes());
    }

    #[test]
    fn a_bearer_token_is_found_wherever_the_library_finds_it(
        prefix in "[ -~]{0,10}", token in "[!-~]{1,50}", suffix in "( [ -~]{0,10})?"
    ) {
        prop_assume!(!prefix.contains("Bearer"));
        let value = format!("{prefix}Bearer {token}{suffix}");
        let request = axum::http::Request::builder()
            .uri("/v1/user")
            .header(axum::http::header::AUTHORIZATION, value.as_str())
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        prop_assert_eq!(crate::http::extract::find_bearer(&parts, b"", false).unwrap(), token);
    }

    #[test]
    fn fixtures_documents_never_panic(data in tricky_bytes()) {
        fuzzing::fixtures(&data);
    }

    #[test]
    fn mutated_default_fixtures_never_panic(
        mutations in prop::collection::vec(
            (prop::collection::vec(any::<usize>(), 0..5), json_value()),
            1..4,
        )
    ) {
        let mut doc: Value = serde_json::from_str(crate::world::fixtures::DEFAULT_FIXTURES).unwrap();
        for (path, replacement) in mutations {
            mutate(&mut doc, &path, replacement);
        }
        fuzzing::fixtures(doc.to_string().as_bytes());
    }

    #[test]
    fn expires_at_strings_never_panic(text in "[0-9T:Z+.\\- ]{0,40}") {
        fuzzing::expires_at(text.as_bytes());
    }

    #[test]
    fn expires_at_bytes_never_panic(data in tricky_bytes()) {
        fuzzing::expires_at(&data);
    }

    #[test]
    fn formatted_instants_parse_back(millis in -62_135_596_800_000i64..253_402_300_799_999) {
        prop_assert_eq!(parse_iso8601(&iso8601(millis)), Some(millis));
    }

    #[test]
    fn forwarded_headers_never_panic(data in tricky_bytes()) {
        fuzzing::forwarded(&data);
    }

    #[test]
    fn the_leftmost_forwarded_address_is_the_client(
        ip in any::<std::net::IpAddr>(),
        port in proptest::option::of(any::<u16>()),
        other in any::<std::net::Ipv4Addr>(),
    ) {
        let node = match (ip, port) {
            (std::net::IpAddr::V4(v4), Some(port)) => format!("{v4}:{port}"),
            (std::net::IpAddr::V4(v4), None) => v4.to_string(),
            (std::net::IpAddr::V6(v6), Some(port)) => format!("\"[{v6}]:{port}\""),
            (std::net::IpAddr::V6(v6), None) => format!("\"[{v6}]\""),
        };
        let forwarded = format!("for={node};proto=http, for={other}");
        prop_assert_eq!(forwarded_client(&[forwarded.as_str()], &[]), Some(ip));
        let xff = format!("{}, {other}", node.trim_matches('"'));
        prop_assert_eq!(forwarded_client(&[], &[xff.as_str()]), Some(ip));
        // `Forwarded` wins over `X-Forwarded-For`.
        let other_text = other.to_string();
        prop_assert_eq!(forwarded_client(&[forwarded.as_str()], &[other_text.as_str()]), Some(ip));
    }
}
