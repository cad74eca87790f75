//! Account gaps found with the devices work: regenerating an API user's token (account
//! spec A7.2) and the user's org list (`GET /v1/orgs`, particle-cli's org picker).

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_mock, API_USER_TOKEN, USER_TOKEN};

const API_USER: &str = "demo-api-user+abcde12345@api.particle.io";

#[tokio::test]
async fn regenerating_an_api_user_token_replaces_the_old_one() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let answer = mock
        .device_call(
            Method::PUT,
            &format!("/v1/products/demo-product/team/{API_USER}/token"),
            USER_TOKEN,
            None,
        )
        .await;
    // Assert: A7.2's shape; the new token works, the old one is 401.
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["ok"], true);
    assert_eq!(answer.body["updated"]["username"], API_USER);
    let token = answer.body["updated"]["tokens"][0]["token"]
        .as_str()
        .unwrap();
    assert_eq!(token.len(), 40);
    let new = mock
        .device_call(Method::GET, "/v1/products/demo-product", token, None)
        .await;
    let old = mock
        .device_call(
            Method::GET,
            "/v1/products/demo-product",
            API_USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(new.status, 200);
    assert_eq!(old.status, 401);
}

#[tokio::test]
async fn regenerating_needs_an_administrator_and_a_known_api_user() {
    let mock = spawn_mock().await;
    let developer = mock.token_for("developer@example.com").await;
    let refused = mock
        .device_call(
            Method::PUT,
            &format!("/v1/products/demo-product/team/{API_USER}/token"),
            &developer,
            None,
        )
        .await;
    assert_eq!(refused.status, 403);
    let by_api_user = mock
        .device_call(
            Method::PUT,
            &format!("/v1/products/demo-product/team/{API_USER}/token"),
            API_USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(by_api_user.status, 403);
    assert_eq!(
        by_api_user.body["error_description"],
        "API users are not allowed to call this endpoint"
    );
    let unknown = mock
        .device_call(
            Method::PUT,
            "/v1/orgs/demo-org/team/nobody+x@api.particle.io/token",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn the_org_list_shows_the_users_orgs() {
    let mock = spawn_mock().await;
    let user = mock
        .device_call(Method::GET, "/v1/orgs", USER_TOKEN, None)
        .await;
    assert_eq!(user.status, 200);
    assert_eq!(
        user.body,
        json!({"organizations": [{"id": "5f0c0a0b0c0d0e0f10111213", "slug": "demo-org", "name": "Demo Org"}]})
    );
    let developer = mock.token_for("developer@example.com").await;
    let none = mock
        .device_call(Method::GET, "/v1/orgs", &developer, None)
        .await;
    assert_eq!(none.body, json!({"organizations": []}));
    let api_user = mock
        .device_call(Method::GET, "/v1/orgs", API_USER_TOKEN, None)
        .await;
    assert_eq!(api_user.status, 403);
}
