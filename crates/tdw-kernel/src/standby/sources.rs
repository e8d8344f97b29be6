//! Whether the workbench a standby loaded is still the workbench on disk.
//!
//! A researcher who edits tdw-core and restarts the kernel expects the edit in the new kernel;
//! a standby loaded before the edit would silently run the old code. So the standby records,
//! before it loads anything, every source file of the crates init.evcxr loads by path (and the
//! path crates those depend on, also through their workspace's `[workspace.dependencies]`),
//! plus init.evcxr, prelude.rs and the lock file: name, size and modification time, folded into
//! one digest. A claim recomputes it; any difference and the standby refuses (and leaves), so
//! the new kernel loads, and cargo rebuilds, what changed.
//!
//! Cost: a walk of the crates' directories without their `target/` (about 300 files here,
//! a few milliseconds).

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::evaluator::resolve_dep_paths;

/// A digest of the workbench's sources as they are now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources {
    pub digest: u64,
    pub files: usize,
}

impl Sources {
    /// Scans the crates `init.evcxr` in `config_dir` loads by path, their path dependencies,
    /// and the config and lock files themselves.
    pub fn scan(config_dir: Option<&Path>, lock_file: Option<&Path>) -> Sources {
        let mut files: BTreeSet<PathBuf> = BTreeSet::new();
        let mut crates: Vec<PathBuf> = Vec::new();
        if let Some(dir) = config_dir {
            files.insert(dir.join("init.evcxr"));
            files.insert(dir.join("prelude.rs"));
            if let Ok(text) = std::fs::read_to_string(dir.join("init.evcxr")) {
                for line in text.lines().map(str::trim) {
                    let resolved = resolve_dep_paths(line, dir);
                    crates.extend(quoted_paths(&resolved, Path::new("/")));
                }
            }
        }
        if let Some(lock) = lock_file {
            files.insert(lock.to_path_buf());
        }
        let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
        while let Some(dir) = crates.pop() {
            let dir = dir.canonicalize().unwrap_or(dir);
            if !seen.insert(dir.clone()) {
                continue;
            }
            walk(&dir, &mut files);
            // Path dependencies: in the crate's manifest, and in its workspace's manifest
            // (`tdw-core.workspace = true` names its path there).
            let manifests = std::iter::once(dir.join("Cargo.toml")).chain(workspace_manifest(&dir));
            for manifest in manifests {
                files.insert(manifest.clone());
                if let (Ok(text), Some(base)) =
                    (std::fs::read_to_string(&manifest), manifest.parent())
                {
                    crates.extend(quoted_paths(&text, base));
                }
            }
        }
        let mut hasher = DefaultHasher::new();
        for file in &files {
            file.hash(&mut hasher);
            if let Ok(meta) = std::fs::metadata(file) {
                meta.len().hash(&mut hasher);
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                modified.hash(&mut hasher);
            }
        }
        Sources {
            digest: hasher.finish(),
            files: files.len(),
        }
    }
}

/// The values of `path = "…"` in a manifest or `:dep` line, against `base` when relative.
fn quoted_paths(text: &str, base: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("path") {
        rest = &rest[at + "path".len()..];
        let Some(after_eq) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let Some(quoted) = after_eq.trim_start().strip_prefix('"') else {
            continue;
        };
        let Some(end) = quoted.find('"') else { break };
        let value = Path::new(&quoted[..end]);
        // `[[test]] path = "tests/main.rs"` names a file, not a crate: only directories with a
        // manifest are crates.
        let dir = base.join(value);
        if dir.join("Cargo.toml").is_file() {
            found.push(dir);
        }
        rest = &quoted[end + 1..];
    }
    found
}

/// The nearest manifest above `dir` with a `[workspace]` table.
fn workspace_manifest(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().skip(1).find_map(|up| {
        let manifest = up.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).ok()?;
        text.lines()
            .any(|l| l.trim() == "[workspace]")
            .then_some(manifest)
    })
}

/// Every file under `dir`, without build output (`target/`) or hidden directories.
fn walk(dir: &Path, files: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if name != "target" && !name.starts_with('.') {
                walk(&path, files);
            }
        } else {
            files.insert(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_to_a_path_dependency_changes_the_digest() {
        let root = std::env::temp_dir().join(format!("tdw-sources-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let config = root.join("config");
        let ext = root.join("crates/ext");
        let core = root.join("crates/core");
        for dir in [
            &config,
            &ext.join("src"),
            &core.join("src"),
            &root.join("target"),
        ] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(
            config.join("init.evcxr"),
            ":dep ext = { path = \"../crates/ext\" }\n",
        )
        .unwrap();
        std::fs::write(config.join("prelude.rs"), "use ext::*;\n").unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\n[workspace.dependencies]\ncore = { path = \"crates/core\" }\n",
        )
        .unwrap();
        std::fs::write(
            ext.join("Cargo.toml"),
            "[dependencies]\ncore.workspace = true\n",
        )
        .unwrap();
        std::fs::write(ext.join("src/lib.rs"), "pub use core;\n").unwrap();
        std::fs::write(core.join("Cargo.toml"), "[package]\n").unwrap();
        std::fs::write(core.join("src/lib.rs"), "pub fn f() {}\n").unwrap();

        let before = Sources::scan(Some(&config), None);
        // init.evcxr, prelude.rs, the workspace manifest, two crates' manifests and sources.
        assert_eq!(before.files, 7, "{before:?}");
        assert_eq!(Sources::scan(Some(&config), None), before);
        // Build output is not a source.
        std::fs::write(root.join("target/x.rlib"), "").unwrap();
        assert_eq!(Sources::scan(Some(&config), None), before);
        // An edit two crates away (reached only through the workspace manifest) is seen.
        std::fs::write(core.join("src/lib.rs"), "pub fn f() { let _ = 1; }\n").unwrap();
        assert_ne!(Sources::scan(Some(&config), None), before);
        let _ = std::fs::remove_dir_all(&root);
    }
}
