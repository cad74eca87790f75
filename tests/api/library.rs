//! The library surface: builder options, seed, clock, reset and isolation.

use particle_auth_mock::{Clock, Fixtures, MockServer};

use crate::helpers::*;

#[tokio::test]
async fn two_servers_with_the_same_seed_issue_the_same_first_token() {
    let a = spawn_with(MockServer::builder().seed(9)).await;
    let b = spawn_with(MockServer::builder().seed(9)).await;
    let a = a.login("user@example.com", "password").await;
    let b = b.login("user@example.com", "password").await;
    assert_eq!(a["access_token"], b["access_token"]);
}

#[tokio::test]
async fn two_servers_are_isolated() {
    let a = spawn_mock().await;
    let b = spawn_mock().await;
    let token = a.login("user@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(a.get_with("/v1/user", &token).await.status(), 200);
    assert_eq!(b.get_with("/v1/user", &token).await.status(), 401);
}

#[tokio::test]
async fn reset_drops_issued_tokens_and_keeps_fixture_tokens() {
    let mock = spawn_mock().await;
    let token = mock.login("user@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    mock.server.controls().reset();
    assert_eq!(mock.get_with("/v1/user", &token).await.status(), 401);
    assert_eq!(mock.get_with("/v1/user", USER_TOKEN).await.status(), 200);
}

#[tokio::test]
async fn fixtures_from_a_path_are_served() {
    let path = std::env::temp_dir().join(format!(
        "particle-auth-mock-lib-{}.json",
        std::process::id()
    ));
    std::fs::write(
        &path,
        r#"{"users":[{"email":"x@example.org","password":"pw"}]}"#,
    )
    .unwrap();
    let fixtures = Fixtures::from_path(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let mock = spawn_with(MockServer::builder().fixtures(fixtures)).await;
    mock.login("x@example.org", "pw").await;
}

#[tokio::test]
async fn the_server_stops_when_dropped() {
    let server = MockServer::builder()
        .clock(Clock::manual(T0))
        .start()
        .await
        .unwrap();
    let address = server.address();
    drop(server);
    // Give the accept loop its turn to see the stop signal.
    tokio::task::yield_now().await;
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(address).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "still accepting on {address}");
}
