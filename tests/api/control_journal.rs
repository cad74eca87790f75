//! Control API: the request journal (reasons, masking, filters, clearing, size).

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use particle_auth_mock::control::JournalFilter;
use particle_auth_mock::Config;

#[tokio::test]
async fn the_journal_records_refusal_reasons_and_never_the_secrets_sent() {
    // Arrange: a wrong password in a body, a token and an OTP in query strings, a replayed OTP.
    let mock = spawn_mock().await;
    mock.login_at(&mock.uri, "user@example.com", "hunter2-wrong")
        .await;
    mock.client
        .get(mock.url(&format!("/v1/user?access_token={USER_TOKEN}")))
        .send()
        .await
        .unwrap();
    mock.client
        .get(mock.url("/v1/access_tokens?otp=424242&password=pw-in-query"))
        .basic_auth("mfa@example.com", Some("hunter3-wrong"))
        .send()
        .await
        .unwrap();
    let code = totp_code(&mock.clock);
    for _ in 0..2 {
        let (_, challenge) = mock
            .login_at(&mock.uri, "mfa@example.com", "password")
            .await;
        mock.token_request(&[
            ("grant_type", "urn:custom:mfa-otp"),
            ("mfa_token", challenge["mfa_token"].as_str().unwrap()),
            ("otp", &code),
        ])
        .await;
    }
    // Act
    let response = mock
        .client
        .get(mock.url("/__mock/journal"))
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    // Assert: no secret anywhere in what the journal shows.
    for secret in [
        "hunter2-wrong",
        "hunter3-wrong",
        USER_TOKEN,
        "424242",
        "pw-in-query",
        code.as_str(),
    ] {
        assert!(!text.contains(secret), "journal leaks {secret}: {text}");
    }
    let journal: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = journal["entries"].as_array().unwrap();
    let reasons: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&"wrong password for user@example.com"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"OTP already used"), "{reasons:?}");
    let paths: Vec<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"/v1/user?access_token=[redacted]"),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"/v1/access_tokens?otp=[redacted]&password=[redacted]"),
        "{paths:?}"
    );
    let first = &entries[0];
    assert_eq!(first["method"], "POST");
    assert_eq!(first["status"], 400);
    assert_eq!(first["client"], "127.0.0.1");
    assert_eq!(first["time"], "2026-01-01T00:00:00.000Z");
}

#[tokio::test]
async fn the_journal_filters_by_path_status_and_client_and_can_be_cleared() {
    // Arrange
    let mock = spawn_mock().await;
    mock.login("user@example.com", "password").await;
    mock.get_with("/v1/user", USER_TOKEN).await;
    mock.get_with("/v1/user", "0000000000000000000000000000000000000000")
        .await;
    // Act
    let (_, by_path) = mock.get_json("/__mock/journal?path=/v1/*").await;
    let (_, by_status) = mock.get_json("/__mock/journal?status=4xx").await;
    let (_, by_client) = mock.get_json("/__mock/journal?client=10.9.9.9").await;
    let (_, last) = mock.get_json("/__mock/journal?limit=1").await;
    let (bad, _) = mock.get_json("/__mock/journal?status=teapot").await;
    // Assert
    assert_eq!(by_path["entries"].as_array().unwrap().len(), 2);
    let refused = by_status["entries"].as_array().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["reason"], "unknown or revoked access token");
    assert_eq!(refused[0]["path"], "/v1/user");
    assert!(by_client["entries"].as_array().unwrap().is_empty());
    assert_eq!(last["entries"][0]["status"], 401);
    assert_eq!(bad, 400);
    assert_eq!(
        mock.server
            .controls()
            .journal(&JournalFilter {
                status: Some("200".into()),
                ..Default::default()
            })
            .unwrap()
            .len(),
        2,
        "control calls are not journaled"
    );
    let (status, _) = mock.call(Method::DELETE, "/__mock/journal", None).await;
    assert_eq!(status, 200);
    assert!(mock
        .server
        .controls()
        .journal(&JournalFilter::default())
        .unwrap()
        .is_empty());
    mock.get_with("/v1/user", USER_TOKEN).await;
    mock.server.controls().clear_journal();
    assert!(mock
        .server
        .controls()
        .journal(&JournalFilter::default())
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_journal_size_of_zero_records_nothing_and_the_size_caps_it() {
    // Arrange
    let mut none = Config::default();
    none.journal_size = 0;
    let mut two = Config::default();
    two.journal_size = 2;
    let off = spawn_with_config(none).await;
    let small = spawn_with_config(two).await;
    // Act
    for mock in [&off, &small] {
        for _ in 0..3 {
            mock.get_with("/v1/user", USER_TOKEN).await;
        }
    }
    // Assert
    let (_, journal) = off.get_json("/__mock/journal").await;
    assert_eq!(journal, json!({"capacity": 0, "entries": []}));
    let (_, journal) = small.get_json("/__mock/journal").await;
    let ids: Vec<u64> = journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3]);
}
