//! The layering checks: imports run one way. Run them alone with
//! `cargo test --test layering`.
//!
//! 1. **Down the layers.** A file's layer is its top-level module under `src/`
//!    (`src/http/routes/mod.rs` is in `http`). Every import reaches into a layer; it must be
//!    the file's own or one ranked below. The ranks are the `# Layout` table of `src/lib.rs`.
//! 2. **No circle between files.** Every file's imports are edges to the files that define
//!    the modules they name; no chain of edges may lead back to where it started, inside a
//!    layer or across them.
//!
//! An edge is an explicit path in a file's code: a `use` tree that starts at `crate`,
//! `super` or `self` (`use crate::a::{b::C, d}`), or an inline `crate::…`, `super::…` or
//! `self::…` path. A path resolves to the file that defines the deepest module it names
//! (`crate::http::routes::Row` is `src/http/routes/mod.rs`, `crate::Config` is
//! `src/lib.rs`). A parent's re-export of its child by the child's bare name
//! (`pub use builder::MockServerBuilder;` in `server/mod.rs`) is the module's declaration,
//! not an edge: a child may use what its parent defines. Comments, strings and
//! `#[cfg(test)]` items (test modules may `use super::*`) are not code here.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
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

/// One source file: its path under `src/` and its text.
struct SourceFile {
    path: String,
    source: String,
}

impl SourceFile {
    /// The crate the file belongs to (`""` for the library, `bin/NAME` for a binary) and
    /// the module path it defines (`["http", "routes"]` for `http/routes/mod.rs`, empty for
    /// a crate root).
    fn module(&self) -> (String, Vec<String>) {
        let mut parts: Vec<&str> = self.path.split('/').collect();
        let krate = if parts.len() > 2 && parts[0] == "bin" {
            let krate = format!("bin/{}", parts[1]);
            parts.drain(..2);
            krate
        } else {
            String::new()
        };
        let last = parts.pop().unwrap_or("").trim_end_matches(".rs");
        let mut module: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
        let root = module.is_empty() && (last == "lib" || last == "main");
        if last != "mod" && !root {
            module.push(last.to_string());
        }
        (krate, module)
    }
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

/// Every `.rs` file under `src`, sorted by path.
fn read_tree(src: &Path) -> Vec<SourceFile> {
    let mut paths = Vec::new();
    rust_files(src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|file| SourceFile {
            path: file
                .strip_prefix(src)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/"),
            source: std::fs::read_to_string(&file).expect("readable"),
        })
        .collect()
}

/// A token of Rust code; comments, literals and whitespace are dropped.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// The tokens of `source`, each with its line number.
fn tokens(source: &str) -> Vec<(usize, Token)> {
    let chars: Vec<char> = source.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Skips to the end of a quoted literal whose opening quote is at `i`; returns the
    // index after the closing quote and counts the lines it spans.
    let skip_quoted = |mut i: usize, hashes: usize, escapes: bool, line: &mut usize| {
        i += 1;
        while i < chars.len() {
            match chars[i] {
                '\\' if escapes => {
                    if at(i + 1) == '\n' {
                        *line += 1;
                    }
                    i += 1;
                }
                '\n' => *line += 1,
                '"' if (1..=hashes).all(|h| at(i + h) == '#') => return i + 1 + hashes,
                _ => {}
            }
            i += 1;
        }
        i
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_quoted(i, 0, true, &mut line);
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                // An escaped char literal: '\n', '\'', '\u{..}'.
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3; // 'x'
            } else {
                i += 1; // a lifetime or label; its name follows as an identifier
            }
        } else if c.is_ascii_digit() {
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            match (word.as_str(), at(i)) {
                ("r" | "br" | "cr", '"' | '#') => {
                    let hashes = (i..).take_while(|&j| at(j) == '#').count();
                    if at(i + hashes) == '"' {
                        i = skip_quoted(i + hashes, hashes, false, &mut line);
                    } else {
                        i += hashes; // a raw identifier: r#type
                    }
                }
                ("b" | "c", '"') => i = skip_quoted(i, 0, true, &mut line),
                ("b", '\'') => {
                    i += 1;
                    if at(i + 1) == '\\' {
                        i += 2;
                    }
                    while i + 1 < chars.len() && chars[i + 1] != '\'' {
                        i += 1;
                    }
                    i += 2;
                }
                _ => out.push((line, Token::Ident(word))),
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push((line, Token::PathSep));
            i += 2;
        } else {
            out.push((line, Token::Punct(c)));
            i += 1;
        }
    }
    out
}

/// The index after the bracketed group that opens at `i` (`{`, `[` or `(`).
fn skip_group(toks: &[(usize, Token)], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < toks.len() {
        match toks[i].1 {
            Token::Punct('{' | '[' | '(') => depth += 1,
            Token::Punct('}' | ']' | ')') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

fn is_punct(toks: &[(usize, Token)], i: usize, c: char) -> bool {
    matches!(toks.get(i), Some((_, Token::Punct(p))) if *p == c)
}

fn ident(toks: &[(usize, Token)], i: usize) -> Option<&str> {
    match toks.get(i) {
        Some((_, Token::Ident(word))) => Some(word),
        _ => None,
    }
}

/// `tokens` without the items marked `#[cfg(test)]` (test modules, test-only imports).
fn without_test_items(toks: Vec<(usize, Token)>) -> Vec<(usize, Token)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let cfg_test = is_punct(&toks, i, '#')
            && is_punct(&toks, i + 1, '[')
            && ident(&toks, i + 2) == Some("cfg")
            && is_punct(&toks, i + 3, '(')
            && ident(&toks, i + 4) == Some("test")
            && is_punct(&toks, i + 5, ')')
            && is_punct(&toks, i + 6, ']');
        if !cfg_test {
            out.push(toks[i].clone());
            i += 1;
            continue;
        }
        // Skip the attribute, any attributes after it, then the item: up to a `;` or to the
        // end of its first `{ … }` block, whichever comes first.
        i += 7;
        while is_punct(&toks, i, '#') && is_punct(&toks, i + 1, '[') {
            i = skip_group(&toks, i + 1);
        }
        while i < toks.len() {
            match toks[i].1 {
                Token::Punct(';') => {
                    i += 1;
                    break;
                }
                Token::Punct('{') => {
                    i = skip_group(&toks, i);
                    break;
                }
                Token::Punct('(' | '[') => i = skip_group(&toks, i),
                _ => i += 1,
            }
        }
    }
    out
}

/// A path as written: its segments (`["crate", "http", "state", "AppState"]`), the inline
/// modules it is written in (`mod token_hex { … }`), and its line.
struct WrittenPath {
    segments: Vec<String>,
    inline: Vec<String>,
    line: usize,
}

/// Parses one `use` tree at `i` under `prefix`, pushing every leaf path; returns the index
/// after it.
fn use_tree(
    toks: &[(usize, Token)],
    mut i: usize,
    mut prefix: Vec<String>,
    inline: &[String],
    out: &mut Vec<WrittenPath>,
) -> usize {
    let line = toks.get(i).map_or(0, |t| t.0);
    loop {
        match toks.get(i).map(|t| &t.1) {
            Some(Token::PathSep) => i += 1,
            Some(Token::Ident(word)) if word == "as" => {
                i += 2; // `as name`
                break;
            }
            Some(Token::Ident(word)) => {
                if word != "self" || prefix.is_empty() {
                    prefix.push(word.clone());
                }
                i += 1;
            }
            Some(Token::Punct('{')) => {
                i += 1;
                while i < toks.len() && !is_punct(toks, i, '}') {
                    i = use_tree(toks, i, prefix.clone(), inline, out);
                    if is_punct(toks, i, ',') {
                        i += 1;
                    }
                }
                return i + 1;
            }
            Some(Token::Punct('*')) => {
                i += 1;
                break;
            }
            _ => break,
        }
    }
    out.push(WrittenPath {
        segments: prefix,
        inline: inline.to_vec(),
        line,
    });
    i
}

/// Every path a file's code writes: the leaves of its `use` trees and its inline paths
/// that start at `crate`, `super` or `self`.
fn written_paths(source: &str) -> Vec<WrittenPath> {
    let toks = without_test_items(tokens(source));
    let mut out = Vec::new();
    // The inline modules around `i`, each with the brace depth of its body.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < toks.len() {
        let (line, token) = &toks[i];
        let names: Vec<String> = inline.iter().map(|(name, _)| name.clone()).collect();
        match token {
            Token::Ident(word) if word == "use" => {
                i = use_tree(&toks, i + 1, Vec::new(), &names, &mut out);
            }
            Token::Ident(word) if word == "mod" && is_punct(&toks, i + 2, '{') => {
                let name = ident(&toks, i + 1).unwrap_or("").to_string();
                depth += 1;
                inline.push((name, depth));
                i += 3;
            }
            Token::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Token::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Token::Ident(word)
                if matches!(word.as_str(), "crate" | "super" | "self")
                    && toks.get(i + 1).is_some_and(|t| t.1 == Token::PathSep)
                    // `$crate::` in a macro is the crate root too, but `x.self::` is not code
                    && !matches!(i.checked_sub(1).map(|p| &toks[p].1), Some(Token::Punct('.'))) =>
            {
                let mut segments = vec![word.clone()];
                i += 1;
                while toks.get(i).is_some_and(|t| t.1 == Token::PathSep) {
                    match ident(&toks, i + 1) {
                        Some(next) => segments.push(next.to_string()),
                        None => break,
                    }
                    i += 2;
                }
                out.push(WrittenPath {
                    segments,
                    inline: names,
                    line: *line,
                });
            }
            _ => i += 1,
        }
    }
    out
}

/// An import of one file by another.
#[derive(Debug, Clone)]
struct Edge {
    from: usize,
    to: usize,
    line: usize,
}

/// Every edge between the files: `files[from]` names a module that `files[to]` defines.
fn edges(files: &[SourceFile]) -> Vec<Edge> {
    let modules: BTreeMap<(String, Vec<String>), usize> = files
        .iter()
        .enumerate()
        .map(|(n, file)| (file.module(), n))
        .collect();
    let mut out = Vec::new();
    for (from, file) in files.iter().enumerate() {
        let (krate, module) = file.module();
        for path in written_paths(&file.source) {
            let own: Vec<String> = module.iter().chain(&path.inline).cloned().collect();
            let mut segments = path.segments.iter().map(String::as_str).peekable();
            let mut absolute = match segments.peek() {
                Some(&"crate") => {
                    segments.next();
                    Vec::new()
                }
                Some(&"super") => {
                    let mut module = own.clone();
                    while segments.next_if_eq(&"super").is_some() {
                        module.pop();
                    }
                    module
                }
                Some(&"self") => {
                    segments.next();
                    own.clone()
                }
                _ => continue,
            };
            // The deepest module the path names.
            let mut to = modules.get(&(krate.clone(), absolute.clone())).copied();
            for segment in segments {
                absolute.push(segment.to_string());
                match modules.get(&(krate.clone(), absolute.clone())) {
                    Some(&n) => to = Some(n),
                    None => break,
                }
            }
            if let Some(to) = to.filter(|&to| to != from) {
                out.push(Edge {
                    from,
                    to,
                    line: path.line,
                });
            }
        }
    }
    out
}

/// Every import that runs back up a layer, as `file:line: layer -> layer`.
fn upward_imports(files: &[SourceFile], edges: &[Edge]) -> Vec<String> {
    let layer = |n: usize| {
        let (krate, module) = files[n].module();
        krate.is_empty().then(|| module.first().cloned()).flatten()
    };
    let mut bad = Vec::new();
    for file in files {
        let (krate, module) = file.module();
        if let Some(top) = module.first().filter(|_| krate.is_empty()) {
            if rank(top).is_none() {
                bad.push(format!("{}: `{top}` has no rank in RANKS", file.path));
            }
        }
    }
    for edge in edges {
        // The crate roots and the binary are clients of every layer.
        let (Some(own), Some(theirs)) = (layer(edge.from), layer(edge.to)) else {
            continue;
        };
        let (Some(own_rank), Some(their_rank)) = (rank(&own), rank(&theirs)) else {
            continue;
        };
        if own != theirs && their_rank >= own_rank {
            bad.push(format!(
                "{}:{}: {own} -> {theirs}",
                files[edge.from].path, edge.line
            ));
        }
    }
    bad
}

/// Every circle of imports between files, one per group of files that reach each other:
/// the group's files, then its shortest circle as `a.rs:line -> b.rs:line -> a.rs`.
fn circles(files: &[SourceFile], edges: &[Edge]) -> Vec<String> {
    let mut next: Vec<BTreeMap<usize, usize>> = vec![BTreeMap::new(); files.len()];
    for edge in edges {
        next[edge.from].entry(edge.to).or_insert(edge.line);
    }
    let reach = |start: usize| {
        let mut seen = BTreeSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(n) = queue.pop_front() {
            for &m in next[n].keys() {
                if seen.insert(m) {
                    queue.push_back(m);
                }
            }
        }
        seen
    };
    let reaches: Vec<BTreeSet<usize>> = (0..files.len()).map(reach).collect();
    let mut grouped = BTreeSet::new();
    let mut out = Vec::new();
    for start in 0..files.len() {
        if grouped.contains(&start) {
            continue;
        }
        let group: BTreeSet<usize> = reaches[start]
            .iter()
            .copied()
            .filter(|&m| m != start && reaches[m].contains(&start))
            .chain([start])
            .collect();
        if group.len() < 2 {
            continue;
        }
        grouped.extend(group.iter().copied());
        // The shortest circle through `start`, by breadth-first search inside the group.
        let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        let mut last = start;
        'search: while let Some(n) = queue.pop_front() {
            for &m in next[n].keys().filter(|m| group.contains(m)) {
                if m == start {
                    last = n;
                    break 'search;
                }
                if let std::collections::btree_map::Entry::Vacant(e) = parent.entry(m) {
                    e.insert(n);
                    queue.push_back(m);
                }
            }
        }
        let mut chain = vec![last];
        while let Some(&p) = parent.get(chain.last().expect("non-empty")) {
            chain.push(p);
        }
        chain.reverse();
        let mut circle: Vec<String> = chain
            .windows(2)
            .map(|w| format!("{}:{}", files[w[0]].path, next[w[0]][&w[1]]))
            .collect();
        circle.push(format!("{}:{}", files[last].path, next[last][&start]));
        circle.push(files[start].path.clone());
        let names: Vec<&str> = group.iter().map(|&n| files[n].path.as_str()).collect();
        out.push(format!(
            "{} files import each other: {}\n  for example {}",
            group.len(),
            names.join(", "),
            circle.join(" -> ")
        ));
    }
    out
}

fn the_crate() -> Vec<SourceFile> {
    read_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

fn synthetic(files: &[(&str, &str)]) -> Vec<SourceFile> {
    files
        .iter()
        .map(|(path, source)| SourceFile {
            path: path.to_string(),
            source: source.to_string(),
        })
        .collect()
}

/// The edges as `from -> to` pairs of paths, for assertions.
fn edge_names(files: &[SourceFile]) -> BTreeSet<(String, String)> {
    edges(files)
        .iter()
        .map(|e| (files[e.from].path.clone(), files[e.to].path.clone()))
        .collect()
}

#[test]
fn imports_run_one_way_down_the_layers() {
    // Arrange
    let files = the_crate();
    // Act
    let bad = upward_imports(&files, &edges(&files));
    // Assert
    assert!(
        bad.is_empty(),
        "imports that run back up a layer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    // Arrange
    let files = the_crate();
    // Act
    let found = circles(&files, &edges(&files));
    // Assert
    assert!(
        found.is_empty(),
        "circles of imports between files:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_an_import_that_runs_back_up() {
    // Arrange: a world module that reaches into the HTTP layer.
    let files = synthetic(&[
        ("lib.rs", "mod clock; mod http; mod world;"),
        ("clock.rs", "pub struct Clock;"),
        ("http/mod.rs", "pub mod state;"),
        ("http/state.rs", "pub struct AppState;"),
        (
            "world/mod.rs",
            "use crate::clock::Clock; // fine\nuse crate::http::state::AppState;\n",
        ),
    ]);
    // Act
    let bad = upward_imports(&files, &edges(&files));
    // Assert: the upward import, and only it.
    assert_eq!(bad, ["world/mod.rs:2: world -> http"]);
}

#[test]
fn the_check_finds_a_circle_between_files_and_names_them() {
    // Arrange: a parent that re-exports from its child, and a child that reaches back up
    // for a type of the parent's, through a third file.
    let files = synthetic(&[
        ("lib.rs", "mod http;"),
        (
            "http/mod.rs",
            "mod app; mod state;\npub use self::app::build;\npub struct Limit;",
        ),
        ("http/app.rs", "use super::state::{self, AppState};"),
        (
            "http/state.rs",
            "pub struct AppState { limit: crate::http::Limit }",
        ),
    ]);
    // Act
    let found = circles(&files, &edges(&files));
    // Assert
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("3 files import each other: http/mod.rs, http/app.rs, http/state.rs"),
        "{found:?}"
    );
    assert!(
        found[0].ends_with("http/mod.rs:2 -> http/app.rs:1 -> http/state.rs:1 -> http/mod.rs"),
        "{found:?}"
    );
}

#[test]
fn files_that_import_one_way_pass_the_circle_check() {
    // Arrange: the same files with the shared type moved to the file that reads it.
    let files = synthetic(&[
        ("lib.rs", "mod http;"),
        ("http/mod.rs", "mod app; mod state;\npub use app::build;"),
        ("http/app.rs", "use super::state::{self, AppState};"),
        (
            "http/state.rs",
            "pub struct Limit; pub struct AppState { limit: Limit }",
        ),
    ]);
    // Act
    let found = circles(&files, &edges(&files));
    // Assert
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn every_kind_of_path_is_an_edge_and_test_modules_are_not() {
    // Arrange
    let files = synthetic(&[
        (
            "lib.rs",
            "mod a; mod b; mod c; mod d; pub use c::C; pub use self::d::D;",
        ),
        ("a/mod.rs", "pub mod x; pub mod y;"),
        ("a/x.rs", "pub struct X;"),
        ("a/y.rs", "use super::x::X; // a comment: crate::d::D"),
        ("b.rs", "pub struct B;\nmod inner { use super::B; }"),
        ("c.rs", "pub struct C;"),
        ("d.rs", "pub struct D;"),
        (
            "z/mod.rs",
            concat!(
                "use crate::a::{x::{self, X}, y as why};\n",
                "fn f() -> crate::b::B { let s = \"crate::d::D\"; crate::B }\n",
                "#[cfg(test)]\nmod tests { use super::*; use crate::d::D; }\n",
                "#[cfg(test)]\nuse crate::d::D;\n",
            ),
        ),
    ]);
    // Act
    let found = edge_names(&files);
    // Assert
    let expected: BTreeSet<(String, String)> = [
        ("lib.rs", "d.rs"),
        ("a/y.rs", "a/x.rs"),
        ("z/mod.rs", "a/x.rs"),
        ("z/mod.rs", "a/y.rs"),
        ("z/mod.rs", "b.rs"),
        ("z/mod.rs", "lib.rs"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(found, expected);
}
