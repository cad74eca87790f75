//! The `parity` subcommand's options ([`ParityArgs`]). The binary fills them with clap,
//! credentials from the environment; the library never reads the environment itself.

use std::path::PathBuf;

/// Options of `particle-auth-mock parity` (docs/parity.md describes each).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ParityArgs {
    /// Base URL of the API to compare with the mock (e.g. `https://api.particle.io`).
    #[arg(long)]
    pub target: Option<String>,
    /// The target account's login.
    #[arg(long, env = "PARTICLE_USERNAME", hide_env_values = true)]
    pub username: Option<String>,
    /// The target account's password.
    #[arg(long, env = "PARTICLE_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// The target account's base32 TOTP secret (an MFA account).
    #[arg(long, env = "PARTICLE_OTP_SECRET", hide_env_values = true)]
    pub otp_secret: Option<String>,
    /// A device of the target account for the device flows (skipped without one).
    #[arg(long, env = "PARTICLE_DEVICE", hide_env_values = true)]
    pub device: Option<String>,
    /// A function of that device that is safe to call with the argument `parity`
    /// (the function call is skipped without one).
    #[arg(long, env = "PARTICLE_FUNCTION")]
    pub function: Option<String>,
    /// An OAuth client id that may refresh tokens (the refresh flow is skipped without one).
    #[arg(long, env = "PARTICLE_CLIENT_ID", hide_env_values = true)]
    pub client_id: Option<String>,
    /// That client's secret.
    #[arg(long, env = "PARTICLE_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// A product of the target account (id or slug) for the product flows (skipped
    /// without one); the account must be an Administrator of it to create an API user.
    #[arg(long, env = "PARTICLE_PRODUCT", hide_env_values = true)]
    pub product: Option<String>,
    /// An OAuth client of that product (the product-token steps are skipped without one).
    #[arg(long, env = "PARTICLE_PRODUCT_CLIENT_ID", hide_env_values = true)]
    pub product_client_id: Option<String>,
    /// That client's secret.
    #[arg(long, env = "PARTICLE_PRODUCT_CLIENT_SECRET", hide_env_values = true)]
    pub product_client_secret: Option<String>,
    /// Fixtures of the in-process mock (default: the embedded set).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// The mock side's login.
    #[arg(long, default_value = "user@example.com")]
    pub mock_username: String,
    /// The mock side's password.
    #[arg(long, default_value = "password")]
    pub mock_password: String,
    /// The mock side's TOTP secret [default: with a target OTP secret, the mock's user is
    /// given MFA with `JBSWY3DPEHPK3PXP`].
    #[arg(long)]
    pub mock_otp_secret: Option<String>,
    /// The mock side's device.
    #[arg(long, default_value = "0123456789abcdef01234567")]
    pub mock_device: String,
    /// The mock side's function (called only when the target side has `--function`).
    #[arg(long, default_value = "led")]
    pub mock_function: String,
    /// The mock side's OAuth client (used only when the target side has a client).
    #[arg(long, default_value = "user-app-1234")]
    pub mock_client_id: String,
    /// That client's secret.
    #[arg(long, default_value = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678")]
    pub mock_client_secret: String,
    /// The mock side's product (used only when the target side has `--product`).
    #[arg(long, default_value = "demo-product")]
    pub mock_product: String,
    /// The mock side's product client (used only when the target side has one).
    #[arg(long, default_value = "demo-product-2146")]
    pub mock_product_client_id: String,
    /// That client's secret.
    #[arg(long, default_value = "615c620d647b6e1dab13bef1695c120b0293c342")]
    pub mock_product_client_secret: String,
    /// A snapshot directory: with `--record`, the target's normalised answers are written
    /// there; without, the mock is compared with them (no network).
    #[arg(long)]
    pub snapshots: Option<PathBuf>,
    /// Record the target's answers into `--snapshots`.
    #[arg(long, requires = "snapshots", requires = "target")]
    pub record: bool,
    /// A JSON allow-list of known differences, each naming its docs/fidelity.md row.
    #[arg(long)]
    pub allow: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// List the flows and their requests, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Run only these flows (repeatable; default: all).
    #[arg(long = "flow")]
    pub flows: Vec<String>,
    /// Seconds to wait for one answer or one stream event.
    #[arg(long, default_value_t = 15)]
    pub timeout_secs: u64,
}

/// One side's credentials and named resources.
#[derive(Clone, Default)]
pub(crate) struct Credentials {
    /// Login e-mail.
    pub username: String,
    /// Password.
    pub password: String,
    /// Base32 TOTP secret.
    pub otp_secret: Option<String>,
    /// Device id.
    pub device: Option<String>,
    /// Function safe to call.
    pub function: Option<String>,
    /// OAuth client id (refresh flow).
    pub client_id: Option<String>,
    /// OAuth client secret.
    pub client_secret: Option<String>,
    /// Product id or slug (product flows).
    pub product: Option<String>,
    /// Product OAuth client id.
    pub product_client_id: Option<String>,
    /// Product OAuth client secret.
    pub product_client_secret: Option<String>,
}

// Secrets stay out of `Debug` output.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials([redacted])")
    }
}

impl ParityArgs {
    /// The target side's credentials, or why they are incomplete.
    pub(crate) fn target_credentials(&self) -> Result<Credentials, &'static str> {
        let username = self
            .username
            .clone()
            .ok_or("PARTICLE_USERNAME (or --username) is required with --target")?;
        let password = self
            .password
            .clone()
            .ok_or("PARTICLE_PASSWORD (or --password) is required with --target")?;
        let client = match (&self.client_id, &self.client_secret) {
            (Some(id), Some(secret)) => (Some(id.clone()), Some(secret.clone())),
            _ => (None, None),
        };
        let product_client = match (&self.product_client_id, &self.product_client_secret) {
            (Some(id), Some(secret)) => (Some(id.clone()), Some(secret.clone())),
            _ => (None, None),
        };
        Ok(Credentials {
            username,
            password,
            otp_secret: self.otp_secret.clone(),
            device: self.device.clone(),
            function: self.function.clone(),
            client_id: client.0,
            client_secret: client.1,
            product: self.product.clone(),
            product_client_id: product_client.0,
            product_client_secret: product_client.1,
        })
    }

    /// The mock side's credentials, mirroring which optional parts the target side has
    /// (a function, a client and a product are used on the mock only when the target has
    /// them).
    pub(crate) fn mock_credentials(&self, target: Option<&Credentials>) -> Credentials {
        let has = |f: fn(&Credentials) -> bool| target.map(f).unwrap_or(true);
        Credentials {
            username: self.mock_username.clone(),
            password: self.mock_password.clone(),
            otp_secret: self.mock_otp_secret.clone(),
            device: has(|c| c.device.is_some()).then(|| self.mock_device.clone()),
            function: has(|c| c.function.is_some()).then(|| self.mock_function.clone()),
            client_id: has(|c| c.client_id.is_some()).then(|| self.mock_client_id.clone()),
            client_secret: has(|c| c.client_id.is_some()).then(|| self.mock_client_secret.clone()),
            product: has(|c| c.product.is_some()).then(|| self.mock_product.clone()),
            product_client_id: has(|c| c.product_client_id.is_some())
                .then(|| self.mock_product_client_id.clone()),
            product_client_secret: has(|c| c.product_client_id.is_some())
                .then(|| self.mock_product_client_secret.clone()),
        }
    }
}
