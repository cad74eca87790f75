//! Scope enforcement (particle-api.md §3.6, §3.7): every scope-gated route is allowed with
//! its scope and refused without; human-only routes refuse API users with the documented
//! body; API users, product tokens and customers stay within their product.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::teams::{call, create_api_user};

/// Each scope-gated route of the table, with the scope it needs.
const GATED: &[(&str, &str)] = &[
    ("/v1/products/1001", "products:get"),
    ("/v1/products/1001/devices", "devices:list"),
    (
        "/v1/products/1001/devices/89abcdef0123456789abcdef",
        "devices:get",
    ),
    ("/v1/products/1001/customers", "customers:list"),
    ("/v1/products/1001/team", "teams.users:list"),
    ("/v1/orgs/demo-org/products", "products:list"),
    ("/v1/orgs/demo-org/team", "teams.users:list"),
];

fn not_allowed_body() -> Value {
    json!({"error": "unauthorized", "error_description": "API users are not allowed to call this endpoint"})
}

#[tokio::test]
async fn each_gated_route_is_allowed_with_its_scope_and_refused_without() {
    let mock = spawn_mock().await;
    for (path, scope) in GATED {
        // An org API user reaches both the org's routes and its products' routes.
        let (_, with) = create_api_user(&mock, "/v1/orgs/demo-org", &[scope]).await;
        let other = if *scope == "sims:list" {
            "events:get"
        } else {
            "sims:list"
        };
        let (_, without) = create_api_user(&mock, "/v1/orgs/demo-org", &[other]).await;

        let (status, body) = status_and_json(mock.get_with(path, &with).await).await;
        assert_eq!(status, 200, "{path} with {scope}: {body}");

        let (status, body) = status_and_json(mock.get_with(path, &without).await).await;
        assert_eq!(status, 403, "{path} without {scope}");
        assert_eq!(
            body,
            json!({
                "error": "unauthorized",
                "error_description": format!("Insufficient scope: this endpoint requires {scope}")
            })
        );
    }
}

#[tokio::test]
async fn the_fixture_api_user_lists_and_reads_devices_but_not_customers() {
    let mock = spawn_mock().await;
    let (status, body) = status_and_json(
        mock.get_with("/v1/products/demo-product/devices", API_USER_TOKEN)
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec!["89abcdef0123456789abcdef", "fedcba9876543210fedcba98"]
    );
    assert_eq!(
        body["meta"],
        json!({"page": 1, "per_page": 25, "total_pages": 1, "total": 2})
    );
    let (status, device) = status_and_json(
        mock.get_with(
            "/v1/products/1001/devices/FEDCBA9876543210FEDCBA98",
            API_USER_TOKEN,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(device["name"], "customer-photon");
    let (status, body) = status_and_json(
        mock.get_with("/v1/products/1001/customers", API_USER_TOKEN)
            .await,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error_description"],
        "Insufficient scope: this endpoint requires customers:list"
    );
}

#[tokio::test]
async fn product_devices_are_paginated() {
    let mock = spawn_mock().await;
    let (status, body) = status_and_json(
        mock.get_with(
            "/v1/products/1001/devices?page=2&per_page=1",
            API_USER_TOKEN,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["devices"].as_array().unwrap().len(), 1);
    assert_eq!(body["devices"][0]["id"], "fedcba9876543210fedcba98");
    assert_eq!(
        body["meta"],
        json!({"page": 2, "per_page": 1, "total_pages": 2, "total": 2})
    );
    let (status, body) = status_and_json(
        mock.get_with("/v1/products/1001/devices?page=zero", API_USER_TOKEN)
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "page must be a positive integer.");
}

#[tokio::test]
async fn an_unknown_device_of_the_product_is_404() {
    let mock = spawn_mock().await;
    // A device that exists but is not in the product, and one that does not exist.
    for id in ["0123456789abcdef01234567", "000000000000000000000000"] {
        let (status, body) = status_and_json(
            mock.get_with(&format!("/v1/products/1001/devices/{id}"), API_USER_TOKEN)
                .await,
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(body, json!({"ok": false, "error": "Device not found."}));
    }
}

#[tokio::test]
async fn customers_are_listed_with_their_devices() {
    let mock = spawn_mock().await;
    let (status, body) = status_and_json(
        mock.get_with("/v1/products/1001/customers", USER_TOKEN)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["customers"][0]["username"], "customer@example.com");
    assert_eq!(body["customers"][0]["product_id"], 1001);
    assert_eq!(
        body["customers"][0]["devices"],
        json!(["fedcba9876543210fedcba98"])
    );
    assert_eq!(body["meta"]["total"], 1);
}

#[tokio::test]
async fn human_only_routes_refuse_api_users_with_the_documented_body() {
    let mock = spawn_mock().await;
    let routes = [
        (Method::GET, "/v1/user", None),
        (Method::GET, "/v1/devices", None),
        (Method::GET, "/v1/user/mfa-enable", None),
        (
            Method::POST,
            "/v1/user/mfa-enable",
            Some(json!({"mfa_token": "x", "otp": "123456"})),
        ),
        (
            Method::PUT,
            "/v1/user/mfa-disable",
            Some(json!({"current_password": "password"})),
        ),
        (Method::GET, "/v1/access_tokens", None),
    ];
    for (method, path, body) in routes {
        let response = call(&mock, method.clone(), path, API_USER_TOKEN, body).await;
        let (status, answer) = status_and_json(response).await;
        assert_eq!(status, 403, "{method} {path}");
        assert_eq!(answer, not_allowed_body(), "{method} {path}");
    }
}

#[tokio::test]
async fn the_legacy_token_list_still_wants_basic_auth_from_humans() {
    let mock = spawn_mock().await;
    let (status, body) =
        status_and_json(mock.get_with("/v1/access_tokens", USER_TOKEN).await).await;
    assert_eq!(status, 401);
    assert_eq!(body["ok"], false);
}

#[tokio::test]
async fn an_api_user_reads_its_own_token_info_with_scopes_and_no_expiry() {
    let mock = spawn_mock().await;
    let (status, info) = status_and_json(
        mock.get_with("/v1/access_tokens/current", API_USER_TOKEN)
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(info["expires_at"], Value::Null);
    assert_eq!(
        info["scopes"],
        json!(["devices:list", "devices:get", "products:get"])
    );
}

#[tokio::test]
async fn an_api_user_of_one_product_is_refused_on_another() {
    let mock = spawn_mock().await;
    for path in [
        "/v1/products/1002",
        "/v1/products/other-product/devices",
        "/v1/products/1002/devices/89abcdef0123456789abcdef",
    ] {
        let (status, body) = status_and_json(mock.get_with(path, API_USER_TOKEN).await).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(body["error"], "unauthorized");
        assert_eq!(
            body["error_description"],
            "This API user does not belong to this product"
        );
    }
    let (status, _) = status_and_json(
        mock.get_with("/v1/orgs/demo-org/products", API_USER_TOKEN)
            .await,
    )
    .await;
    assert_eq!(status, 403, "a product API user is not an org API user");
}

#[tokio::test]
async fn an_org_api_user_is_refused_on_a_product_outside_its_org() {
    let mock = spawn_mock().await;
    let (_, token) = create_api_user(&mock, "/v1/orgs/demo-org", &["products:get"]).await;
    let (status, _) = status_and_json(mock.get_with("/v1/products/1001", &token).await).await;
    assert_eq!(status, 200);
    let (status, _) = status_and_json(mock.get_with("/v1/products/1002", &token).await).await;
    assert_eq!(status, 403);
}

async fn product_token(mock: &TestMock, scope: Option<&str>) -> String {
    let mut fields = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        fields.push(("scope", scope));
    }
    let response = mock
        .client
        .post(mock.url("/oauth/token"))
        .basic_auth(
            "demo-product-2146",
            Some("615c620d647b6e1dab13bef1695c120b0293c342"),
        )
        .form(&fields)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_product_token_calls_its_own_product_routes_only() {
    let mock = spawn_mock().await;
    let token = product_token(&mock, None).await;
    for path in [
        "/v1/products/1001",
        "/v1/products/demo-product/devices",
        "/v1/products/1001/customers",
        "/v1/products/1001/team",
    ] {
        let (status, body) = status_and_json(mock.get_with(path, &token).await).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, _) = status_and_json(mock.get_with("/v1/products/1002", &token).await).await;
    assert_eq!(status, 403);
    let (status, _) =
        status_and_json(mock.get_with("/v1/orgs/demo-org/products", &token).await).await;
    assert_eq!(status, 403);
    let response = call(
        &mock,
        Method::POST,
        "/v1/products/1001/team",
        &token,
        Some(json!({"friendly_name": "x", "scopes": ["devices:list"]})),
    )
    .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 403);
    assert_eq!(body, not_allowed_body());
}

#[tokio::test]
async fn a_customer_token_sees_its_own_devices_but_no_product_route() {
    let mock = spawn_mock().await;
    let token = product_token(&mock, Some("customer=customer@example.com")).await;
    let (status, devices) = status_and_json(mock.get_with("/v1/devices", &token).await).await;
    assert_eq!(status, 200);
    assert_eq!(devices.as_array().unwrap().len(), 1);
    let (status, body) =
        status_and_json(mock.get_with("/v1/products/1001/devices", &token).await).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn a_human_member_of_the_org_reaches_the_orgs_products() {
    let mock = spawn_mock().await;
    for path in ["/v1/products/1001/devices", "/v1/orgs/demo-org/products"] {
        let (status, _) = status_and_json(mock.get_with(path, USER_TOKEN).await).await;
        assert_eq!(status, 200, "{path}");
    }
    let (status, body) =
        status_and_json(mock.get_with("/v1/products/1002", USER_TOKEN).await).await;
    assert_eq!(status, 403, "user@example.com is not in other-product");
    assert_eq!(body["ok"], false);
}

#[tokio::test]
async fn token_introspection_and_revocation_stay_open_to_api_users() {
    let mock = spawn_mock().await;
    let (_, token) = create_api_user(&mock, "/v1/products/1001", &["devices:list"]).await;
    let (status, _) =
        status_and_json(mock.get_with("/v1/access_tokens/current", &token).await).await;
    assert_eq!(status, 200);
    let (status, _) = status_and_json(
        call(
            &mock,
            Method::DELETE,
            "/v1/access_tokens/current",
            &token,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) =
        status_and_json(mock.get_with("/v1/products/1001/devices", &token).await).await;
    assert_eq!(status, 401);
}
