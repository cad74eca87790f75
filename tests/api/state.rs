//! Export and import of a world (`GET`/`PUT /__mock/state`): a snapshot put
//! into a fresh world answers as the original did.

use reqwest::Method;
use serde_json::{json, Value};

use crate::device_support::ARGON;
use crate::helpers::*;

const SECRET: &str = "JBSWY3DPEHPK3PXP";

/// A world with one of every kind of change: a user with MFA, a login's access and
/// refresh tokens, a device taken offline, a frozen clock, a rate-limit change, a webhook.
async fn changed_world() -> (TestMock, String, String) {
    let mock = spawn_mock().await;
    let (status, body) = mock
        .post_json("/__mock/clock/set", json!({"at": "2030-05-06T07:08:09Z"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = mock
        .post_json(
            "/__mock/users",
            json!({"email": "kept@example.com", "password": "pa55-word-kept"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, login) = mock
        .login_at(&mock.uri, "kept@example.com", "pa55-word-kept")
        .await;
    assert_eq!(status, 200, "{login}");
    let token = login["access_token"].as_str().unwrap().to_string();
    let refresh = login["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = mock
        .call(
            Method::PATCH,
            "/__mock/users/kept@example.com",
            Some(json!({"mfa_secret": SECRET})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = mock
        .call(
            Method::PATCH,
            &format!("/__mock/devices/{ARGON}"),
            Some(json!({"online": false})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = mock
        .call(
            Method::PATCH,
            "/__mock/rate-limits",
            Some(json!({"rules": {"oauth": "7/60s"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let response = mock
        .client
        .post(mock.url("/v1/integrations"))
        .bearer_auth(&token)
        .json(&json!({"event": "kept-event", "url": "http://127.0.0.1:9/kept"}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 201, "{body}");
    (mock, token, refresh)
}

async fn put_state(mock: &TestMock, document: &str) -> (u16, Value) {
    let response = mock
        .client
        .put(mock.url("/__mock/state"))
        .header("content-type", "application/json")
        .body(document.to_string())
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

#[tokio::test]
async fn an_exported_world_imported_into_a_fresh_one_answers_the_same() {
    // Arrange
    let (original, token, refresh) = changed_world().await;
    let response = original
        .client
        .get(original.url("/__mock/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let document = response.text().await.unwrap();
    let fresh = spawn_mock().await;
    // Act
    let (status, body) = put_state(&fresh, &document).await;
    // Assert
    assert_eq!((status, body), (200, json!({"ok": true})));
    assert_eq!(fresh.token_status_at(&fresh.uri, &token).await, 200);
    // The password still works (checked against its hash) and MFA is still asked for.
    let (status, body) = fresh
        .login_at(&fresh.uri, "kept@example.com", "pa55-word-kept")
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "mfa_required");
    let (status, _) = fresh
        .login_at(&fresh.uri, "kept@example.com", "wrong")
        .await;
    assert_eq!(status, 400);
    let refreshed = fresh
        .token_request(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(refreshed.status(), 200);
    let (_, clock) = fresh.get_json("/__mock/clock").await;
    let (_, before) = original.get_json("/__mock/clock").await;
    assert_eq!(clock["now"], before["now"]);
    let (_, device) = fresh.get_json(&format!("/__mock/devices/{ARGON}")).await;
    assert_eq!(device["online"], false, "{device}");
    let (_, limits) = fresh.get_json("/__mock/rate-limits").await;
    assert_eq!(limits["settings"]["rules"]["oauth"], "7/60s", "{limits}");
    let response = fresh
        .client
        .get(fresh.url("/v1/integrations"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, hooks) = status_and_json(response).await;
    assert_eq!(status, 200, "{hooks}");
    assert_eq!(hooks[0]["event"], "kept-event", "{hooks}");
    assert_eq!(hooks[0]["url"], "http://127.0.0.1:9/kept", "{hooks}");
    // Exported again, the fresh world's document has the same directory.
    let (_, again) = fresh.get_json("/__mock/state").await;
    let first: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(again["directory"]["users"], first["directory"]["users"]);
    assert_eq!(again["directory"]["devices"], first["directory"]["devices"]);
}

#[tokio::test]
async fn a_state_document_never_holds_a_plain_text_password() {
    // Arrange
    let (mock, _, _) = changed_world().await;
    // Act
    let response = mock
        .client
        .get(mock.url("/__mock/state"))
        .send()
        .await
        .unwrap();
    // Assert
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "control answers are not cached"
    );
    let text = response.text().await.unwrap();
    assert!(!text.contains("pa55-word-kept"));
    // The default fixtures' passwords are not in it either.
    assert!(!text.contains("\"password\": \"password\""), "{text}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["format"], "particle-auth-mock/state");
    assert_eq!(doc["version"], 1);
    for user in doc["directory"]["users"].as_array().unwrap() {
        let password = user["password"].as_str().unwrap();
        assert!(password.starts_with("sha256-iter$"), "{password}");
    }
}

#[tokio::test]
async fn a_document_of_another_version_is_refused_and_changes_nothing() {
    // Arrange
    let mock = spawn_mock().await;
    let (_, mut doc) = mock.get_json("/__mock/state").await;
    doc["version"] = json!(2);
    // Act
    let (status, body) = put_state(&mock, &doc.to_string()).await;
    // Assert
    assert_eq!(status, 400, "{body}");
    let message = body["error_description"]
        .as_str()
        .or(body["error"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("version 2"), "{body}");
    assert_eq!(mock.token_status_at(&mock.uri, USER_TOKEN).await, 200);
    let (status, body) = put_state(&mock, "{\"format\": ").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn the_library_snapshots_and_restores_a_world() {
    // Arrange
    let mock = spawn_mock().await;
    let snapshot = mock.server.controls().export_state();
    mock.server
        .controls()
        .remove_user("user@example.com")
        .unwrap();
    assert_eq!(mock.token_status_at(&mock.uri, USER_TOKEN).await, 401);
    // Act
    mock.server.controls().import_state(&snapshot).unwrap();
    // Assert
    assert_eq!(mock.token_status_at(&mock.uri, USER_TOKEN).await, 200);
    assert!(mock.server.controls().import_state("{}").is_err());
}

#[tokio::test]
async fn a_state_document_larger_than_the_body_limit_goes_back_in() {
    // Arrange: an exported document padded past the 64 KiB `--max-body-bytes` default.
    let mock = spawn_mock().await;
    let response = mock
        .client
        .get(mock.url("/__mock/state"))
        .send()
        .await
        .unwrap();
    let mut document = response.text().await.unwrap();
    document.push_str(&" ".repeat(100 * 1024));
    // Act
    let (status, body) = put_state(&mock, &document).await;
    // Assert
    assert_eq!((status, body), (200, json!({"ok": true})));
}
