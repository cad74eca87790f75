//! `openapi/particle.json` against the router (issue 8 §1): every Particle route the
//! routers in `src/routes/` declare (the control API under `/__mock/` aside, which
//! `openapi/control.json` describes) is described, every described operation is routed,
//! and the mock serves the document at `/__mock/openapi/particle.json`.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

const DESCRIPTION: &str = include_str!("../../openapi/particle.json");

/// `/v1/orgs/{orgIdOrSlug}/team` → `/v1/orgs/{}/team`: parameter names do not matter.
fn normalise(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Every `(METHOD, path)` the Particle routers declare, read from their source: each
/// `.route("path", get(..).post(..))` call of `src/routes/*.rs` but `control.rs`.
/// `any(..)` reads as `ANY`.
fn routed() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/routes");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "control.rs" || name == "mod.rs" {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let mut rest = source.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The call's text: up to the parenthesis that closes `.route(`.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find_map(|(i, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    (depth == 0).then_some(i)
                })
                .unwrap();
            let call = &rest[..end];
            let route = call.split('"').nth(1).unwrap().to_string();
            let handlers = call.split_once(',').unwrap().1;
            for method in ["get", "post", "put", "patch", "delete", "any"] {
                let routed_here = handlers.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !handlers.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && handlers.as_bytes()[i - 1] != b'_'
                });
                if routed_here {
                    found.insert((method.to_ascii_uppercase(), normalise(&route)));
                }
            }
        }
    }
    found
}

fn described(doc: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                found.insert((method.to_ascii_uppercase(), normalise(path)));
            }
        }
    }
    found
}

#[test]
fn every_particle_route_is_described_and_every_described_operation_is_routed() {
    // Arrange
    let doc: Value = serde_json::from_str(DESCRIPTION).unwrap();
    let routed = routed();
    let described = described(&doc);
    assert!(
        routed.len() >= 20,
        "the source scan found too few routes: {routed:?}"
    );
    // Act: `ANY` routes are satisfied by any described method on that path.
    let any_paths: BTreeSet<&String> = routed
        .iter()
        .filter(|(m, _)| m == "ANY")
        .map(|(_, p)| p)
        .collect();
    let undescribed: Vec<_> = routed
        .iter()
        .filter(|(m, p)| {
            if m == "ANY" {
                !described.iter().any(|(_, dp)| dp == p)
            } else {
                !described.contains(&(m.clone(), p.clone()))
            }
        })
        .collect();
    let phantom: Vec<_> = described
        .iter()
        .filter(|(m, p)| !routed.contains(&(m.clone(), p.clone())) && !any_paths.contains(p))
        .collect();
    // Assert
    assert!(
        undescribed.is_empty(),
        "routed but not described: {undescribed:?}"
    );
    assert!(phantom.is_empty(), "described but not routed: {phantom:?}");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
}

#[tokio::test]
async fn the_mock_serves_its_particle_description_and_each_operation_reaches_a_handler() {
    // Arrange
    let mock = spawn_mock().await;
    let served = mock
        .client
        .get(mock.url("/__mock/openapi/particle.json"))
        .send()
        .await
        .unwrap();
    let (status, doc) = status_and_json(served).await;
    assert_eq!(status, 200);
    assert_eq!(doc, serde_json::from_str::<Value>(DESCRIPTION).unwrap());
    let fallback = status_and_json(mock.get_with("/v1/no-such-route", USER_TOKEN).await).await;
    assert_eq!(fallback.0, 404);
    // Act / Assert: each described operation, called with the fixture token, is answered
    // by its handler (not the unknown-route fallback).
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                continue;
            };
            let concrete = path
                .replace("{productIdOrSlug}", "no-such-product")
                .replace("{orgIdOrSlug}", "no-such-org")
                .replace("{deviceId}", "no-such-device")
                .replace("{username}", "ghost@example.com")
                .replace("{token}", "0000000000000000000000000000000000000000");
            let response = mock
                .client
                .request(method.clone(), mock.url(&concrete))
                .bearer_auth(USER_TOKEN)
                .send()
                .await
                .unwrap();
            let answer = status_and_json(response).await;
            assert_ne!(answer, fallback, "{method} {path} is not routed");
        }
    }
}
