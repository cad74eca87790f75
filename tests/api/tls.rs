//! HTTPS (`--tls`): a client that trusts the printed CA talks to the mock; one
//! that does not is refused by TLS; plain HTTP keeps its port beside `--tls-listen`.

use particle_auth_mock::{Config, MockServer};

fn tls_config(ca_out: &std::path::Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: true,
        tls_ca_out: Some(ca_out.to_path_buf()),
        allowed_hosts: vec!["mock.test".into()],
        ..Config::default()
    }
}

fn trusting(ca_file: &std::path::Path) -> reqwest::Client {
    let pem = std::fs::read(ca_file).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

async fn login(client: &reqwest::Client, base: &str) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{base}/oauth/token"))
        .basic_auth("particle", Some("particle"))
        .form(&[
            ("grant_type", "password"),
            ("username", "user@example.com"),
            ("password", "password"),
        ])
        .send()
        .await
}

#[tokio::test]
async fn a_client_trusting_the_generated_ca_logs_in_over_https() {
    // Arrange
    let ca = std::env::temp_dir().join(format!("pam-ca-{}-a.pem", std::process::id()));
    let mock = MockServer::builder()
        .config(tls_config(&ca))
        .start()
        .await
        .unwrap();
    assert!(
        mock.uri().starts_with("https://127.0.0.1:"),
        "{}",
        mock.uri()
    );
    assert_eq!(mock.tls_ca_file(), Some(ca.as_path()));
    let client = trusting(&ca);
    // Act
    let response = login(&client, &mock.uri()).await.unwrap();
    // Assert
    assert_eq!(response.status(), 200);
    // `localhost` is in the certificate too.
    let port = mock.address().port();
    let response = login(&client, &format!("https://localhost:{port}"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let _ = std::fs::remove_file(&ca);
}

#[tokio::test]
async fn a_client_without_the_ca_is_refused_by_tls() {
    // Arrange
    let ca = std::env::temp_dir().join(format!("pam-ca-{}-b.pem", std::process::id()));
    let mock = MockServer::builder()
        .config(tls_config(&ca))
        .start()
        .await
        .unwrap();
    let stranger = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    // Act
    let refused = login(&stranger, &mock.uri()).await.unwrap_err();
    // Assert: a connection error (the certificate), not an HTTP answer.
    assert!(refused.is_connect(), "{refused:?}");
    assert!(
        format!("{refused:?}")
            .to_lowercase()
            .contains("certificate"),
        "{refused:?}"
    );
    let _ = std::fs::remove_file(&ca);
}

#[tokio::test]
async fn tls_listen_keeps_plain_http_on_its_own_port() {
    // Arrange
    let ca = std::env::temp_dir().join(format!("pam-ca-{}-c.pem", std::process::id()));
    let config = Config {
        tls_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..tls_config(&ca)
    };
    let mock = MockServer::builder().config(config).start().await.unwrap();
    let https = mock.https_uri().unwrap();
    // Act
    let plain = login(&reqwest::Client::new(), &mock.uri()).await.unwrap();
    let secure = login(&trusting(&ca), &https).await.unwrap();
    // Assert
    assert!(mock.uri().starts_with("http://"));
    assert_ne!(https.replace("https", "http"), mock.uri());
    assert_eq!(
        (plain.status().as_u16(), secure.status().as_u16()),
        (200, 200)
    );
    let _ = std::fs::remove_file(&ca);
}

#[tokio::test]
async fn the_users_own_certificate_and_key_are_served() {
    // Arrange: a certificate made by one mock, served by another through the files.
    let dir = std::env::temp_dir().join(format!("pam-own-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_cert: Some(dir.join("cert.pem")),
        tls_key: Some(dir.join("key.pem")),
        ..Config::default()
    };
    let mock = MockServer::builder().config(config).start().await.unwrap();
    assert_eq!(mock.tls_ca_file(), None);
    let client = trusting(&dir.join("cert.pem"));
    // Act
    let port = mock.address().port();
    let response = login(&client, &format!("https://localhost:{port}"))
        .await
        .unwrap();
    // Assert
    assert_eq!(response.status(), 200);
    let _ = std::fs::remove_dir_all(&dir);
}
