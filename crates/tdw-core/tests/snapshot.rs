//! What is on disk under a directory, to assert that an operation changed nothing there. Shared
//! by tdw-core's tests and tdw-kernel-ext's (which include this file by path).

use std::path::{Path, PathBuf};

/// Every directory and file under `dir`, recursively and sorted, with a file's bytes (a
/// directory's are empty). Lock files (`.lock`) are left out: their note changes with each run.
/// A missing `dir` gives an empty snapshot.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.expect("a readable directory entry").path();
        if path.is_dir() {
            out.push((path.clone(), Vec::new()));
            out.extend(snapshot(&path));
        } else if path.file_name().is_none_or(|n| n != ".lock") {
            let bytes = std::fs::read(&path).expect("a readable file");
            out.push((path, bytes));
        }
    }
    out.sort();
    out
}
