//! Small helpers every layer may use: shared map types and text helpers. Imports nothing
//! of the crate.

pub(crate) mod maps;
pub(crate) mod text;
