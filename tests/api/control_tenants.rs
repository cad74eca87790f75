//! Control API: tenants (isolated worlds at `/t/<id>`), over HTTP and from Rust.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use particle_auth_mock::control::FaultSpec;
use particle_auth_mock::{Config, Fixtures};

async fn create(mock: &TestMock, body: Option<serde_json::Value>) -> String {
    let (status, tenant) = mock.call(Method::POST, "/__mock/tenants", body).await;
    assert_eq!(status, 201, "{tenant}");
    let base = tenant["base_url"].as_str().unwrap().to_string();
    assert_eq!(
        base,
        format!("{}/t/{}", mock.uri, tenant["id"].as_str().unwrap())
    );
    base
}

#[tokio::test]
async fn two_tenants_used_in_parallel_keep_their_clocks_tokens_and_journals_apart() {
    // Arrange
    let mock = spawn_mock().await;
    let (a, b) = (create(&mock, None).await, create(&mock, None).await);
    // a: frozen at T0; b: running from 2030.
    let a_freeze = format!("{}/__mock/clock/freeze", a.replace(&mock.uri, ""));
    mock.post_json(&a_freeze, json!({})).await;
    mock.post_json(
        &format!("{}/__mock/clock/set", a.replace(&mock.uri, "")),
        json!({"at": T0}),
    )
    .await;
    let b_path = b.replace(&mock.uri, "");
    mock.post_json(
        &format!("{b_path}/__mock/clock/set"),
        json!({"at": "2030-01-01T00:00:00Z"}),
    )
    .await;
    // Act: log in to both at once.
    let ((sa, la), (sb, lb)) = tokio::join!(
        mock.login_at(&a, "user@example.com", "password"),
        mock.login_at(&b, "user@example.com", "password"),
    );
    assert_eq!((sa, sb), (200, 200));
    let (ta, tb) = (
        la["access_token"].as_str().unwrap(),
        lb["access_token"].as_str().unwrap(),
    );
    let a_path = a.replace(&mock.uri, "");
    mock.post_json(
        &format!("{a_path}/__mock/clock/advance"),
        json!({"duration": "90d"}),
    )
    .await;
    // Assert: each token lives in its own tenant only, and only a's clock moved.
    assert_eq!(
        mock.token_status_at(&a, ta).await,
        401,
        "a's token expired with a's clock"
    );
    assert_eq!(mock.token_status_at(&b, tb).await, 200);
    assert_eq!(mock.token_status_at(&b, ta).await, 401);
    assert_eq!(mock.token_status_at(&mock.uri, tb).await, 401);
    let (_, clock_a) = mock.get_json(&format!("{a_path}/__mock/clock")).await;
    let (_, clock_b) = mock.get_json(&format!("{b_path}/__mock/clock")).await;
    assert_eq!(clock_a["now"], "2026-04-01T00:00:00.000Z");
    assert!(clock_b["now"].as_str().unwrap().starts_with("2030-01-01"));
    assert_eq!(mock.clock.now_millis(), T0, "the root's clock never moved");
    let (_, journal_b) = mock.get_json(&format!("{b_path}/__mock/journal")).await;
    let paths: Vec<&str> = journal_b["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/oauth/token",
            "/v1/access_tokens/current",
            "/v1/access_tokens/current"
        ]
    );
    assert!(mock
        .server
        .controls()
        .journal(&Default::default())
        .unwrap()
        .iter()
        .all(|e| e.path != "/oauth/token"));
}

#[tokio::test]
async fn a_fault_in_one_tenant_leaves_the_other_alone() {
    // Arrange
    let mock = spawn_mock().await;
    let a = mock.server.create_tenant().unwrap();
    let b = mock.server.create_tenant().unwrap();
    a.controls()
        .add_fault(FaultSpec {
            path: "/oauth/token".into(),
            status: Some(502),
            ..Default::default()
        })
        .unwrap();
    // Act
    let (sa, _) = mock
        .login_at(&a.uri(), "user@example.com", "password")
        .await;
    let (sb, _) = mock
        .login_at(&b.uri(), "user@example.com", "password")
        .await;
    let (root, _) = mock
        .login_at(&mock.uri, "user@example.com", "password")
        .await;
    // Assert
    assert_eq!((sa, sb, root), (502, 200, 200));
    assert_eq!(a.controls().faults().len(), 1);
    assert!(b.controls().faults().is_empty() && mock.server.controls().faults().is_empty());
}

#[tokio::test]
async fn a_tenant_from_a_posted_fixtures_document_has_only_its_users_and_can_be_deleted() {
    // Arrange
    let mock = spawn_mock().await;
    let base = create(
        &mock,
        Some(json!({"users": [{"email": "t@example.com", "password": "pw"}]})),
    )
    .await;
    let id = base.rsplit('/').next().unwrap().to_string();
    // Act
    let own = mock.login_at(&base, "t@example.com", "pw").await.0;
    let fixture = mock.login_at(&base, "user@example.com", "password").await.0;
    let (_, listed) = mock.get_json("/__mock/tenants").await;
    let (deleted, _) = mock
        .call(Method::DELETE, &format!("/__mock/tenants/{id}"), None)
        .await;
    let (gone, body) = mock.login_at(&base, "t@example.com", "pw").await;
    // Assert
    assert_eq!((own, fixture), (200, 400));
    assert_eq!(listed["tenants"][0]["id"], id);
    assert_eq!(deleted, 200);
    assert_eq!(
        (gone, body),
        (404, json!({"ok": false, "error": "Tenant not found"}))
    );
    assert_eq!(
        mock.call(Method::DELETE, &format!("/__mock/tenants/{id}"), None)
            .await
            .0,
        404
    );
    let (bad, error) = mock
        .post_json("/__mock/tenants", json!({"users": [{"email": "x"}]}))
        .await;
    assert_eq!(bad, 400, "{error}");
}

#[tokio::test]
async fn tenants_are_managed_from_the_root_only_and_capped() {
    // Arrange
    let mut config = Config::default();
    config.max_tenants = 1;
    let mock = spawn_with_config(config).await;
    let base = create(&mock, None).await;
    let path = base.replace(&mock.uri, "");
    // Act
    let (nested, _) = mock
        .call(Method::POST, &format!("{path}/__mock/tenants"), None)
        .await;
    let (over, body) = mock.call(Method::POST, "/__mock/tenants", None).await;
    // Assert
    assert_eq!(nested, 404);
    assert_eq!(over, 429);
    assert_eq!(body["ok"], false);
    assert!(mock.server.create_tenant().is_err());
}

#[tokio::test]
async fn the_library_creates_uses_resets_and_deletes_tenants() {
    // Arrange
    let mock = spawn_mock().await;
    let fixtures =
        Fixtures::from_json(r#"{"users":[{"email":"lib@example.com","password":"pw"}]}"#).unwrap();
    let tenant = mock.server.create_tenant_with(fixtures).unwrap();
    let issued = tenant
        .controls()
        .issue_token(particle_auth_mock::control::TokenOrder {
            user: Some("lib@example.com".into()),
            ..Default::default()
        })
        .unwrap();
    // Act
    let before = mock
        .token_status_at(&tenant.uri(), &issued.access_token)
        .await;
    tenant.controls().reset();
    let after = mock
        .token_status_at(&tenant.uri(), &issued.access_token)
        .await;
    // Assert
    assert_eq!((before, after), (200, 401));
    assert_eq!(mock.server.tenants().len(), 1);
    assert_eq!(mock.server.tenants()[0].base_url, tenant.uri());
    assert!(
        !tenant.controls().clock_state().frozen,
        "a tenant's clock starts running at system time"
    );
    let id = tenant.id().to_string();
    assert!(tenant.delete());
    assert!(!mock.server.delete_tenant(&id));
    assert!(mock.server.tenants().is_empty());
}

#[tokio::test]
async fn a_tenant_has_its_own_users_totp_codes_tokens_and_journal_from_rust() {
    // Arrange
    let mock = spawn_mock().await;
    let tenant = mock.server.create_tenant().unwrap();
    tenant.controls().clock().freeze();
    tenant.controls().clock().set(T0 + 15_000);
    tenant
        .controls()
        .add_user(particle_auth_mock::control::NewUser {
            email: "only-here@example.com".into(),
            password: "pw".into(),
            mfa_secret: Some("JBSWY3DPEHPK3PXP".into()),
            ..Default::default()
        })
        .unwrap();
    // Act
    let codes = tenant.controls().totp("only-here@example.com").unwrap();
    let (status, _) = mock
        .login_at(&tenant.uri(), "only-here@example.com", "pw")
        .await;
    let root = mock
        .login_at(&mock.uri, "only-here@example.com", "pw")
        .await
        .0;
    // Assert
    assert_eq!(codes.seconds_remaining, 15);
    assert_eq!(status, 403, "MFA asked in the tenant");
    assert_eq!(root, 400, "unknown at the root");
    assert!(mock
        .server
        .controls()
        .totp("only-here@example.com")
        .is_err());
    let journal = tenant.controls().journal(&Default::default()).unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].time_ms, T0 + 15_000);
    assert_eq!(
        journal[0].reason.as_deref(),
        Some("MFA required: mfa_token issued")
    );
    tenant.controls().clear_journal();
    assert!(tenant
        .controls()
        .journal(&Default::default())
        .unwrap()
        .is_empty());
}

/// An HTTP/1.0 request without a `Host` header gets the bound
/// address (the real port), never the `--listen` port 0.
#[tokio::test]
async fn a_tenant_created_without_a_host_header_reports_the_bound_address() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Arrange
    let mock = spawn_mock().await;
    let mut stream = tokio::net::TcpStream::connect(mock.server.address())
        .await
        .unwrap();
    // Act
    stream
        .write_all(b"POST /__mock/tenants HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut answer),
    )
    .await
    .expect("an answer")
    .unwrap();
    // Assert
    let body: serde_json::Value =
        serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    let id = body["id"].as_str().unwrap();
    assert_eq!(body["base_url"], format!("{}/t/{id}", mock.uri), "{answer}");
}

/// Logs in to the world at `base` (a full URL) with `expires_in`; status and body.
async fn login_at(mock: &TestMock, base: &str, expires_in: &str) -> (u16, serde_json::Value) {
    let response = mock
        .client
        .post(format!("{base}/oauth/token"))
        .basic_auth("particle", Some("particle"))
        .form(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
            ("expires_in", expires_in),
        ])
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

/// `--max-total-tokens` caps the credentials of all worlds together.
/// A tenant's flood makes room with the tenant's own tokens, never another world's, and
/// is refused `503 server_full` once it has none that may go.
#[tokio::test]
async fn a_tenant_flood_stays_within_the_server_wide_token_cap_and_spares_other_worlds() {
    // Arrange: 24 credentials for every world together; the default world holds its two
    // fixture tokens and three logins (an access and a refresh token each).
    let mut config = Config::default();
    config.max_total_tokens = 24;
    config.no_rate_limits = true;
    let mock = spawn_with_config(config).await;
    let mut kept = Vec::new();
    for _ in 0..3 {
        let (status, body) = login_at(&mock, &mock.uri, "3600").await;
        assert_eq!(status, 200, "{body}");
        kept.push(body["access_token"].as_str().unwrap().to_string());
    }
    let tenant = create(&mock, None).await;
    // Act: 200 expiring logins in the tenant, then never-expiring ones.
    for _ in 0..200 {
        let (status, body) = login_at(&mock, &tenant, "3600").await;
        assert_eq!(status, 200, "{body}");
    }
    let mut refused = None;
    for _ in 0..50 {
        let (status, body) = login_at(&mock, &tenant, "0").await;
        if status != 200 {
            refused = Some((status, body));
            break;
        }
    }
    // Assert: the tenant was refused with the server-wide error, the default world's
    // tokens all still work, and the access tokens of both worlds stay within the cap.
    let (status, body) = refused.expect("a never-expiring flood is refused at the cap");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "server_full", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("--max-total-tokens"),
        "{body}"
    );
    for token in kept.iter().map(String::as_str).chain([USER_TOKEN]) {
        let status = mock
            .get_with("/v1/access_tokens/current", token)
            .await
            .status();
        assert_eq!(status, 200, "{token}");
    }
    let path = tenant.replace(&mock.uri, "");
    let (_, here) = mock.get_json("/__mock/tokens").await;
    let (_, there) = mock.get_json(&format!("{path}/__mock/tokens")).await;
    let total = here["total"].as_u64().unwrap() + there["total"].as_u64().unwrap();
    assert!(total <= 24, "{total} access tokens");
    assert_eq!(here["total"], 5, "{here}");
}

/// `GET /v1/access_tokens/current` at the world at `base`, as the client `ip`; the status.
async fn call_from(mock: &TestMock, base: &str, ip: &str) -> u16 {
    mock.client
        .get(format!("{base}/v1/access_tokens/current"))
        .header("X-Forwarded-For", ip)
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `--max-total-tracked-clients`: rate-limited clients of all worlds together.
#[tokio::test]
async fn tracked_clients_are_capped_across_worlds() {
    // Arrange
    let mut config = Config::default();
    config.max_total_tracked_clients = 5;
    config.trust_forwarded = true;
    let mock = spawn_with_config(config).await;
    let tenant = create(&mock, None).await;
    // Act: four addresses at the default world, then four at the tenant.
    for (base, first) in [(mock.uri.as_str(), 1), (tenant.as_str(), 11)] {
        for i in first..first + 4 {
            assert_eq!(call_from(&mock, base, &format!("10.0.0.{i}")).await, 200);
        }
    }
    // Assert: 5 tracked in all; the tenant's extra clients were admitted untracked.
    let path = tenant.replace(&mock.uri, "");
    let (_, here) = mock.get_json("/__mock/rate-limits").await;
    let (_, there) = mock.get_json(&format!("{path}/__mock/rate-limits")).await;
    assert_eq!(here["tracked_clients"], 4, "{here}");
    assert_eq!(there["tracked_clients"], 1, "{there}");
    assert_eq!(there["untracked_admissions"], 3, "{there}");
    // Deleting the tenant gives its room back.
    let (status, _) = mock
        .call(
            Method::DELETE,
            &format!("/__mock/tenants/{}", path.trim_start_matches("/t/")),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(call_from(&mock, &mock.uri, "10.0.0.99").await, 200);
    let (_, here) = mock.get_json("/__mock/rate-limits").await;
    assert_eq!(here["tracked_clients"], 5, "{here}");
}

/// `--max-total-records`: users, customers, devices, clients and API users of all
/// worlds together, fixtures included; a full server refuses new tenants and new
/// records with `503 server_full`, and a deleted tenant gives its records back.
#[tokio::test]
async fn directory_records_are_capped_across_worlds() {
    // Arrange: room for the default world's fixtures and a few tenants.
    let per_world = {
        let probe = spawn_mock().await;
        let (_, users) = probe.get_json("/__mock/users").await;
        let (_, clients) = probe.get_json("/__mock/clients").await;
        let (_, customers) = probe.get_json("/__mock/customers").await;
        // Devices and API users are not listed here; the test reads the cap back
        // from when creation stops instead of computing it.
        users["users"].as_array().unwrap().len()
            + clients["clients"].as_array().unwrap().len()
            + customers["customers"].as_array().unwrap().len()
    };
    let mut config = Config::default();
    config.max_total_records = per_world * 4;
    let mock = spawn_with_config(config).await;
    // Act: tenants until the server is full.
    let mut tenants = Vec::new();
    let refusal = loop {
        let (status, body) = mock.call(Method::POST, "/__mock/tenants", None).await;
        if status != 201 {
            break (status, body);
        }
        tenants.push(body["id"].as_str().unwrap().to_string());
        assert!(tenants.len() < 10, "never refused");
    };
    // Assert: refused 503 server_full naming the option; so is a new user, until a
    // tenant is deleted.
    assert_eq!(refusal.0, 503, "{}", refusal.1);
    assert_eq!(refusal.1["error"], "server_full", "{}", refusal.1);
    assert!(!tenants.is_empty());
    let new_user = json!({"email": "late@example.com", "password": "pw"});
    let mut created = 0;
    let full = loop {
        let email = format!("late{created}@example.com");
        let (status, body) = mock
            .post_json("/__mock/users", json!({"email": email, "password": "pw"}))
            .await;
        if status != 201 && status != 200 {
            break (status, body);
        }
        created += 1;
        assert!(created < per_world * 4, "never refused");
    };
    assert_eq!(full.0, 503, "{}", full.1);
    assert_eq!(full.1["error"], "server_full", "{}", full.1);
    let (status, _) = mock
        .call(
            Method::DELETE,
            &format!("/__mock/tenants/{}", tenants[0]),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = mock.post_json("/__mock/users", new_user).await;
    assert!(status == 201 || status == 200, "{status} {body}");
}
