//! The first five minutes: log in, read the token, use it.

use crate::helpers::*;

#[tokio::test]
async fn password_login_returns_a_bearer_token_that_works() {
    let mock = spawn_mock().await;
    let body = mock.login("user@example.com", "password").await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 7_776_000);
    let token = body["access_token"].as_str().unwrap();
    let (status, info) =
        status_and_json(mock.get_with("/v1/access_tokens/current", token).await).await;
    assert_eq!(status, 200);
    assert_eq!(info["client"], "particle");
}
