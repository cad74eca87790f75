//! The `particle-auth-mock` binary: parse options, install tracing, serve until a signal.
#![deny(clippy::wildcard_imports)]
mod cli;
mod healthcheck;

use cli::Command;
use particle_auth_mock::MockServer;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::parse();
    match cli.command {
        Some(Command::Healthcheck(args)) => {
            return healthcheck::run(&args, cli.config.listen).await
        }
        Some(Command::Parity(args)) => {
            let code = particle_auth_mock::parity::run(*args, &mut std::io::stdout()).await;
            return std::process::ExitCode::from(code);
        }
        _ => {}
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "particle_auth_mock=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let server = match MockServer::builder().config(cli.config).start().await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("particle-auth-mock: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    // Handlers first, then the line CI scripts wait for: a signal right after it is caught.
    let stop = particle_auth_mock::shutdown_signal();
    println!("listening on {}", server.uri());
    if let Some(https) = server.https_uri().filter(|u| *u != server.uri()) {
        println!("listening on {https}");
    }
    if let Some(ca) = server.tls_ca_file() {
        println!("TLS CA certificate: {} (NODE_EXTRA_CA_CERTS)", ca.display());
    }
    stop.await;
    server.shutdown().await;
    std::process::ExitCode::SUCCESS
}
