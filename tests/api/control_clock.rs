//! Control API: the clock (read, set, advance, freeze, resume) and reset.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_clock_reads_sets_advances_freezes_and_resumes_over_http() {
    // Arrange
    let mock = spawn_mock().await;
    // Act / Assert: read
    let (status, clock) = mock.get_json("/__mock/clock").await;
    assert_eq!(status, 200);
    assert_eq!(clock["now_ms"], T0);
    assert_eq!(clock["now"], "2026-01-01T00:00:00.000Z");
    assert_eq!(clock["frozen"], true);
    // set, by ISO text and by milliseconds
    let (_, clock) = mock
        .post_json("/__mock/clock/set", json!({"at": "2026-06-01T12:00:00Z"}))
        .await;
    assert_eq!(clock["now"], "2026-06-01T12:00:00.000Z");
    let (_, clock) = mock.post_json("/__mock/clock/set", json!({"at": T0})).await;
    assert_eq!(clock["now_ms"], T0);
    // advance, by duration text and by seconds
    let (_, clock) = mock
        .post_json("/__mock/clock/advance", json!({"duration": "1h30m"}))
        .await;
    assert_eq!(clock["now_ms"], T0 + 5_400_000);
    let (_, clock) = mock
        .post_json("/__mock/clock/advance", json!({"seconds": 5}))
        .await;
    assert_eq!(clock["now_ms"], T0 + 5_405_000);
    assert_eq!(mock.clock.now_millis(), T0 + 5_405_000);
    // resume and freeze
    let (_, clock) = mock.post_json("/__mock/clock/resume", json!({})).await;
    assert_eq!(clock["frozen"], false);
    let (_, clock) = mock.post_json("/__mock/clock/freeze", json!({})).await;
    assert_eq!(clock["frozen"], true);
    assert!(mock.server.controls().clock_state().frozen);
}

#[tokio::test]
async fn malformed_clock_requests_are_refused_with_400() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let negative = mock
        .post_json("/__mock/clock/advance", json!({"seconds": -1}))
        .await;
    let both = mock
        .post_json(
            "/__mock/clock/advance",
            json!({"seconds": 1, "duration": "1s"}),
        )
        .await;
    let unit = mock
        .post_json("/__mock/clock/advance", json!({"duration": "3 fortnights"}))
        .await;
    let instant = mock
        .post_json("/__mock/clock/set", json!({"at": "next tuesday"}))
        .await;
    // Assert
    for (status, body) in [negative, both, unit, instant] {
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["ok"], false);
    }
    assert_eq!(mock.clock.now_millis(), T0);
}

#[tokio::test]
async fn a_token_expires_after_an_advance_of_exactly_its_lifetime_and_not_a_second_before() {
    // Arrange: a token with a one-hour lifetime, issued at T0.
    let mock = spawn_mock().await;
    let (status, issued) = mock
        .post_json(
            "/__mock/tokens",
            json!({"user": "user@example.com", "expires_in": 3600}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let token = issued["access_token"].as_str().unwrap().to_string();
    assert_eq!(issued["expires_at"], "2026-01-01T01:00:00.000Z");
    // Act / Assert: one second short of its lifetime it still works…
    mock.post_json("/__mock/clock/advance", json!({"seconds": 3599}))
        .await;
    assert_eq!(mock.token_status_at(&mock.uri, &token).await, 200);
    // …and at exactly its lifetime it has expired.
    mock.post_json("/__mock/clock/advance", json!({"duration": "1s"}))
        .await;
    let (status, body) =
        status_and_json(mock.get_with("/v1/access_tokens/current", &token).await).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error_description"],
        "The access token provided has expired."
    );
}

#[tokio::test]
async fn the_library_clock_moves_tokens_from_rust_too() {
    // Arrange
    let mock = spawn_mock().await;
    let issued = mock
        .server
        .controls()
        .issue_token(particle_auth_mock::control::TokenOrder {
            user: Some("user@example.com".into()),
            expires_in: Some(60),
            ..Default::default()
        })
        .unwrap();
    // Act
    mock.server
        .controls()
        .clock()
        .advance(Duration::from_secs(59));
    let before = mock.token_status_at(&mock.uri, &issued.access_token).await;
    mock.server
        .controls()
        .clock()
        .advance(Duration::from_secs(1));
    let after = mock.token_status_at(&mock.uri, &issued.access_token).await;
    // Assert
    assert_eq!((before, after), (200, 401));
    assert_eq!(mock.server.controls().clock_state().now_ms, T0 + 60_000);
}

#[tokio::test]
async fn reset_restores_the_fixtures_and_drops_issued_tokens() {
    // Arrange: a login token, an added user, a changed fixture user, a fault.
    let mock = spawn_mock().await;
    let token = mock.login("user@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    mock.post_json(
        "/__mock/users",
        json!({"email": "new@example.com", "password": "pw"}),
    )
    .await;
    mock.call(
        reqwest::Method::PATCH,
        "/__mock/users/developer@example.com",
        Some(json!({"password": "changed"})),
    )
    .await;
    // Act
    let (status, body) = mock
        .call(reqwest::Method::POST, "/__mock/reset", None)
        .await;
    // Assert
    assert_eq!((status, body), (200, json!({"ok": true})));
    assert_eq!(mock.token_status_at(&mock.uri, &token).await, 401);
    assert_eq!(mock.token_status_at(&mock.uri, USER_TOKEN).await, 200);
    assert_eq!(
        mock.login_at(&mock.uri, "new@example.com", "pw").await.0,
        400
    );
    assert_eq!(
        mock.login_at(&mock.uri, "developer@example.com", "password")
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn reset_to_a_posted_fixtures_document_replaces_the_users_and_refuses_invalid_ones() {
    // Arrange
    let mock = spawn_mock().await;
    let doc = json!({"users": [{"email": "only@example.com", "password": "pw"}]});
    // Act
    let (status, _) = mock.post_json("/__mock/reset", doc).await;
    let (bad_status, bad) = mock
        .post_json(
            "/__mock/reset",
            json!({"users": [{"email": "no-at-sign", "password": "p"}]}),
        )
        .await;
    // Assert
    assert_eq!(status, 200);
    assert_eq!(
        mock.login_at(&mock.uri, "only@example.com", "pw").await.0,
        200
    );
    assert_eq!(
        mock.login_at(&mock.uri, "user@example.com", "password")
            .await
            .0,
        400
    );
    assert_eq!(bad_status, 400);
    assert!(
        bad["error"].as_str().unwrap().contains("users[0].email"),
        "{bad}"
    );
    // A later plain reset goes back to the posted document, not the original one.
    mock.server.controls().reset();
    assert_eq!(
        mock.login_at(&mock.uri, "only@example.com", "pw").await.0,
        200
    );
}

#[tokio::test]
async fn the_library_resets_to_another_document_and_freezes_and_resumes_the_clock() {
    // Arrange
    let mock = spawn_mock().await;
    let fixtures = particle_auth_mock::Fixtures::from_json(
        r#"{"users":[{"email":"swap@example.com","password":"pw"}]}"#,
    )
    .unwrap();
    // Act
    mock.server.controls().reset_to(fixtures);
    mock.server.controls().clock().resume();
    let running = mock.server.controls().clock_state().frozen;
    mock.server.controls().clock().freeze();
    // Assert
    assert_eq!(
        mock.login_at(&mock.uri, "swap@example.com", "pw").await.0,
        200
    );
    assert_eq!(mock.token_status_at(&mock.uri, USER_TOKEN).await, 401);
    assert!(!running);
    assert!(mock.server.controls().clock_state().frozen);
}

/// The clock API refuses instants outside 1970..=9999.
#[tokio::test]
async fn the_clock_api_refuses_instants_outside_the_representable_range() {
    // Arrange
    let mock = spawn_mock().await;
    for at in [
        json!(i64::MAX),
        json!(i64::MIN),
        json!(-1),
        json!("+10000-01-01T00:00:00Z"),
    ] {
        // Act
        let (status, body) = mock
            .post_json("/__mock/clock/set", json!({ "at": at }))
            .await;
        // Assert
        assert_eq!(status, 400, "{at}: {body}");
    }
    let (status, body) = mock
        .post_json("/__mock/clock/advance", json!({"duration": "500000w"}))
        .await;
    assert_eq!(status, 400, "{body}");
    // Unchanged.
    assert_eq!(mock.get_json("/__mock/clock").await.1["now_ms"], T0);
}
