//! HTTP hygiene (particle-api.md §5.3, §7): CORS on every answer, preflight on any path,
//! JSON 404 for unknown routes.

use crate::helpers::*;

#[tokio::test]
async fn an_error_answer_carries_the_cors_header() {
    let mock = spawn_mock().await;
    let response = mock
        .client
        .post(mock.url("/oauth/token"))
        .header("origin", "null")
        .form(&[
            ("grant_type", "password"),
            ("username", "mfa@example.com"),
            ("password", "password"),
            ("client_id", "particle"),
            ("client_secret", "particle"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
}

#[tokio::test]
async fn a_success_answer_carries_the_cors_header() {
    let mock = spawn_mock().await;
    let response = mock.get_with("/v1/user", USER_TOKEN).await;
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn a_preflight_on_any_path_echoes_the_requested_headers() {
    // Arrange
    let mock = spawn_mock().await;
    for path in [
        "/v1/access_tokens/current",
        "/oauth/token",
        "/no/such/route",
    ] {
        // Act
        let response = mock
            .client
            .request(reqwest::Method::OPTIONS, mock.url(path))
            .header("origin", "http://localhost:3000")
            .header("access-control-request-method", "DELETE")
            .header(
                "access-control-request-headers",
                "authorization, user-agent, x-particle-tool",
            )
            .send()
            .await
            .unwrap();
        // Assert
        assert_eq!(response.status(), 204, "{path}");
        let h = response.headers();
        assert_eq!(h["access-control-allow-origin"], "*");
        assert_eq!(
            h["access-control-allow-methods"],
            "GET, POST, PUT, PATCH, DELETE, OPTIONS"
        );
        assert_eq!(
            h["access-control-allow-headers"],
            "authorization, user-agent, x-particle-tool"
        );
        assert_eq!(h["access-control-max-age"], "300");
    }
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let mock = spawn_mock().await;
    let response = mock.client.get(mock.url("/v1/nope")).send().await.unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 404);
    assert_eq!(body, serde_json::json!({"ok": false, "error": "Not found"}));
}

#[tokio::test]
async fn a_wrong_method_on_a_known_route_is_a_json_404() {
    let mock = spawn_mock().await;
    let response = mock.client.post(mock.url("/v1/user")).send().await.unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 404);
    assert_eq!(body["ok"], false);
}
