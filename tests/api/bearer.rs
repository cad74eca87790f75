//! How a bearer token is passed (particle-api.md §2.1): header, query, form body, and each
//! refusal.

use crate::helpers::*;

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn the_authorization_header_authenticates() {
    let mock = spawn_mock().await;
    let (status, body) = status_and_json(mock.get_with("/v1/user", USER_TOKEN).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["username"], "user@example.com");
}

#[tokio::test]
async fn the_access_token_query_parameter_authenticates() {
    let mock = spawn_mock().await;
    let response = mock
        .client
        .get(mock.url(&format!("/v1/user?access_token={USER_TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_form_body_access_token_authenticates_a_delete() {
    // AN032 logs out with DELETE /v1/access_tokens/current and the token in a form body.
    let mock = spawn_mock().await;
    let token = mock.login("user@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let response = mock
        .client
        .delete(mock.url("/v1/access_tokens/current"))
        .header("content-type", FORM)
        .body(format!("access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(mock.get_with("/v1/user", &token).await.status(), 401);
}

#[tokio::test]
async fn no_token_at_all_is_400_not_found() {
    let mock = spawn_mock().await;
    let response = mock
        .client
        .get(mock.url("/v1/devices"))
        .send()
        .await
        .unwrap();
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "The access token was not found",
    )
    .await;
}

#[tokio::test]
async fn two_methods_at_once_are_refused() {
    let mock = spawn_mock().await;
    let only_one =
        "Only one method may be used to authenticate at a time (Auth header,  GET or POST).";
    // Header + query.
    let response = mock
        .client
        .get(mock.url(&format!("/v1/user?access_token={USER_TOKEN}")))
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, 400, "invalid_request", only_one).await;
    // Query + body.
    let response = mock
        .client
        .delete(mock.url(&format!(
            "/v1/access_tokens/current?access_token={USER_TOKEN}"
        )))
        .header("content-type", FORM)
        .body(format!("access_token={USER_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, 400, "invalid_request", only_one).await;
    // Header + body.
    let response = mock
        .client
        .delete(mock.url("/v1/access_tokens/current"))
        .bearer_auth(USER_TOKEN)
        .header("content-type", FORM)
        .body(format!("access_token={USER_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, 400, "invalid_request", only_one).await;
}

#[tokio::test]
async fn a_header_that_is_not_bearer_is_malformed() {
    let mock = spawn_mock().await;
    for value in [
        format!("bearer {USER_TOKEN}"),
        format!("Token {USER_TOKEN}"),
        "Bearer".to_string(),
        "Basic cGFydGljbGU6cGFydGljbGU=".to_string(),
    ] {
        let response = mock
            .client
            .get(mock.url("/v1/user"))
            .header("authorization", value.as_str())
            .send()
            .await
            .unwrap();
        assert_oauth_error(response, 400, "invalid_request", "Malformed auth header").await;
    }
}

#[tokio::test]
async fn a_body_token_on_get_is_refused() {
    let mock = spawn_mock().await;
    let response = mock
        .client
        .get(mock.url("/v1/user"))
        .header("content-type", FORM)
        .body(format!("access_token={USER_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "Method cannot be GET When putting the token in the body.",
    )
    .await;
}

#[tokio::test]
async fn a_body_token_in_json_is_refused() {
    let mock = spawn_mock().await;
    let response = mock
        .client
        .delete(mock.url("/v1/access_tokens/current"))
        .json(&serde_json::json!({ "access_token": USER_TOKEN }))
        .send()
        .await
        .unwrap();
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "When putting the token in the body, content type must be application/x-www-form-urlencoded.",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_token_is_401_invalid_without_www_authenticate() {
    let mock = spawn_mock().await;
    for token in ["f".repeat(40), "not-a-token".to_string()] {
        let response = mock.get_with("/v1/user", &token).await;
        assert!(response.headers().get("www-authenticate").is_none());
        assert_oauth_error(
            response,
            401,
            "invalid_token",
            "The access token provided is invalid.",
        )
        .await;
    }
}

#[tokio::test]
async fn a_revoked_token_is_401_invalid() {
    let mock = spawn_mock().await;
    let token = mock.login("user@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    mock.client
        .delete(mock.url(&format!("/v1/access_tokens/{token}")))
        .send()
        .await
        .unwrap();
    assert_oauth_error(
        mock.get_with("/v1/user", &token).await,
        401,
        "invalid_token",
        "The access token provided is invalid.",
    )
    .await;
}

#[tokio::test]
async fn an_expired_token_is_401_has_expired() {
    let mock = spawn_mock().await;
    let response = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
            ("expires_in", "5"),
        ])
        .await;
    let (_, body) = status_and_json(response).await;
    mock.clock.advance(std::time::Duration::from_secs(11));
    assert_oauth_error(
        mock.get_with("/v1/user", body["access_token"].as_str().unwrap())
            .await,
        401,
        "invalid_token",
        "The access token provided has expired.",
    )
    .await;
}
