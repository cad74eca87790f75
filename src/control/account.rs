//! What the account routes leave behind that only an inbox would show: outstanding
//! password-reset tokens (particle-api-account.md A2.5).

#[allow(unused_imports)]
use super::*;
pub use crate::particle::lifecycle::ResetView as PasswordReset;

/// The outstanding, unexpired password resets of `world`, oldest first
/// (`GET /__mock/password-resets`).
pub(crate) fn password_resets(world: &World) -> Vec<PasswordReset> {
    crate::particle::lifecycle::outstanding_resets(&world.store(), world.now())
}
