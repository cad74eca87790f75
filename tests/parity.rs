//! The `parity` subcommand, run as a process against targets the tests start:
//! a second mock (no difference), a divergent stand-in in front of a mock (each
//! difference reported exactly), the committed oracle snapshots, and the safety rules.
//! Run alone with `cargo test --test parity`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use particle_auth_mock::control::{MembershipSpec, NewUser};
use particle_auth_mock::MockServer;
use serde_json::Value;

const DEVICE: &str = "0123456789abcdef01234567";

/// Runs `particle-auth-mock parity ARGS` with only the given PARTICLE_* variables.
async fn parity(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_particle-auth-mock"));
    command.arg("parity").args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("PARTICLE_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let output = command.output().await.expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code().unwrap_or(-1), stdout)
}

/// `parity --target URI --flow F… --json` with [`default_env`].
async fn parity_flows(uri: &str, flows: &[&str]) -> (i32, String) {
    let mut args = vec!["--target", uri];
    for flow in flows {
        args.extend(["--flow", flow]);
    }
    args.push("--json");
    parity(&args, &default_env()).await
}

fn default_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PARTICLE_USERNAME", "user@example.com"),
        ("PARTICLE_PASSWORD", "password"),
        ("PARTICLE_DEVICE", DEVICE),
        ("PARTICLE_FUNCTION", "led"),
        ("PARTICLE_PRODUCT", "demo-product"),
        ("PARTICLE_PRODUCT_CLIENT_ID", "demo-product-2146"),
        ("PARTICLE_PRODUCT_CLIENT_SECRET", PRODUCT_CLIENT_SECRET),
    ]
}

/// The secret of the default fixtures' product client.
const PRODUCT_CLIENT_SECRET: &str = "615c620d647b6e1dab13bef1695c120b0293c342";

/// The `differences` of a `--json` report as `(flow, step, kind, path)`.
fn differences(report: &Value) -> HashSet<(String, String, String, String)> {
    report["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (s("flow"), s("step"), s("kind"), s("path"))
        })
        .collect()
}

fn set(items: &[(&str, &str, &str, &str)]) -> HashSet<(String, String, String, String)> {
    items
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect()
}

/// How a stand-in changes the answers of the mock behind it.
type Mutation = fn(&str, &str, bool, &mut u16, &mut http::HeaderMap, &mut Value);

#[derive(Clone)]
struct StandIn {
    upstream: String,
    client: reqwest::Client,
    mutate: Mutation,
    token_requests: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    /// Requests to this path and query prefix get a body that breaks off mid-answer.
    break_path: Option<&'static str>,
    /// Every `POST /oauth/token` is answered 400 `invalid_grant`.
    refuse_logins: bool,
}

fn no_change(_: &str, _: &str, _: bool, _: &mut u16, _: &mut http::HeaderMap, _: &mut Value) {}

async fn forward(State(s): State<StandIn>, request: Request) -> Response {
    s.requests.fetch_add(1, Ordering::SeqCst);
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let authorized = request.headers().contains_key("authorization");
    if path.starts_with("/oauth/token") {
        s.token_requests.fetch_add(1, Ordering::SeqCst);
        if s.refuse_logins {
            return Response::builder()
                .status(400)
                .header("content-type", "application/json; charset=utf-8")
                .body(Body::from(
                    r#"{"error":"invalid_grant","error_description":"User credentials are invalid"}"#,
                ))
                .expect("response");
        }
    }
    if s.break_path.is_some_and(|p| path == p) {
        let broken = futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("broken by the stand-in"))
        });
        return Response::builder()
            .status(200)
            .body(Body::from_stream(broken))
            .expect("response");
    }
    let mut upstream = s
        .client
        .request(method.clone(), format!("{}{path}", s.upstream));
    for (name, value) in request.headers() {
        if matches!(name.as_str(), "authorization" | "content-type" | "accept") {
            upstream = upstream.header(name, value);
        }
    }
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let answer = upstream.body(body).send().await.expect("the mock answers");
    let mut status = answer.status().as_u16();
    let mut headers = http::HeaderMap::new();
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            headers.append(name.clone(), value.clone());
        }
    }
    let streaming = headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let mutate = s.mutate;
    if streaming {
        // Stream events pass through chunk by chunk, each changed as text.
        let stream = futures_util::stream::unfold(answer, move |mut answer| async move {
            match answer.chunk().await {
                Ok(Some(chunk)) => {
                    let mut text = Value::String(String::from_utf8_lossy(&chunk).into_owned());
                    let mut ignored = 0;
                    mutate(
                        "STREAM",
                        "",
                        false,
                        &mut ignored,
                        &mut http::HeaderMap::new(),
                        &mut text,
                    );
                    let bytes = Bytes::from(text.as_str().unwrap_or_default().to_string());
                    Some((Ok::<Bytes, std::io::Error>(bytes), answer))
                }
                _ => None,
            }
        });
        let mut response = Response::new(Body::from_stream(stream));
        *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
        *response.headers_mut() = headers;
        return response;
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    mutate(
        method.as_str(),
        &path,
        authorized,
        &mut status,
        &mut headers,
        &mut json,
    );
    let body = if json.is_null() {
        bytes.to_vec()
    } else {
        serde_json::to_vec(&json).expect("json")
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
    *response.headers_mut() = headers;
    response
}

struct Target {
    uri: String,
    token_requests: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

async fn stand_in(
    mock: &MockServer,
    mutate: Mutation,
    break_path: Option<&'static str>,
    refuse_logins: bool,
) -> Target {
    let state = StandIn {
        upstream: mock.uri(),
        client: reqwest::Client::new(),
        mutate,
        token_requests: Arc::default(),
        requests: Arc::default(),
        break_path,
        refuse_logins,
    };
    let (token_requests, requests) = (state.token_requests.clone(), state.requests.clone());
    let app = axum::Router::new().fallback(forward).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let uri = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    Target {
        uri,
        token_requests,
        requests,
        _task: task,
    }
}

fn rename(map: &mut serde_json::Map<String, Value>, from: &str, to: &str) {
    let old = std::mem::take(map);
    for (k, v) in old {
        map.insert(if k == from { to.to_string() } else { k }, v);
    }
}

/// One of each kind of divergence, each on one request only.
fn diverge(
    method: &str,
    path: &str,
    authorized: bool,
    status: &mut u16,
    headers: &mut http::HeaderMap,
    json: &mut Value,
) {
    match (method, path) {
        // A stream event reshaped: `coreid` renamed.
        ("STREAM", _) => {
            if let Value::String(text) = json {
                *text = text.replace("\"coreid\"", "\"device_id\"");
            }
        }
        // A status changed.
        ("GET", p) if p.ends_with("/parityNoSuchVariable") => *status = 400,
        // A key renamed.
        ("GET", "/v1/user") if authorized && *status == 200 => {
            if let Some(map) = json.as_object_mut() {
                rename(map, "username", "user_name");
            }
        }
        // A type changed.
        ("GET", p) if p.ends_with("/led") => {
            if let Some(result) = json.get_mut("result") {
                *result = Value::from(1);
            }
        }
        // An error string changed.
        ("GET", "/v1/user") if !authorized => {
            json["error_description"] = Value::String("Token missing".into());
        }
        // A header dropped.
        ("POST", "/oauth/token") if *status == 400 => {
            headers.remove("pragma");
        }
        _ => {}
    }
}

#[tokio::test]
async fn two_mocks_show_no_difference() {
    // Arrange
    let target = MockServer::start().await;
    // Act
    let (code, out) = parity(&["--target", &target.uri()], &default_env()).await;
    // Assert
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no differences"), "{out}");
    assert!(out.contains("events               compared"), "{out}");
    assert!(out.contains("webhook              compared"), "{out}");
}

#[tokio::test]
async fn a_divergent_stand_in_gets_each_difference_reported_and_nothing_else() {
    // Arrange
    let mock = MockServer::start().await;
    let target = stand_in(&mock, diverge, None, false).await;
    // Act
    let (code, out) = parity(&["--target", &target.uri, "--json"], &default_env()).await;
    // Assert
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).expect("json report");
    assert_eq!(report["result"], "drift");
    let expected = set(&[
        ("unknown_names", "variable", "status", "status"),
        ("user", "user", "key", "$.body.username"),
        ("user", "user", "key", "$.body.user_name"),
        (
            "rate_limit_headers",
            "rate_limit_headers",
            "key",
            "$.body.username",
        ),
        (
            "rate_limit_headers",
            "rate_limit_headers",
            "key",
            "$.body.user_name",
        ),
        ("device_calls", "read", "type", "$.body.result"),
        (
            "auth_errors",
            "missing_token",
            "error_string",
            "$.body.error_description",
        ),
        ("wrong_password", "wrong_password", "header", "pragma"),
        ("events", "stream", "key", "$.events[0].data.coreid"),
        ("events", "stream", "key", "$.events[0].data.device_id"),
    ]);
    assert_eq!(differences(&report), expected, "{out}");
    // Both answers are shown.
    let status = report["differences"]
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["kind"] == "status")
        .expect("status difference");
    assert_eq!(
        (status["mock"].clone(), status["target"].clone()),
        (404.into(), 400.into())
    );
    let error = report["differences"]
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["kind"] == "error_string")
        .expect("error difference");
    assert_eq!(error["mock"], "The access token was not found");
    assert_eq!(error["target"], "Token missing");
}

#[tokio::test]
async fn an_allow_list_entry_naming_its_fidelity_row_turns_drift_into_equal() {
    // Arrange
    let mock = MockServer::start().await;
    let target = stand_in(&mock, diverge, None, false).await;
    let dir = temp_dir("allow");
    let allow = dir.join("allow.json");
    let entries: Vec<Value> = [
        "unknown_names",
        "user",
        "rate_limit_headers",
        "device_calls",
        "auth_errors",
        "wrong_password",
        "events",
    ]
    .iter()
    .map(
        |f| serde_json::json!({"flow": f, "fidelity": "docs/fidelity.md#parity", "reason": "test"}),
    )
    .collect();
    std::fs::write(&allow, serde_json::to_string(&entries).expect("json")).expect("write");
    // Act
    let (code, out) = parity(
        &[
            "--target",
            &target.uri,
            "--allow",
            allow.to_str().expect("utf-8"),
        ],
        &default_env(),
    )
    .await;
    // Assert
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(allowed: docs/fidelity.md#parity)"), "{out}");
    // An entry without its fidelity row is a usage error.
    std::fs::write(&allow, r#"[{"flow":"user","fidelity":"","reason":"x"}]"#).expect("write");
    let (code, out) = parity(
        &[
            "--target",
            &target.uri,
            "--allow",
            allow.to_str().expect("utf-8"),
        ],
        &default_env(),
    )
    .await;
    assert_eq!(code, 2, "{out}");
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parity-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn allow_list() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("parity/allow.json")
}

fn oracle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("parity/snapshots")
}

#[tokio::test]
async fn the_committed_oracle_snapshots_pass_against_the_mock() {
    // Act
    let (code, out) = parity(
        &[
            "--snapshots",
            oracle().to_str().expect("utf-8"),
            "--allow",
            allow_list().to_str().expect("utf-8"),
        ],
        &[],
    )
    .await;
    // Assert
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("mock vs snapshot"), "{out}");
}

#[tokio::test]
async fn the_oracle_fails_when_the_mock_answers_differently() {
    // Arrange: a mock side whose login is refused answers every flow differently.
    let dir = oracle();
    // Act
    let (code, out) = parity(
        &[
            "--snapshots",
            dir.to_str().expect("utf-8"),
            "--mock-password",
            "not-the-password",
            "--json",
        ],
        &[],
    )
    .await;
    // Assert
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).expect("json report");
    assert!(
        differences(&report).contains(&(
            "login".into(),
            "login".into(),
            "status".into(),
            "status".into()
        )),
        "{out}"
    );
}

#[tokio::test]
async fn a_changed_snapshot_value_type_is_reported_exactly() {
    // Arrange: record a mock, then change one value's type in the recording.
    let target = MockServer::start().await;
    let dir = temp_dir("record");
    let (code, out) = parity(
        &[
            "--target",
            &target.uri(),
            "--snapshots",
            dir.to_str().expect("utf-8"),
            "--record",
        ],
        &default_env(),
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let file = dir.join("login.json");
    let mut login: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    assert!(login["source"]
        .as_str()
        .expect("source")
        .contains("--record against 127.0.0.1"));
    assert!(login["recorded"].as_str().expect("date").len() == 10);
    login["steps"][0]["body"]["expires_in"] = Value::String("3600".into());
    std::fs::write(&file, login.to_string()).expect("write");
    // Act
    let (code, out) = parity(
        &["--snapshots", dir.to_str().expect("utf-8"), "--json"],
        &default_env(),
    )
    .await;
    // Assert
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).expect("json report");
    assert_eq!(
        differences(&report),
        set(&[("login", "login", "type", "$.body.expires_in")]),
        "{out}"
    );
}

#[tokio::test]
async fn a_run_stays_within_the_token_request_limits_and_counts_them_honestly() {
    // Arrange
    let mock = MockServer::start().await;
    let target = stand_in(&mock, no_change, None, false).await;
    // Act
    let (code, out) = parity(&["--target", &target.uri, "--json"], &default_env()).await;
    // Assert
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(&out).expect("json report");
    let seen = target.token_requests.load(Ordering::SeqCst);
    assert_eq!(report["target"]["token_requests"], seen);
    assert!(seen <= 20);
    assert_eq!(report["target"]["failed_logins"], 1);
    assert_eq!(
        report["target"]["requests"],
        target.requests.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn refused_logins_stop_after_two() {
    // Arrange
    let mock = MockServer::start().await;
    let target = stand_in(&mock, no_change, None, true).await;
    // Act
    let (_code, out) = parity(&["--target", &target.uri], &default_env()).await;
    // Assert
    assert_eq!(target.token_requests.load(Ordering::SeqCst), 2, "{out}");
    assert!(
        out.contains("safety limit: 2 failed logins per run"),
        "{out}"
    );
}

#[tokio::test]
async fn every_token_created_is_revoked_even_when_a_flow_fails() {
    // Arrange: the device list breaks off mid-answer.
    let mock = MockServer::start().await;
    let before: HashSet<String> = mock
        .controls()
        .live_tokens()
        .into_iter()
        .map(|t| t.token)
        .collect();
    let target = stand_in(&mock, no_change, Some("/v1/devices"), false).await;
    // Act
    let (code, out) = parity(&["--target", &target.uri], &default_env()).await;
    // Assert
    assert_eq!(code, 2, "a network error exits 2: {out}");
    assert!(out.contains("target could not be reached"), "{out}");
    let after: HashSet<String> = mock
        .controls()
        .live_tokens()
        .into_iter()
        .map(|t| t.token)
        .collect();
    assert_eq!(after, before, "tokens left live by the run");
}

/// Webhooks the target created for [`hide_webhooks`]'s test.
static HOOKS_CREATED: AtomicUsize = AtomicUsize::new(0);

/// The webhook list answered empty: the flow cannot find the webhook it created.
fn hide_webhooks(
    method: &str,
    path: &str,
    _: bool,
    status: &mut u16,
    _: &mut http::HeaderMap,
    json: &mut Value,
) {
    match (method, path) {
        ("POST", "/v1/webhooks") if *status == 201 => {
            HOOKS_CREATED.fetch_add(1, Ordering::SeqCst);
        }
        ("GET", "/v1/webhooks") => *json = Value::Array(Vec::new()),
        _ => {}
    }
}

/// `GET path` on `mock` as the default user (logged in for it), as JSON.
async fn get_as_default_user(mock: &MockServer, path: &str) -> Value {
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{}/oauth/token", mock.uri()))
        .form(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
            ("client_id", "particle"),
            ("client_secret", "particle"),
        ])
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["access_token"].as_str().expect("token");
    client
        .get(format!("{}{path}", mock.uri()))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json")
}

/// The webhooks of the default user on `mock`, read through the API.
async fn webhooks_of(mock: &MockServer) -> Vec<Value> {
    serde_json::from_value(get_as_default_user(mock, "/v1/webhooks").await).expect("a list")
}

#[tokio::test]
async fn the_created_webhook_is_deleted_even_when_a_later_step_fails() {
    // Arrange: the target's webhook list hides the webhook the flow creates.
    let mock = MockServer::start().await;
    let target = stand_in(&mock, hide_webhooks, None, false).await;
    // Act
    let (code, out) = parity_flows(&target.uri, &["login", "webhook"]).await;
    // Assert: the flow failed after the creation, and the cleanup deleted the webhook.
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).expect("json report");
    let flow = report["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .find(|f| f["flow"] == "webhook")
        .expect("the webhook flow")
        .clone();
    assert_eq!(flow["state"], "error", "{out}");
    assert!(
        flow["note"]
            .as_str()
            .expect("note")
            .contains("the created webhook in the list"),
        "{out}"
    );
    assert!(
        differences(&report).contains(&(
            "webhook".into(),
            String::new(),
            "flow".into(),
            String::new()
        )),
        "{out}"
    );
    assert_eq!(HOOKS_CREATED.load(Ordering::SeqCst), 1, "{out}");
    assert_eq!(webhooks_of(&mock).await, Vec::<Value>::new(), "{out}");
}

/// The API users of the default fixtures' product whose name the parity run made.
async fn parity_api_users(mock: &MockServer) -> Vec<Value> {
    let team = get_as_default_user(mock, "/v1/products/demo-product/team").await;
    team["team"]
        .as_array()
        .expect("team list")
        .iter()
        .filter(|m| {
            m["username"]
                .as_str()
                .is_some_and(|u| u.starts_with("parity-"))
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_api_user_a_flow_created_is_deleted_even_when_a_later_step_fails() {
    // Arrange: the customer list (the API user's out-of-scope call) breaks off mid-answer.
    let mock = MockServer::start().await;
    let target = stand_in(
        &mock,
        no_change,
        Some("/v1/products/demo-product/customers"),
        false,
    )
    .await;
    // Act
    let (code, out) = parity_flows(&target.uri, &["login", "api_user"]).await;
    // Assert: the flow stopped after the creation, and the cleanup deleted the API user.
    assert_eq!(code, 2, "a network error exits 2: {out}");
    assert_eq!(parity_api_users(&mock).await, Vec::<Value>::new(), "{out}");
}

#[tokio::test]
async fn the_product_flows_compare_a_product_token_and_an_api_user_scope_refusal() {
    // Arrange: a target whose insufficient-scope refusal answers 400 instead of 403.
    fn scope_400(
        method: &str,
        path: &str,
        _: bool,
        status: &mut u16,
        _: &mut http::HeaderMap,
        json: &mut Value,
    ) {
        let refusal = json["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Insufficient scope"));
        if method == "GET" && path == "/v1/products/demo-product/customers" && refusal {
            *status = 400;
        }
    }
    let mock = MockServer::start().await;
    let target = stand_in(&mock, scope_400, None, false).await;
    // Act
    let (code, out) = parity_flows(&target.uri, &["login", "product", "api_user"]).await;
    // Assert: exactly the changed status; the product token's steps compared equal.
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).expect("json report");
    assert_eq!(
        differences(&report),
        set(&[("api_user", "out_of_scope", "status", "status")]),
        "{out}"
    );
    let states: Vec<(&str, &str)> = report["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| {
            (
                f["flow"].as_str().expect("name"),
                f["state"].as_str().expect("state"),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("login", "compared"),
            ("product", "compared"),
            ("api_user", "compared")
        ]
    );
    assert_eq!(parity_api_users(&mock).await, Vec::<Value>::new(), "{out}");
}

#[tokio::test]
async fn no_credential_or_token_appears_in_the_output_or_the_snapshots() {
    // Arrange: two targets with the same MFA user (one TOTP code is accepted once per
    // 30-s step, so the second run needs a target that has not seen it).
    let (email, password) = ("parity.secret.user@example.net", "Sup3r-S3cret-Pa55w0rd");
    let mfa_target = || async {
        let target = MockServer::start().await;
        target
            .controls()
            .add_user(NewUser {
                email: email.into(),
                password: password.into(),
                first_name: "Secret".into(),
                last_name: "User".into(),
                mfa_secret: Some("KRSXG5CTMVRXEZLU".into()),
                recovery_codes: Vec::new(),
                memberships: vec![MembershipSpec {
                    product: Some("demo-product".into()),
                    org: None,
                    role: "Administrator".into(),
                }],
            })
            .expect("user added");
        target
    };
    let (target, second) = (mfa_target().await, mfa_target().await);
    let env = [
        ("PARTICLE_USERNAME", email),
        ("PARTICLE_PASSWORD", password),
        ("PARTICLE_OTP_SECRET", "KRSXG5CTMVRXEZLU"),
        ("PARTICLE_PRODUCT", "demo-product"),
        ("PARTICLE_PRODUCT_CLIENT_ID", "demo-product-2146"),
        ("PARTICLE_PRODUCT_CLIENT_SECRET", PRODUCT_CLIENT_SECRET),
    ];
    let dir = temp_dir("secrets");
    // Act
    let (code, recorded) = parity(
        &[
            "--target",
            &target.uri(),
            "--snapshots",
            dir.to_str().expect("utf-8"),
            "--record",
        ],
        &env,
    )
    .await;
    let (_, report) = parity(&["--target", &second.uri(), "--json"], &env).await;
    let (_, dry) = parity(&["--target", &target.uri(), "--dry-run"], &env).await;
    // Assert
    assert_eq!(code, 0, "{recorded}");
    let mut texts = vec![recorded, report, dry];
    for entry in std::fs::read_dir(&dir).expect("dir") {
        texts.push(std::fs::read_to_string(entry.expect("entry").path()).expect("read"));
    }
    // The mock's user got MFA too, so the login flows compare challenge with challenge.
    let parsed: Value = serde_json::from_str(&texts[1]).expect("json report");
    let login_differences: Vec<&Value> = parsed["differences"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|d| d["flow"] == "login")
        .collect();
    assert!(login_differences.is_empty(), "{login_differences:?}");
    let login = std::fs::read_to_string(dir.join("login.json")).expect("login snapshot");
    assert!(login.contains("login_otp"), "the MFA step ran: {login}");
    let api_user = std::fs::read_to_string(dir.join("api_user.json")).expect("api_user snapshot");
    assert!(
        api_user.contains("out_of_scope"),
        "the API user flow ran: {api_user}"
    );
    for text in &texts {
        for secret in [email, password, "KRSXG5CTMVRXEZLU", PRODUCT_CLIENT_SECRET] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(!has_hex_run(text, 40), "a token in {text}");
    }
}

fn has_hex_run(text: &str, n: usize) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w.len() == n && w.chars().all(|c| c.is_ascii_hexdigit()))
}

#[tokio::test]
async fn a_dry_run_lists_the_requests_and_sends_nothing() {
    // Arrange
    let mock = MockServer::start().await;
    let target = stand_in(&mock, no_change, None, false).await;
    // Act
    let (code, out) = parity(&["--target", &target.uri, "--dry-run"], &default_env()).await;
    // Assert
    assert_eq!(code, 0, "{out}");
    assert_eq!(target.requests.load(Ordering::SeqCst), 0);
    assert!(
        out.contains("POST /oauth/token grant_type=password expires_in=3600"),
        "{out}"
    );
    assert!(out.contains("settles [UNKNOWN]"), "{out}");
}

#[tokio::test]
async fn a_chosen_flow_runs_alone_and_names_the_unknowns_it_settles() {
    // Arrange
    let target = MockServer::start().await;
    // Act
    let (code, out) = parity_flows(&target.uri(), &["login", "short_token"]).await;
    // Assert
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(&out).expect("json report");
    let flows: Vec<&str> = report["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| f["flow"].as_str().expect("name"))
        .collect();
    assert_eq!(flows, ["login", "short_token"]);
    let settles = report["flows"][1]["settles"][0]
        .as_str()
        .expect("an [UNKNOWN]");
    assert!(settles.contains("§2.3"), "{settles}");
    assert_eq!(report["target"]["token_requests"], 2);
    let (code, out) = parity(
        &["--target", &target.uri(), "--flow", "nope"],
        &default_env(),
    )
    .await;
    assert_eq!(
        (code, out.contains("unknown flow `nope`")),
        (2, true),
        "{out}"
    );
}

/// Drops the run's events from every stream chunk (keep-alive bytes still pass).
fn lose_events(
    method: &str,
    _: &str,
    _: bool,
    _: &mut u16,
    _: &mut http::HeaderMap,
    json: &mut Value,
) {
    if let (Value::String(text), "STREAM") = (&*json, method) {
        if text.contains("event:") {
            *json = Value::String(String::new());
        }
    }
}

#[tokio::test]
async fn an_event_that_never_arrives_is_reported_once_the_wait_ends_despite_keep_alives() {
    // Arrange: keep-alive bytes every 100 ms, and the stand-in loses the published event.
    // The wait is parity's real network deadline (1 s): a real cloud has no clock to move.
    let config = particle_auth_mock::Config {
        event_keepalive_ms: 100,
        ..particle_auth_mock::Config::default()
    };
    let mock = MockServer::builder()
        .config(config)
        .start()
        .await
        .expect("mock");
    let target = stand_in(&mock, lose_events, None, false).await;
    // Act
    let (code, out) = parity(
        &[
            "--target",
            &target.uri,
            "--flow",
            "login",
            "--flow",
            "events",
            "--timeout-secs",
            "1",
            "--json",
        ],
        &default_env(),
    )
    .await;
    // Assert
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).expect("json report");
    assert_eq!(
        differences(&report),
        set(&[("events", "stream", "events", "$.events")]),
        "{out}"
    );
}

#[tokio::test]
async fn usage_and_network_errors_exit_2() {
    let (code, out) = parity(&[], &[]).await;
    assert_eq!(code, 2, "{out}");
    let (code, out) = parity(&["--target", "http://127.0.0.1:9"], &default_env()).await;
    assert_eq!(code, 2, "{out}");
    let (code, out) = parity(&["--target", "http://127.0.0.1:9"], &[]).await;
    assert_eq!(
        (code, out.contains("PARTICLE_USERNAME")),
        (2, true),
        "{out}"
    );
}
