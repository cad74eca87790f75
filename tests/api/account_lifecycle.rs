//! The account lifecycle (particle-api-account.md A2): sign-up, account changes,
//! deletion, password reset and the tracking identity.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

impl TestMock {
    /// A request with an optional bearer token and a JSON body.
    async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        status_and_json(request.send().await.unwrap()).await
    }

    /// The password grant with the particle client; the raw response.
    async fn try_login(&self, username: &str, password: &str) -> reqwest::Response {
        self.token_request(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .await
    }

    /// Signs `username` up with `password` and logs in; returns the access token.
    async fn sign_up_and_login(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .send_json(
                reqwest::Method::POST,
                "/v1/users",
                None,
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!((status, &body), (200, &json!({"ok": true})));
        self.login(username, password).await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

use reqwest::Method;

#[tokio::test]
async fn a_json_sign_up_answers_ok_and_the_new_user_can_log_in() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let (status, body) = mock
        .send_json(
            Method::POST,
            "/v1/users",
            None,
            json!({"username": "N@X.io", "password": "pw",
                   "account_info": {"first_name": "Nia", "company_name": "X"},
                   "utm": {"utm_source": "web"}}),
        )
        .await;
    // Assert: stored lowercased, with its account info.
    assert_eq!((status, body), (200, json!({"ok": true})));
    let token = mock.login("n@x.io", "pw").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, user) = status_and_json(mock.get_with("/v1/user", &token).await).await;
    assert_eq!(user["username"], "n@x.io");
    assert_eq!(user["account_info"]["first_name"], "Nia");
    assert_eq!(user["account_info"]["company_name"], "X");
    assert_eq!(user["tos"], 1);
    assert_eq!(user["memberships"], json!([]));
}

#[tokio::test]
async fn a_form_sign_up_works_as_the_old_cli_sends_it() {
    let mock = spawn_mock().await;
    let response = mock
        .client
        .post(mock.url("/v1/users"))
        .form(&[("username", "form@x.io"), ("password", "pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_json(response).await.0, 200);
    assert_eq!(mock.try_login("form@x.io", "pw").await.status(), 200);
}

#[tokio::test]
async fn a_repeated_or_incomplete_sign_up_is_a_400_with_errors() {
    let mock = spawn_mock().await;
    mock.sign_up_and_login("dup@x.io", "pw").await;
    let repeat = mock
        .send_json(
            Method::POST,
            "/v1/users",
            None,
            json!({"username": "DUP@x.io", "password": "x"}),
        )
        .await;
    assert_eq!(
        repeat,
        (400, json!({"ok": false, "errors": ["User already exists"]}))
    );
    let fixture = mock
        .send_json(
            Method::POST,
            "/v1/users",
            None,
            json!({"username": "user@example.com", "password": "x"}),
        )
        .await;
    assert_eq!(fixture.0, 400);
    let missing = mock
        .send_json(
            Method::POST,
            "/v1/users",
            None,
            json!({"username": "a@x.io"}),
        )
        .await;
    assert_eq!(
        missing,
        (
            400,
            json!({"ok": false, "errors": ["username and password required"]})
        )
    );
    let not_email = mock
        .send_json(
            Method::POST,
            "/v1/users",
            None,
            json!({"username": "nobody", "password": "x"}),
        )
        .await;
    assert_eq!(not_email.0, 400);
    let malformed = mock
        .client
        .post(mock.url("/v1/users"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(malformed).await;
    assert_eq!((status, &body["ok"]), (400, &json!(false)));
}

#[tokio::test]
async fn a_reset_undoes_sign_ups() {
    let mock = spawn_mock().await;
    mock.sign_up_and_login("gone@x.io", "pw").await;
    mock.server.controls().reset();
    let (status, body) = status_and_json(mock.try_login("gone@x.io", "pw").await).await;
    assert_eq!((status, &body["error"]), (400, &json!("invalid_grant")));
}

#[tokio::test]
async fn account_info_changes_answer_the_user_object_and_show_in_get_user() {
    let mock = spawn_mock().await;
    let (status, body) = mock
        .send_json(
            Method::PUT,
            "/v1/user",
            Some(USER_TOKEN),
            json!({"account_info": {"first_name": "A", "business_account": true}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["username"], "user@example.com");
    let (_, user) = status_and_json(mock.get_with("/v1/user", USER_TOKEN).await).await;
    assert_eq!(user["account_info"]["first_name"], "A");
    assert_eq!(user["account_info"]["last_name"], "User");
    assert_eq!(user["account_info"]["business_account"], true);
}

#[tokio::test]
async fn a_password_change_keeps_tokens_unless_asked_to_invalidate_them() {
    // Arrange
    let mock = spawn_mock().await;
    let token = mock.sign_up_and_login("pw@x.io", "pw").await;
    // Act: change without invalidate_tokens.
    let changed = mock
        .send_json(
            Method::PUT,
            "/v1/user",
            Some(&token),
            json!({"password": "pw2", "current_password": "pw"}),
        )
        .await;
    // Assert
    assert_eq!(
        changed,
        (
            200,
            json!({"ok": true, "message": "User's password updated."})
        )
    );
    assert_eq!(mock.get_with("/v1/user", &token).await.status(), 200);
    assert_eq!(mock.try_login("pw@x.io", "pw").await.status(), 400);
    let second = mock.login("pw@x.io", "pw2").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // Act: with invalidate_tokens every token goes, the calling one too.
    let changed = mock
        .send_json(
            Method::PUT,
            "/v1/user",
            Some(&token),
            json!({"password": "pw3", "current_password": "pw2", "invalidate_tokens": true}),
        )
        .await;
    assert_eq!(changed.0, 200);
    for old in [&token, &second] {
        let (status, body) = status_and_json(mock.get_with("/v1/user", old).await).await;
        assert_eq!((status, &body["error"]), (401, &json!("invalid_token")));
    }
    assert_eq!(mock.try_login("pw@x.io", "pw3").await.status(), 200);
}

#[tokio::test]
async fn a_wrong_or_missing_current_password_is_a_400_never_a_401() {
    let mock = spawn_mock().await;
    let wrong = mock
        .send_json(
            Method::PUT,
            "/v1/user",
            Some(USER_TOKEN),
            json!({"password": "x", "current_password": "nope"}),
        )
        .await;
    assert_eq!(wrong, (400, json!({"ok": false, "error": "Bad password"})));
    let missing = mock
        .send_json(
            Method::PUT,
            "/v1/user",
            Some(USER_TOKEN),
            json!({"username": "z@x.io"}),
        )
        .await;
    assert_eq!(missing.0, 400);
    let nothing = mock
        .send_json(Method::PUT, "/v1/user", Some(USER_TOKEN), json!({}))
        .await;
    assert_eq!(nothing.0, 400);
    assert_eq!(
        mock.try_login("user@example.com", "password")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_username_change_renames_the_account_and_its_devices_follow() {
    let mock = spawn_mock().await;
    let changed = mock
        .send_json(
            Method::PUT,
            "/v1/user",
            Some(USER_TOKEN),
            json!({"username": "M@x.io", "current_password": "password"}),
        )
        .await;
    assert_eq!(
        changed,
        (
            200,
            json!({"ok": true, "message": "User's username updated."})
        )
    );
    let (_, user) = status_and_json(mock.get_with("/v1/user", USER_TOKEN).await).await;
    assert_eq!(user["username"], "m@x.io");
    let (_, devices) = status_and_json(mock.get_with("/v1/devices", USER_TOKEN).await).await;
    assert_eq!(devices.as_array().unwrap().len(), 2);
    assert_eq!(mock.try_login("m@x.io", "password").await.status(), 200);
    assert_eq!(
        mock.try_login("user@example.com", "password")
            .await
            .status(),
        400
    );
    let taken = mock
        .send_json(
            Method::PUT,
            "/v1/user",
            Some(USER_TOKEN),
            json!({"username": "developer@example.com", "current_password": "password"}),
        )
        .await;
    assert_eq!(
        taken,
        (400, json!({"ok": false, "error": "User already exists"}))
    );
}

#[tokio::test]
async fn api_users_and_products_may_not_change_or_delete_an_account() {
    let mock = spawn_mock().await;
    for method in [Method::PUT, Method::DELETE] {
        let (status, body) = mock
            .send_json(
                method,
                "/v1/user",
                Some(API_USER_TOKEN),
                json!({"password": "x"}),
            )
            .await;
        assert_eq!(status, 403);
        assert_eq!(
            body["error_description"],
            "API users are not allowed to call this endpoint"
        );
    }
}

#[tokio::test]
async fn deleting_the_account_needs_its_password_then_tokens_and_login_fail() {
    // Arrange
    let mock = spawn_mock().await;
    let token = mock.sign_up_and_login("del@x.io", "pw").await;
    // Act
    let wrong = mock
        .send_json(
            Method::DELETE,
            "/v1/user",
            Some(&token),
            json!({"password": "no"}),
        )
        .await;
    let deleted = mock
        .send_json(
            Method::DELETE,
            "/v1/user",
            Some(&token),
            json!({"password": "pw"}),
        )
        .await;
    // Assert
    assert_eq!(wrong, (400, json!({"ok": false, "error": "Bad password"})));
    assert_eq!(
        deleted,
        (
            200,
            json!({"ok": true, "message": "User's account has been deleted."})
        )
    );
    let (status, body) = status_and_json(mock.get_with("/v1/user", &token).await).await;
    assert_eq!((status, &body["error"]), (401, &json!("invalid_token")));
    let (status, body) = status_and_json(mock.try_login("del@x.io", "pw").await).await;
    assert_eq!((status, &body["error"]), (400, &json!("invalid_grant")));
    // The username is free again.
    mock.sign_up_and_login("del@x.io", "new").await;
}

#[tokio::test]
async fn a_deleted_fixture_user_leaves_its_teams() {
    let mock = spawn_mock().await;
    let token = mock.login("developer@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let deleted = mock
        .send_json(
            Method::DELETE,
            "/v1/user",
            Some(&token),
            json!({"password": "password"}),
        )
        .await;
    assert_eq!(deleted.0, 200);
    let (_, team) = status_and_json(
        mock.get_with("/v1/products/demo-product/team", USER_TOKEN)
            .await,
    )
    .await;
    assert!(
        !team.to_string().contains("developer@example.com"),
        "{team}"
    );
}

#[tokio::test]
async fn a_password_reset_answers_200_for_anyone_and_its_token_redeems_once() {
    // Arrange
    let mock = spawn_mock().await;
    let sent = json!({"ok": true, "message": "Password reset email sent."});
    // Act
    let unknown = mock
        .send_json(
            Method::POST,
            "/v1/user/password-reset",
            None,
            json!({"username": "ghost@x.io"}),
        )
        .await;
    let known = mock
        .send_json(
            Method::POST,
            "/v1/user/password-reset",
            None,
            json!({"username": "user@example.com"}),
        )
        .await;
    // Assert: the same answer; only the known user has a token.
    assert_eq!(unknown, (200, sent.clone()));
    assert_eq!(known, (200, sent));
    let resets = mock.server.controls().password_resets();
    assert_eq!(resets.len(), 1);
    assert_eq!(resets[0].username, "user@example.com");
    let token = resets[0].token.clone();
    let (_, listed) = status_and_json(
        mock.client
            .get(mock.url("/__mock/password-resets"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["resets"][0]["token"], token.as_str());
    let bad = mock
        .send_json(
            Method::PUT,
            "/v1/user/password-reset",
            None,
            json!({"username": "user@example.com", "token": "0".repeat(40), "password": "new"}),
        )
        .await;
    assert_eq!(
        bad,
        (
            400,
            json!({"ok": false, "error": "Invalid or expired token"})
        )
    );
    let redeem = json!({"username": "user@example.com", "token": token, "password": "new"});
    let redeemed = mock
        .send_json(Method::PUT, "/v1/user/password-reset", None, redeem.clone())
        .await;
    assert_eq!(redeemed, (200, json!({"ok": true})));
    assert_eq!(
        mock.try_login("user@example.com", "new").await.status(),
        200
    );
    let again = mock
        .send_json(Method::PUT, "/v1/user/password-reset", None, redeem)
        .await;
    assert_eq!(again.0, 400);
    assert!(mock.server.controls().password_resets().is_empty());
}

#[tokio::test]
async fn a_password_reset_token_expires_after_an_hour() {
    let mock = spawn_mock().await;
    mock.send_json(
        Method::POST,
        "/v1/user/password-reset",
        None,
        json!({"username": "developer@example.com"}),
    )
    .await;
    let token = mock.server.controls().password_resets()[0].token.clone();
    mock.clock.advance(Duration::from_secs(3600));
    let late = mock
        .send_json(
            Method::PUT,
            "/v1/user/password-reset",
            None,
            json!({"username": "developer@example.com", "token": token, "password": "new"}),
        )
        .await;
    assert_eq!(
        late,
        (
            400,
            json!({"ok": false, "error": "Invalid or expired token"})
        )
    );
    let incomplete = mock
        .send_json(
            Method::PUT,
            "/v1/user/password-reset",
            None,
            json!({"username": "x@x.io"}),
        )
        .await;
    assert_eq!(incomplete.0, 400);
}

#[tokio::test]
async fn identify_answers_a_stable_id_and_the_email_with_or_without_tracking() {
    let mock = spawn_mock().await;
    let (status, full) =
        status_and_json(mock.get_with("/v1/user/identify", USER_TOKEN).await).await;
    assert_eq!(status, 200);
    assert_eq!(full["email"], "user@example.com");
    let id = full["id"].as_str().unwrap();
    assert!(
        id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let (_, tracking) = status_and_json(
        mock.get_with("/v1/user/identify?tracking=1", USER_TOKEN)
            .await,
    )
    .await;
    assert_eq!(tracking, full);
    let (status, _) =
        status_and_json(mock.get_with("/v1/user/identify", API_USER_TOKEN).await).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn the_sign_up_delete_and_reset_limits_bite_on_the_real_routes() {
    // Arrange: the default fixtures with tight limits on the account routes.
    let mut fixtures: Value =
        serde_json::from_str(&particle_auth_mock::Fixtures::default_set().to_json()).unwrap();
    fixtures["rate_limits"] = json!({"rules": {
        "users-create": "2/1h", "password-reset-post": "1/1h",
        "password-reset-put": "1/1h", "user-delete": "1/1h"}});
    let mock = spawn_with_fixtures(&fixtures.to_string()).await;
    // Act / Assert: the limit counts answered sign-ups, then refuses with 429.
    mock.sign_up_and_login("a@x.io", "pw").await;
    mock.sign_up_and_login("b@x.io", "pw").await;
    let third = mock
        .send_json(
            Method::POST,
            "/v1/users",
            None,
            json!({"username": "c@x.io", "password": "pw"}),
        )
        .await;
    assert_eq!(
        (third.0, &third.1["error"]),
        (429, &json!("rate_limit_exceeded"))
    );
    let reset = json!({"username": "a@x.io"});
    assert_eq!(
        mock.send_json(Method::POST, "/v1/user/password-reset", None, reset.clone())
            .await
            .0,
        200
    );
    assert_eq!(
        mock.send_json(Method::POST, "/v1/user/password-reset", None, reset)
            .await
            .0,
        429
    );
    let redeem = json!({"username": "a@x.io", "token": "0", "password": "x"});
    assert_eq!(
        mock.send_json(Method::PUT, "/v1/user/password-reset", None, redeem.clone())
            .await
            .0,
        400
    );
    assert_eq!(
        mock.send_json(Method::PUT, "/v1/user/password-reset", None, redeem)
            .await
            .0,
        429
    );
    let body = json!({"password": "wrong"});
    assert_eq!(
        mock.send_json(Method::DELETE, "/v1/user", Some(USER_TOKEN), body.clone())
            .await
            .0,
        400
    );
    assert_eq!(
        mock.send_json(Method::DELETE, "/v1/user", Some(USER_TOKEN), body)
            .await
            .0,
        429
    );
}
