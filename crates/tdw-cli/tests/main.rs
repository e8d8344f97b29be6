//! Tests of the `tdw` binary: its contract for user errors, crash safety under SIGKILL, and the
//! view and report commands end to end. As modules of one test binary.

use std::path::{Path, PathBuf};
use std::process::Command;

mod cli;
mod crash;
#[path = "../../tdw-core/tests/snapshot.rs"]
mod snapshot;
mod views;

/// The repository's root.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `model_families/` of this repository.
pub fn families_dir() -> PathBuf {
    repository().join("model_families")
}

/// The `tdw` binary on `results`, with this repository's families and analyzers.
pub fn tdw_command(results: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tdw"));
    command
        .env("TDW_RESULTS_DIR", results)
        .env("TDW_MODEL_FAMILIES_DIR", families_dir())
        .env("TDW_ANALYZERS_DIR", repository().join("analyzers"));
    command
}
