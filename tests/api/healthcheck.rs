//! The `healthcheck` subcommand and the binary's life as a container's PID 1: probe
//! exit codes and a prompt exit on SIGTERM (the probe's own answers are unit-tested in
//! `src/bin/particle-auth-mock/healthcheck.rs`).

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::helpers::spawn_mock;

const BIN: &str = env!("CARGO_BIN_EXE_particle-auth-mock");

/// A loopback port with nothing listening on it (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[tokio::test]
async fn healthcheck_subcommand_exits_0_when_healthy_and_1_when_nothing_listens() {
    // Arrange
    let mock = spawn_mock().await;
    let dead = format!("http://127.0.0.1:{}/__mock/health", closed_port());
    // Act
    let healthy = Command::new(BIN)
        .args(["healthcheck", "--url", &mock.url("/__mock/health")])
        .status()
        .await
        .expect("run binary");
    let unhealthy = Command::new(BIN)
        .args(["healthcheck", "--url", &dead])
        .stderr(Stdio::null())
        .status()
        .await
        .expect("run binary");
    // Assert
    assert_eq!(healthy.code(), Some(0));
    assert_eq!(unhealthy.code(), Some(1));
}

#[tokio::test]
async fn healthcheck_without_url_probes_the_port_of_the_listen_setting() {
    // Arrange: the mock listens on some port; the probe is told only PARTICLE_MOCK_LISTEN.
    let mock = spawn_mock().await;
    let port = mock.server.address().port();
    // Act
    let status = Command::new(BIN)
        .arg("healthcheck")
        .env("PARTICLE_MOCK_LISTEN", format!("0.0.0.0:{port}"))
        .env_remove("PARTICLE_MOCK_HEALTHCHECK_URL")
        .status()
        .await
        .expect("run binary");
    // Assert
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn the_binary_exits_within_one_second_of_sigterm() {
    // Arrange: the real binary on a free port, with an idle keep-alive connection open.
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn binary");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next_line().await.expect("read").expect("a line");
    let uri = line
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{uri}/__mock/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let pid = child.id().expect("pid").to_string();
    // Act
    let started = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(kill.success());
    let exit = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
    // Assert
    let status = exit.expect("exited within 1 s of SIGTERM").expect("wait");
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
}
