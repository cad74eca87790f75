//! Small helpers for the control-API tests: JSON calls to `/__mock/…`.

#![allow(dead_code)]

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

impl TestMock {
    /// Calls `path` with an optional JSON body; returns status and JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        status_and_json(request.send().await.unwrap()).await
    }

    /// `GET path` as JSON.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// A password login at `base` (the root or a tenant URL), with Basic particle:particle.
    pub async fn login_at(&self, base: &str, username: &str, password: &str) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{base}/oauth/token"))
            .basic_auth("particle", Some("particle"))
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .unwrap();
        status_and_json(response).await
    }

    /// The status of `GET {base}/v1/access_tokens/current` with `token`.
    pub async fn token_status_at(&self, base: &str, token: &str) -> u16 {
        self.client
            .get(format!("{base}/v1/access_tokens/current"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}
