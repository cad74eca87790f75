//! Small helpers every layer may use: server-wide tallies, shared map types, list paging and text helpers. Imports nothing
//! of the crate.

pub(crate) mod budget;
pub(crate) mod maps;
pub(crate) mod paging;
pub(crate) mod text;
