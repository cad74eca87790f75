//! Functions (devices spec D3) and variables (D4) of the simulated devices: every
//! success and error, and who may call them (D1).

use reqwest::Method;
use serde_json::json;

use crate::device_support::*;
use crate::helpers::{spawn_mock, spawn_with_fixtures, API_USER_TOKEN, USER_TOKEN};

// ---- D3: functions ----

#[tokio::test]
async fn a_function_call_answers_the_return_value_for_args_in_json_or_arg_in_a_form() {
    // Arrange
    let mock = spawn_mock().await;
    // Act: particle-api-js sends JSON `args`; the docs send a form `arg`.
    let json_call = mock
        .device_call(
            Method::POST,
            "/v1/devices/demo-argon/echo",
            USER_TOKEN,
            Some(json!({"args": "hello"})),
        )
        .await;
    let form_call = mock
        .device_form(
            Method::POST,
            &format!("/v1/devices/{ARGON}/echo"),
            USER_TOKEN,
            &[("arg", "abc")],
        )
        .await;
    let no_argument = mock
        .device_call(
            Method::POST,
            "/v1/devices/demo-argon/echo",
            USER_TOKEN,
            None,
        )
        .await;
    // Assert
    assert_eq!(json_call.status, 200, "{}", json_call.body);
    assert_eq!(
        json_call.body,
        json!({"id": ARGON, "name": "demo-argon", "connected": true, "return_value": 5})
    );
    assert_eq!(form_call.body["return_value"], 3);
    assert_eq!(no_argument.body["return_value"], 0);
}

#[tokio::test]
async fn a_function_that_sets_a_variable_changes_what_the_next_read_returns() {
    let mock = spawn_mock().await;
    let called = mock
        .device_call(
            Method::POST,
            "/v1/devices/demo-argon/led",
            USER_TOKEN,
            Some(json!({"arg": "on"})),
        )
        .await;
    assert_eq!(called.body["return_value"], 1);
    let read = mock
        .device_call(Method::GET, "/v1/devices/demo-argon/led", USER_TOKEN, None)
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["result"], "on");
}

#[tokio::test]
async fn format_raw_answers_the_bare_return_value_as_text() {
    let mock = spawn_mock().await;
    let raw = mock
        .device_form(
            Method::POST,
            "/v1/devices/demo-argon/echo",
            USER_TOKEN,
            &[("arg", "four"), ("format", "raw")],
        )
        .await;
    assert_eq!(raw.status, 200);
    assert!(
        raw.content_type.starts_with("text/plain"),
        "{}",
        raw.content_type
    );
    // "4" parses as JSON 4.
    assert_eq!(raw.body, json!(4));
}

#[tokio::test]
async fn an_unknown_function_is_404_naming_it() {
    let mock = spawn_mock().await;
    let answer = mock
        .device_call(
            Method::POST,
            "/v1/devices/demo-argon/WATNOPE",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.body,
        json!({"ok": false, "error": "Function WATNOPE not found"})
    );
}

#[tokio::test]
async fn a_function_on_an_unknown_or_foreign_device_is_404_device_not_found() {
    let mock = spawn_mock().await;
    let customer = mock.default_customer_token().await;
    for (device, token) in [
        ("DOESNOTEXIST", USER_TOKEN),
        ("demo-argon", customer.as_str()),
    ] {
        let answer = mock
            .device_call(
                Method::POST,
                &format!("/v1/devices/{device}/led"),
                token,
                None,
            )
            .await;
        assert_eq!(answer.status, 404, "{device}");
        assert_eq!(
            answer.body,
            json!({"ok": false, "error": "Device not found"})
        );
    }
}

#[tokio::test]
async fn a_function_on_an_offline_device_times_out_with_408() {
    let mock = spawn_mock().await;
    let answer = mock
        .device_call(
            Method::POST,
            &format!("/v1/devices/{BORON}/reboot"),
            USER_TOKEN,
            Some(json!({"args": "now"})),
        )
        .await;
    assert_eq!(answer.status, 408);
    assert_eq!(answer.body, json!({"ok": false, "error": "Timed out."}));
}

#[tokio::test]
async fn an_argument_over_the_device_os_limit_is_400() {
    // customer-photon runs Device OS 1.5.2: 622 bytes at most.
    let mock = spawn_mock().await;
    let path = format!("/v1/products/demo-product/devices/{PHOTON}/unlock");
    let at_limit = mock
        .device_call(
            Method::POST,
            &path,
            USER_TOKEN,
            Some(json!({"args": "x".repeat(622)})),
        )
        .await;
    let over = mock
        .device_call(
            Method::POST,
            &path,
            USER_TOKEN,
            Some(json!({"args": "x".repeat(623)})),
        )
        .await;
    assert_eq!(at_limit.status, 200, "{}", at_limit.body);
    assert_eq!(over.status, 400);
    assert_eq!(
        over.body,
        json!({"ok": false, "error": "Argument too long"})
    );
}

#[tokio::test]
async fn the_product_route_calls_a_product_device_and_its_effect_shows() {
    let mock = spawn_mock().await;
    let path = format!("/v1/products/demo-product/devices/{PHOTON}/unlock");
    let called = mock
        .device_call(Method::POST, &path, USER_TOKEN, None)
        .await;
    assert_eq!(called.status, 200);
    assert_eq!(called.body["name"], "customer-photon");
    let locked = mock
        .device_call(
            Method::GET,
            &format!("/v1/products/1001/devices/{PHOTON}/locked"),
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(locked.body["result"], false);
}

#[tokio::test]
async fn a_customer_calls_and_reads_its_own_device() {
    let mock = spawn_mock().await;
    let customer = mock.default_customer_token().await;
    let called = mock
        .device_call(
            Method::POST,
            "/v1/devices/customer-photon/unlock",
            &customer,
            None,
        )
        .await;
    let read = mock
        .device_call(
            Method::GET,
            &format!("/v1/devices/{PHOTON}/locked"),
            &customer,
            None,
        )
        .await;
    assert_eq!(called.status, 200, "{}", called.body);
    assert_eq!(read.status, 200);
    assert_eq!(read.body["result"], false);
}

#[tokio::test]
async fn an_api_user_needs_the_function_scope() {
    // Arrange: the default API user has devices:get but not devices.function:call.
    let mock = spawn_mock().await;
    let path = format!("/v1/products/demo-product/devices/{PHOTON}/unlock");
    // Act
    let refused = mock
        .device_call(Method::POST, &path, API_USER_TOKEN, None)
        .await;
    // Assert: base §3.6's body.
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["error"], "unauthorized");
    assert_eq!(
        refused.body["error_description"],
        "Insufficient scope: this endpoint requires devices.function:call"
    );
}

#[tokio::test]
async fn an_api_user_with_the_scope_reaches_its_products_devices_only() {
    let mock = spawn_with_fixtures(ROLES_FIXTURES).await;
    let product_route = mock
        .device_call(
            Method::POST,
            &format!("/v1/products/fleet/devices/{FLEET_ONE}/go"),
            CALLER_API_USER,
            Some(json!({"args": "42"})),
        )
        .await;
    let sandbox_route = mock
        .device_call(
            Method::POST,
            &format!("/v1/devices/{FLEET_ONE}/go"),
            CALLER_API_USER,
            Some(json!({"args": "x"})),
        )
        .await;
    let not_its_product = mock
        .device_call(
            Method::POST,
            &format!("/v1/devices/{MINE}/go"),
            CALLER_API_USER,
            None,
        )
        .await;
    assert_eq!(product_route.status, 200, "{}", product_route.body);
    assert_eq!(product_route.body["return_value"], 42);
    // `argument_as_int` on text that is no number: -1.
    assert_eq!(sandbox_route.body["return_value"], -1);
    assert_eq!(not_its_product.status, 404);
    let reader = mock
        .device_call(
            Method::GET,
            &format!("/v1/devices/{FLEET_ONE}/speed"),
            READER_API_USER,
            None,
        )
        .await;
    assert_eq!(reader.status, 403);
    assert_eq!(
        reader.body["error_description"],
        "Insufficient scope: this endpoint requires devices.variable:get"
    );
}

#[tokio::test]
async fn product_roles_below_support_may_view_but_not_call_or_read() {
    let mock = spawn_with_fixtures(ROLES_FIXTURES).await;
    let function = format!("/v1/products/fleet/devices/{FLEET_ONE}/go");
    let variable = format!("/v1/products/fleet/devices/{FLEET_ONE}/speed");
    let viewer = mock.token_for("viewer@example.com").await;
    let support = mock.token_for("support@example.com").await;
    let stranger = mock.token_for("stranger@example.com").await;
    // View-only: sees the device, may not operate it (D1's 403 body).
    let seen = mock
        .device_call(
            Method::GET,
            &format!("/v1/products/fleet/devices/{FLEET_ONE}"),
            &viewer,
            None,
        )
        .await;
    assert_eq!(seen.status, 200);
    for (method, path) in [(Method::POST, &function), (Method::GET, &variable)] {
        let refused = mock.device_call(method, path, &viewer, None).await;
        assert_eq!(refused.status, 403);
        assert_eq!(refused.body["error"], "Permission Denied");
    }
    // Support: may call and read.
    let called = mock
        .device_call(Method::POST, &function, &support, None)
        .await;
    let read = mock
        .device_call(Method::GET, &variable, &support, None)
        .await;
    assert_eq!(called.status, 200);
    assert_eq!(read.body["result"], 7);
    // Not a member: the product's own refusal (account A11).
    let outsider = mock
        .device_call(Method::GET, &variable, &stranger, None)
        .await;
    assert_eq!(outsider.status, 403);
    assert_eq!(
        outsider.body,
        json!({"ok": false, "error": "Permission denied"})
    );
}

#[tokio::test]
async fn a_product_token_reaches_its_own_products_devices() {
    let mock = spawn_with_fixtures(ROLES_FIXTURES).await;
    let fleet = mock.product_token("fleet-client", "fleet-secret").await;
    let other = mock.product_token("other-client", "other-secret").await;
    let path = format!("/v1/products/fleet/devices/{FLEET_ONE}/go");
    let own = mock.device_call(Method::POST, &path, &fleet, None).await;
    let sandbox = mock
        .device_call(
            Method::GET,
            &format!("/v1/devices/{FLEET_ONE}/speed"),
            &fleet,
            None,
        )
        .await;
    let foreign = mock.device_call(Method::POST, &path, &other, None).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(sandbox.status, 200);
    assert_eq!(foreign.status, 403);
    assert_eq!(foreign.body["error"], "unauthorized");
}

// ---- D4: variables ----

#[tokio::test]
async fn a_variable_read_answers_its_typed_value_and_core_info() {
    let mock = spawn_mock().await;
    let temperature = mock
        .device_call(
            Method::GET,
            "/v1/devices/demo-argon/temperature",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(temperature.status, 200);
    let body = &temperature.body;
    assert_eq!(body["cmd"], "VarReturn");
    assert_eq!(body["name"], "temperature");
    assert_eq!(body["result"], 21.5);
    assert_eq!(body["coreInfo"]["deviceID"], ARGON);
    assert_eq!(body["coreInfo"]["name"], "demo-argon");
    assert_eq!(body["coreInfo"]["connected"], true);
    assert_eq!(body["coreInfo"]["product_id"], 12);
    assert_eq!(body["coreInfo"]["last_heard"], "2026-01-01T00:00:00.000Z");
    let uptime = mock
        .device_call(
            Method::GET,
            "/v1/devices/demo-argon/uptime",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(uptime.body["result"], 3600);
    let led = mock
        .device_call(Method::GET, "/v1/devices/demo-argon/led", USER_TOKEN, None)
        .await;
    assert_eq!(led.body["result"], "off");
    let locked = mock
        .device_call(
            Method::GET,
            &format!("/v1/devices/{PHOTON}/locked"),
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(locked.body["result"], true);
}

#[tokio::test]
async fn format_raw_answers_the_bare_variable_value() {
    let mock = spawn_mock().await;
    for (variable, text) in [("temperature", "21.5"), ("led", "off"), ("uptime", "3600")] {
        let response = mock
            .client
            .get(mock.url(&format!("/v1/devices/demo-argon/{variable}?format=raw")))
            .bearer_auth(USER_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
        assert_eq!(response.text().await.unwrap(), text);
    }
}

#[tokio::test]
async fn an_unknown_variable_is_404_naming_it() {
    let mock = spawn_mock().await;
    let answer = mock
        .device_call(Method::GET, "/v1/devices/demo-argon/NOPE", USER_TOKEN, None)
        .await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.body,
        json!({"ok": false, "error": "Unknown Variable: NOPE"})
    );
}

#[tokio::test]
async fn a_variable_of_an_offline_device_times_out_with_408() {
    let mock = spawn_mock().await;
    let answer = mock
        .device_call(
            Method::GET,
            &format!("/v1/devices/{BORON}/battery"),
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(answer.status, 408);
    assert_eq!(answer.body, json!({"ok": false, "error": "timed out"}));
}

#[tokio::test]
async fn a_variable_of_an_unknown_device_is_the_permission_denied_403() {
    let mock = spawn_mock().await;
    let answer = mock
        .device_call(
            Method::GET,
            "/v1/devices/nope/temperature",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.body["error"], "Permission Denied");
}
