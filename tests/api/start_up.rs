//! Start-up refusals: an empty control secret, every
//! numeric option out of range, a fixtures path that is not a small regular file. Each
//! refusal names the option or the file.

use particle_auth_mock::{Config, MockServer, StartError};

async fn refusal(config: Config) -> String {
    match MockServer::builder().config(config).start().await {
        Ok(_) => panic!("the mock started"),
        Err(error) => error.to_string(),
    }
}

/// One change to a default `Config`.
type Edit = Box<dyn Fn(&mut Config)>;

fn with(edit: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::default();
    config.listen = "127.0.0.1:0".parse().unwrap();
    edit(&mut config);
    config
}

#[tokio::test]
async fn an_empty_control_secret_is_a_start_up_error_naming_the_option() {
    for secret in ["", "   "] {
        // Act
        let message = refusal(with(|c| c.control_secret = Some(secret.into()))).await;
        // Assert
        assert!(message.contains("--control-secret"), "{message}");
    }
}

#[tokio::test]
async fn nonsense_numeric_options_are_start_up_errors_naming_them() {
    // Arrange: the values the adversarial run found accepted, and their neighbours.
    let cases: Vec<(&str, Edit)> = vec![
        ("--max-tokens", Box::new(|c| c.max_tokens = 0)),
        ("--token-lifetime", Box::new(|c| c.token_lifetime = -5)),
        ("--token-lifetime", Box::new(|c| c.token_lifetime = 0)),
        (
            "--token-lifetime",
            Box::new(|c| c.token_lifetime = i64::MAX),
        ),
        (
            "--refresh-token-lifetime",
            Box::new(|c| c.refresh_token_lifetime = -1),
        ),
        ("--max-headers", Box::new(|c| c.max_headers = 0)),
        ("--header-timeout-ms", Box::new(|c| c.header_timeout_ms = 0)),
        (
            "--request-timeout-ms",
            Box::new(|c| c.request_timeout_ms = 0),
        ),
        ("--max-header-bytes", Box::new(|c| c.max_header_bytes = 0)),
        ("--max-body-bytes", Box::new(|c| c.max_body_bytes = 0)),
        ("--mfa-token-ttl", Box::new(|c| c.mfa_token_ttl = 0)),
        ("--journal-size", Box::new(|c| c.journal_size = usize::MAX)),
        ("--max-tenants", Box::new(|c| c.max_tenants = usize::MAX)),
        ("--max-total-tokens", Box::new(|c| c.max_total_tokens = 0)),
        (
            "--max-total-tracked-clients",
            Box::new(|c| c.max_total_tracked_clients = 0),
        ),
        ("--max-total-records", Box::new(|c| c.max_total_records = 0)),
        // Every world's journal together: 100,000 × 1,001 worlds is over 5,000,000.
        (
            "--journal-size",
            Box::new(|c| {
                c.journal_size = 100_000;
                c.max_tenants = 1_000;
            }),
        ),
        (
            "--max-tracked-clients",
            Box::new(|c| c.max_tracked_clients = Some(0)),
        ),
        (
            "--max-connections-per-client",
            Box::new(|c| c.max_connections_per_client = Some(0)),
        ),
    ];
    for (option, edit) in cases {
        // Act
        let message = refusal(with(|c| edit(c))).await;
        // Assert
        assert!(message.contains(option), "{option}: {message}");
    }
}

#[tokio::test]
async fn the_default_config_is_valid() {
    assert_eq!(Config::default().validate(), Ok(()));
}

#[tokio::test]
async fn a_fixtures_path_that_is_not_a_regular_file_is_refused_without_reading_it() {
    // Arrange: a device that never ends, and a FIFO nobody writes to (reading either
    // would never finish).
    let fifo = std::env::temp_dir().join(format!("pam-fifo-{}", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let mut paths = vec![std::path::PathBuf::from("/dev/zero")];
    if made.is_ok_and(|s| s.success()) {
        paths.push(fifo.clone());
    }
    for path in paths {
        // Act
        let result = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            MockServer::builder()
                .config(with(|c| c.fixtures = Some(path.clone())))
                .start(),
        )
        .await
        .expect("refused at once");
        // Assert
        match result {
            Err(StartError::Fixtures(error)) => {
                assert!(error.message.contains("not a regular file"), "{error}")
            }
            other => panic!("{path:?}: {other:?}"),
        }
    }
    let _ = std::fs::remove_file(&fifo);
}

#[tokio::test]
async fn a_fixtures_file_over_two_mebibytes_is_refused() {
    // Arrange
    let path = std::env::temp_dir().join(format!("pam-big-{}.json", std::process::id()));
    std::fs::write(&path, " ".repeat(2 * 1024 * 1024 + 1)).unwrap();
    // Act
    let result = MockServer::builder()
        .config(with(|c| c.fixtures = Some(path.clone())))
        .start()
        .await;
    // Assert
    match result {
        Err(StartError::Fixtures(error)) => {
            assert!(error.message.contains("larger than"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_file(&path);
}
