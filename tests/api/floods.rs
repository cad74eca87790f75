//! Floods: bursts of distinct client addresses and of token issues, and the
//! tracked-client and live-token counts staying within their caps.

use std::sync::Arc;

use particle_auth_mock::Config;

use crate::helpers::*;

/// Sends `total` requests, `parallel` at a time, each built by `make(i)`; returns the
/// statuses.
async fn burst(
    mock: &Arc<TestMock>,
    total: usize,
    parallel: usize,
    make: impl Fn(&TestMock, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
) -> Vec<u16> {
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..parallel)
        .map(|_| {
            let (mock, make, next) = (mock.clone(), make.clone(), next.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= total {
                        return statuses;
                    }
                    let response = make(&mock, i).send().await.unwrap();
                    statuses.push(response.status().as_u16());
                }
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for worker in workers {
        statuses.extend(worker.await.unwrap());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_distinct_addresses_keeps_the_tracked_clients_within_the_cap() {
    // Arrange: addresses from X-Forwarded-For, at most 50 clients tracked.
    let mut config = Config::default();
    config.trust_forwarded = true;
    config.max_tracked_clients = Some(50);
    let mock = Arc::new(spawn_with_config(config).await);
    // Act: 1,000 requests from 1,000 addresses.
    let statuses = burst(&mock, 1_000, 16, |mock, i| {
        mock.client
            .get(mock.url("/v1/user"))
            .bearer_auth(USER_TOKEN)
            .header("x-forwarded-for", format!("10.{}.{}.1", i / 256, i % 256))
    })
    .await;
    // Assert: everyone served, 50 tracked, the rest admitted untracked.
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let snapshot = mock.server.controls().rate_limits();
    assert_eq!(snapshot.tracked_clients, 50);
    assert_eq!(snapshot.clients.len(), 50);
    assert_eq!(snapshot.untracked_admissions, 950);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_token_issues_keeps_the_live_tokens_within_the_cap() {
    // Arrange: at most 20 live tokens (the two fixture tokens count).
    let mut config = Config::default();
    config.max_tokens = 20;
    config.no_rate_limits = true;
    let mock = Arc::new(spawn_with_config(config).await);
    // Act: 500 logins, 16 at a time, sampling the count as they go.
    let sampler = {
        let mock = mock.clone();
        tokio::spawn(async move {
            let mut most = 0;
            for _ in 0..200 {
                most = most.max(mock.server.controls().live_tokens().len());
                tokio::task::yield_now().await;
            }
            most
        })
    };
    let statuses = burst(&mock, 500, 16, |mock, _| {
        mock.client
            .post(mock.url("/oauth/token"))
            .basic_auth("particle", Some("particle"))
            .form(&[
                ("grant_type", "password"),
                ("username", "user@example.com"),
                ("password", "password"),
            ])
    })
    .await;
    // Assert: every login served; never more live tokens than the cap plus the inserts
    // racing the eviction (one per worker thread), and within the cap once quiet.
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let most = sampler.await.unwrap();
    assert!(most <= 20 + 4, "{most} live tokens seen");
    let last = mock.login("user@example.com", "password").await;
    assert!(last["access_token"].is_string());
    assert!(mock.server.controls().live_tokens().len() <= 20);
}

/// 2,000 never-expiring logins against a small cap evict neither the
/// fixture tokens nor any token already handed out; once only never-expiring tokens
/// remain, a new one is refused 503 `token_table_full`.
#[tokio::test]
async fn never_expiring_logins_at_the_cap_evict_nothing_and_are_refused_503() {
    // Arrange: 10 live tokens at most; the fixtures hold the user's and the API user's.
    let mut config = Config::default();
    config.max_tokens = 10;
    config.no_rate_limits = true;
    let mock = spawn_with_config(config).await;
    let mut issued = Vec::new();
    let mut refused = 0;
    // Act
    for _ in 0..2_000 {
        let response = mock
            .token_request(&[
                ("grant_type", "password"),
                ("username", "user@example.com"),
                ("password", "password"),
                ("expires_in", "0"),
            ])
            .await;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        match status {
            200 => issued.push(body["access_token"].as_str().unwrap().to_string()),
            503 => {
                assert_eq!(body["error"], "token_table_full", "{body}");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    // Assert: every token handed out still works, and so do the fixtures'.
    assert!(refused > 1_900, "{refused} refused");
    for token in issued
        .iter()
        .map(String::as_str)
        .chain([USER_TOKEN, API_USER_TOKEN])
    {
        let status = mock
            .get_with("/v1/access_tokens/current", token)
            .await
            .status();
        assert_eq!(status, 200, "{token} was evicted");
    }
}

/// Expiring tokens still make room for new ones (soonest to expire first), without
/// touching the fixtures' tokens.
#[tokio::test]
async fn expiring_logins_at_the_cap_evict_the_soonest_to_expire_but_never_a_fixture_token() {
    // Arrange
    let mut config = Config::default();
    config.max_tokens = 10;
    config.no_rate_limits = true;
    let mock = spawn_with_config(config).await;
    // Act: many more expiring logins than the cap.
    let mut last = String::new();
    for _ in 0..100 {
        last = mock.login("user@example.com", "password").await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
    }
    // Assert
    for token in [last.as_str(), USER_TOKEN, API_USER_TOKEN] {
        let status = mock
            .get_with("/v1/access_tokens/current", token)
            .await
            .status();
        assert_eq!(status, 200, "{token}");
    }
    assert!(mock.server.controls().live_tokens().len() <= 10);
}

/// At the cap a new token evicts exactly one token, the one soonest
/// to expire (no batch, no scan of the table), and the count stays at the cap.
#[tokio::test]
async fn each_token_issued_at_the_cap_evicts_exactly_the_one_soonest_to_expire() {
    // Arrange: 64 live tokens at most; the two fixture tokens plus 62 logins, each
    // expiring sooner than the one before.
    let mut config = Config::default();
    config.max_tokens = 64;
    config.no_rate_limits = true;
    let mock = spawn_with_config(config).await;
    let mut issued = Vec::new();
    for i in 0..62 {
        let lifetime = (10_000 - i).to_string();
        let response = mock
            .token_request(&[
                ("grant_type", "password"),
                ("username", "user@example.com"),
                ("password", "password"),
                ("expires_in", lifetime.as_str()),
            ])
            .await;
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 200, "{body}");
        issued.push(body["access_token"].as_str().unwrap().to_string());
    }
    assert_eq!(mock.server.controls().live_tokens().len(), 64);
    // Act: three more logins that outlive them all.
    for _ in 0..3 {
        let response = mock
            .token_request(&[
                ("grant_type", "password"),
                ("username", "user@example.com"),
                ("password", "password"),
                ("expires_in", "20000"),
            ])
            .await;
        assert_eq!(response.status(), 200);
    }
    // Assert: still exactly 64; the three soonest to expire went, the fourth stayed.
    assert_eq!(mock.server.controls().live_tokens().len(), 64);
    let status = |token: String| {
        let mock = &mock;
        async move {
            mock.get_with("/v1/access_tokens/current", &token)
                .await
                .status()
                .as_u16()
        }
    };
    for gone in &issued[59..] {
        assert_eq!(status(gone.clone()).await, 401, "{gone} should be evicted");
    }
    assert_eq!(status(issued[58].clone()).await, 200);
    assert_eq!(status(USER_TOKEN.into()).await, 200);
}
