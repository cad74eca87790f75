//! The benchmark's baseline: the least a correct mock must do, in bare axum.
//!
//! `POST /oauth/token` parses the form, checks HTTP Basic client credentials and one fixed
//! user, and answers two random 40-hex tokens; `GET /v1/access_tokens/current` checks one
//! fixed bearer token. Run by `bench/run.sh`; not part of the library.
//!
//! `bench-baseline ADDR --store` is the benchmark's *reference*, not its baseline: the same
//! handler that also keeps what any working mock must keep, each in a 64-shard map as the
//! mock's are. Both tokens go into token maps (a token that is not kept cannot be used
//! afterwards). One record per client, keyed by the leftmost `X-Forwarded-For` address
//! (or the peer), goes into a client map (a limiter must remember the client to count it).
//! It measures what storing costs a bare handler, apart from everything else the mock does.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use dashmap::DashMap;
use rand::RngCore;
use serde::Deserialize;

type Map<K, V> = DashMap<K, V, foldhash::fast::RandomState>;

/// What `--store` keeps (`None`: the plain baseline).
struct Kept {
    /// Access tokens: owner, client, expiry (ms).
    tokens: Map<[u8; 20], (u32, u16, i64)>,
    /// Refresh tokens: owner, client, expiry (ms), lifetime (s).
    refresh: Map<[u8; 20], (u32, u16, i64, i64)>,
    /// Per client: a request count and the time of its first request (ms).
    clients: Map<IpAddr, (u32, i64)>,
}

static KEPT: OnceLock<Option<Kept>> = OnceLock::new();

fn map<K: Eq + std::hash::Hash, V>() -> Map<K, V> {
    DashMap::with_hasher_and_shard_amount(foldhash::fast::RandomState::default(), 64)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The client a limiter would count: leftmost `X-Forwarded-For` address, else the peer.
fn client(headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(peer.ip())
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    username: Option<String>,
    password: Option<String>,
}

const BASIC_PARTICLE: &str = "Basic cGFydGljbGU6cGFydGljbGU=";
const FIXED_TOKEN: &str = "Bearer 1111111111111111111111111111111111111111";

fn json(status: StatusCode, body: String) -> axum::response::Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn token(headers: HeaderMap, Form(form): Form<TokenForm>) -> axum::response::Response {
    answer(&headers, &form, None)
}

/// `--store`: the same answer, keeping the client's record and the tokens.
async fn token_kept(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> axum::response::Response {
    let kept = KEPT.get().and_then(Option::as_ref);
    if let Some(kept) = kept {
        kept.clients
            .entry(client(&headers, peer))
            .and_modify(|(count, _)| *count += 1)
            .or_insert((1, now_ms()));
    }
    answer(&headers, &form, kept)
}

fn answer(headers: &HeaderMap, form: &TokenForm, kept: Option<&Kept>) -> axum::response::Response {
    let client_ok = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == BASIC_PARTICLE);
    let user_ok = form.grant_type == "password"
        && form.username.as_deref() == Some("user@example.com")
        && form.password.as_deref() == Some("password");
    if !(client_ok && user_ok) {
        return json(
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_grant","error_description":"User credentials are invalid"}"#
                .into(),
        );
    }
    let mut bytes = [0u8; 40];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let (access, refresh) = bytes.split_at(20);
    if let Some(kept) = kept {
        let expires = now_ms() + 7_776_000_000;
        let key = |b: &[u8]| <[u8; 20]>::try_from(b).unwrap_or_default();
        kept.tokens.insert(key(access), (1, 0, expires));
        kept.refresh
            .insert(key(refresh), (1, 0, expires + 1_209_600_000, 7_776_000));
    }
    json(
        StatusCode::OK,
        format!(
            r#"{{"token_type":"bearer","access_token":"{}","expires_in":7776000,"refresh_token":"{}"}}"#,
            hex::encode(access),
            hex::encode(refresh)
        ),
    )
}

async fn current(headers: HeaderMap) -> axum::response::Response {
    if headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == FIXED_TOKEN)
    {
        json(
            StatusCode::OK,
            r#"{"expires_at":null,"client":"particle","client_id":"particle","scopes":[],"orgs":[]}"#.into(),
        )
    } else {
        json(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_token","error_description":"The access token provided is invalid."}"#.into(),
        )
    }
}

#[tokio::main]
async fn main() {
    let mut addr = "127.0.0.1:0".to_string();
    let mut store = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--store" => store = true,
            _ => addr = arg,
        }
    }
    KEPT.get_or_init(|| {
        store.then(|| Kept {
            tokens: map(),
            refresh: map(),
            clients: map(),
        })
    });
    let app = Router::new()
        .route(
            "/oauth/token",
            if store { post(token_kept) } else { post(token) },
        )
        .route("/v1/access_tokens/current", get(current));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!(
        "listening on http://{}",
        listener.local_addr().expect("addr")
    );
    if store {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve");
    } else {
        axum::serve(listener, app).await.expect("serve");
    }
}
