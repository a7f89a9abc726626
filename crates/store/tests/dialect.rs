//! The store seam, checked on the sources: the database driver and SQLite
//! are named only under `src/sqlite/`, and the SQL there avoids the SQLite
//! dialect that another database would not understand. (The needles are
//! spelled in pieces so this file does not match itself.)

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    assert!(files.len() > 10, "found the store's sources");
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn the_driver_and_sqlite_are_named_only_in_the_sqlite_module() {
    let needles = [concat!("sq", "lx"), concat!("Sq", "lite")];
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        if path.starts_with("src/sqlite/") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            if needles.iter().any(|needle| line.contains(needle)) {
                offenders.push(format!("{path}:{}: {line}", n + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "outside src/sqlite/:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_sql_avoids_sqlite_only_dialect() {
    let needles = [
        concat!("LIMIT ", "-1"),
        concat!("in", "str("),
        concat!("OR ", "IGNORE"),
        concat!("OR ", "REPLACE"),
        concat!("row", "id"),
        concat!("BEGIN ", "IMMEDIATE"),
    ];
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_ascii_lowercase();
            for needle in needles {
                if !lower.contains(&needle.to_ascii_lowercase()) {
                    continue;
                }
                // The one place a SQLite transaction is opened.
                let begin_helper = needle.starts_with("BEGIN") && path == "src/sqlite/mod.rs";
                if !begin_helper {
                    offenders.push(format!("{path}:{}: {line}", n + 1));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "SQLite-only SQL:\n{}",
        offenders.join("\n")
    );
}
