//! Where the workbench reads and writes: the project root, `results/` and `model_families/`.
//!
//! Each may be overridden by an environment variable (`TDW_PROJECT_ROOT`, `TDW_RESULTS_DIR`,
//! `TDW_MODEL_FAMILIES_DIR`; MIScope's `MISCOPE_*` names are honoured too and win, as in
//! MIScope). Without overrides the root is the first ancestor of the working directory that holds
//! a `model_families/` folder, else the working directory.

use std::path::{Path, PathBuf};

fn env_path(names: &[&str]) -> Option<PathBuf> {
    names
        .iter()
        .filter_map(std::env::var_os)
        .find(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// The project root.
pub fn project_root() -> PathBuf {
    if let Some(root) = env_path(&["MISCOPE_PROJECT_ROOT", "TDW_PROJECT_ROOT"]) {
        return root;
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    find_root(&cwd).unwrap_or(cwd)
}

fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("model_families").is_dir())
        .map(Path::to_path_buf)
}

/// `results/` (env `MISCOPE_RESULTS_DIR` / `TDW_RESULTS_DIR`).
pub fn results_dir() -> PathBuf {
    env_path(&["MISCOPE_RESULTS_DIR", "TDW_RESULTS_DIR"])
        .unwrap_or_else(|| project_root().join("results"))
}

/// `model_families/` (env `MISCOPE_MODEL_FAMILIES_DIR` / `TDW_MODEL_FAMILIES_DIR`).
pub fn model_families_dir() -> PathBuf {
    env_path(&["MISCOPE_MODEL_FAMILIES_DIR", "TDW_MODEL_FAMILIES_DIR"])
        .unwrap_or_else(|| project_root().join("model_families"))
}

/// `analyzers/` (analyzer declarations; env `TDW_ANALYZERS_DIR`).
pub fn analyzers_dir() -> PathBuf {
    env_path(&["TDW_ANALYZERS_DIR"]).unwrap_or_else(|| project_root().join("analyzers"))
}
