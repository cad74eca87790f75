//! The first hour: the dashboard is one redirect away from `/`, and a refused
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

const BIN: &str = env!("CARGO_BIN_EXE_particle-auth-mock");

/// Runs the binary to a refusal: its stderr (exit code 2 checked).
fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let output = std::process::Command::new(BIN)
        .args(args)
        .env_remove("PARTICLE_MOCK_LISTEN")
        .env_remove("PARTICLE_MOCK_SEED")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{args:?} {env:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn option_errors_name_the_expected_form_and_the_variable_that_carried_the_value() {
    for bad in ["8080", "localhost:8080", "http://127.0.0.1:8080"] {
        let stderr = refused(&["--listen", bad], &[]);
        assert!(stderr.contains("IP:PORT"), "{bad}: {stderr}");
    }
    let stderr = refused(&[], &[("PARTICLE_MOCK_LISTEN", "8080")]);
    assert!(stderr.contains("PARTICLE_MOCK_LISTEN"), "{stderr}");
    assert!(stderr.contains("IP:PORT"), "{stderr}");
    let stderr = refused(&["--seed", "abc"], &[]);
    assert!(stderr.contains("whole number"), "{stderr}");
    let stderr = refused(&[], &[("PARTICLE_MOCK_SEED", "abc")]);
    assert!(stderr.contains("PARTICLE_MOCK_SEED"), "{stderr}");
    let stderr = refused(&[], &[("PARTICLE_MOCK_NO_RATE_LIMITS", "maybe")]);
    assert!(stderr.contains("PARTICLE_MOCK_NO_RATE_LIMITS"), "{stderr}");
}

#[tokio::test]
async fn switch_variables_take_1_0_yes_no_true_false() {
    use tokio::io::AsyncBufReadExt;
    for value in ["1", "0", "yes", "no", "true", "false"] {
        // Arrange
        let mut child = tokio::process::Command::new(BIN)
            .args(["--listen", "127.0.0.1:0"])
            .env("PARTICLE_MOCK_NO_RATE_LIMITS", value)
            .env("RUST_LOG", "off")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // Act
        let stdout = child.stdout.take().unwrap();
        let line = tokio::io::BufReader::new(stdout)
            .lines()
            .next_line()
            .await
            .unwrap();
        // Assert: it started.
        assert!(
            line.as_deref()
                .unwrap_or_default()
                .starts_with("listening on "),
            "{value}: {line:?}"
        );
        child.kill().await.unwrap();
    }
}
