//! Control API: injected faults (status, times, fraction, delay, dropped connection).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use particle_auth_mock::control::FaultSpec;

#[tokio::test]
async fn a_status_fault_answers_the_next_n_matching_requests_then_stops() {
    // Arrange
    let mock = spawn_mock().await;
    let (status, fault) = mock
        .post_json(
            "/__mock/faults",
            json!({"method": "POST", "path": "/oauth/token", "times": 2,
                   "status": 503, "body": {"error": "maintenance"}}),
        )
        .await;
    assert_eq!(status, 201, "{fault}");
    // Act
    let first = mock
        .login_at(&mock.uri, "user@example.com", "password")
        .await;
    let (_, listed) = mock.get_json("/__mock/faults").await;
    let second = mock
        .login_at(&mock.uri, "user@example.com", "password")
        .await;
    let third = mock
        .login_at(&mock.uri, "user@example.com", "password")
        .await;
    // Assert
    assert_eq!(first, (503, json!({"error": "maintenance"})));
    assert_eq!(listed["faults"][0]["remaining"], 1);
    assert_eq!(second.0, 503);
    assert_eq!(third.0, 200);
    assert_eq!(
        mock.get_json("/__mock/faults").await.1,
        json!({"faults": []})
    );
    let (_, journal) = mock.get_json("/__mock/journal?status=503").await;
    assert_eq!(
        journal["entries"][0]["reason"],
        format!("injected fault #{}", fault["id"])
    );
}

#[tokio::test]
async fn a_dropped_connection_is_seen_by_reqwest_as_a_connection_error_not_a_status() {
    // Arrange
    let mock = spawn_mock().await;
    mock.post_json(
        "/__mock/faults",
        json!({"path": "/v1/user", "drop": true, "times": 1}),
    )
    .await;
    // Act
    let dropped = mock
        .client
        .get(mock.url("/v1/user"))
        .bearer_auth(USER_TOKEN)
        .send()
        .await;
    let after = mock.get_with("/v1/user", USER_TOKEN).await;
    // Assert
    let error = dropped.expect_err("the connection must close without an answer");
    assert!(error.status().is_none(), "{error:?}");
    assert!(error.is_request() || error.is_connect(), "{error:?}");
    assert_eq!(after.status(), 200);
    let (_, journal) = mock.get_json("/__mock/journal?path=/v1/user").await;
    assert_eq!(journal["entries"][0]["dropped"], true);
    assert_eq!(journal["entries"][0]["status"], json!(null));
}

#[tokio::test]
async fn a_delay_fault_answers_for_real_after_the_delay() {
    // Arrange
    let mock = spawn_mock().await;
    mock.post_json("/__mock/faults", json!({"path": "/v1/*", "delay_ms": 300}))
        .await;
    // Act
    let started = Instant::now();
    let response = mock.get_with("/v1/user", USER_TOKEN).await;
    let elapsed = started.elapsed();
    // Assert
    assert_eq!(response.status(), 200);
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
}

#[tokio::test]
async fn a_fraction_fault_repeats_the_same_sequence_with_the_same_seed() {
    // Arrange: two mocks with the same seeded fraction fault.
    let run = || async {
        let mock = spawn_mock().await;
        mock.server
            .controls()
            .add_fault(FaultSpec {
                path: "/v1/user".into(),
                fraction: Some(0.5),
                seed: Some(7),
                status: Some(500),
                ..Default::default()
            })
            .unwrap();
        let mut statuses = Vec::new();
        for _ in 0..24 {
            statuses.push(
                mock.get_with("/v1/user", USER_TOKEN)
                    .await
                    .status()
                    .as_u16(),
            );
        }
        statuses
    };
    // Act
    let (a, b) = (run().await, run().await);
    // Assert
    assert_eq!(a, b);
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}

#[tokio::test]
async fn control_routes_are_never_faulted_and_faults_clear() {
    // Arrange
    let mock = spawn_mock().await;
    mock.post_json("/__mock/faults", json!({"path": "*", "status": 500}))
        .await;
    // Act
    let (clock_status, _) = mock.get_json("/__mock/clock").await;
    let faulted = mock.get_with("/v1/user", USER_TOKEN).await.status();
    let (cleared, _) = mock.call(Method::DELETE, "/__mock/faults", None).await;
    let healed = mock.get_with("/v1/user", USER_TOKEN).await.status();
    // Assert
    assert_eq!(clock_status, 200);
    assert_eq!(faulted, 500);
    assert_eq!(cleared, 200);
    assert_eq!(healed, 200);
    assert!(mock.server.controls().faults().is_empty());
    let (status, _) = mock
        .post_json(
            "/__mock/faults",
            json!({"path": "/__mock/clock", "status": 500}),
        )
        .await;
    assert_eq!(status, 400);
}
