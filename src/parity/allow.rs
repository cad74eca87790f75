//! The allow-list: known differences, each naming the `docs/fidelity.md` row that records
//! the choice. A JSON array of `{"flow", "step"?, "kind"?, "path"?, "fidelity", "reason"}`.

use std::path::Path;

use serde::Deserialize;

use crate::parity::diff::Difference;

/// The largest allow-list file read.
const MAX_ALLOW_LIST: u64 = 1024 * 1024;

/// One known difference.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Allowed {
    flow: String,
    #[serde(default)]
    step: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    path: Option<String>,
    /// `docs/fidelity.md#<row>`: where the difference is recorded and explained.
    fidelity: String,
    /// Why the difference is accepted.
    #[allow(dead_code)] // read by people; parsed to refuse files without it
    reason: String,
}

impl Allowed {
    fn matches(&self, d: &Difference) -> bool {
        self.flow == d.flow
            && self.step.as_ref().is_none_or(|s| *s == d.step)
            && self.kind.as_ref().is_none_or(|k| k == d.kind)
            && self.path.as_ref().is_none_or(|p| *p == d.path)
    }
}

/// Reads an allow-list file; an entry without a `docs/fidelity.md` row is refused.
pub(crate) fn read(path: &Path) -> Result<Vec<Allowed>, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if size > MAX_ALLOW_LIST {
        return Err(format!("{}: larger than 1 MiB", path.display()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let list: Vec<Allowed> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(bad) = list
        .iter()
        .find(|a| !a.fidelity.starts_with("docs/fidelity.md"))
    {
        return Err(format!(
            "{}: the entry for flow `{}` must name its docs/fidelity.md row in `fidelity`",
            path.display(),
            bad.flow
        ));
    }
    Ok(list)
}

/// Marks the differences the list allows.
pub(crate) fn apply(list: &[Allowed], differences: &mut [Difference]) {
    for d in differences {
        d.allowed = list
            .iter()
            .find(|a| a.matches(d))
            .map(|a| a.fidelity.clone());
    }
}
