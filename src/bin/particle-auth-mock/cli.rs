//! The command line: [`Cli`] (the library's [`Config`] flattened, plus subcommands).
//! Only the binary parses it, so only the binary reads the process environment.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};
use particle_auth_mock::parity::ParityArgs;
use particle_auth_mock::Config;

/// Parses the command line and the environment, or exits with clap's message; a bad
/// value that came from an environment variable is reported under the variable's name
/// (clap names only the flag, which the user never typed).
pub fn parse() -> Cli {
    Cli::try_parse().unwrap_or_else(|error| {
        if let Some(message) = from_environment(&error) {
            eprint!("{message}");
            std::process::exit(2);
        }
        error.exit()
    })
}

/// clap's message with the flag replaced by its variable, when the refused value came
/// from the environment.
fn from_environment(error: &clap::Error) -> Option<String> {
    if !matches!(
        error.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        return None;
    }
    let Some(ContextValue::String(shown)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = shown.split_whitespace().next()?.strip_prefix("--")?;
    let typed = std::env::args().any(|a| {
        a.strip_prefix("--")
            .is_some_and(|a| a == long || a.starts_with(&format!("{long}=")))
    });
    if typed {
        return None;
    }
    let command = Cli::command();
    let variable = command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))?
        .get_env()?
        .to_string_lossy()
        .into_owned();
    std::env::var_os(&variable)?;
    let rendered = error.render().to_string();
    Some(rendered.replacen(
        shown.as_str(),
        &format!("{variable} (the environment variable of --{long})"),
        1,
    ))
}

/// The command line: options, and an optional subcommand.
#[derive(Debug, Parser)]
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
