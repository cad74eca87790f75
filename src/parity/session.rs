//! One side's run: an HTTP client bound to a base URL and credentials, the safety counters
//! (token requests, failed logins), the tokens to revoke at the end, and the normaliser
//! through which every answer passes before it is kept.

use std::time::Duration;

use serde_json::Value;

use crate::parity::capture::{header_matters, FlowRun, Step};
use crate::parity::normalise::Normaliser;
use crate::parity::options::Credentials;

/// At most this many `POST /oauth/token` per side and run (Particle allows 100 per 5 min).
pub(crate) const MAX_TOKEN_REQUESTS: usize = 20;
/// At most this many refused logins per side and run (Particle locks an IP out after 10).
pub(crate) const MAX_FAILED_LOGINS: usize = 2;
/// The lifetime of every token a run creates (seconds): under an hour, so a token that a
/// crash left behind expires soon.
pub(crate) const TOKEN_LIFETIME: &str = "3600";
/// The largest body kept of one answer.
const MAX_BODY: usize = 256 * 1024;
/// The most stream bytes read while waiting for the published event.
const MAX_STREAM: usize = 256 * 1024;

/// Why a flow stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FlowError {
    /// The target could not be reached or answered garbage (exit 2).
    #[error("network: {0}")]
    Network(String),
    /// A safety limit refused a request.
    #[error("safety limit: {0}")]
    Safety(&'static str),
    /// An answer lacked a value the rest of the flow needs.
    #[error("missing {0} in an answer")]
    Missing(&'static str),
}

/// A request to send.
#[derive(Debug, Default)]
pub(crate) struct Request {
    /// `GET`, `POST`, `DELETE`.
    pub method: &'static str,
    /// Path and query.
    pub path: String,
    /// The `Authorization` header value, if any.
    pub authorization: Option<String>,
    /// Form fields of the body (form-encoded when not empty).
    pub form: Vec<(&'static str, String)>,
    /// A JSON body (sent instead of the form when set).
    pub json: Option<Value>,
}

impl Request {
    /// A `GET` with an optional `Authorization` value.
    pub(crate) fn get(path: impl Into<String>, authorization: Option<String>) -> Self {
        Self {
            method: "GET",
            path: path.into(),
            authorization,
            ..Self::default()
        }
    }

    /// A `POST /oauth/token` with `form` (every token request of the flows).
    pub(crate) fn token(form: Vec<(&'static str, String)>) -> Self {
        Self {
            method: "POST",
            path: "/oauth/token".into(),
            form,
            ..Self::default()
        }
    }

    /// A `DELETE` with an optional `Authorization` value.
    pub(crate) fn delete(path: impl Into<String>, authorization: Option<String>) -> Self {
        Self {
            method: "DELETE",
            ..Self::get(path, authorization)
        }
    }
}

/// An answer, raw (for the flow's next request) — never written anywhere.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status.
    pub status: u16,
    /// The body as JSON (`null` when it is not JSON).
    pub json: Value,
}

/// One side's run.
pub(crate) struct Session {
    client: reqwest::Client,
    base: String,
    /// The credentials of this side.
    pub creds: Credentials,
    norm: Normaliser,
    /// The flow being run.
    pub current: FlowRun,
    /// Every request sent (normalised `METHOD path`), cleanup included.
    pub sent: Vec<String>,
    /// `POST /oauth/token` requests sent.
    pub token_requests: usize,
    /// Refused logins.
    pub failed_logins: usize,
    /// Tokens created and not yet revoked: the cleanup revokes them.
    pub created: Vec<String>,
    /// Webhooks created and not yet deleted, with the token that created each: the
    /// cleanup deletes them (before it revokes the tokens).
    pub created_hooks: Vec<(String, String)>,
    /// API users created and not yet deleted (their `/team/<username>` path), with the
    /// token that created each: the cleanup deletes them (before it revokes the tokens).
    pub created_api_users: Vec<(String, String)>,
    /// The token of the login flow.
    pub token: Option<String>,
    /// The run's unique event name.
    pub event_name: String,
    timeout: Duration,
}

impl Session {
    /// A session against `base` (no trailing slash needed).
    pub(crate) fn new(
        base: &str,
        creds: Credentials,
        event_name: String,
        timeout: Duration,
    ) -> Self {
        let mut norm = Normaliser::default();
        norm.secret(&creds.username, "email");
        norm.secret(&creds.password, "secret");
        for value in [
            &creds.otp_secret,
            &creds.client_secret,
            &creds.product_client_secret,
        ]
        .into_iter()
        .flatten()
        {
            norm.secret(value, "secret");
        }
        if let Some(product) = &creds.product {
            norm.secret(product, "product");
        }
        norm.secret(&event_name, "event");
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .user_agent(concat!(
                "particle-auth-mock-parity/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .unwrap_or_default();
        Self {
            client,
            base: base.trim_end_matches('/').to_string(),
            creds,
            norm,
            current: FlowRun::new(""),
            sent: Vec::new(),
            token_requests: 0,
            failed_logins: 0,
            created: Vec::new(),
            created_hooks: Vec::new(),
            created_api_users: Vec::new(),
            token: None,
            event_name,
            timeout,
        }
    }

    /// Marks a token as secret (it is normalised even where it is not 40 hex) and as
    /// created by this run (the cleanup revokes it).
    pub(crate) fn created_token(&mut self, token: &str) {
        self.norm.secret(token, "token");
        if !self.created.iter().any(|t| t == token) {
            self.created.push(token.to_string());
        }
    }

    /// Marks a token as secret without scheduling it for revocation (a refresh token).
    pub(crate) fn secret_token(&mut self, token: &str) {
        self.norm.secret(token, "token");
    }

    /// Forgets a token revoked by the flow itself.
    pub(crate) fn revoked(&mut self, token: &str) {
        self.created.retain(|t| t != token);
    }

    /// Schedules a webhook created with `token` for deletion by the cleanup.
    pub(crate) fn created_hook(&mut self, id: &str, token: &str) {
        if !self.created_hooks.iter().any(|(h, _)| h == id) {
            self.created_hooks.push((id.to_string(), token.to_string()));
        }
    }

    /// Forgets a webhook deleted by the flow itself.
    pub(crate) fn deleted_hook(&mut self, id: &str) {
        self.created_hooks.retain(|(h, _)| h != id);
    }

    /// Schedules an API user (its `/team/<username>` path) created with `token` for
    /// deletion by the cleanup.
    pub(crate) fn created_api_user(&mut self, path: &str, token: &str) {
        if !self.created_api_users.iter().any(|(p, _)| p == path) {
            self.created_api_users
                .push((path.to_string(), token.to_string()));
        }
    }

    /// Forgets an API user deleted by the flow itself.
    pub(crate) fn deleted_api_user(&mut self, path: &str) {
        self.created_api_users.retain(|(p, _)| p != path);
    }

    /// The normalised request line.
    fn line(&mut self, method: &str, path: &str) -> String {
        format!("{method} {}", self.norm.scrub(path))
    }

    fn builder(&self, request: &Request) -> reqwest::RequestBuilder {
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut builder = self
            .client
            .request(method, format!("{}{}", self.base, request.path));
        if let Some(auth) = &request.authorization {
            builder = builder.header("authorization", auth);
        }
        if let Some(json) = &request.json {
            builder = builder
                .header("content-type", "application/json")
                .body(json.to_string());
        } else if !request.form.is_empty() {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(request.form.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            builder = builder
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        builder
    }

    /// Checks the safety limits before a request.
    fn admit(&mut self, request: &Request) -> Result<bool, FlowError> {
        let token_request = request.path.starts_with("/oauth/token");
        if token_request {
            if self.token_requests >= MAX_TOKEN_REQUESTS {
                return Err(FlowError::Safety("20 token requests per run"));
            }
            if self.failed_logins >= MAX_FAILED_LOGINS {
                return Err(FlowError::Safety("2 failed logins per run"));
            }
            self.token_requests += 1;
        }
        Ok(token_request)
    }

    /// Sends a request, keeps its normalised answer as step `step`, returns it raw.
    pub(crate) async fn send(&mut self, step: &str, request: Request) -> Result<Answer, FlowError> {
        let token_request = self.admit(&request)?;
        let line = self.line(request.method, &request.path);
        self.sent.push(line.clone());
        let response = self
            .builder(&request)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| FlowError::Network(without_url(&e)))?;
        let status = response.status().as_u16();
        let (content_type, headers) = self.head(&response);
        let bytes = read_limited(response, MAX_BODY).await?;
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if token_request && status >= 400 && json.get("mfa_token").is_none() {
            self.failed_logins += 1;
        }
        let body = if bytes.is_empty() {
            Value::Null
        } else if json.is_null() {
            Value::String(self.norm.scrub(&String::from_utf8_lossy(&bytes)))
        } else {
            self.norm.json(&json)
        };
        self.current.steps.push(Step {
            name: step.to_string(),
            request: line,
            status,
            content_type,
            headers,
            headers_checked: None,
            body,
            events: Vec::new(),
        });
        Ok(Answer { status, json })
    }

    /// Sends a request whose answer is not kept (cleanup).
    pub(crate) async fn send_unkept(&mut self, request: Request) -> Result<u16, FlowError> {
        self.admit(&request)?;
        let line = self.line(request.method, &request.path);
        self.sent.push(line);
        let response = self
            .builder(&request)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| FlowError::Network(without_url(&e)))?;
        Ok(response.status().as_u16())
    }

    fn head(
        &mut self,
        response: &reqwest::Response,
    ) -> (Option<String>, std::collections::BTreeMap<String, String>) {
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.to_ascii_lowercase().replace(' ', ""));
        let mut headers = std::collections::BTreeMap::new();
        for (name, value) in response.headers() {
            if header_matters(name.as_str()).is_some() {
                let value = self.norm.scrub(value.to_str().unwrap_or("<binary>"));
                headers.insert(name.as_str().to_string(), value);
            }
        }
        (content_type, headers)
    }

    /// Opens an event stream (`Accept: text/event-stream`); the answer's head is kept
    /// when [`Session::read_events`] finishes the step.
    pub(crate) async fn open_stream(
        &mut self,
        request: Request,
    ) -> Result<reqwest::Response, FlowError> {
        self.admit(&request)?;
        let line = self.line(request.method, &request.path);
        self.sent.push(line);
        self.builder(&request)
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| FlowError::Network(without_url(&e)))
    }

    /// Reads a stream until an event named `name` arrives (or the timeout, or the size
    /// bound), and keeps the step with the events of that name.
    pub(crate) async fn read_events(
        &mut self,
        step: &str,
        path: &str,
        mut response: reqwest::Response,
        name: &str,
    ) -> Result<bool, FlowError> {
        let status = response.status().as_u16();
        let (content_type, headers) = self.head(&response);
        let mut text = String::new();
        let mut events = Vec::new();
        let mut arrived = false;
        // One deadline for the whole wait: keep-alive bytes every few seconds must not
        // extend it.
        let deadline = tokio::time::sleep(self.timeout);
        tokio::pin!(deadline);
        while status == 200 && text.len() < MAX_STREAM && !arrived {
            let chunk = tokio::select! {
                () = &mut deadline => break,
                next = response.chunk() => match next {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break,
                    Err(e) => return Err(FlowError::Network(without_url(&e))),
                },
            };
            text.push_str(&String::from_utf8_lossy(&chunk));
            events = parse_events(&text, name);
            arrived = !events.is_empty();
        }
        let body = if status == 200 {
            Value::Null
        } else {
            let bytes = read_limited(response, MAX_BODY).await.unwrap_or_default();
            let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            self.norm.json(&json)
        };
        let events = events.iter().map(|e| self.norm.json(e)).collect();
        let line = self.line("GET", path);
        self.current.steps.push(Step {
            name: step.to_string(),
            request: line,
            status,
            content_type,
            headers,
            headers_checked: None,
            body,
            events,
        });
        Ok(arrived)
    }
}

/// The complete events named `name` in a stream text: `{"event": name, "data": …}`.
fn parse_events(text: &str, name: &str) -> Vec<Value> {
    let mut found = Vec::new();
    // Only complete blocks (ended by a blank line) count.
    let complete = match text.rfind("\n\n") {
        Some(end) => &text[..end],
        None => return found,
    };
    for block in complete.split("\n\n") {
        let mut event = None;
        let mut data = None;
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                event = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("data:") {
                let v = v.trim();
                data = Some(serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.into())));
            }
        }
        if event.as_deref() == Some(name) {
            found.push(serde_json::json!({"event": name, "data": data.unwrap_or(Value::Null)}));
        }
    }
    found
}

async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, FlowError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FlowError::Network(without_url(&e)))?
    {
        let room = limit.saturating_sub(bytes.len());
        bytes.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or(&[]));
        if bytes.len() >= limit {
            break;
        }
    }
    Ok(bytes)
}

/// A client error's text without its URL (a URL may carry a device id or a query).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_connect() {
        "cannot connect"
    } else if error.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    kind.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_complete_events_of_the_name_are_read() {
        let text = ":ok\n\nevent: a\ndata: {\"data\":\"x\",\"ttl\":60}\n\nevent: b\ndata: {}\n\nevent: a\ndata: {\"da";
        let events = parse_events(text, "a");
        assert_eq!(
            events,
            vec![serde_json::json!({"event":"a","data":{"data":"x","ttl":60}})]
        );
    }
}
