//! Tests of the `tdw` binary: its contract for user errors, crash safety under SIGKILL, and the
//! view and report commands end to end. As modules of one test binary.

use std::path::{Path, PathBuf};

mod cli;
mod crash;
#[path = "../../tdw-core/tests/snapshot.rs"]
mod snapshot;
mod views;

/// `model_families/` of this repository.
pub fn families_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../model_families")
}
