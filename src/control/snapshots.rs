//! Export and import of a world's state document: the one place the control
//! API and the Rust API ([`Controls`](crate::Controls)) turn bytes into a world.

use crate::error::ApiError;
use crate::world::state::StateDocument;
use crate::world::{state, World};

/// The world as a state document, pretty JSON.
pub(crate) fn export_state(world: &World) -> Vec<u8> {
    state::export(world).to_json()
}

/// Replaces the world with the state document `bytes`; `400` naming the field or the
/// version when it cannot be read (the world is unchanged then).
pub(crate) fn import_state(world: &World, bytes: &[u8]) -> Result<(), ApiError> {
    let doc = StateDocument::parse(bytes).map_err(|e| ApiError::BadRequest(e.0))?;
    state::import(world, doc).map_err(|e| ApiError::BadRequest(e.0))
}
