//! Snapshot files: one `<flow>.json` per flow in a directory, each a normalised
//! [`FlowRun`] that names its source and the date it was recorded.

use std::path::Path;

use crate::parity::capture::FlowRun;

/// The largest snapshot file read.
const MAX_SNAPSHOT: u64 = 1024 * 1024;

/// Writes each run as `<dir>/<flow>.json`.
pub(crate) fn write(dir: &Path, runs: &[FlowRun]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for run in runs {
        let path = dir.join(format!("{}.json", run.flow));
        let mut text = serde_json::to_string_pretty(run).map_err(|e| e.to_string())?;
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Reads every `*.json` of `dir` (sorted by name).
pub(crate) fn read(dir: &Path) -> Result<Vec<FlowRun>, String> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut runs = Vec::new();
    for path in paths {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if size > MAX_SNAPSHOT {
            return Err(format!("{}: larger than 1 MiB", path.display()));
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let run: FlowRun =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        runs.push(run);
    }
    Ok(runs)
}
