//! API users of product and org teams (particle-api.md §3.2–3.5): create, list, update
//! with token rotation, delete; validation; who may call; usernames in paths.

use particle_auth_mock::MockServer;
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::*;

/// The org of the default fixtures.
const ORG_ID: &str = "5f0c0a0b0c0d0e0f10111213";

/// Sends `method path` with a bearer token and an optional JSON body.
pub async fn call(
    mock: &TestMock,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let mut request = mock
        .client
        .request(method, mock.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Creates an API user on `team_path` (e.g. `/v1/products/1001`) as user@example.com;
/// returns its username and token.
pub async fn create_api_user(
    mock: &TestMock,
    team_path: &str,
    scopes: &[&str],
) -> (String, String) {
    let response = call(
        mock,
        reqwest::Method::POST,
        &format!("{team_path}/team"),
        USER_TOKEN,
        Some(json!({"friendly_name": "Test API user", "scopes": scopes})),
    )
    .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    (
        body["created"]["username"].as_str().unwrap().to_string(),
        body["created"]["tokens"][0]["token"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

fn is_api_username(username: &str, slug: &str) -> bool {
    let Some(rest) = username.strip_prefix(&format!("{slug}+")) else {
        return false;
    };
    let Some(suffix) = rest.strip_suffix("@api.particle.io") else {
        return false;
    };
    suffix.len() == 10
        && suffix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[tokio::test]
async fn an_admin_creates_a_product_api_user_by_id_with_a_never_expiring_token() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let response = call(
        &mock,
        reqwest::Method::POST,
        "/v1/products/1001/team",
        USER_TOKEN,
        Some(json!({"friendly_name": "Product API user", "scopes": ["devices:list"]})),
    )
    .await;
    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["created"]["is_programmatic"], true);
    let username = body["created"]["username"].as_str().unwrap();
    assert!(is_api_username(username, "product-api-user"), "{username}");
    let token = body["created"]["tokens"][0]["token"].as_str().unwrap();
    assert_eq!(token.len(), 40);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let (status, info) =
        status_and_json(mock.get_with("/v1/access_tokens/current", token).await).await;
    assert_eq!(status, 200);
    assert_eq!(info["expires_at"], Value::Null);
    assert_eq!(info["scopes"], json!(["devices:list"]));
    mock.clock
        .advance(std::time::Duration::from_secs(10 * 365 * 86_400));
    let (status, _) =
        status_and_json(mock.get_with("/v1/products/1001/devices", token).await).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_admin_creates_a_product_api_user_by_slug() {
    let mock = spawn_mock().await;
    let (username, token) =
        create_api_user(&mock, "/v1/products/demo-product", &["products:get"]).await;
    assert!(is_api_username(&username, "test-api-user"), "{username}");
    let (status, body) = status_and_json(mock.get_with("/v1/products/1001", &token).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["product"]["slug"], "demo-product");
}

#[tokio::test]
async fn an_admin_creates_org_api_users_by_slug_and_by_id() {
    let mock = spawn_mock().await;
    let (by_slug, token) = create_api_user(&mock, "/v1/orgs/demo-org", &["products:list"]).await;
    let (by_id, _) =
        create_api_user(&mock, &format!("/v1/orgs/{ORG_ID}"), &["products:list"]).await;
    assert_ne!(by_slug, by_id);
    let (status, body) =
        status_and_json(mock.get_with("/v1/orgs/demo-org/products", &token).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["products"][0]["id"], 1001);
    let (_, info) = status_and_json(mock.get_with("/v1/access_tokens/current", &token).await).await;
    assert_eq!(info["orgs"][0]["slug"], "demo-org");
}

#[tokio::test]
async fn the_product_team_lists_humans_with_roles_and_api_users_with_scopes() {
    let mock = spawn_mock().await;
    let (username, _) = create_api_user(&mock, "/v1/products/1001", &["sims:list"]).await;
    let (status, body) = status_and_json(
        mock.get_with("/v1/products/demo-product/team", USER_TOKEN)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    let team = body["team"].as_array().unwrap();
    let admin = team
        .iter()
        .find(|m| m["username"] == "user@example.com")
        .unwrap();
    assert_eq!(
        admin["role"],
        json!({"id": "000000000000000000000002", "name": "Administrator"})
    );
    let developer = team
        .iter()
        .find(|m| m["username"] == "developer@example.com")
        .unwrap();
    assert_eq!(developer["role"]["name"], "Developer");
    let fixture = team
        .iter()
        .find(|m| m["username"] == "demo-api-user+abcde12345@api.particle.io")
        .unwrap();
    assert_eq!(fixture["is_programmatic"], true);
    assert_eq!(fixture["friendly_name"], "Demo API user");
    let created = team
        .iter()
        .find(|m| m["username"] == username.as_str())
        .unwrap();
    assert_eq!(created["scopes"], json!(["sims:list"]));
    assert_eq!(created["friendly_name"], "Test API user");
    assert!(created.get("tokens").is_none());
}

#[tokio::test]
async fn the_org_team_lists_its_members_and_api_users_by_id_and_slug() {
    let mock = spawn_mock().await;
    let (username, _) = create_api_user(&mock, "/v1/orgs/demo-org", &["sims:list"]).await;
    for path in ["/v1/orgs/demo-org/team", &format!("/v1/orgs/{ORG_ID}/team")] {
        let (status, body) = status_and_json(mock.get_with(path, USER_TOKEN).await).await;
        assert_eq!(status, 200, "{body}");
        let team = body["team"].as_array().unwrap();
        assert!(team.iter().any(|m| m["username"] == "user@example.com"));
        assert!(team.iter().any(|m| m["username"] == username.as_str()));
        assert!(!team
            .iter()
            .any(|m| m["username"] == "demo-api-user+abcde12345@api.particle.io"));
    }
}

#[tokio::test]
async fn a_team_member_without_admin_role_may_list_but_not_change_the_team() {
    let mock = spawn_mock().await;
    let developer = mock.login("developer@example.com", "password").await;
    let token = developer["access_token"].as_str().unwrap();
    let (status, _) = status_and_json(mock.get_with("/v1/products/1001/team", token).await).await;
    assert_eq!(status, 200);
    let response = call(
        &mock,
        reqwest::Method::POST,
        "/v1/products/1001/team",
        token,
        Some(json!({"friendly_name": "x", "scopes": ["devices:list"]})),
    )
    .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["ok"], false);
    let path = "/v1/products/1001/team/demo-api-user+abcde12345@api.particle.io";
    for method in [reqwest::Method::PUT, reqwest::Method::DELETE] {
        let body = (method == reqwest::Method::PUT).then(|| json!({"friendly_name": "y"}));
        let (status, _) = status_and_json(call(&mock, method, path, token, body).await).await;
        assert_eq!(status, 403);
    }
}

#[tokio::test]
async fn a_user_outside_the_team_may_not_even_list_it() {
    let mock = spawn_mock().await;
    let developer = mock.login("developer@example.com", "password").await;
    let token = developer["access_token"].as_str().unwrap();
    let (status, body) = status_and_json(
        mock.get_with("/v1/products/other-product/team", token)
            .await,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = status_and_json(mock.get_with("/v1/orgs/demo-org/team", token).await).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn an_unknown_product_is_permission_denied_and_an_unknown_org_404() {
    let mock = spawn_mock().await;
    let (status, body) =
        status_and_json(mock.get_with("/v1/products/nope/team", USER_TOKEN).await).await;
    // Account spec A11: production's 2025 answer supersedes the 2018 404.
    assert_eq!(status, 403);
    assert_eq!(body, json!({"ok": false, "error": "Permission denied"}));
    let response = call(
        &mock,
        reqwest::Method::POST,
        "/v1/orgs/9999/team",
        USER_TOKEN,
        Some(json!({"friendly_name": "x", "scopes": ["devices:list"]})),
    )
    .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"ok": false, "error": "Organization not found."})
    );
}

async fn create_error(mock: &TestMock, request: reqwest::RequestBuilder) -> (u16, Value) {
    let _ = mock;
    status_and_json(request.bearer_auth(USER_TOKEN).send().await.unwrap()).await
}

#[tokio::test]
async fn each_validation_error_is_a_clear_400() {
    let mock = spawn_mock().await;
    let url = mock.url("/v1/products/1001/team");
    let cases = [
        (
            json!({"scopes": ["devices:list"]}),
            "friendly_name is required.",
        ),
        (
            json!({"friendly_name": "", "scopes": ["devices:list"]}),
            "friendly_name must not be empty.",
        ),
        (
            json!({"friendly_name": "   ", "scopes": ["devices:list"]}),
            "friendly_name must not be empty.",
        ),
        (
            json!({"friendly_name": "x", "scopes": []}),
            "scopes must name at least one scope.",
        ),
        (
            json!({"friendly_name": "x"}),
            "scopes is required: name at least one scope.",
        ),
        (
            json!({"friendly_name": "x", "scopes": ["devices:list", "devices:fly"]}),
            "Unknown scope: devices:fly",
        ),
    ];
    for (body, message) in cases {
        let (status, answer) = create_error(&mock, mock.client.post(&url).json(&body)).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer, json!({"ok": false, "error": message}), "{body}");
    }
    let (status, answer) = create_error(
        &mock,
        mock.client
            .post(&url)
            .header("content-type", "application/json")
            .body("friendly_name=x"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .starts_with("The request body must be JSON"));
    let (status, _) = create_error(
        &mock,
        mock.client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("friendly_name=x&scopes=devices:list"),
    )
    .await;
    assert_eq!(status, 400);
    let (_, team) =
        status_and_json(mock.get_with("/v1/products/1001/team", USER_TOKEN).await).await;
    let api_users = team["team"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["is_programmatic"] == true)
        .count();
    assert_eq!(api_users, 1, "only the fixture API user exists");
}

#[tokio::test]
async fn changing_scopes_rotates_the_token_at_once() {
    // Arrange
    let mock = spawn_mock().await;
    let (username, old) = create_api_user(&mock, "/v1/products/1001", &["devices:list"]).await;
    // Act
    let response = call(
        &mock,
        reqwest::Method::PUT,
        &format!("/v1/products/1001/team/{username}"),
        USER_TOKEN,
        Some(json!({"scopes": ["devices:list", "customers:list"]})),
    )
    .await;
    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    let updated = &body["updated"];
    assert_eq!(updated["username"], username.as_str());
    assert_eq!(updated["friendly_name"], "Test API user");
    assert_eq!(updated["scopes"], json!(["devices:list", "customers:list"]));
    assert_eq!(updated["is_programmatic"], true);
    let new = updated["tokens"][0]["token"].as_str().unwrap();
    assert_ne!(new, old);
    let (status, body) =
        status_and_json(mock.get_with("/v1/products/1001/devices", &old).await).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_token");
    let (status, _) =
        status_and_json(mock.get_with("/v1/products/1001/customers", new).await).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn renaming_keeps_the_token_and_the_username() {
    let mock = spawn_mock().await;
    let (username, token) = create_api_user(&mock, "/v1/orgs/demo-org", &["devices:list"]).await;
    let response = call(
        &mock,
        reqwest::Method::PUT,
        &format!("/v1/orgs/demo-org/team/{username}"),
        USER_TOKEN,
        Some(json!({"friendly_name": "Renamed", "scopes": ["devices:list"]})),
    )
    .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["updated"]["friendly_name"], "Renamed");
    assert_eq!(body["updated"]["username"], username.as_str());
    assert!(body["updated"].get("tokens").is_none());
    let (status, _) =
        status_and_json(mock.get_with("/v1/products/1001/devices", &token).await).await;
    assert_eq!(status, 200, "an org API user reaches the org's products");
}

#[tokio::test]
async fn update_validation_errors_are_400_and_unknown_users_404() {
    let mock = spawn_mock().await;
    let path = "/v1/products/1001/team/demo-api-user+abcde12345@api.particle.io";
    for (body, message) in [
        (
            json!({}),
            "Nothing to update: give friendly_name and/or scopes.",
        ),
        (
            json!({"scopes": []}),
            "scopes must name at least one scope.",
        ),
        (json!({"scopes": ["nope:nope"]}), "Unknown scope: nope:nope"),
        (
            json!({"friendly_name": ""}),
            "friendly_name must not be empty.",
        ),
    ] {
        let response = call(&mock, reqwest::Method::PUT, path, USER_TOKEN, Some(body)).await;
        let (status, answer) = status_and_json(response).await;
        assert_eq!(status, 400);
        assert_eq!(answer["error"], message);
    }
    let response = call(
        &mock,
        reqwest::Method::PUT,
        "/v1/products/1001/team/ghost+0000000000@api.particle.io",
        USER_TOKEN,
        Some(json!({"friendly_name": "x"})),
    )
    .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 404);
    assert_eq!(body, json!({"ok": false, "error": "User not found."}));
}

#[tokio::test]
async fn deleting_an_api_user_makes_its_token_401_at_once() {
    let mock = spawn_mock().await;
    let (username, token) =
        create_api_user(&mock, "/v1/products/demo-product", &["devices:list"]).await;
    let response = call(
        &mock,
        reqwest::Method::DELETE,
        &format!("/v1/products/demo-product/team/{username}"),
        USER_TOKEN,
        None,
    )
    .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"ok": true}));
    let (status, _) =
        status_and_json(mock.get_with("/v1/products/1001/devices", &token).await).await;
    assert_eq!(status, 401);
    let (_, team) =
        status_and_json(mock.get_with("/v1/products/1001/team", USER_TOKEN).await).await;
    assert!(!team["team"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["username"] == username.as_str()));
}

#[tokio::test]
async fn deleting_an_org_api_user_by_org_id_works() {
    let mock = spawn_mock().await;
    let (username, token) = create_api_user(&mock, "/v1/orgs/demo-org", &["products:list"]).await;
    let path = format!("/v1/orgs/{ORG_ID}/team/{username}");
    let (status, _) =
        status_and_json(call(&mock, reqwest::Method::DELETE, &path, USER_TOKEN, None).await).await;
    assert_eq!(status, 200);
    let (status, _) =
        status_and_json(mock.get_with("/v1/orgs/demo-org/products", &token).await).await;
    assert_eq!(status, 401);
    let (status, _) =
        status_and_json(call(&mock, reqwest::Method::DELETE, &path, USER_TOKEN, None).await).await;
    assert_eq!(status, 404, "a second delete finds nobody");
}

#[tokio::test]
async fn a_raw_plus_and_at_in_the_path_name_the_user() {
    // particle-api-js sends `DELETE /v1/products/:id/team/name+abc@api.particle.io` unescaped.
    let mock = spawn_mock().await;
    let path = "/v1/products/1001/team/demo-api-user+abcde12345@api.particle.io";
    let response = call(
        &mock,
        reqwest::Method::PUT,
        path,
        USER_TOKEN,
        Some(json!({"friendly_name": "Raw path"})),
    )
    .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["updated"]["friendly_name"], "Raw path");
    let (status, _) =
        status_and_json(call(&mock, reqwest::Method::DELETE, path, USER_TOKEN, None).await).await;
    assert_eq!(status, 200);
    let (status, _) =
        status_and_json(mock.get_with("/v1/products/1001", API_USER_TOKEN).await).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_percent_encoded_username_names_the_same_user() {
    let mock = spawn_mock().await;
    let path = "/v1/products/1001/team/demo-api-user%2Babcde12345%40api.particle.io";
    let response = call(
        &mock,
        reqwest::Method::PUT,
        path,
        USER_TOKEN,
        Some(json!({"friendly_name": "Encoded path"})),
    )
    .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["updated"]["username"],
        "demo-api-user+abcde12345@api.particle.io"
    );
    let (status, _) =
        status_and_json(call(&mock, reqwest::Method::DELETE, path, USER_TOKEN, None).await).await;
    assert_eq!(status, 200);
    let (status, _) =
        status_and_json(mock.get_with("/v1/products/1001", API_USER_TOKEN).await).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_plus_is_not_read_as_a_space() {
    let mock = spawn_mock().await;
    let response = call(
        &mock,
        reqwest::Method::DELETE,
        "/v1/products/1001/team/demo-api-user%20abcde12345@api.particle.io",
        USER_TOKEN,
        None,
    )
    .await;
    let (status, _) = status_and_json(response).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_seed_makes_the_username_suffix_reproducible() {
    let mut usernames = Vec::new();
    for _ in 0..2 {
        let mock = spawn_with(MockServer::builder().seed(42)).await;
        usernames.push(create_api_user(&mock, "/v1/products/1001", &["devices:list"]).await);
    }
    assert_eq!(usernames[0], usernames[1]);
    let unseeded = spawn_mock().await;
    let other = create_api_user(&unseeded, "/v1/products/1001", &["devices:list"]).await;
    assert_ne!(other.0, usernames[0].0);
}

#[tokio::test]
async fn an_api_user_may_not_manage_its_team() {
    let mock = spawn_mock().await;
    let response = call(
        &mock,
        reqwest::Method::POST,
        "/v1/products/1001/team",
        API_USER_TOKEN,
        Some(json!({"friendly_name": "x", "scopes": ["devices:list"]})),
    )
    .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"error": "unauthorized", "error_description": "API users are not allowed to call this endpoint"})
    );
}

#[tokio::test]
async fn an_admin_removes_a_human_from_the_team() {
    let mock = spawn_mock().await;
    let path = "/v1/products/1001/team/developer@example.com";
    let (status, _) =
        status_and_json(call(&mock, reqwest::Method::DELETE, path, USER_TOKEN, None).await).await;
    assert_eq!(status, 200);
    let developer = mock.login("developer@example.com", "password").await;
    let token = developer["access_token"].as_str().unwrap();
    let (status, _) = status_and_json(mock.get_with("/v1/products/1001/team", token).await).await;
    assert_eq!(status, 403);
}

/// A fixtures document with one org, one product in it and one org API user.
fn org_api_user_fixtures(api_user: &str) -> String {
    format!(
        r#"{{"orgs":[{{"id":"{ORG_ID}","slug":"acme"}}],
            "products":[{{"id":7,"slug":"widget","org":"acme"}}],
            "devices":[{{"id":"aaaaaaaaaaaaaaaaaaaaaaaa","product":"widget"}}],
            "api_users":[{api_user}]}}"#
    )
}

#[tokio::test]
async fn a_fixture_org_api_user_works_with_its_known_token() {
    let token = "3333333333333333333333333333333333333333";
    let mock = spawn_with_fixtures(&org_api_user_fixtures(&format!(
        r#"{{"friendly_name":"Ops","username":"ops+0123456789@api.particle.io","org":"acme",
             "scopes":["devices:list"],"token":"{token}"}}"#
    )))
    .await;
    let (status, body) =
        status_and_json(mock.get_with("/v1/products/widget/devices", token).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["devices"][0]["id"], "aaaaaaaaaaaaaaaaaaaaaaaa");
    let (_, info) = status_and_json(mock.get_with("/v1/access_tokens/current", token).await).await;
    assert_eq!(info["expires_at"], Value::Null);
    assert_eq!(info["scopes"], json!(["devices:list"]));
    assert_eq!(info["orgs"], json!([{"id": ORG_ID, "slug": "acme"}]));
}

#[test]
fn fixture_api_users_are_validated_at_start_up() {
    let entry = |team: &str, scope: &str| {
        format!(
            r#"{{"friendly_name":"Ops","username":"ops+0123456789@api.particle.io",{team},
                 "scopes":["{scope}"],"token":"3333333333333333333333333333333333333333"}}"#
        )
    };
    let error = |api_user: String| {
        particle_auth_mock::Fixtures::from_json(&org_api_user_fixtures(&api_user))
            .unwrap_err()
            .message
    };
    assert_eq!(
        error(entry(r#""product":"nope""#, "devices:list")),
        "at `api_users[0].product`: unknown product `nope`"
    );
    assert_eq!(
        error(entry(r#""org":"nope""#, "devices:list")),
        "at `api_users[0].org`: unknown org `nope`"
    );
    assert_eq!(
        error(entry(r#""org":"acme""#, "devices:fly")),
        "at `api_users[0].scopes[0]`: unknown scope `devices:fly`"
    );
}

/// `friendly_name` is bounded, on creation and on update.
#[tokio::test]
async fn a_friendly_name_over_256_characters_is_refused_400() {
    // Arrange
    let mock = spawn_mock().await;
    let path = "/v1/products/demo-product/team";
    let long = "é".repeat(257);
    // Act
    let refused = call(
        &mock,
        reqwest::Method::POST,
        path,
        USER_TOKEN,
        Some(json!({"friendly_name": long, "scopes": ["devices:list"]})),
    )
    .await;
    let longest = call(
        &mock,
        reqwest::Method::POST,
        path,
        USER_TOKEN,
        Some(json!({"friendly_name": "é".repeat(256), "scopes": ["devices:list"]})),
    )
    .await;
    // Assert
    let (status, body) = status_and_json(refused).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(longest.status(), 200);
}

/// A team holds at most 1,000 API users.
#[tokio::test]
async fn a_team_holds_at_most_a_thousand_api_users() {
    // Arrange: the fixtures' API user of demo-product counts.
    let mock = spawn_mock().await;
    let path = "/v1/products/demo-product/team";
    let body = json!({"friendly_name": "Bulk", "scopes": ["devices:list"]});
    let mut created = 1;
    // Act
    let refused = loop {
        let response = call(
            &mock,
            reqwest::Method::POST,
            path,
            USER_TOKEN,
            Some(body.clone()),
        )
        .await;
        if response.status() != 200 {
            break response;
        }
        created += 1;
        assert!(created <= 1_000, "more than 1,000 API users");
    };
    // Assert
    assert_eq!(created, 1_000);
    let (status, body) = status_and_json(refused).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("at most 1000"), "{body}");
}
