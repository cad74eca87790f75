//! Example: the mock as a library inside a Rust test suite (linked from the README).
//!
//! `MockServer::start()` binds 127.0.0.1 on a free port; point your Particle client's base
//! URL at `mock.uri()`. The mock's clock can be moved instead of sleeping; dropping the
//! mock stops it.

use std::time::Duration;

use particle_auth_mock::{Clock, MockServer};
use serde_json::Value;

/// Logs in the way particle-api-js does (form body, client id/secret in the form).
async fn login(client: &reqwest::Client, base: &str, expires_in: &str) -> Value {
    client
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
            ("client_id", "particle-api"),
            ("client_secret", "particle-api"),
            ("expires_in", expires_in),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("json body")
}

#[tokio::test]
async fn a_client_logs_in_and_lists_devices() {
    // Arrange: a mock with the default fixtures.
    let mock = MockServer::start().await;
    let client = reqwest::Client::new();
    // Act
    let token = login(&client, &mock.uri(), "7776000").await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let devices: Value = client
        .get(format!("{}/v1/devices", mock.uri()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("devices")
        .json()
        .await
        .expect("json");
    // Assert
    assert!(devices
        .as_array()
        .expect("an array")
        .iter()
        .any(|d| d["name"] == "demo-argon"));
}

#[tokio::test]
async fn a_token_expires_when_the_mock_clock_moves_past_its_lifetime() {
    // Arrange: a manual clock, so the test controls time and never sleeps.
    let clock = Clock::manual(1_767_225_600_000);
    let mock = MockServer::builder()
        .clock(clock.clone())
        .start()
        .await
        .expect("mock starts");
    let client = reqwest::Client::new();
    let body = login(&client, &mock.uri(), "3600").await;
    let token = body["access_token"].as_str().expect("access_token");
    // Act: one second past the token's hour.
    clock.advance(Duration::from_secs(3601));
    let status = client
        .get(format!("{}/v1/user", mock.uri()))
        .bearer_auth(token)
        .send()
        .await
        .expect("user")
        .status();
    // Assert
    assert_eq!(status, 401);
}
