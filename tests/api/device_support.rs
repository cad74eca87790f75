//! What the device tests share: a request helper, and a fixtures document with one
//! member of every product role, API users with device scopes and a product client.

#![allow(dead_code)]

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestMock;

/// The default fixtures' online sandbox device (user@example.com's).
pub const ARGON: &str = "0123456789abcdef01234567";
/// The default fixtures' offline product device (demo-product, owned by user@example.com).
pub const BORON: &str = "89abcdef0123456789abcdef";
/// The default fixtures' online product device of customer@example.com (Device OS 1.5.2).
pub const PHOTON: &str = "fedcba9876543210fedcba98";

/// A world with every product role, API users with and without device scopes, and a
/// product client (for a product bearer token).
pub const ROLES_FIXTURES: &str = r#"{
  "users": [
    {"email":"owner@example.com","password":"password"},
    {"email":"viewer@example.com","password":"password"},
    {"email":"support@example.com","password":"password"},
    {"email":"dev@example.com","password":"password"},
    {"email":"stranger@example.com","password":"password"}
  ],
  "products": [
    {"id": 2001, "slug": "fleet", "platform_id": 12},
    {"id": 2002, "slug": "other", "platform_id": 12}
  ],
  "memberships": [
    {"user":"viewer@example.com","product":"fleet","role":"View-only"},
    {"user":"support@example.com","product":"fleet","role":"Support"},
    {"user":"dev@example.com","product":"fleet","role":"Developer"}
  ],
  "clients": [
    {"id":"fleet-client","secret":"fleet-secret","product":"fleet"},
    {"id":"other-client","secret":"other-secret","product":"other"}
  ],
  "customers": [{"email":"buyer@example.com","password":"password","product":"fleet"}],
  "devices": [
    {"id":"aaaaaaaaaaaaaaaaaaaaaaaa","name":"fleet-one","product":"fleet","customer":"buyer@example.com",
     "platform_id":12,"online":true,
     "functions":[{"name":"go","returns":"argument_as_int","publish":{"name":"went"}}],
     "variables":{"speed":{"type":"int32","value":7}}},
    {"id":"bbbbbbbbbbbbbbbbbbbbbbbb","name":"mine","owner":"owner@example.com","platform_id":12,
     "online":true,"functions":["go"],"variables":{"speed":"int32"}},
    {"id":"cccccccccccccccccccccccc","name":"unowned","product":"fleet","platform_id":12,"online":false}
  ],
  "api_users": [
    {"friendly_name":"caller","username":"caller+1@api.particle.io","product":"fleet",
     "scopes":["devices.function:call","devices.variable:get","devices:get","devices:update",
               "devices:ping","devices:release"],
     "token":"3333333333333333333333333333333333333333"},
    {"friendly_name":"reader","username":"reader+1@api.particle.io","product":"fleet",
     "scopes":["devices:get"],
     "token":"4444444444444444444444444444444444444444"}
  ]
}"#;

/// The default fixtures' demo-product client.
pub const DEMO_CLIENT: (&str, &str) = (
    "demo-product-2146",
    "615c620d647b6e1dab13bef1695c120b0293c342",
);

/// The fleet API user with every device scope.
pub const CALLER_API_USER: &str = "3333333333333333333333333333333333333333";
/// The fleet API user with `devices:get` only.
pub const READER_API_USER: &str = "4444444444444444444444444444444444444444";
/// The fleet's customer-owned device.
pub const FLEET_ONE: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
/// owner@example.com's sandbox device.
pub const MINE: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";

/// An answer: status, content type and body (JSON when it parses, else a string).
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

impl TestMock {
    /// A request with a bearer token and an optional JSON body.
    pub async fn device_call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.unwrap()).await
    }

    /// A form request with a bearer token.
    pub async fn device_form(
        &self,
        method: Method,
        path: &str,
        token: &str,
        form: &[(&str, &str)],
    ) -> Answer {
        let request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token)
            .form(form);
        answer(request.send().await.unwrap()).await
    }

    /// A user's or customer's access token (password `password`).
    pub async fn token_for(&self, email: &str) -> String {
        self.login(email, "password").await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A product's bearer token (client_credentials with its client).
    pub async fn product_token(&self, id: &str, secret: &str) -> String {
        self.client_token(id, secret, &[("grant_type", "client_credentials")])
            .await
    }

    /// The default fixtures' customer's token (its product's client, `scope=customer=`).
    pub async fn default_customer_token(&self) -> String {
        self.client_token(
            DEMO_CLIENT.0,
            DEMO_CLIENT.1,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "customer=customer@example.com"),
            ],
        )
        .await
    }

    async fn client_token(&self, id: &str, secret: &str, form: &[(&str, &str)]) -> String {
        let response = self
            .client
            .post(self.url("/oauth/token"))
            .basic_auth(id, Some(secret))
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        content_type,
        body,
    }
}
