//! Token lifetimes (particle-api.md §1.4, §1.5): `expires_in`, `expires_at`, never-expiring
//! tokens and expiry at the exact second, on a manual clock.

use std::time::Duration;

use crate::helpers::*;

async fn login_with(mock: &TestMock, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut fields = vec![
        ("grant_type", "password"),
        ("username", "user@example.com"),
        ("password", "password"),
    ];
    fields.extend_from_slice(extra);
    mock.token_request(&fields).await
}

#[tokio::test]
async fn expires_in_zero_never_expires_and_has_no_refresh_token() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let (status, body) = status_and_json(login_with(&mock, &[("expires_in", "0")]).await).await;
    // Assert
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 0);
    assert!(body.get("refresh_token").is_none(), "{body}");
    let token = body["access_token"].as_str().unwrap();
    mock.clock.advance(Duration::from_secs(10 * 365 * 86_400));
    let (status, info) =
        status_and_json(mock.get_with("/v1/access_tokens/current", token).await).await;
    assert_eq!(status, 200);
    assert!(info["expires_at"].is_null(), "{info}");
}

#[tokio::test]
async fn expires_in_sets_the_lifetime_and_token_info_shows_it() {
    let mock = spawn_mock().await;
    let (_, body) = status_and_json(login_with(&mock, &[("expires_in", "3600")]).await).await;
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    let (_, info) = status_and_json(mock.get_with("/v1/access_tokens/current", token).await).await;
    // T0 is 2026-01-01T00:00:00Z.
    assert_eq!(info["expires_at"], "2026-01-01T01:00:00.000Z");
}

#[tokio::test]
async fn a_token_works_until_its_last_second_and_expires_at_the_exact_second() {
    // Arrange
    let mock = spawn_mock().await;
    let (_, body) = status_and_json(login_with(&mock, &[("expires_in", "60")]).await).await;
    let token = body["access_token"].as_str().unwrap();
    // Act + Assert: one second before the end it works.
    mock.clock.advance(Duration::from_secs(59));
    assert_eq!(mock.get_with("/v1/user", token).await.status(), 200);
    // At the exact second it has expired.
    mock.clock.advance(Duration::from_secs(1));
    assert_oauth_error(
        mock.get_with("/v1/user", token).await,
        401,
        "invalid_token",
        "The access token provided has expired.",
    )
    .await;
}

#[tokio::test]
async fn the_default_lifetime_is_90_days_to_the_second() {
    let mock = spawn_mock().await;
    let body = mock.login("user@example.com", "password").await;
    let token = body["access_token"].as_str().unwrap();
    mock.clock.advance(Duration::from_secs(7_776_000 - 1));
    assert_eq!(mock.get_with("/v1/user", token).await.status(), 200);
    mock.clock.advance(Duration::from_secs(1));
    assert_eq!(mock.get_with("/v1/user", token).await.status(), 401);
}

#[tokio::test]
async fn expires_at_as_a_date_becomes_the_computed_expires_in() {
    let mock = spawn_mock().await;
    let (status, body) =
        status_and_json(login_with(&mock, &[("expires_at", "2026-01-02")]).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 86_400);
    assert!(body.get("expires_at").is_none());
}

#[tokio::test]
async fn expires_at_as_a_date_time_becomes_the_computed_expires_in() {
    let mock = spawn_mock().await;
    let (_, body) =
        status_and_json(login_with(&mock, &[("expires_at", "2026-01-01T02:00:00Z")]).await).await;
    assert_eq!(body["expires_in"], 7200);
    let (_, body) = status_and_json(
        login_with(&mock, &[("expires_at", "2026-01-01T03:00:00.000+01:00")]).await,
    )
    .await;
    assert_eq!(body["expires_in"], 7200);
}

#[tokio::test]
async fn expires_at_wins_over_expires_in_when_both_are_sent() {
    let mock = spawn_mock().await;
    let (_, body) = status_and_json(
        login_with(
            &mock,
            &[("expires_in", "60"), ("expires_at", "2026-01-01T01:00:00Z")],
        )
        .await,
    )
    .await;
    assert_eq!(body["expires_in"], 3600);
}

#[tokio::test]
async fn bad_lifetimes_are_400_invalid_request_naming_the_field() {
    let mock = spawn_mock().await;
    let cases = [
        (
            "expires_in",
            "-1",
            "Invalid expires_in parameter: must not be negative",
        ),
        (
            "expires_in",
            "soon",
            "Invalid expires_in parameter: must be a whole number of seconds",
        ),
        (
            "expires_in",
            "1.5",
            "Invalid expires_in parameter: must be a whole number of seconds",
        ),
        (
            "expires_at",
            "tomorrow",
            "Invalid expires_at parameter: expected an ISO 8601 date or date-time",
        ),
        (
            "expires_at",
            "2025-12-31",
            "Invalid expires_at parameter: the date is in the past",
        ),
        (
            "expires_at",
            "2026-01-01T00:00:00Z",
            "Invalid expires_at parameter: the date is in the past",
        ),
    ];
    for (field, value, description) in cases {
        let response = login_with(&mock, &[(field, value)]).await;
        assert_oauth_error(response, 400, "invalid_request", description).await;
    }
}

#[tokio::test]
async fn a_refreshed_token_keeps_the_original_lifetime() {
    let mock = spawn_mock().await;
    let (_, body) = status_and_json(login_with(&mock, &[("expires_in", "120")]).await).await;
    let response = mock
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ])
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 120);
}

/// An expiry past the representable range is refused, never
/// reported as 1970.
#[tokio::test]
async fn an_expiry_past_year_9999_is_refused_400_invalid_request() {
    // Arrange
    let mock = spawn_mock().await;
    for (field, value) in [
        ("expires_in", "99999999999999"),
        ("expires_in", "9223372036854775807"),
        ("expires_at", "+10000-01-01T00:00:00Z"),
    ] {
        // Act
        let response = mock
            .token_request(&[
                ("grant_type", "password"),
                ("username", "user@example.com"),
                ("password", "password"),
                (field, value),
            ])
            .await;
        // Assert
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 400, "{field}={value}: {body}");
        assert_eq!(body["error"], "invalid_request", "{body}");
    }
    // The longest representable lifetime still works and formats as a real date.
    let response = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
            ("expires_in", "3155760000"),
        ])
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let (_, info) = status_and_json(mock.get_with("/v1/access_tokens/current", token).await).await;
    assert!(
        info["expires_at"].as_str().unwrap().starts_with("2126-"),
        "{info}"
    );
}
