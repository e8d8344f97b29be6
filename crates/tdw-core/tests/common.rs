//! Shared fixtures: the repository's families, temporary results directories, the reference.

use std::path::{Path, PathBuf};

use tdw_core::FamilyRegistry;

/// `model_families/` of this repository.
pub fn families_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../model_families")
}

/// A registry over the repository's families and a fresh temporary results directory.
pub fn registry() -> (FamilyRegistry, tempfile::TempDir) {
    let results = tempfile::tempdir().expect("temp dir");
    let registry = FamilyRegistry::open(&families_dir(), results.path()).expect("families load");
    (registry, results)
}

/// The canonical reference variant written by MIScope (see build.rs for how it is found).
pub fn reference_variant_dir() -> PathBuf {
    let root = env!("TDW_REFERENCE_DIR_RESOLVED");
    assert!(
        !root.is_empty(),
        "the Python reference is absent: put it at ../shared/reference or set TDW_REFERENCE_DIR"
    );
    Path::new(root).join("modulo_addition_1layer/modulo_addition_1layer_p113_seed999_dseed598")
}
