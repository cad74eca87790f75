//! Floods (issue 8 §6): bursts of distinct client addresses and of token issues, and the
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
    let snapshot = mock.server.rate_limits();
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
                most = most.max(mock.server.live_tokens().len());
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
    assert!(mock.server.live_tokens().len() <= 20);
}
