//! Control API and library: the simulated devices (devices spec D11): state, online and
//! offline, variables, function behaviour, the calls received, claim codes, the offline
//! delay on the mock's clock, and reset.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::device_support::*;
use crate::helpers::*;
use particle_auth_mock::control::{Behaviour, CallerKind, DevicePatch, Returns, VariableUpdate};

#[tokio::test]
async fn the_device_list_shows_each_devices_state() {
    let mock = spawn_mock().await;
    let (status, body) = mock.get_json("/__mock/devices").await;
    assert_eq!(status, 200);
    let argon = &body["devices"][0];
    assert_eq!(argon["id"], ARGON);
    assert_eq!(argon["online"], true);
    assert_eq!(argon["owner"], "user@example.com");
    assert_eq!(
        argon["variables"]["temperature"],
        json!({"type": "double", "value": 21.5})
    );
    assert_eq!(
        argon["functions"][1],
        json!({"name": "echo", "returns": "argument_length"})
    );
    let (status, one) = mock
        .get_json(&format!("/__mock/devices/{}", PHOTON.to_uppercase()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["customer"], "customer@example.com");
    assert_eq!(one["product"], 1001);
    let (status, _) = mock.get_json("/__mock/devices/nope").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn taking_a_device_offline_and_back_changes_what_clients_get() {
    let mock = spawn_mock().await;
    let path = format!("/__mock/devices/{ARGON}");
    let (status, device) = mock
        .call(Method::PATCH, &path, Some(json!({"online": false})))
        .await;
    assert_eq!((status, &device["online"]), (200, &json!(false)));
    let offline = mock
        .device_call(Method::POST, "/v1/devices/demo-argon/led", USER_TOKEN, None)
        .await;
    let shown = mock
        .device_call(Method::GET, "/v1/devices/demo-argon", USER_TOKEN, None)
        .await;
    assert_eq!(offline.status, 408);
    assert_eq!(shown.body["connected"], false);
    mock.call(Method::PATCH, &path, Some(json!({"online": true})))
        .await;
    let online = mock
        .device_call(Method::POST, "/v1/devices/demo-argon/led", USER_TOKEN, None)
        .await;
    assert_eq!(online.status, 200);
    let (status, _) = mock
        .call(
            Method::PATCH,
            &path,
            Some(json!({"system_firmware_version": "soon"})),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_flash_leaves_firmware_version_to_the_control_api() {
    let mock = spawn_mock().await;
    let (status, _) = mock
        .call(
            Method::PATCH,
            &format!("/__mock/devices/{BORON}"),
            Some(json!({"firmware_version": 4})),
        )
        .await;
    assert_eq!(status, 200);
    let device = mock
        .device_call(
            Method::GET,
            &format!("/v1/products/demo-product/devices/{BORON}"),
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(device.body["firmware_version"], 4);
}

#[tokio::test]
async fn a_variable_set_through_the_control_api_is_what_clients_read() {
    let mock = spawn_mock().await;
    let path = format!("/__mock/devices/{ARGON}/variables/temperature");
    let (status, set) = mock
        .call(Method::PUT, &path, Some(json!({"value": 30.25})))
        .await;
    assert_eq!(
        (status, set),
        (200, json!({"type": "double", "value": 30.25}))
    );
    let read = mock
        .device_call(
            Method::GET,
            "/v1/devices/demo-argon/temperature",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(read.body["result"], 30.25);
    // A value of another type, and a type change, are 400; a new variable needs a type.
    for body in [
        json!({"value": "hot"}),
        json!({"type": "string", "value": "hot"}),
    ] {
        let (status, _) = mock.call(Method::PUT, &path, Some(body)).await;
        assert_eq!(status, 400);
    }
    let added = format!("/__mock/devices/{ARGON}/variables/mode");
    let (status, _) = mock
        .call(Method::PUT, &added, Some(json!({"value": "eco"})))
        .await;
    assert_eq!(status, 404);
    let (status, _) = mock
        .call(
            Method::PUT,
            &added,
            Some(json!({"type": "string", "value": "eco"})),
        )
        .await;
    assert_eq!(status, 200);
    let listed = mock
        .device_call(Method::GET, "/v1/devices/demo-argon", USER_TOKEN, None)
        .await;
    assert_eq!(listed.body["variables"]["mode"], "string");
}

#[tokio::test]
async fn a_functions_behaviour_set_through_the_control_api_is_what_clients_get() {
    let mock = spawn_mock().await;
    let (status, function) = mock
        .call(
            Method::PUT,
            &format!("/__mock/devices/{ARGON}/functions/led"),
            Some(json!({"returns": 42, "set": {"variable": "uptime", "value": 1}})),
        )
        .await;
    assert_eq!(status, 200, "{function}");
    let called = mock
        .device_call(Method::POST, "/v1/devices/demo-argon/led", USER_TOKEN, None)
        .await;
    assert_eq!(called.body["return_value"], 42);
    let uptime = mock
        .device_call(
            Method::GET,
            "/v1/devices/demo-argon/uptime",
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(uptime.body["result"], 1);
    // A new function; an effect on a variable the device lacks is refused.
    let (status, _) = mock
        .call(
            Method::PUT,
            &format!("/__mock/devices/{ARGON}/functions/len"),
            Some(json!({"returns": "argument_length"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = mock
        .call(
            Method::PUT,
            &format!("/__mock/devices/{ARGON}/functions/bad"),
            Some(json!({"set": {"variable": "nope"}})),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_calls_a_device_received_are_listed_in_order_with_caller_and_time() {
    // Arrange
    let mock = spawn_mock().await;
    let customer = mock.default_customer_token().await;
    mock.device_call(
        Method::POST,
        "/v1/devices/demo-argon/echo",
        USER_TOKEN,
        Some(json!({"args": "first"})),
    )
    .await;
    mock.clock.advance(Duration::from_secs(5));
    mock.device_call(
        Method::POST,
        "/v1/devices/customer-photon/unlock",
        &customer,
        None,
    )
    .await;
    mock.device_call(
        Method::POST,
        &format!("/v1/devices/{BORON}/reboot"),
        USER_TOKEN,
        None,
    )
    .await;
    // Act
    let (status, all) = mock.get_json("/__mock/devices/calls").await;
    let (_, argon) = mock
        .get_json(&format!("/__mock/devices/calls?device={ARGON}"))
        .await;
    // Assert
    assert_eq!(status, 200);
    assert_eq!(
        all["calls"],
        json!([
            {"device_id": ARGON, "function": "echo", "argument": "first", "caller": "user", "at": T0, "return_value": 5},
            {"device_id": PHOTON, "function": "unlock", "argument": "", "caller": "customer", "at": T0 + 5000, "return_value": 1},
            {"device_id": BORON, "function": "reboot", "argument": "", "caller": "user", "at": T0 + 5000, "return_value": null}
        ])
    );
    assert_eq!(argon["calls"].as_array().unwrap().len(), 1);
    let (status, _) = mock
        .call(Method::DELETE, "/__mock/devices/calls", None)
        .await;
    assert_eq!(status, 200);
    let (_, none) = mock.get_json("/__mock/devices/calls").await;
    assert_eq!(none["calls"], json!([]));
}

#[tokio::test]
async fn claim_codes_are_readable_through_the_control_api() {
    let mock = spawn_mock().await;
    let made = mock
        .device_call(
            Method::POST,
            "/v1/device_claims",
            USER_TOKEN,
            Some(json!({"imei": "3575"})),
        )
        .await;
    let (status, codes) = mock.get_json("/__mock/devices/claim-codes").await;
    assert_eq!(status, 200);
    assert_eq!(codes["claim_codes"][0]["code"], made.body["claim_code"]);
    assert_eq!(codes["claim_codes"][0]["for_account"], "user@example.com");
    assert_eq!(codes["claim_codes"][0]["device_hint"], "3575");
}

#[tokio::test]
async fn an_offline_device_answers_after_the_delay_on_the_mocks_clock() {
    // Arrange: a 30 s delay, as the docs describe for a device the cloud thinks online.
    let mock = spawn_mock().await;
    let (status, settings) = mock
        .call(
            Method::PUT,
            "/__mock/devices/settings",
            Some(json!({"offline_delay_ms": 30_000})),
        )
        .await;
    assert_eq!(
        (status, settings),
        (200, json!({"offline_delay_ms": 30_000}))
    );
    let client = mock.client.clone();
    let url = mock.url(&format!("/v1/devices/{BORON}/battery"));
    let mut pending = tokio::spawn(async move {
        client
            .get(url)
            .bearer_auth(USER_TOKEN)
            .send()
            .await
            .unwrap()
    });
    // Act + Assert: no answer while the clock stands (a short real-time look)…
    let early = tokio::time::timeout(Duration::from_millis(200), &mut pending).await;
    assert!(early.is_err(), "answered before the delay passed");
    // …and the timeout answer once the clock has moved 30 s.
    mock.clock.advance(Duration::from_secs(30));
    let response = pending.await.unwrap();
    assert_eq!(response.status(), 408);
    let (status, _) = mock
        .call(
            Method::PUT,
            "/__mock/devices/settings",
            Some(json!({"offline_delay_ms": 60_001})),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_reset_puts_the_devices_back_to_their_fixtures() {
    let mock = spawn_mock().await;
    mock.call(
        Method::PUT,
        &format!("/__mock/devices/{ARGON}/variables/led"),
        Some(json!({"value": "blue"})),
    )
    .await;
    mock.device_call(
        Method::POST,
        "/v1/devices/demo-argon/echo",
        USER_TOKEN,
        None,
    )
    .await;
    mock.call(Method::POST, "/__mock/reset", None).await;
    let (_, device) = mock.get_json(&format!("/__mock/devices/{ARGON}")).await;
    let (_, calls) = mock.get_json("/__mock/devices/calls").await;
    assert_eq!(device["variables"]["led"]["value"], "off");
    assert_eq!(calls["calls"], json!([]));
}

#[tokio::test]
async fn the_library_drives_the_same_operations() {
    // Arrange
    let mock = spawn_mock().await;
    let controls = mock.server.controls();
    // Act
    controls
        .set_function(
            ARGON,
            "led",
            Behaviour {
                returns: Returns::Fixed(7),
                ..Behaviour::default()
            },
        )
        .unwrap();
    controls
        .set_variable(
            ARGON,
            "uptime",
            &VariableUpdate {
                var_type: None,
                value: json!(99),
            },
        )
        .unwrap();
    let called = mock
        .device_call(Method::POST, "/v1/devices/demo-argon/led", USER_TOKEN, None)
        .await;
    let read = mock
        .device_call(
            Method::GET,
            "/v1/devices/demo-argon/uptime",
            USER_TOKEN,
            None,
        )
        .await;
    controls
        .update_device(
            ARGON,
            &DevicePatch {
                online: Some(false),
                ..DevicePatch::default()
            },
        )
        .unwrap();
    // Assert
    assert_eq!(called.body["return_value"], 7);
    assert_eq!(read.body["result"], 99);
    assert!(!controls.device(ARGON).unwrap().online);
    let calls = controls.device_calls(Some(ARGON));
    assert_eq!(calls[0].caller, CallerKind::User);
    assert_eq!(calls[0].return_value, Some(7));
    assert!(controls
        .set_variable(
            "nope",
            "x",
            &VariableUpdate {
                var_type: None,
                value: json!(1)
            }
        )
        .is_err());
}
