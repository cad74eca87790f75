//! Control API: users, TOTP codes, directly issued tokens and the live-token list.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use particle_auth_mock::control::{MembershipSpec, NewUser, TokenOrder, UserPatch};

#[tokio::test]
async fn a_user_added_over_http_can_log_in_and_removing_it_kills_its_tokens() {
    // Arrange
    let mock = spawn_mock().await;
    let (status, user) = mock
        .post_json(
            "/__mock/users",
            json!({
                "email": "added@example.com", "password": "s3cret",
                "first_name": "Ada", "last_name": "Lovelace",
                "memberships": [{"product": "demo-product", "role": "Developer"}]
            }),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(
        user["memberships"],
        json!([{"product": "1001", "role": "Developer"}])
    );
    assert!(user.get("password").is_none());
    let (status, login) = mock
        .login_at(&mock.uri, "added@example.com", "s3cret")
        .await;
    assert_eq!(status, 200);
    let token = login["access_token"].as_str().unwrap().to_string();
    // Act
    let (status, body) = mock
        .call(Method::DELETE, "/__mock/users/added@example.com", None)
        .await;
    // Assert
    assert_eq!((status, body), (200, json!({"ok": true})));
    assert_eq!(mock.token_status_at(&mock.uri, &token).await, 401);
    assert_eq!(
        mock.login_at(&mock.uri, "added@example.com", "s3cret")
            .await
            .0,
        400
    );
    let (status, _) = mock
        .call(Method::DELETE, "/__mock/users/added@example.com", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn invalid_users_are_refused_with_400() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let duplicate = mock
        .post_json(
            "/__mock/users",
            json!({"email": "user@example.com", "password": "p"}),
        )
        .await;
    let bad_secret = mock
        .post_json(
            "/__mock/users",
            json!({"email": "x@example.com", "password": "p", "mfa_secret": "not base32!"}),
        )
        .await;
    let bad_role = mock
        .post_json(
            "/__mock/users",
            json!({"email": "y@example.com", "password": "p",
                   "memberships": [{"product": "demo-product", "role": "Boss"}]}),
        )
        .await;
    // Assert
    for (status, body) in [duplicate, bad_secret, bad_role] {
        assert_eq!(status, 400, "{body}");
    }
}

#[tokio::test]
async fn patching_a_user_changes_password_and_mfa() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let (status, user) = mock
        .call(
            Method::PATCH,
            "/__mock/users/user@example.com",
            Some(
                json!({"password": "new-password", "mfa_secret": "JBSWY3DPEHPK3PXP",
                        "recovery_codes": ["one", "two"]}),
            ),
        )
        .await;
    // Assert
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["mfa_enabled"], true);
    assert_eq!(user["recovery_codes_left"], 2);
    assert_eq!(
        mock.login_at(&mock.uri, "user@example.com", "password")
            .await
            .0,
        400
    );
    let (status, body) = mock
        .login_at(&mock.uri, "user@example.com", "new-password")
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("mfa_required"))
    );
    let (status, user) = mock
        .call(
            Method::PATCH,
            "/__mock/users/user@example.com",
            Some(json!({"mfa_secret": null})),
        )
        .await;
    assert_eq!((status, &user["mfa_enabled"]), (200, &json!(false)));
    assert_eq!(
        mock.call(
            Method::PATCH,
            "/__mock/users/ghost@example.com",
            Some(json!({}))
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn the_totp_endpoint_code_is_accepted_by_the_mfa_otp_grant() {
    // Arrange: a login that asks for MFA.
    let mock = spawn_mock().await;
    let (status, challenge) = mock
        .login_at(&mock.uri, "mfa@example.com", "password")
        .await;
    assert_eq!(status, 403);
    let mfa_token = challenge["mfa_token"].as_str().unwrap().to_string();
    // Act
    let (status, codes) = mock.get_json("/__mock/users/mfa@example.com/totp").await;
    assert_eq!(status, 200, "{codes}");
    let code = codes["code"].as_str().unwrap();
    let response = mock
        .token_request(&[
            ("grant_type", "urn:custom:mfa-otp"),
            ("mfa_token", &mfa_token),
            ("otp", code),
        ])
        .await;
    // Assert
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(code, totp_code(&mock.clock));
    assert_eq!(codes["seconds_remaining"], 30);
    assert_ne!(codes["next_code"], codes["code"]);
    assert_eq!(
        mock.get_json("/__mock/users/user@example.com/totp").await.0,
        400
    );
    assert_eq!(
        mock.get_json("/__mock/users/ghost@example.com/totp")
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn issued_tokens_are_live_listed_and_api_user_tokens_carry_their_scopes() {
    // Arrange
    let mock = spawn_mock().await;
    let (status, api) = mock
        .post_json(
            "/__mock/tokens",
            json!({"scopes": ["devices:list"], "product": "demo-product", "friendly_name": "CI bot"}),
        )
        .await;
    assert_eq!(status, 201, "{api}");
    let api_token = api["access_token"].as_str().unwrap();
    let (_, user) = mock
        .post_json(
            "/__mock/tokens",
            json!({"user": "developer@example.com", "expires_in": 0}),
        )
        .await;
    // Act
    let (status, info) =
        status_and_json(mock.get_with("/v1/access_tokens/current", api_token).await).await;
    let (_, listed) = mock.get_json("/__mock/tokens").await;
    // Assert
    assert_eq!(status, 200);
    assert_eq!(info["scopes"], json!(["devices:list"]));
    assert!(api["owner"].as_str().unwrap().starts_with("ci-bot+"));
    assert_eq!(user["expires_at"], json!(null));
    assert_eq!(user["refresh_token"], json!(null));
    let tokens = listed["tokens"].as_array().unwrap();
    for token in [
        api_token,
        user["access_token"].as_str().unwrap(),
        USER_TOKEN,
        API_USER_TOKEN,
    ] {
        assert!(
            tokens.iter().any(|t| t["token"] == token),
            "{token} not in {listed}"
        );
    }
    let bad = mock
        .post_json(
            "/__mock/tokens",
            json!({"scopes": ["devices:fly"], "product": "demo-product"}),
        )
        .await;
    assert_eq!(bad.0, 400);
}

#[tokio::test]
async fn the_library_adds_users_issues_tokens_and_reads_totp_codes() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let user = mock
        .server
        .controls()
        .add_user(NewUser {
            email: "lib@example.com".into(),
            password: "pw".into(),
            mfa_secret: Some("JBSWY3DPEHPK3PXP".into()),
            memberships: vec![MembershipSpec {
                org: Some("demo-org".into()),
                role: "View-only".into(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    let codes = mock.server.controls().totp("lib@example.com").unwrap();
    let patched = mock
        .server
        .controls()
        .update_user(
            "lib@example.com",
            UserPatch {
                first_name: Some("Lib".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let token = mock
        .server
        .controls()
        .issue_token(TokenOrder {
            user: Some("lib@example.com".into()),
            ..Default::default()
        })
        .unwrap();
    // Assert
    assert!(user.mfa_enabled);
    assert_eq!(codes.code, totp_code(&mock.clock));
    assert_eq!(patched.first_name, "Lib");
    assert_eq!(token.expires_in, 7_776_000);
    assert!(mock
        .server
        .controls()
        .live_tokens()
        .iter()
        .any(|t| t.token == token.access_token && t.owner == "lib@example.com"));
    mock.server
        .controls()
        .remove_user("lib@example.com")
        .unwrap();
    assert_eq!(
        mock.token_status_at(&mock.uri, &token.access_token).await,
        401
    );
    assert_eq!(
        mock.server
            .controls()
            .remove_user("lib@example.com")
            .unwrap_err()
            .status(),
        404
    );
}

#[tokio::test]
async fn the_user_list_shows_every_user_by_email_with_its_mfa_and_never_a_secret() {
    // Arrange
    let mock = spawn_mock().await;
    mock.post_json(
        "/__mock/users",
        json!({"email": "a-first@example.com", "password": "pw-secret", "mfa_secret": "JBSWY3DPEHPK3PXP"}),
    )
    .await;
    // Act
    let (status, body) = mock.get_json("/__mock/users").await;
    // Assert
    assert_eq!(status, 200);
    let users = body["users"].as_array().unwrap();
    let emails: Vec<&str> = users.iter().map(|u| u["email"].as_str().unwrap()).collect();
    let mut sorted = emails.clone();
    sorted.sort_unstable();
    assert_eq!(emails, sorted);
    assert_eq!(emails[0], "a-first@example.com");
    let mfa: Vec<&str> = users
        .iter()
        .filter(|u| u["mfa_enabled"] == true)
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(mfa, ["a-first@example.com", "mfa@example.com"]);
    let text = body.to_string();
    assert!(!text.contains("pw-secret") && !text.contains("JBSWY3DPEHPK3PXP"));
}

#[tokio::test]
async fn a_token_revoked_through_the_control_api_is_refused_at_once() {
    // Arrange
    let mock = spawn_mock().await;
    assert_eq!(mock.token_status_at(&mock.uri, USER_TOKEN).await, 200);
    // Act
    let revoked = mock
        .call(
            Method::DELETE,
            &format!("/__mock/tokens/{USER_TOKEN}"),
            None,
        )
        .await;
    let again = mock
        .call(
            Method::DELETE,
            &format!("/__mock/tokens/{USER_TOKEN}"),
            None,
        )
        .await;
    let malformed = mock
        .call(Method::DELETE, "/__mock/tokens/not-a-token", None)
        .await;
    // Assert
    assert_eq!(revoked, (200, json!({"ok": true})));
    assert_eq!(mock.token_status_at(&mock.uri, USER_TOKEN).await, 401);
    assert_eq!(again.0, 404);
    assert_eq!(malformed.0, 404);
}

#[tokio::test]
async fn live_tokens_come_in_pages_with_the_total() {
    // Arrange: 7 more tokens for one user.
    let mock = spawn_mock().await;
    for _ in 0..7 {
        mock.post_json("/__mock/tokens", json!({"user": "user@example.com"}))
            .await;
    }
    let (_, all) = mock.get_json("/__mock/tokens").await;
    let total = all["tokens"].as_array().unwrap().len();
    assert_eq!(all["total"], total);
    // Act
    let (_, first) = mock.get_json("/__mock/tokens?page=1&per_page=3").await;
    let (_, second) = mock.get_json("/__mock/tokens?page=2&per_page=3").await;
    let (_, beyond) = mock.get_json("/__mock/tokens?page=99&per_page=3").await;
    let (bad, _) = mock.get_json("/__mock/tokens?page=x").await;
    // Assert: pages are consecutive slices of the whole sorted list.
    assert_eq!(first["total"], total);
    assert_eq!(
        first["tokens"],
        json!(all["tokens"].as_array().unwrap()[..3])
    );
    assert_eq!(
        second["tokens"],
        json!(all["tokens"].as_array().unwrap()[3..6])
    );
    assert_eq!(beyond["tokens"], json!([]));
    assert_eq!(bad, 400);
}

/// Every control list pages with `limit` and `next_cursor`, and
/// following the cursors visits each item once.
#[tokio::test]
async fn control_lists_page_with_limit_and_a_cursor() {
    // Arrange: 9 more tokens, 4 more users, 3 tenants.
    let mock = spawn_mock().await;
    for i in 0..9 {
        mock.post_json(
            "/__mock/tokens",
            json!({"user": "user@example.com", "expires_in": 1000 + i}),
        )
        .await;
    }
    for i in 0..4 {
        let email = format!("paged{i}@example.com");
        mock.post_json("/__mock/users", json!({"email": email, "password": "pw"}))
            .await;
    }
    for _ in 0..3 {
        let (status, _) = mock.call(Method::POST, "/__mock/tenants", None).await;
        assert_eq!(status, 201);
    }
    for (path, key) in [
        ("/__mock/tokens", "tokens"),
        ("/__mock/users", "users"),
        ("/__mock/tenants", "tenants"),
        ("/__mock/clients", "clients"),
    ] {
        let (_, all) = mock.get_json(path).await;
        let all = all[key].as_array().unwrap().clone();
        assert!(all.len() >= 3, "{path}: {all:?}");
        // Act: pages of 2, following next_cursor.
        let mut seen = Vec::new();
        let mut next = format!("{path}?limit=2");
        loop {
            let (status, page) = mock.get_json(&next).await;
            assert_eq!(status, 200, "{next}: {page}");
            let items = page[key].as_array().unwrap();
            assert!(items.len() <= 2, "{next}: {page}");
            seen.extend(items.iter().cloned());
            match page["next_cursor"].as_str() {
                // The cursors here are emails, ids, numbers and hex: nothing to escape.
                Some(cursor) => next = format!("{path}?limit=2&cursor={cursor}"),
                None => break,
            }
        }
        // Assert: the pages are the whole list, in order, each item once.
        assert_eq!(seen, all, "{path}");
    }
    // A limit out of range, or a cursor that is not one, is a 400 naming it.
    let (status, body) = mock.get_json("/__mock/users?limit=0").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("limit"), "{body}");
    let (status, _) = mock.get_json("/__mock/tokens?limit=1001").await;
    assert_eq!(status, 400);
    let (status, body) = mock.get_json("/__mock/tokens?cursor=nonsense").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("cursor"), "{body}");
    // Without a limit, a page holds at most 100.
    for _ in 0..120 {
        mock.post_json("/__mock/tokens", json!({"user": "user@example.com"}))
            .await;
    }
    let (_, first) = mock.get_json("/__mock/tokens").await;
    assert_eq!(first["tokens"].as_array().unwrap().len(), 100);
    assert!(first["total"].as_u64().unwrap() > 120);
    assert!(first["next_cursor"].is_string());
}
