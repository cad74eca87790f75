//! No secret in the logs: every event and span the library emits at TRACE
//! level during a full flow is captured, and no password, OTP, recovery code, client
//! secret, TOTP secret or token appears in them, nor in the request journal
//! (`GET /__mock/journal`).
//!
//! A test binary of its own: the capturing subscriber is the process-wide default, so no
//! other test's thread can race it for tracing's per-callsite interest cache.

#![allow(clippy::unwrap_used)]

#[path = "api/helpers.rs"]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex};

use particle_auth_mock::{Fixtures, MockServer};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

use helpers::*;

const USER_PASSWORD: &str = "S3cret-user-pa55word";
const MFA_PASSWORD: &str = "S3cret-mfa-pa55word";
const WRONG_PASSWORD: &str = "Wr0ng-guess-pa55word";
const CLIENT_SECRET: &str = "615c620d647b6e1dab13bef1695c120b0293c342";
const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXP";
const RECOVERY_CODE: &str = "rc002-bbbbb";

/// A `MakeWriter` appending every line to one shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn fixtures_with_distinct_passwords() -> Fixtures {
    let json = include_str!("../fixtures/default.json");
    let mut doc: serde_json::Value = serde_json::from_str(json).unwrap();
    for user in doc["users"].as_array_mut().unwrap() {
        let password = if user["email"] == "mfa@example.com" {
            MFA_PASSWORD
        } else {
            USER_PASSWORD
        };
        user["password"] = json!(password);
    }
    Fixtures::from_json(&doc.to_string()).unwrap()
}

/// Runs the flow and returns every secret it handled.
async fn full_flow(mock: &TestMock) -> Vec<String> {
    let mut secrets: Vec<String> = [
        USER_PASSWORD,
        MFA_PASSWORD,
        WRONG_PASSWORD,
        CLIENT_SECRET,
        TOTP_SECRET,
        RECOVERY_CODE,
        USER_TOKEN,
        API_USER_TOKEN,
    ]
    .map(String::from)
    .to_vec();
    // Password login, then refresh.
    let login = mock.login("user@example.com", USER_PASSWORD).await;
    let access = login["access_token"].as_str().unwrap().to_string();
    let refresh = login["refresh_token"].as_str().unwrap().to_string();
    let refreshed = mock
        .token_request(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    let (status, refreshed) = status_and_json(refreshed).await;
    assert_eq!(status, 200);
    secrets.extend([access.clone(), refresh]);
    secrets.push(refreshed["access_token"].as_str().unwrap().into());
    secrets.push(refreshed["refresh_token"].as_str().unwrap().into());
    // MFA login with an OTP, and another with a recovery code.
    for (grant, field, code) in [
        ("urn:custom:mfa-otp", "otp", totp_code(&mock.clock)),
        (
            "urn:custom:recovery-code",
            "recovery_code",
            RECOVERY_CODE.into(),
        ),
    ] {
        let challenge = mock
            .token_request(&[
                ("grant_type", "password"),
                ("username", "mfa@example.com"),
                ("password", MFA_PASSWORD),
            ])
            .await;
        let (status, challenge) = status_and_json(challenge).await;
        assert_eq!(status, 403);
        let mfa_token = challenge["mfa_token"].as_str().unwrap().to_string();
        let answer = mock
            .token_request(&[
                ("grant_type", grant),
                ("mfa_token", &mfa_token),
                (field, &code),
            ])
            .await;
        let (status, answer) = status_and_json(answer).await;
        assert_eq!(status, 200, "{answer}");
        secrets.extend([mfa_token, code]);
        secrets.push(answer["access_token"].as_str().unwrap().into());
    }
    // A failed login.
    let failed = mock
        .token_request(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", WRONG_PASSWORD),
        ])
        .await;
    assert_eq!(failed.status(), 400);
    // A product client's token (client secret in the body).
    let product = mock
        .client
        .post(mock.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "demo-product-2146"),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let (status, product) = status_and_json(product).await;
    assert_eq!(status, 200, "{product}");
    secrets.push(product["access_token"].as_str().unwrap().into());
    // An API user created, then used with ?access_token=.
    let created = mock
        .client
        .post(mock.url("/v1/products/demo-product/team"))
        .bearer_auth(&access)
        .json(&json!({"friendly_name": "Logged", "scopes": ["devices:list"]}))
        .send()
        .await
        .unwrap();
    let (status, created) = status_and_json(created).await;
    assert_eq!(status, 200, "{created}");
    let api_token = created["created"]["tokens"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let used = mock
        .client
        .get(mock.url(&format!(
            "/v1/products/demo-product/devices?access_token={api_token}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(used.status(), 200);
    secrets.push(api_token);
    // The legacy list with Basic credentials, and a revocation by path.
    let listed = mock
        .client
        .get(mock.url("/v1/access_tokens"))
        .basic_auth("user@example.com", Some(USER_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let revoked = mock
        .client
        .delete(mock.url(&format!("/v1/access_tokens/{access}")))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let rejected = mock.get_with("/v1/user", &access).await;
    assert_eq!(rejected.status(), 401);
    secrets
}

/// Live tokens sent in every path encoding the router decodes, in
/// the default world and under a tenant's `/t/<id>/` prefix. Returns the tokens and the
/// tenant's journal.
async fn encoding_tricks(mock: &TestMock) -> (Vec<String>, String) {
    let tenant = mock.server.create_tenant().unwrap();
    let tenant_prefix = tenant.uri().replace(&mock.uri, "");
    let mut tokens = Vec::new();
    for prefix in ["", tenant_prefix.as_str()] {
        let login = mock
            .client
            .post(mock.url(&format!("{prefix}/oauth/token")))
            .basic_auth("particle", Some("particle"))
            .form(&[
                ("grant_type", "password"),
                ("username", "user@example.com"),
                ("password", USER_PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        let (status, login) = status_and_json(login).await;
        assert_eq!(status, 200, "{login}");
        let token = login["access_token"].as_str().unwrap().to_string();
        let first = format!("%{:02x}", token.as_bytes()[0]);
        let all: String = token.bytes().map(|b| format!("%{b:02X}")).collect();
        for path in [
            format!("/v1/access_tokens/{first}{}", &token[1..]),
            format!("/v1/access_tokens/{token}0"),
            format!("/v1/access_tokens/{all}"),
            format!("/v1/access%5Ftokens/{first}{}", &token[1..]),
            format!("/v1/devices/{token}"),
            format!("/v1/access_tokens/{token}%2Fx"),
        ] {
            for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
                let _ = mock
                    .client
                    .request(method, mock.url(&format!("{prefix}{path}")))
                    .send()
                    .await
                    .unwrap();
            }
        }
        tokens.push(token);
    }
    let journal = mock
        .client
        .get(mock.url(&format!("{tenant_prefix}/__mock/journal")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (tokens, journal)
}

#[tokio::test]
async fn no_secret_appears_in_the_logs_of_a_full_flow_at_trace_level() {
    // Arrange: every span and event of the process.
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .without_time()
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let mock = spawn_with(MockServer::builder().fixtures(fixtures_with_distinct_passwords())).await;
    // Act
    let mut secrets = full_flow(&mock).await;
    let (tricked, tenant_journal) = encoding_tricks(&mock).await;
    let journal = mock
        .client
        .get(mock.url("/__mock/journal"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let journal = format!("{journal}\n{tenant_journal}");
    // A token cut by one character (an encoded first byte) is still a secret: any 32
    // characters of it count.
    secrets.extend(tricked.iter().map(|t| t[1..33].to_string()));
    secrets.extend(tricked.iter().map(|t| t[1..33].to_uppercase()));
    drop(mock);
    // Assert
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("request"),
        "the capture saw the request spans: {logs}"
    );
    assert!(journal.contains("/oauth/token"), "{journal}");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "secret {secret:?} found in the logs:\n{logs}"
        );
        assert!(
            !journal.contains(secret.as_str()),
            "secret {secret:?} found in the request journal:\n{journal}"
        );
    }
}
