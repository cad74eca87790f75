//! `--state-file`: the binary keeps its default world across restarts, a
//! `kill -9` never leaves a torn file, and a file it cannot read stops start-up and is
//! kept as it is.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use particle_auth_mock::MockServer;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_particle-auth-mock");

/// A fresh directory for one test's state file.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pam-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn command(state: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["--listen", "127.0.0.1:0", "--state-file"])
        .arg(state)
        .args(extra)
        .env_remove("PARTICLE_MOCK_STATE_FILE")
        .env_remove("PARTICLE_MOCK_LISTEN")
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Starts the binary; its base URL once it printed it.
async fn start(state: &Path, extra: &[&str]) -> (Child, String) {
    let mut child = command(state, extra).spawn().expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the address in time")
        .unwrap()
        .expect("a line on stdout");
    let uri = line.strip_prefix("listening on ").unwrap().to_string();
    (child, uri)
}

async fn terminate(child: &mut Child) {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    assert!(exited.expect("exits after SIGTERM").unwrap().success());
}

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn login(uri: &str, email: &str, password: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{uri}/oauth/token"))
        .basic_auth("particle", Some("particle"))
        .form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_state_file_keeps_users_tokens_devices_and_the_clock_across_a_restart() {
    // Arrange: a first run with a user, a login, a frozen clock and a device offline.
    let dir = scratch("restart");
    let state = dir.join("state.json");
    let (mut first, uri) = start(&state, &[]).await;
    let (status, _) = call(
        reqwest::Method::POST,
        format!("{uri}/__mock/users"),
        Some(json!({"email": "keeps@example.com", "password": "kept-pw-1"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, tokens) = login(&uri, "keeps@example.com", "kept-pw-1").await;
    assert_eq!(status, 200);
    let token = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    call(
        reqwest::Method::POST,
        format!("{uri}/__mock/clock/freeze"),
        None,
    )
    .await;
    let (_, clock) = call(reqwest::Method::GET, format!("{uri}/__mock/clock"), None).await;
    let (status, _) = call(
        reqwest::Method::PATCH,
        format!("{uri}/__mock/devices/0123456789abcdef01234567"),
        Some(json!({"online": false})),
    )
    .await;
    assert_eq!(status, 200);
    // Act: a clean stop, then a second run on the same file.
    terminate(&mut first).await;
    let (_second, uri) = start(&state, &[]).await;
    // Assert
    let response = reqwest::Client::new()
        .get(format!("{uri}/v1/access_tokens/current"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _) = login(&uri, "keeps@example.com", "kept-pw-1").await;
    assert_eq!(status, 200);
    let refreshed = reqwest::Client::new()
        .post(format!("{uri}/oauth/token"))
        .basic_auth("particle", Some("particle"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let (_, after) = call(reqwest::Method::GET, format!("{uri}/__mock/clock"), None).await;
    assert_eq!(after, clock, "the frozen clock stands where it was");
    let (_, device) = call(
        reqwest::Method::GET,
        format!("{uri}/__mock/devices/0123456789abcdef01234567"),
        None,
    )
    .await;
    assert_eq!(device["online"], false);
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(!text.contains("kept-pw-1"), "no plain-text password");
    let _ = std::fs::remove_dir_all(&dir);
}

/// How many users a state file holds, after checking it is a whole document the
/// library accepts.
async fn users_in(path: &Path, check: &MockServer) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    check
        .controls()
        .import_state(&text)
        .unwrap_or_else(|e| panic!("a torn or invalid state file: {e}"));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["directory"]["users"].as_array().unwrap().len()
}

#[tokio::test]
async fn kill_9_during_a_stream_of_changes_leaves_the_old_or_the_new_state() {
    let dir = scratch("kill9");
    let state = dir.join("state.json");
    let check = MockServer::start().await;
    let mut users = 0;
    for round in 0..8u32 {
        // Arrange: a run that saves every 2 ms while users are added as fast as it takes.
        let (mut child, uri) = start(&state, &["--state-save-interval-ms", "2"]).await;
        let add = move |who: &'static str, n: u64| {
            let url = format!("{uri}/__mock/users");
            async move {
                let email = format!("r{round}-{who}{n}@example.com");
                let _ = reqwest::Client::new()
                    .post(url)
                    .json(&json!({"email": email, "password": "pw"}))
                    .send()
                    .await;
            }
        };
        let background = add.clone();
        let adding = tokio::spawn(async move {
            for n in 0.. {
                background("b", n).await;
            }
        });
        // Act: SIGKILL after a random number of changes, with more in flight.
        for n in 0..(1 + rand::random::<u64>() % 60) {
            add("f", n).await;
        }
        child.start_kill().unwrap();
        let _ = child.wait().await;
        adding.abort();
        // Assert: a whole document, never fewer users than the last run left.
        if state.exists() {
            let now = users_in(&state, &check).await;
            assert!(now >= users, "round {round}: {now} users after {users}");
            users = now;
        }
    }
    assert!(users > 1, "the stream was saved at all ({users} users)");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn refused_start(state: &Path) -> String {
    let mut child = command(state, &[]).spawn().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits")
        .unwrap();
    assert_eq!(status.code(), Some(2));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    stderr
}

#[tokio::test]
async fn a_corrupt_or_future_state_file_stops_start_up_and_is_kept() {
    let dir = scratch("refused");
    let state = dir.join("state.json");
    for (content, says) in [
        ("{\"format\": \"particle-auth-mock/st", "invalid JSON"),
        (
            r#"{"format": "particle-auth-mock/state", "version": 99}"#,
            "version 99",
        ),
    ] {
        // Arrange
        std::fs::write(&state, content).unwrap();
        // Act
        let stderr = refused_start(&state).await;
        // Assert
        assert!(stderr.contains(&state.display().to_string()), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert_eq!(std::fs::read_to_string(&state).unwrap(), content);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_library_keeps_its_own_changes_in_the_state_file_at_shutdown() {
    use particle_auth_mock::{Clock, Config};
    // Arrange
    let dir = scratch("library");
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        state_file: Some(dir.join("state.json")),
        ..Config::default()
    };
    let first = MockServer::builder()
        .config(config.clone())
        .clock(Clock::manual(1_767_225_600_000))
        .start()
        .await
        .unwrap();
    first.controls().remove_user("user@example.com").unwrap();
    first.controls().clock().advance(Duration::from_secs(3600));
    // Act
    first.shutdown().await;
    let second = MockServer::builder().config(config).start().await.unwrap();
    // Assert
    assert!(
        second.controls().remove_user("user@example.com").is_err(),
        "still removed"
    );
    assert_eq!(second.controls().clock().now_millis(), 1_767_229_200_000);
    assert!(second.controls().clock().is_frozen());
    let _ = std::fs::remove_dir_all(&dir);
}
