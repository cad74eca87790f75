//! The command line: [`Cli`] (the library's [`Config`] flattened, plus subcommands).
//! Only the binary parses it, so only the binary reads the process environment.

use particle_auth_mock::parity::ParityArgs;
use particle_auth_mock::Config;

/// The command line: options, and an optional subcommand.
#[derive(Debug, clap::Parser)]
#[command(
    name = "particle-auth-mock",
    version,
    about = "Offline emulator of the Particle Cloud authentication API"
)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Server options.
    #[command(flatten)]
    pub config: Config,
}

/// Subcommands of the binary.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Serve the mock (the default).
    Serve,
    /// Probe a running mock's health endpoint: exit 0 on `200`, 1 otherwise (for a
    /// container `HEALTHCHECK` that has no shell or curl).
    Healthcheck(HealthcheckArgs),
    /// Run the safe flows against a target (or snapshots) and an in-process mock and
    /// compare them: exit 0 equal, 1 drift, 2 usage or network error (docs/parity.md).
    Parity(Box<ParityArgs>),
}

/// Options of the `healthcheck` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthcheckArgs {
    /// URL to probe [default: `/__mock/health` on the port of `--listen`, over loopback
    /// when listening on every address, e.g. http://127.0.0.1:8080/__mock/health].
    #[arg(long, env = "PARTICLE_MOCK_HEALTHCHECK_URL")]
    pub url: Option<String>,
}
