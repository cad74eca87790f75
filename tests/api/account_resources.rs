//! Products, devices, OAuth clients, customers and team invites (particle-api-account.md
//! A3–A6, A11) on the default fixtures.

use serde_json::{json, Value};

use crate::helpers::*;
use reqwest::Method;

/// The demo product's OAuth client (fixtures).
const PRODUCT_CLIENT: (&str, &str) = (
    "demo-product-2146",
    "615c620d647b6e1dab13bef1695c120b0293c342",
);
/// user@example.com's own OAuth client (fixtures).
const USER_CLIENT: (&str, &str) = ("user-app-1234", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");

impl TestMock {
    async fn call_api(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, body)
    }

    /// client_credentials with a client; the raw answer.
    async fn client_credentials(
        &self,
        (id, secret): (&str, &str),
        extra: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(extra);
        let response = self
            .client
            .post(self.url("/oauth/token"))
            .basic_auth(id, Some(secret))
            .form(&form)
            .send()
            .await
            .unwrap();
        status_and_json(response).await
    }

    async fn token_of(&self, email: &str) -> String {
        self.login(email, "password").await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

// ---- A6: products ----

#[tokio::test]
async fn list_products_answers_the_same_body_on_both_paths() {
    let mock = spawn_mock().await;
    let (status, a) = mock
        .call_api(Method::GET, "/v1/products", USER_TOKEN, None)
        .await;
    let (_, b) = mock
        .call_api(Method::GET, "/v1/user/products", USER_TOKEN, None)
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a, b);
    let products = a["products"].as_array().unwrap();
    assert_eq!(
        products.len(),
        1,
        "user@example.com belongs to demo-product only: {a}"
    );
    let p = &products[0];
    for key in [
        "id",
        "platform_id",
        "name",
        "slug",
        "description",
        "subscription_id",
        "groups",
        "settings",
        "mb_limit",
        "device_count",
    ] {
        assert!(p.get(key).is_some(), "{key} in {p}");
    }
    assert_eq!(p["groups"], json!(["beta", "field"]));
    assert_eq!(p["user"], "mfa@example.com");
    // An API user needs products:list (the fixture one lacks it); one that has it sees
    // its team's product.
    let (status, _) = mock
        .call_api(Method::GET, "/v1/products", API_USER_TOKEN, None)
        .await;
    assert_eq!(status, 403);
    let issued = mock
        .server
        .controls()
        .issue_token(
            serde_json::from_value(json!({"scopes": ["products:list"], "product": "demo-product"}))
                .unwrap(),
        )
        .unwrap()
        .access_token;
    let (_, api) = mock
        .call_api(Method::GET, "/v1/products", &issued, None)
        .await;
    assert_eq!(api["products"][0]["id"], 1001);
    assert_eq!(api["products"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn get_product_by_id_or_slug_and_permission_denied_otherwise() {
    let mock = spawn_mock().await;
    let (s1, by_id) = mock
        .call_api(Method::GET, "/v1/products/1001", USER_TOKEN, None)
        .await;
    let (_, by_slug) = mock
        .call_api(Method::GET, "/v1/products/demo-product", USER_TOKEN, None)
        .await;
    assert_eq!(s1, 200);
    assert_eq!(by_id, by_slug);
    assert_eq!(by_id["product"]["device_protection"], "disabled");
    for path in ["/v1/products/999999", "/v1/products/other-product"] {
        let refused = mock.call_api(Method::GET, path, USER_TOKEN, None).await;
        assert_eq!(
            refused,
            (403, json!({"ok": false, "error": "Permission denied"})),
            "{path}"
        );
    }
}

// ---- A11: devices ----

#[tokio::test]
async fn get_device_by_id_or_name_shows_functions_and_variables() {
    let mock = spawn_mock().await;
    let (status, by_id) = mock
        .call_api(
            Method::GET,
            "/v1/devices/0123456789ABCDEF01234567",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(status, 200, "{by_id}");
    assert_eq!(by_id["functions"], json!(["led", "echo"]));
    assert_eq!(
        by_id["variables"],
        json!({"led": "string", "temperature": "double", "uptime": "int32"})
    );
    assert_eq!(by_id["connected"], true);
    let (_, by_name) = mock
        .call_api(Method::GET, "/v1/devices/demo-argon", USER_TOKEN, None)
        .await;
    assert_eq!(by_name["id"], "0123456789abcdef01234567");
    // Unknown, or not the caller's (the customer's token on the user's own device): the
    // recorded 403.
    let (_, customer) = mock
        .client_credentials(
            PRODUCT_CLIENT,
            &[("scope", "customer=customer@example.com")],
        )
        .await;
    let customer = customer["access_token"].as_str().unwrap();
    for (id, token) in [("nope", USER_TOKEN), ("demo-argon", customer)] {
        let (status, body) = mock
            .call_api(Method::GET, &format!("/v1/devices/{id}"), token, None)
            .await;
        assert_eq!(status, 403);
        assert_eq!(body["error"], "Permission Denied");
        assert!(body["info"]
            .as_str()
            .unwrap()
            .starts_with("I didn't recognize"));
    }
}

#[tokio::test]
async fn product_devices_filter_sort_and_page_with_the_extra_fields() {
    let mock = spawn_mock().await;
    let (status, all) = mock
        .call_api(
            Method::GET,
            "/v1/products/demo-product/devices",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(status, 200, "{all}");
    let first = &all["devices"][0];
    for key in [
        "owner",
        "denied",
        "development",
        "quarantined",
        "groups",
        "firmware_product_id",
        "targeted_firmware_release_version",
    ] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    let names = |v: &Value| {
        v["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (_, beta) = mock
        .call_api(
            Method::GET,
            "/v1/products/demo-product/devices?groups=beta",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(names(&beta), vec!["customer-photon"]);
    let (_, named) = mock
        .call_api(
            Method::GET,
            "/v1/products/demo-product/devices?deviceName=BORON",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(names(&named), vec!["product-boron"]);
    let (_, desc) = mock
        .call_api(
            Method::GET,
            "/v1/products/demo-product/devices?sortAttr=deviceName&sortDir=desc",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(names(&desc), vec!["product-boron", "customer-photon"]);
    let (_, paged) = mock
        .call_api(
            Method::GET,
            "/v1/products/demo-product/devices?sortAttr=deviceName&page=2&per_page=1",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(names(&paged), vec!["product-boron"]);
    assert_eq!(paged["meta"]["total_pages"], 2);
    let bad = mock
        .call_api(
            Method::GET,
            "/v1/products/demo-product/devices?sortAttr=color",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(bad.0, 400);
    let unknown = mock
        .call_api(
            Method::GET,
            "/v1/products/LOLWUTNOPE/devices",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(
        unknown,
        (403, json!({"ok": false, "error": "Permission denied"}))
    );
}

#[tokio::test]
async fn devices_are_added_to_and_removed_from_a_product() {
    let mock = spawn_mock().await;
    let fresh = "aaaaaaaaaaaaaaaaaaaaaaaa";
    let (status, added) = mock
        .call_api(
            Method::POST,
            "/v1/products/demo-product/devices",
            USER_TOKEN,
            Some(json!({"id": fresh})),
        )
        .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["updated"], 1);
    assert_eq!(added["invalidDeviceIds"], json!([]));
    let (_, detail) = mock
        .call_api(
            Method::GET,
            &format!("/v1/products/1001/devices/{fresh}"),
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(detail["id"], fresh);
    // Multipart, as particle-cli uploads a file of ids: one bad id, one of another product is fine.
    let body = "--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ids.txt\"\r\nContent-Type: text/plain\r\n\r\n0123456789abcdef01234567\nnot-an-id\n\r\n--b0undary--\r\n";
    let response = mock
        .client
        .post(mock.url("/v1/products/demo-product/devices"))
        .bearer_auth(USER_TOKEN)
        .header("content-type", "multipart/form-data; boundary=b0undary")
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, added) = status_and_json(response).await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["updated"], 1);
    assert_eq!(added["invalidDeviceIds"], json!(["not-an-id"]));
    // Remove, then a second remove is the CLI-E2E error.
    let removed = mock
        .call_api(
            Method::DELETE,
            &format!("/v1/products/demo-product/devices/{fresh}"),
            USER_TOKEN,
            Some(json!({"deny": false})),
        )
        .await;
    assert_eq!(removed, (200, json!({"ok": true})));
    let again = mock
        .call_api(
            Method::DELETE,
            &format!("/v1/products/demo-product/devices/{fresh}"),
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(
        again,
        (
            404,
            json!({"ok": false, "error": "Device not found for this product"})
        )
    );
    let (_, list) = mock
        .call_api(
            Method::GET,
            "/v1/products/demo-product/devices",
            USER_TOKEN,
            None,
        )
        .await;
    assert!(!list.to_string().contains(fresh));
    let empty = mock
        .call_api(
            Method::POST,
            "/v1/products/demo-product/devices",
            USER_TOKEN,
            Some(json!({})),
        )
        .await;
    assert_eq!(empty.0, 400);
    // The fixture API user lacks devices:import.
    let scoped = mock
        .call_api(
            Method::POST,
            "/v1/products/demo-product/devices",
            API_USER_TOKEN,
            Some(json!({"id": fresh})),
        )
        .await;
    assert_eq!(scoped.0, 403);
}

// ---- A4: OAuth clients ----

#[tokio::test]
async fn a_user_client_is_created_used_updated_and_deleted() {
    // Arrange
    let mock = spawn_mock().await;
    // Act: create
    let (status, created) = mock
        .call_api(
            Method::POST,
            "/v1/clients",
            USER_TOKEN,
            Some(json!({"name": "My App", "type": "installed"})),
        )
        .await;
    // Assert
    assert_eq!(status, 200, "{created}");
    let client = &created["client"];
    let id = client["id"].as_str().unwrap().to_string();
    let secret = client["secret"].as_str().unwrap().to_string();
    assert!(regex_like_id(&id, "my-app"), "{id}");
    assert!(secret.len() == 40 && secret.bytes().all(|b| b.is_ascii_hexdigit()));
    // Listed without secrets, next to the fixture client.
    let (_, list) = mock
        .call_api(Method::GET, "/v1/clients", USER_TOKEN, None)
        .await;
    assert_eq!(list["ok"], true);
    assert!(!list.to_string().contains("secret"), "{list}");
    assert!(list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == id.as_str()));
    // Works at once: client_credentials acts for the owner, the password grant logs in.
    let (status, token) = mock.client_credentials((&id, &secret), &[]).await;
    assert_eq!(status, 200, "{token}");
    let (_, me) = mock
        .call_api(
            Method::GET,
            "/v1/user",
            token["access_token"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(me["username"], "user@example.com");
    // Update
    let (status, updated) = mock
        .call_api(
            Method::PUT,
            &format!("/v1/clients/{id}"),
            USER_TOKEN,
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["client"]["name"], "X");
    assert!(updated["client"].get("secret").is_none());
    // Delete: 204, empty; its credentials fail, its token stays valid.
    let deleted = mock
        .call_api(
            Method::DELETE,
            &format!("/v1/clients/{id}"),
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(deleted, (204, Value::Null));
    let (status, body) = mock.client_credentials((&id, &secret), &[]).await;
    assert_eq!((status, &body["error"]), (400, &json!("invalid_client")));
    assert_eq!(
        mock.get_with("/v1/user", token["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    let gone = mock
        .call_api(
            Method::DELETE,
            &format!("/v1/clients/{id}"),
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(
        gone,
        (404, json!({"ok": false, "error": "Client not found"}))
    );
}

fn regex_like_id(id: &str, slug: &str) -> bool {
    id.strip_prefix(slug)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|digits| {
            (3..=4).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
        })
}

#[tokio::test]
async fn web_clients_need_a_redirect_uri_and_bad_bodies_are_400() {
    let mock = spawn_mock().await;
    let (status, web) = mock
        .call_api(
            Method::POST,
            "/v1/clients",
            USER_TOKEN,
            Some(json!({"name": "W", "type": "web", "redirect_uri": "https://e.com"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(web["client"]["redirect_uri"], "https://e.com");
    for body in [
        json!({"name": "W", "type": "web"}),
        json!({"type": "installed"}),
        json!({"name": "W", "type": "desktop"}),
    ] {
        let (status, answer) = mock
            .call_api(Method::POST, "/v1/clients", USER_TOKEN, Some(body))
            .await;
        assert_eq!((status, &answer["ok"]), (400, &json!(false)), "{answer}");
    }
    let api = mock
        .call_api(Method::GET, "/v1/clients", API_USER_TOKEN, None)
        .await;
    assert_eq!(api.0, 403);
}

#[tokio::test]
async fn the_fixture_user_client_acts_for_its_owner() {
    let mock = spawn_mock().await;
    let (status, token) = mock.client_credentials(USER_CLIENT, &[]).await;
    assert_eq!(status, 200, "{token}");
    let (_, me) = mock
        .call_api(
            Method::GET,
            "/v1/user",
            token["access_token"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(me["username"], "user@example.com");
}

#[tokio::test]
async fn product_clients_mint_product_tokens_limited_to_their_product() {
    let mock = spawn_mock().await;
    let (status, created) = mock
        .call_api(
            Method::POST,
            "/v1/products/demo-product/clients",
            USER_TOKEN,
            Some(json!({"name": "Fleet", "type": "installed", "scope": "customers:create"})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["client"]["product_id"], 1001);
    let id = created["client"]["id"].as_str().unwrap().to_string();
    let secret = created["client"]["secret"].as_str().unwrap().to_string();
    let (_, token) = mock.client_credentials((&id, &secret), &[]).await;
    let bearer = token["access_token"].as_str().unwrap();
    assert_eq!(
        mock.call_api(Method::GET, "/v1/products/demo-product", bearer, None)
            .await
            .0,
        200
    );
    assert_eq!(
        mock.call_api(Method::GET, "/v1/products/other-product", bearer, None)
            .await
            .0,
        403
    );
    // A product token may not manage clients; a Developer may; listing has no secrets.
    assert_eq!(
        mock.call_api(
            Method::GET,
            "/v1/products/demo-product/clients",
            bearer,
            None
        )
        .await
        .0,
        403
    );
    let (_, list) = mock
        .call_api(
            Method::GET,
            "/v1/products/demo-product/clients",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(list["clients"].as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains("secret"));
    let developer = mock.token_of("developer@example.com").await;
    let (status, _) = mock
        .call_api(
            Method::PUT,
            &format!("/v1/products/1001/clients/{id}"),
            &developer,
            Some(json!({"name": "Fleet 2"})),
        )
        .await;
    assert_eq!(status, 200);
    let deleted = mock
        .call_api(
            Method::DELETE,
            &format!("/v1/products/1001/clients/{id}"),
            &developer,
            None,
        )
        .await;
    assert_eq!(deleted.0, 204);
    assert_eq!(mock.client_credentials((&id, &secret), &[]).await.0, 400);
}

// ---- A3: customers ----

#[tokio::test]
async fn a_customer_is_created_with_the_product_client_and_gets_a_customer_token() {
    // Arrange
    let mock = spawn_mock().await;
    // Act: form body with client credentials, a Bearer header alongside (api-js).
    let response = mock
        .client
        .post(mock.url("/v1/products/demo-product/customers"))
        .bearer_auth(USER_TOKEN)
        .form(&[
            ("email", "C@x.io"),
            ("password", "pw"),
            ("grant_type", "client_credentials"),
            ("client_id", PRODUCT_CLIENT.0),
            ("client_secret", PRODUCT_CLIENT.1),
        ])
        .send()
        .await
        .unwrap();
    let (status, token) = status_and_json(response).await;
    // Assert
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 7_776_000);
    let access = token["access_token"].as_str().unwrap().to_string();
    let (_, me) = mock.call_api(Method::GET, "/v1/user", &access, None).await;
    assert_eq!(me["username"], "c@x.io");
    // The customer-scope token works with the stored (lowercased) email, scope echoed.
    let (status, scoped) = mock
        .client_credentials(PRODUCT_CLIENT, &[("scope", "customer=c@x.io")])
        .await;
    assert_eq!(status, 200);
    assert_eq!(scoped["scope"], "customer=c@x.io");
    // Customer tokens are refused on the A3–A6 routes.
    for path in [
        "/v1/products/demo-product/customers",
        "/v1/products",
        "/v1/products/demo-product/clients",
        "/v1/products/demo-product/team",
    ] {
        let (status, _) = mock.call_api(Method::GET, path, &access, None).await;
        assert_eq!(status, 403, "{path}");
    }
    // Listed with paging meta.
    let (_, list) = mock
        .call_api(
            Method::GET,
            "/v1/products/demo-product/customers?page=1&perPage=25",
            USER_TOKEN,
            None,
        )
        .await;
    assert!(list["customers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["username"] == "c@x.io"));
    assert_eq!(list["meta"]["total_pages"], 1);
    assert!(list["devices"].is_array());
    // Duplicate.
    let dup = mock
        .client
        .post(mock.url("/v1/products/demo-product/customers"))
        .basic_auth(PRODUCT_CLIENT.0, Some(PRODUCT_CLIENT.1))
        .form(&[("email", "c@x.io"), ("no_password", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_json(dup).await,
        (
            400,
            json!({"ok": false, "error": "Customer already exists"})
        )
    );
}

#[tokio::test]
async fn creating_a_customer_with_a_developer_client_or_nothing_is_refused() {
    let mock = spawn_mock().await;
    let with = |fields: Vec<(&'static str, &'static str)>| {
        mock.client
            .post(mock.url("/v1/products/demo-product/customers"))
            .form(&fields)
            .send()
    };
    let (status, body) = status_and_json(
        with(vec![
            ("email", "a@x.io"),
            ("password", "p"),
            ("client_id", "particle-api"),
            ("client_secret", "particle-api"),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, &body["error"]), (400, &json!("invalid_client")));
    let (status, body) = status_and_json(
        with(vec![("email", "a@x.io"), ("password", "p")])
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, &body["error"]), (400, &json!("invalid_client")));
    let (status, body) = status_and_json(
        with(vec![
            ("password", "p"),
            ("client_id", PRODUCT_CLIENT.0),
            ("client_secret", PRODUCT_CLIENT.1),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body),
        (400, json!({"ok": false, "errors": ["Email is required"]}))
    );
    let response = mock
        .client
        .post(mock.url("/v1/products/LOLWUTNOPE/customers"))
        .basic_auth(PRODUCT_CLIENT.0, Some(PRODUCT_CLIENT.1))
        .form(&[("email", "a@x.io"), ("no_password", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_json(response).await,
        (403, json!({"ok": false, "error": "Permission denied"}))
    );
    // Variant 2: a product member's bearer token, JSON body.
    let (status, token) = mock
        .call_api(
            Method::POST,
            "/v1/products/demo-product/customers",
            USER_TOKEN,
            Some(json!({"email": "uuid-1234", "no_password": true})),
        )
        .await;
    assert_eq!(status, 200, "{token}");
}

#[tokio::test]
async fn a_customer_password_is_set_and_a_deleted_customer_loses_its_tokens() {
    let mock = spawn_mock().await;
    let (_, token) = mock
        .client_credentials(
            PRODUCT_CLIENT,
            &[("scope", "customer=customer@example.com")],
        )
        .await;
    let customer = token["access_token"].as_str().unwrap().to_string();
    let set = mock
        .call_api(
            Method::PUT,
            "/v1/products/demo-product/customers/customer@example.com",
            USER_TOKEN,
            Some(json!({"password": "new"})),
        )
        .await;
    assert_eq!(set, (200, json!({"ok": true})));
    let login = mock
        .client
        .post(mock.url("/oauth/token"))
        .basic_auth(PRODUCT_CLIENT.0, Some(PRODUCT_CLIENT.1))
        .form(&[
            ("grant_type", "password"),
            ("username", "customer@example.com"),
            ("password", "new"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let unknown = mock
        .call_api(
            Method::PUT,
            "/v1/products/demo-product/customers/ghost@x.io",
            USER_TOKEN,
            Some(json!({"password": "x"})),
        )
        .await;
    assert_eq!(
        unknown,
        (404, json!({"ok": false, "error": "Customer not found"}))
    );
    // The customer token itself may not set a password.
    assert_eq!(
        mock.call_api(
            Method::PUT,
            "/v1/products/demo-product/customers/customer@example.com",
            &customer,
            Some(json!({"password": "x"}))
        )
        .await
        .0,
        403
    );
    let deleted = mock
        .call_api(
            Method::DELETE,
            "/v1/products/demo-product/customers/customer@example.com",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(deleted, (200, json!({"ok": true})));
    let (status, body) = mock
        .call_api(Method::GET, "/v1/user", &customer, None)
        .await;
    assert_eq!((status, &body["error"]), (401, &json!("invalid_token")));
    let (status, _) = mock
        .client_credentials(
            PRODUCT_CLIENT,
            &[("scope", "customer=customer@example.com")],
        )
        .await;
    assert_eq!(status, 400);
}

// ---- A5: team members ----

#[tokio::test]
async fn a_user_is_invited_listed_with_a_role_updated_and_removed() {
    let mock = spawn_mock().await;
    let (status, invited) = mock
        .call_api(
            Method::POST,
            "/v1/products/demo-product/team",
            USER_TOKEN,
            Some(json!({"username": "Customer2@x.io"})),
        )
        .await;
    assert_eq!(status, 400, "an unknown user cannot be invited: {invited}");
    let (status, invited) = mock
        .call_api(
            Method::POST,
            "/v1/products/other-product/team",
            &mock.token_of("developer@example.com").await,
            Some(json!({"username": "user@example.com"})),
        )
        .await;
    assert_eq!(status, 403, "not an admin of other-product: {invited}");
    let (status, invited) = mock
        .call_api(
            Method::POST,
            "/v1/products/1001/team",
            USER_TOKEN,
            Some(json!({"username": "mfa@example.com"})),
        )
        .await;
    assert_eq!(status, 400, "already a member: {invited}");
    // Invite the developer to other-product as its admin (mfa@example.com).
    let admin = mock
        .server
        .controls()
        .issue_token(serde_json::from_value(json!({"user": "mfa@example.com"})).unwrap())
        .unwrap()
        .access_token;
    let (status, invited) = mock
        .call_api(
            Method::POST,
            "/v1/products/other-product/team",
            &admin,
            Some(json!({"username": "developer@example.com"})),
        )
        .await;
    assert_eq!(status, 200, "{invited}");
    assert_eq!(
        invited,
        json!({"ok": true, "invited": {"username": "developer@example.com", "role": "Administrator"}})
    );
    let (_, team) = mock
        .call_api(Method::GET, "/v1/products/other-product/team", &admin, None)
        .await;
    let member = team["team"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["username"] == "developer@example.com")
        .unwrap()
        .clone();
    assert_eq!(member["role"]["name"], "Administrator");
    // Update by POST (documented) and PUT.
    let (status, updated) = mock
        .call_api(
            Method::POST,
            "/v1/products/other-product/team/developer@example.com",
            &admin,
            Some(json!({"role": "Developer"})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["updated"]["role"]["name"], "Developer");
    let (status, _) = mock
        .call_api(
            Method::PUT,
            "/v1/products/other-product/team/developer@example.com",
            &admin,
            Some(json!({"role": "Boss"})),
        )
        .await;
    assert_eq!(status, 400);
    let removed = mock
        .call_api(
            Method::DELETE,
            "/v1/products/other-product/team/developer@example.com",
            &admin,
            None,
        )
        .await;
    assert_eq!(removed, (200, json!({"ok": true})));
    let (_, team) = mock
        .call_api(Method::GET, "/v1/products/other-product/team", &admin, None)
        .await;
    assert!(!team.to_string().contains("developer@example.com"));
}

#[tokio::test]
async fn the_owner_can_be_neither_removed_nor_given_another_role() {
    let mock = spawn_mock().await;
    let removed = mock
        .call_api(
            Method::DELETE,
            "/v1/products/demo-product/team/mfa@example.com",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(
        removed,
        (
            400,
            json!({"ok": false, "error": "The Owner cannot be removed."})
        )
    );
    let changed = mock
        .call_api(
            Method::PUT,
            "/v1/products/demo-product/team/mfa@example.com",
            USER_TOKEN,
            Some(json!({"role": "Developer"})),
        )
        .await;
    assert_eq!(
        changed,
        (
            400,
            json!({"ok": false, "error": "The Owner's role cannot be changed."})
        )
    );
    let (_, team) = mock
        .call_api(
            Method::GET,
            "/v1/products/demo-product/team",
            USER_TOKEN,
            None,
        )
        .await;
    let owner = team["team"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["username"] == "mfa@example.com")
        .unwrap()
        .clone();
    assert_eq!(
        owner["role"],
        json!({"id": "000000000000000000000001", "name": "Owner"})
    );
    assert_eq!(owner["no_mfa"], false);
}

#[tokio::test]
async fn the_control_api_shows_new_clients_with_secrets_and_customers_without_passwords() {
    let mock = spawn_mock().await;
    let (_, created) = mock
        .call_api(
            Method::POST,
            "/v1/clients",
            USER_TOKEN,
            Some(json!({"name": "Seen"})),
        )
        .await;
    let id = created["client"]["id"].as_str().unwrap();
    let (status, listed) = status_and_json(
        mock.client
            .get(mock.url("/__mock/clients"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let seen = listed["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap();
    assert_eq!(seen["secret"], created["client"]["secret"]);
    assert_eq!(seen["kind"], "user");
    assert_eq!(seen["owner"], "user@example.com");
    mock.call_api(
        Method::DELETE,
        &format!("/v1/clients/{id}"),
        USER_TOKEN,
        None,
    )
    .await;
    assert!(!mock.server.controls().clients().iter().any(|c| c.id == id));
    let (status, customers) = status_and_json(
        mock.client
            .get(mock.url("/__mock/customers"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        customers["customers"],
        json!([{"email": "customer@example.com", "product": 1001, "has_password": true}])
    );
    mock.call_api(
        Method::DELETE,
        "/v1/products/1001/customers/customer@example.com",
        USER_TOKEN,
        None,
    )
    .await;
    assert!(mock.server.controls().customers().is_empty());
}
