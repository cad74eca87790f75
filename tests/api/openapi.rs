//! `openapi/particle.json` as the mock serves it: annotated from the route
//! table, and every described operation reaches a handler. (That the document and the
//! route table agree both ways is a unit test in `src/http/routes/mod.rs`, which sees the
//! table.)

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

const DESCRIPTION: &str = include_str!("../../openapi/particle.json");

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
    // The committed document, each operation annotated from its row of the route table.
    let mut expected = serde_json::from_str::<Value>(DESCRIPTION).unwrap();
    for (_, item) in expected["paths"].as_object_mut().unwrap().iter_mut() {
        for (_, operation) in item.as_object_mut().unwrap().iter_mut() {
            let annotated = operation.as_object_mut().unwrap();
            annotated.retain(|k, _| !k.starts_with("x-particle-"));
        }
    }
    let mut stripped = doc.clone();
    for (_, item) in stripped["paths"].as_object_mut().unwrap().iter_mut() {
        for (_, operation) in item.as_object_mut().unwrap().iter_mut() {
            let operation = operation.as_object_mut().unwrap();
            assert!(operation["x-particle-token"].is_string(), "{operation:?}");
            operation.retain(|k, _| !k.starts_with("x-particle-"));
        }
    }
    assert_eq!(stripped, expected);
    assert_eq!(
        doc["paths"]["/v1/products/{productIdOrSlug}/devices"]["get"]["x-particle-token"],
        "a team member, the product, or an API user with scope devices:list"
    );
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
                .replace("{customerEmail}", "ghost@example.com")
                .replace("{clientId}", "no-such-client")
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
