//! The layering check: every module of the library imports only from the
//! layers below its own, so imports run one way. Run it alone with
//! `cargo test --test layering`.
//!
//! A file's layer is its top-level module under `src/` (`src/http/routes/mod.rs` is in
//! `http`). Every `crate::<module>` path in a file's code (imports and inline paths,
//! comments and doc comments aside) names the layer it reaches into; it must be the
//! file's own or one ranked below. The ranks are the `# Layout` table of `src/lib.rs`.

use std::path::{Path, PathBuf};

/// Each layer and its rank: a module may use the modules of lower ranks only.
const RANKS: &[(&str, u8)] = &[
    ("support", 0),
    ("error", 0),
    ("clock", 1),
    ("tokens", 1),
    ("totp", 2),
    ("journal", 2),
    ("events", 2),
    ("faults", 2),
    ("rate_limit", 2),
    ("config", 3),
    ("world", 4),
    ("particle", 5),
    ("control", 6),
    ("http", 7),
    ("server", 8),
    // The parity runner starts in-process mocks, so it sits above the server.
    ("parity", 9),
    // Test and fuzzing support may reach into any layer.
    ("proptests", 10),
    ("fuzzing", 9),
];

fn rank(module: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `crate::<module>` references of a file's code, with their line numbers.
fn references(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            // `$crate::` and identifiers ending in `crate` are not the crate root.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let module: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if module
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
            {
                found.push((n + 1, module));
            }
        }
    }
    found
}

/// Every import that runs back up a layer, as `file:line: layer -> module`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut bad = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("under src");
        let top = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "bin" {
            continue; // the crate root re-exports every layer; the binary is a client
        }
        let own = rank(&top).unwrap_or_else(|| panic!("{top} has no rank in RANKS"));
        let source = std::fs::read_to_string(&file).expect("readable");
        for (line, module) in references(&source) {
            let Some(theirs) = rank(&module) else {
                bad.push(format!(
                    "{}:{line}: unknown layer `{module}`",
                    file.display()
                ));
                continue;
            };
            if module != top && theirs >= own {
                bad.push(format!("{}:{line}: {top} -> {module}", file.display()));
            }
        }
    }
    bad
}

#[test]
fn imports_run_one_way_down_the_layers() {
    // Arrange
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // Act
    let bad = violations(&src);
    // Assert
    assert!(
        bad.is_empty(),
        "imports that run back up a layer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_check_finds_an_import_that_runs_back_up() {
    // Arrange: a world module that reaches into the HTTP layer.
    let dir = std::env::temp_dir().join(format!("layering-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("world")).expect("temp dir");
    std::fs::write(
        dir.join("world/mod.rs"),
        "use crate::clock::Clock; // fine\nuse crate::http::state::AppState;\n",
    )
    .expect("write");
    // Act
    let bad = violations(&dir);
    std::fs::remove_dir_all(&dir).expect("clean up");
    // Assert: the upward import, and only it.
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].ends_with(":2: world -> http"), "{bad:?}");
}
