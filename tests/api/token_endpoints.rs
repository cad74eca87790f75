//! Token management endpoints (particle-api.md §2.2–2.6).

use crate::helpers::*;

async fn fresh_token(mock: &TestMock) -> String {
    mock.login("user@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn current_token_info_has_expires_at_client_scopes_and_orgs() {
    // Arrange
    let mock = spawn_mock().await;
    let token = fresh_token(&mock).await;
    // Act
    let response = mock.get_with("/v1/access_tokens/current", &token).await;
    // Assert
    let (status, info) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(
        info,
        serde_json::json!({
            "expires_at": "2026-04-01T00:00:00.000Z",
            "client": "particle",
            "client_id": "particle",
            "scopes": [],
            "orgs": [{"id": "5f0c0a0b0c0d0e0f10111213", "slug": "demo-org"}],
        })
    );
}

#[tokio::test]
async fn current_token_info_of_a_never_expiring_token_has_a_null_expires_at() {
    let mock = spawn_mock().await;
    let (_, info) =
        status_and_json(mock.get_with("/v1/access_tokens/current", USER_TOKEN).await).await;
    assert!(info["expires_at"].is_null());
    assert!(info.as_object().unwrap().contains_key("expires_at"));
}

#[tokio::test]
async fn current_token_info_of_an_api_user_lists_its_scopes() {
    let mock = spawn_mock().await;
    let (status, info) = status_and_json(
        mock.get_with("/v1/access_tokens/current", API_USER_TOKEN)
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        info["scopes"],
        serde_json::json!(["devices:list", "devices:get", "products:get"])
    );
}

#[tokio::test]
async fn delete_current_revokes_only_the_calling_token() {
    // Arrange
    let mock = spawn_mock().await;
    let token = fresh_token(&mock).await;
    let other = fresh_token(&mock).await;
    // Act
    let response = mock
        .client
        .delete(mock.url("/v1/access_tokens/current"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"ok": true}));
    assert_eq!(mock.get_with("/v1/user", &token).await.status(), 401);
    assert_eq!(mock.get_with("/v1/user", &other).await.status(), 200);
}

#[tokio::test]
async fn delete_by_value_needs_no_credentials() {
    // Arrange
    let mock = spawn_mock().await;
    let token = fresh_token(&mock).await;
    // Act: no Authorization header at all, as particle-api-js >= 11.1 sends it.
    let response = mock
        .client
        .delete(mock.url(&format!("/v1/access_tokens/{token}")))
        .send()
        .await
        .unwrap();
    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"ok": true}));
    assert_eq!(mock.get_with("/v1/user", &token).await.status(), 401);
}

#[tokio::test]
async fn delete_by_value_of_an_unknown_token_is_404() {
    let mock = spawn_mock().await;
    let response = mock
        .client
        .delete(mock.url(&format!("/v1/access_tokens/{}", "e".repeat(40))))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        serde_json::json!({"ok": false, "error": "Access token not found"})
    );
}

#[tokio::test]
async fn delete_all_revokes_every_token_of_the_caller_including_itself() {
    // Arrange
    let mock = spawn_mock().await;
    let token = fresh_token(&mock).await;
    let other = fresh_token(&mock).await;
    let someone_else = mock.login("developer@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // Act
    let response = mock
        .client
        .delete(mock.url("/v1/access_tokens"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"ok": true}));
    assert_eq!(mock.get_with("/v1/user", &token).await.status(), 401);
    assert_eq!(mock.get_with("/v1/user", &other).await.status(), 401);
    assert_eq!(mock.get_with("/v1/user", USER_TOKEN).await.status(), 401);
    assert_eq!(mock.get_with("/v1/user", &someone_else).await.status(), 200);
}

async fn list(mock: &TestMock, user: &str, password: &str, query: &str) -> reqwest::Response {
    mock.client
        .get(mock.url(&format!("/v1/access_tokens{query}")))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_legacy_list_shows_the_users_live_tokens_with_basic_auth() {
    // Arrange
    let mock = spawn_mock().await;
    let token = fresh_token(&mock).await;
    // Act
    let (status, body) =
        status_and_json(list(&mock, "user@example.com", "password", "").await).await;
    // Assert
    assert_eq!(status, 200);
    let entries = body.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{body}");
    let fixture = entries.iter().find(|e| e["token"] == USER_TOKEN).unwrap();
    assert_eq!(
        fixture,
        &serde_json::json!({"token": USER_TOKEN, "expires_at": null, "client": "particle"})
    );
    let fresh = entries
        .iter()
        .find(|e| e["token"] == token.as_str())
        .unwrap();
    assert_eq!(fresh["expires_at"], "2026-04-01T00:00:00.000Z");
}

#[tokio::test]
async fn the_legacy_list_refuses_bad_credentials_with_the_recorded_bodies() {
    let mock = spawn_mock().await;
    let (status, body) = status_and_json(list(&mock, "user@example.com", "nope", "").await).await;
    assert_eq!(
        (status, body),
        (
            401,
            serde_json::json!({"ok": false, "errors": ["Bad password"]})
        )
    );
    let (status, body) = status_and_json(list(&mock, "ghost@example.com", "nope", "").await).await;
    assert_eq!(
        (status, body),
        (
            400,
            serde_json::json!({"ok": false, "errors": ["Unknown user"]})
        )
    );
    let response = mock
        .client
        .get(mock.url("/v1/access_tokens"))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 401);
    assert_eq!(body["ok"], false);
}

#[tokio::test]
async fn the_legacy_list_of_an_mfa_user_needs_the_otp_query_parameter() {
    let mock = spawn_mock().await;
    // Without ?otp=: 403 in the legacy shape.
    let (status, body) =
        status_and_json(list(&mock, "mfa@example.com", "password", "").await).await;
    assert_eq!(status, 403);
    assert_eq!(body["ok"], false);
    assert!(body["errors"][0].as_str().unwrap().contains("otp"));
    // Wrong OTP.
    let (status, body) =
        status_and_json(list(&mock, "mfa@example.com", "password", "?otp=000000").await).await;
    assert_eq!(
        (status, body),
        (
            401,
            serde_json::json!({"ok": false, "errors": ["Invalid OTP"]})
        )
    );
    // Right OTP.
    let query = format!("?otp={}", totp_code(&mock.clock));
    let (status, body) =
        status_and_json(list(&mock, "mfa@example.com", "password", &query).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.is_array());
}
