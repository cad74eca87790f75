//! The `particle-auth-mock` binary: its "listening on" line, signals, flags and
//! `PARTICLE_MOCK_*` environment variables, `--seed`, and refused fixtures files.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_particle-auth-mock");

/// A running binary and the base URL it printed.
struct Running {
    child: Child,
    uri: String,
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("PARTICLE_MOCK_LISTEN")
        .env_remove("PARTICLE_MOCK_SEED")
        .env_remove("PARTICLE_MOCK_FIXTURES")
        .env_remove("PARTICLE_MOCK_TOKEN_LIFETIME")
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Starts the command and waits for its `listening on http://ADDR` line.
async fn start(mut command: Command) -> Running {
    let mut child = command.spawn().expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the binary prints its address in time")
        .unwrap()
        .expect("a line on stdout");
    let uri = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    Running { child, uri }
}

async fn login(uri: &str) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{uri}/oauth/token"))
        .basic_auth("particle", Some("particle"))
        .form(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn send_signal(child: &Child, signal: &str) {
    let pid = child.id().expect("still running").to_string();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn the_binary_prints_its_address_and_serves_on_it() {
    // Arrange + Act
    let running = start(command(&["--listen", "127.0.0.1:0"])).await;
    // Assert
    assert!(
        running.uri.starts_with("http://127.0.0.1:"),
        "{}",
        running.uri
    );
    assert!(!running.uri.ends_with(":0"));
    let body = login(&running.uri).await;
    assert_eq!(body["token_type"], "bearer");
}

async fn exits_within_one_second_of(signal: &str) {
    // Arrange
    let mut running = start(command(&["--listen", "127.0.0.1:0"])).await;
    // Act: at once, as a CI script may (the handler must already be installed).
    send_signal(&running.child, signal);
    // Assert
    let status = tokio::time::timeout(Duration::from_secs(1), running.child.wait())
        .await
        .unwrap_or_else(|_| panic!("still running 1 s after {signal}"))
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn the_binary_exits_cleanly_within_a_second_of_sigterm() {
    exits_within_one_second_of("-TERM").await;
}

#[tokio::test]
async fn the_binary_exits_cleanly_within_a_second_of_sigint() {
    exits_within_one_second_of("-INT").await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_first_token() {
    // Arrange
    let a = start(command(&["--listen", "127.0.0.1:0", "--seed", "42"])).await;
    let b = start(command(&["--listen", "127.0.0.1:0", "--seed", "42"])).await;
    let c = start(command(&["--listen", "127.0.0.1:0", "--seed", "43"])).await;
    // Act
    let (a, b, c) = (
        login(&a.uri).await,
        login(&b.uri).await,
        login(&c.uri).await,
    );
    // Assert
    assert_eq!(a["access_token"], b["access_token"]);
    assert_eq!(a["refresh_token"], b["refresh_token"]);
    assert_ne!(a["access_token"], c["access_token"]);
}

#[tokio::test]
async fn particle_mock_environment_variables_configure_the_binary() {
    // Arrange
    let mut with_env = command(&[]);
    with_env
        .env("PARTICLE_MOCK_LISTEN", "127.0.0.1:0")
        .env("PARTICLE_MOCK_TOKEN_LIFETIME", "60")
        .env("PARTICLE_MOCK_SEED", "42");
    let from_env = start(with_env).await;
    let from_flags = start(command(&["--listen", "127.0.0.1:0", "--seed", "42"])).await;
    // Act
    let env_body = login(&from_env.uri).await;
    let flag_body = login(&from_flags.uri).await;
    // Assert: the listen address and lifetime came from the environment, and so did the seed.
    assert_eq!(env_body["expires_in"], 60);
    assert_eq!(env_body["access_token"], flag_body["access_token"]);
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "particle-auth-mock-{}-{name}.json",
        std::process::id()
    ));
    std::fs::write(&path, contents).unwrap();
    path
}

async fn refused(path: &std::path::Path) -> (std::process::ExitStatus, String, String) {
    let mut child = command(&[
        "--listen",
        "127.0.0.1:0",
        "--fixtures",
        path.to_str().unwrap(),
    ])
    .spawn()
    .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the binary stops at once")
        .unwrap();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    (status, stdout, stderr)
}

#[tokio::test]
async fn a_malformed_fixtures_file_stops_start_up_with_file_line_and_column() {
    // Arrange
    let path = temp_file(
        "malformed",
        "{\n  \"users\": [\n    {\"email\": }\n  ]\n}\n",
    );
    // Act
    let (status, stdout, stderr) = refused(&path).await;
    // Assert
    assert!(!status.success());
    assert!(!stdout.contains("listening"), "{stdout}");
    assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("malformed JSON"), "{stderr}");
    assert!(stderr.contains("line 3 column"), "{stderr}");
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn an_inconsistent_fixtures_file_stops_start_up_with_the_field_path() {
    // Arrange
    let path = temp_file(
        "unknown-product",
        r#"{"users":[{"email":"a@x.io","password":"p"}],
            "memberships":[{"user":"a@x.io","product":"nope","role":"Administrator"}]}"#,
    );
    // Act
    let (status, _, stderr) = refused(&path).await;
    // Assert
    assert!(!status.success());
    assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
    assert!(
        stderr.contains("at `memberships[0].product`: unknown product `nope`"),
        "{stderr}"
    );
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn a_good_fixtures_file_is_served() {
    // Arrange
    let path = temp_file(
        "good",
        r#"{"users":[{"email":"someone@example.org","password":"s3cret"}]}"#,
    );
    // Act
    let running = start(command(&[
        "--listen",
        "127.0.0.1:0",
        "--fixtures",
        path.to_str().unwrap(),
    ]))
    .await;
    // Assert
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", running.uri))
        .basic_auth("particle", Some("particle"))
        .form(&[
            ("grant_type", "password"),
            ("username", "someone@example.org"),
            ("password", "s3cret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = login(&running.uri).await;
    assert_eq!(response["error"], "invalid_grant");
    let _ = std::fs::remove_file(path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_answers_or_refuses_every_request_and_exits_within_a_second() {
    // Arrange: 32 clients in a tight loop, plus one request stuck half-way through its
    // body and one idle kept-alive connection (rate limits off: this is about shutdown).
    let mut running = start(command(&["--listen", "127.0.0.1:0", "--no-rate-limits"])).await;
    let uri = running.uri.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..32)
        .map(|i| {
            let (uri, stop) = (uri.clone(), stop.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let (mut answered, mut refused) = (0u32, 0u32);
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let request = if i % 2 == 0 {
                        client
                            .post(format!("{uri}/oauth/token"))
                            .basic_auth("particle", Some("particle"))
                            .form(&[
                                ("grant_type", "password"),
                                ("username", "user@example.com"),
                                ("password", "password"),
                            ])
                    } else {
                        client
                            .get(format!("{uri}/v1/user"))
                            .bearer_auth("1111111111111111111111111111111111111111")
                    };
                    let outcome = tokio::time::timeout(Duration::from_secs(3), async {
                        match request.send().await {
                            Ok(response) => {
                                let status = response.status().as_u16();
                                // A started answer must finish: a truncated body is a hang
                                // or a broken answer, not a clean refusal.
                                let body = response.bytes().await;
                                Some((status, body.is_ok()))
                            }
                            Err(_) => None,
                        }
                    })
                    .await
                    .expect("no request hangs across the shutdown");
                    match outcome {
                        Some((status, complete)) => {
                            assert_eq!(status, 200, "only clean answers");
                            assert!(complete, "an answer was cut off");
                            answered += 1;
                        }
                        None => {
                            refused += 1;
                            break; // the server is gone
                        }
                    }
                }
                (answered, refused)
            })
        })
        .collect();
    let mut stuck = tokio::net::TcpStream::connect(uri.trim_start_matches("http://"))
        .await
        .unwrap();
    use tokio::io::AsyncWriteExt;
    stuck
        .write_all(
            b"POST /oauth/token HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant",
        )
        .await
        .unwrap();
    let mut idle = tokio::net::TcpStream::connect(uri.trim_start_matches("http://"))
        .await
        .unwrap();
    idle.write_all(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Let the load build up: wait until some logins have been answered.
    for _ in 0..50 {
        login(&uri).await;
    }
    // Act
    send_signal(&running.child, "-TERM");
    let exited = tokio::time::timeout(Duration::from_secs(1), running.child.wait()).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    // Assert: out within a second, cleanly.
    let status = exited.expect("still running 1 s after SIGTERM").unwrap();
    assert!(status.success(), "{status:?}");
    let mut answered = 0;
    for client in clients {
        answered += client.await.expect("a client task failed").0;
    }
    assert!(answered > 0, "the load reached the server");
    // The stuck and idle connections were closed, not left hanging.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(2), stuck.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the half-sent request's connection hangs");
    let closed = tokio::time::timeout(Duration::from_secs(2), idle.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the idle connection hangs");
}

#[tokio::test]
async fn an_empty_control_secret_in_the_environment_stops_start_up_naming_the_option() {
    // Arrange: an unset CI secret expands to an empty variable.
    let mut command = command(&["--listen", "127.0.0.1:0"]);
    command.env("PARTICLE_MOCK_CONTROL_SECRET", "");
    // Act
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("the binary stops at once")
        .unwrap();
    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--control-secret"), "{stderr}");
}
