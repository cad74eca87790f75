//! Device management (devices spec D2), flash and compile (D8), and the areas not
//! emulated (D11).

use reqwest::Method;
use serde_json::json;

use crate::device_support::*;
use crate::helpers::{spawn_mock, spawn_with_fixtures, API_USER_TOKEN, USER_TOKEN};

const UNOWNED: &str = "cccccccccccccccccccccccc";

// ---- D2.2: the device object ----

#[tokio::test]
async fn the_device_object_carries_online_and_connected_and_the_d2_2_fields() {
    let mock = spawn_mock().await;
    let argon = mock
        .device_call(
            Method::GET,
            &format!("/v1/devices/{ARGON}"),
            USER_TOKEN,
            None,
        )
        .await;
    let boron = mock
        .device_call(
            Method::GET,
            &format!("/v1/products/demo-product/devices/{BORON}"),
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(argon.status, 200);
    assert_eq!(argon.body["online"], true);
    assert_eq!(argon.body["connected"], true);
    // A sandbox device's product_id is its platform (particle-cli prints it).
    assert_eq!(argon.body["product_id"], 12);
    assert_eq!(argon.body["system_firmware_version"], "6.1.1");
    assert_eq!(argon.body["owner"], "user@example.com");
    assert_eq!(
        argon.body["device_protection"],
        json!({"status": "disabled"})
    );
    assert_eq!(boron.body["online"], false);
    assert_eq!(boron.body["connected"], false);
    assert_eq!(boron.body["product_id"], 1001);
    assert_eq!(boron.body["firmware_version"], 3);
    assert_eq!(boron.body["system_firmware_version"], "4.2.0");
    // Offline: the last known functions and variables (D12 item 11).
    assert_eq!(boron.body["functions"], json!(["reboot"]));
    assert_eq!(boron.body["variables"], json!({"battery": "double"}));
}

// ---- D2.3: claim ----

#[tokio::test]
async fn claiming_an_unowned_device_makes_it_the_callers() {
    let mock = spawn_with_fixtures(ROLES_FIXTURES).await;
    let owner = mock.token_for("owner@example.com").await;
    let claimed = mock
        .device_call(
            Method::POST,
            "/v1/devices",
            &owner,
            Some(json!({"id": UNOWNED.to_uppercase(), "request_transfer": false})),
        )
        .await;
    assert_eq!(claimed.status, 200, "{}", claimed.body);
    assert_eq!(claimed.body["ok"], true);
    assert_eq!(claimed.body["id"], UNOWNED);
    assert_eq!(claimed.body["deviceID"], UNOWNED);
    assert_eq!(claimed.body["claimed"], true);
    assert_eq!(claimed.body["connected"], false);
    assert!(claimed.body["user_id"].as_str().unwrap().len() == 24);
    let listed = mock
        .device_call(Method::GET, "/v1/devices", &owner, None)
        .await;
    let ids: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&UNOWNED), "{ids:?}");
}

#[tokio::test]
async fn claiming_an_unknown_or_foreign_device_gets_the_recorded_refusals() {
    let mock = spawn_with_fixtures(ROLES_FIXTURES).await;
    let stranger = mock.token_for("stranger@example.com").await;
    let unknown = mock
        .device_call(
            Method::POST,
            "/v1/devices",
            &stranger,
            Some(json!({"id": "0000"})),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.body,
        json!({"ok": false, "errors": ["device not found"]})
    );
    let foreign = mock
        .device_call(
            Method::POST,
            "/v1/devices",
            &stranger,
            Some(json!({"id": MINE})),
        )
        .await;
    assert_eq!(foreign.status, 403);
    assert_eq!(
        foreign.body,
        json!({"errors": ["That belongs to someone else."]})
    );
    let transfer = mock
        .device_form(
            Method::POST,
            "/v1/devices",
            &stranger,
            &[("id", MINE), ("request_transfer", "true")],
        )
        .await;
    assert_eq!(transfer.status, 200);
    assert_eq!(
        transfer.body,
        json!({"ok": true, "transfer_requested": true})
    );
    let missing = mock
        .device_call(Method::POST, "/v1/devices", &stranger, Some(json!({})))
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.body["ok"], false);
    let provisioning = mock
        .device_call(
            Method::POST,
            "/v1/devices",
            &stranger,
            Some(json!({"id": UNOWNED, "product_id": 2001})),
        )
        .await;
    assert_eq!(provisioning.status, 501);
    let api_user = mock
        .device_call(
            Method::POST,
            "/v1/devices",
            CALLER_API_USER,
            Some(json!({"id": UNOWNED})),
        )
        .await;
    assert_eq!(api_user.status, 403);
    assert_eq!(
        api_user.body["error_description"],
        "API users are not allowed to call this endpoint"
    );
}

// ---- D2.4: unclaim, remove owner ----

#[tokio::test]
async fn unclaiming_lets_the_device_go() {
    let mock = spawn_mock().await;
    let released = mock
        .device_call(Method::DELETE, "/v1/devices/demo-argon", USER_TOKEN, None)
        .await;
    assert_eq!((released.status, released.body), (200, json!({"ok": true})));
    let gone = mock
        .device_call(
            Method::GET,
            &format!("/v1/devices/{ARGON}"),
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!(gone.status, 403);
}

#[tokio::test]
async fn the_product_removes_a_devices_owner_and_customer() {
    let mock = spawn_mock().await;
    let removed = mock
        .device_call(
            Method::DELETE,
            &format!("/v1/products/demo-product/devices/{PHOTON}/owner"),
            USER_TOKEN,
            None,
        )
        .await;
    assert_eq!((removed.status, removed.body), (200, json!({"ok": true})));
    let customer = mock.default_customer_token().await;
    let listed = mock
        .device_call(Method::GET, "/v1/devices", &customer, None)
        .await;
    assert_eq!(listed.body, json!([]));
}

// ---- D2.5: update ----

#[tokio::test]
async fn each_update_field_answers_its_own_keys() {
    let mock = spawn_mock().await;
    let path = format!("/v1/products/demo-product/devices/{PHOTON}");
    let put = |body| mock.device_call(Method::PUT, &path, USER_TOKEN, Some(body));
    let renamed = put(json!({"name": "kitchen"})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "kitchen");
    assert_eq!(renamed.body["updated_at"], "2026-01-01T00:00:00.000Z");
    let notes = put(json!({"notes": "by the door"})).await;
    assert_eq!(notes.body["notes"], "by the door");
    let signal = put(json!({"signal": "1"})).await;
    assert_eq!(
        signal.body,
        json!({"id": PHOTON, "connected": true, "signaling": true})
    );
    let development = put(json!({"development": true})).await;
    assert_eq!(development.body["development"], true);
    let locked = put(json!({"desired_firmware_version": 3, "flash": true})).await;
    assert_eq!(locked.body["desired_firmware_version"], 3);
    let unlocked = put(json!({"desired_firmware_version": null})).await;
    assert_eq!(unlocked.body["desired_firmware_version"], json!(null));
    let forced = put(json!({"firmware_updates_forced": true})).await;
    assert_eq!(
        forced.body,
        json!({"id": PHOTON, "firmware_updates_forced": true})
    );
    let groups = put(json!({"groups": ["europe", "asia"]})).await;
    assert_eq!(groups.body["groups"], json!(["europe", "asia"]));
    // Every change shows on the next read.
    let device = mock.device_call(Method::GET, &path, USER_TOKEN, None).await;
    assert_eq!(device.body["name"], "kitchen");
    assert_eq!(device.body["notes"], "by the door");
    assert_eq!(device.body["development"], true);
    assert_eq!(device.body["firmware_updates_forced"], true);
    assert_eq!(device.body["groups"], json!(["europe", "asia"]));
    assert_eq!(device.body["desired_firmware_version"], json!(null));
}

#[tokio::test]
async fn several_fields_at_once_are_merged_and_an_empty_body_is_nothing_to_do() {
    let mock = spawn_mock().await;
    let both = mock
        .device_form(
            Method::PUT,
            "/v1/devices/demo-argon",
            USER_TOKEN,
            &[("name", "lamp"), ("notes", "desk")],
        )
        .await;
    assert_eq!(both.status, 200, "{}", both.body);
    assert_eq!(
        both.body,
        json!({"id": ARGON, "name": "lamp", "notes": "desk", "updated_at": "2026-01-01T00:00:00.000Z"})
    );
    let empty = mock
        .device_call(Method::PUT, "/v1/devices/lamp", USER_TOKEN, Some(json!({})))
        .await;
    assert_eq!(empty.status, 400);
    assert_eq!(empty.body, json!({"ok": false, "error": "Nothing to do?"}));
}

#[tokio::test]
async fn bad_update_values_are_400_and_names_are_unique_per_owner() {
    let mock = spawn_mock().await;
    for body in [
        json!({"name": ""}),
        json!({"name": "x".repeat(64)}),
        json!({"groups": ["a,b"]}),
        json!({"desired_firmware_version": "soon"}),
        json!({"notes": 5}),
        json!({"name": "product-boron"}),
    ] {
        let answer = mock
            .device_call(
                Method::PUT,
                "/v1/devices/demo-argon",
                USER_TOKEN,
                Some(body.clone()),
            )
            .await;
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.body["ok"], false, "{body}");
    }
}

#[tokio::test]
async fn signalling_an_offline_device_gets_the_recorded_timeout() {
    let mock = spawn_mock().await;
    let answer = mock
        .device_call(
            Method::PUT,
            &format!("/v1/devices/{BORON}"),
            USER_TOKEN,
            Some(json!({"signal": "1"})),
        )
        .await;
    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.body,
        json!({"ok": false, "code": 500, "errors": [{"error": "Timed out, didn't hear back from device service"}]})
    );
}

#[tokio::test]
async fn updates_need_the_developer_role_or_the_update_scope() {
    let mock = spawn_with_fixtures(ROLES_FIXTURES).await;
    let path = format!("/v1/products/fleet/devices/{FLEET_ONE}");
    let body = json!({"name": "renamed"});
    for email in ["viewer@example.com", "support@example.com"] {
        let token = mock.token_for(email).await;
        let refused = mock
            .device_call(Method::PUT, &path, &token, Some(body.clone()))
            .await;
        assert_eq!(refused.status, 403, "{email}");
        assert_eq!(refused.body["error"], "Permission Denied");
    }
    let dev = mock.token_for("dev@example.com").await;
    let allowed = mock
        .device_call(Method::PUT, &path, &dev, Some(body.clone()))
        .await;
    assert_eq!(allowed.status, 200);
    let api_user = mock
        .device_call(Method::PUT, &path, CALLER_API_USER, Some(body.clone()))
        .await;
    assert_eq!(api_user.status, 200);
    let reader = mock
        .device_call(Method::PUT, &path, READER_API_USER, Some(body.clone()))
        .await;
    assert_eq!(reader.status, 403);
    assert_eq!(
        reader.body["error_description"],
        "Insufficient scope: this endpoint requires devices:update"
    );
    // A customer operates its device but does not change it (D12 item 7).
    let buyer = mock
        .client
        .post(mock.url("/oauth/token"))
        .basic_auth("fleet-client", Some("fleet-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "customer=buyer@example.com"),
        ])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let buyer = buyer["access_token"].as_str().unwrap();
    let customer = mock
        .device_call(
            Method::PUT,
            &format!("/v1/devices/{FLEET_ONE}"),
            buyer,
            Some(body),
        )
        .await;
    assert_eq!(customer.status, 403);
    assert_eq!(customer.body["error"], "Permission Denied");
}

// ---- D2.6: ping ----

#[tokio::test]
async fn ping_answers_200_online_or_offline() {
    let mock = spawn_mock().await;
    let online = mock
        .device_call(Method::PUT, "/v1/devices/demo-argon/ping", USER_TOKEN, None)
        .await;
    let offline = mock
        .device_call(
            Method::PUT,
            &format!("/v1/products/demo-product/devices/{BORON}/ping"),
            USER_TOKEN,
            None,
        )
        .await;
    let unknown = mock
        .device_call(Method::PUT, "/v1/devices/nope/ping", USER_TOKEN, None)
        .await;
    assert_eq!(
        (online.status, online.body),
        (200, json!({"online": true, "ok": true}))
    );
    assert_eq!(
        (offline.status, offline.body),
        (200, json!({"online": false, "ok": true}))
    );
    assert_eq!(unknown.status, 403);
}

// ---- D2.7: claim codes ----

#[tokio::test]
async fn claim_codes_are_made_for_users_and_customers_not_api_users() {
    let mock = spawn_mock().await;
    let user = mock
        .device_call(
            Method::POST,
            "/v1/device_claims",
            USER_TOKEN,
            Some(json!({})),
        )
        .await;
    assert_eq!(user.status, 200);
    let code = user.body["claim_code"].as_str().unwrap();
    assert_eq!(code.len(), 63);
    assert!(code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'));
    assert_eq!(user.body["device_ids"], json!([ARGON, BORON]));
    let customer = mock.default_customer_token().await;
    let product = mock
        .device_call(
            Method::POST,
            "/v1/products/demo-product/device_claims",
            &customer,
            Some(json!({"iccid": "8934"})),
        )
        .await;
    assert_eq!(product.status, 200, "{}", product.body);
    assert_eq!(product.body["device_ids"], json!([PHOTON]));
    let api_user = mock
        .device_call(Method::POST, "/v1/device_claims", API_USER_TOKEN, None)
        .await;
    assert_eq!(api_user.status, 403);
}

// ---- D8, D11: flash, compile, areas not emulated ----

/// A `multipart/form-data` body with one `file` part, as particle-api-js sends it:
/// the content type and the bytes.
fn multipart(file: &[u8], name: &str) -> (String, Vec<u8>) {
    let mut body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    ("multipart/form-data; boundary=XyZ".into(), body)
}

#[tokio::test]
async fn a_binary_flash_is_accepted_and_a_source_flash_is_refused() {
    let mock = spawn_mock().await;
    let flash = |(content_type, body): (String, Vec<u8>)| {
        mock.client
            .put(mock.url("/v1/devices/demo-argon"))
            .bearer_auth(USER_TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let binary = flash(multipart(b"\x00\x01firmware\x00", "app.bin"))
        .await
        .unwrap();
    assert_eq!(binary.status(), 200);
    let body: serde_json::Value = binary.json().await.unwrap();
    assert_eq!(body, json!({"id": ARGON, "status": "Update started"}));
    let source = flash(multipart(b"void setup() {}", "app.ino"))
        .await
        .unwrap();
    assert_eq!(source.status(), 400);
    let body: serde_json::Value = source.json().await.unwrap();
    assert_eq!(body["output"], "Compiler timed out or encountered an error");
}

#[tokio::test]
async fn cloud_compile_is_refused_with_the_answer_particle_cli_prints() {
    let mock = spawn_mock().await;
    let (content_type, body) = multipart(b"void setup() {}", "app.ino");
    let response = mock
        .client
        .post(mock.url("/v1/binaries"))
        .bearer_auth(USER_TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"ok": false, "output": "Compiler timed out or encountered an error",
               "errors": ["particle-auth-mock does not compile firmware; build locally and flash the .bin"]})
    );
}

#[tokio::test]
async fn areas_not_emulated_answer_501_json_naming_the_route() {
    let mock = spawn_mock().await;
    for (method, path) in [
        (Method::GET, "/v1/libraries"),
        (Method::POST, "/v1/products/demo-product/firmware"),
        (Method::GET, "/v1/sims/8934"),
        (Method::DELETE, "/v1/orgs/demo-org/ledgers/x"),
        (Method::GET, "/v1/diagnostics/0123456789abcdef01234567/last"),
    ] {
        let answer = mock
            .device_call(method.clone(), path, USER_TOKEN, None)
            .await;
        assert_eq!(answer.status, 501, "{method} {path}");
        assert_eq!(
            answer.body,
            json!({"ok": false, "error": format!("Not implemented by particle-auth-mock: {method} {path}")})
        );
        assert!(answer.content_type.starts_with("application/json"));
    }
}
