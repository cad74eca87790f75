//! The first hour (issue 26): the dashboard is one redirect away from `/`, and a refused
//! token request says in the journal what it received.

use reqwest::redirect::Policy;
use serde_json::Value;

use crate::helpers::*;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_root_and_the_control_prefix_redirect_to_the_dashboard() {
    // Arrange
    let mock = spawn_mock().await;
    let tenant = mock.server.create_tenant().unwrap();
    let client = no_redirects();
    for (path, to) in [
        ("/".to_string(), "/__mock/ui".to_string()),
        ("/__mock/".into(), "/__mock/ui".into()),
        ("/__mock/ui/".into(), "/__mock/ui".into()),
        (
            format!("/t/{}/", tenant.id()),
            format!("/t/{}/__mock/ui", tenant.id()),
        ),
    ] {
        // Act
        let response = client.get(mock.url(&path)).send().await.unwrap();
        // Assert
        assert_eq!(response.status(), 307, "{path}");
        assert_eq!(response.headers()["location"], to.as_str(), "{path}");
    }
    // And the dashboard is there.
    let page = reqwest::get(mock.url("/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<html"));
}

#[tokio::test]
async fn a_json_token_request_is_journaled_with_the_content_type_it_had() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let response = mock
        .client
        .post(mock.url("/oauth/token"))
        .json(&serde_json::json!({"grant_type": "password"}))
        .send()
        .await
        .unwrap();
    // Assert: Particle's answer, and the journal says why.
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "Method must be POST with application/x-www-form-urlencoded encoding"
    );
    let (_, journal) = mock.get_json("/__mock/journal?path=/oauth/token").await;
    let reason = journal["entries"][0]["reason"]
        .as_str()
        .or_else(|| journal[0]["reason"].as_str())
        .unwrap_or_else(|| panic!("{journal}"))
        .to_string();
    assert!(reason.contains("application/json"), "{reason}");
}
