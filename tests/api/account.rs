//! Account endpoints a client calls right after login (particle-api.md §5).

use crate::helpers::*;

#[tokio::test]
async fn get_user_shows_the_documented_fields_and_mfa_status() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let (status, user) = status_and_json(mock.get_with("/v1/user", USER_TOKEN).await).await;
    // Assert
    assert_eq!(status, 200);
    assert_eq!(user["username"], "user@example.com");
    assert_eq!(user["account_info"]["first_name"], "Test");
    assert_eq!(user["account_info"]["last_name"], "User");
    assert_eq!(user["mfa"], serde_json::json!({"enabled": false}));
    assert_eq!(user["subscription_ids"], serde_json::json!([]));
    assert_eq!(user["wifi_device_count"], 1);
    assert_eq!(user["cellular_device_count"], 1);
}

#[tokio::test]
async fn get_devices_is_an_array_of_the_users_devices() {
    // Arrange
    let mock = spawn_mock().await;
    // Act
    let (status, devices) = status_and_json(mock.get_with("/v1/devices", USER_TOKEN).await).await;
    // Assert
    assert_eq!(status, 200);
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 2);
    let argon = devices.iter().find(|d| d["name"] == "demo-argon").unwrap();
    assert_eq!(argon["id"], "0123456789abcdef01234567");
    assert_eq!(argon["online"], true);
    assert_eq!(argon["functions"], serde_json::json!(["led", "echo"]));
    assert_eq!(
        argon["variables"],
        serde_json::json!({"led": "string", "temperature": "double", "uptime": "int32"})
    );
    for field in [
        "last_ip_address",
        "last_heard",
        "product_id",
        "platform_id",
        "cellular",
        "notes",
        "status",
        "serial_number",
        "system_firmware_version",
    ] {
        assert!(argon.get(field).is_some(), "missing {field}");
    }
}

#[tokio::test]
async fn a_user_without_devices_gets_an_empty_array() {
    let mock = spawn_mock().await;
    let token = mock.login("developer@example.com", "password").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, devices) = status_and_json(mock.get_with("/v1/devices", &token).await).await;
    assert_eq!(status, 200);
    assert_eq!(devices, serde_json::json!([]));
}
