//! Shared fixtures: the repository's families, temporary results directories, the reference.

use std::path::{Path, PathBuf};

use tdw_core::{FamilyRegistry, TrainOptions, TrainingResult, Variant};

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

/// Trains `variant` on the default device without progress output: `epochs` epochs on a
/// `fraction` of the pairs, checkpointing at `checkpoints` (and the last epoch).
pub fn train(variant: &Variant, epochs: u64, checkpoints: &[u64], fraction: f64) -> TrainingResult {
    let options = TrainOptions {
        num_epochs: Some(epochs),
        checkpoint_epochs: Some(checkpoints.to_vec()),
        training_fraction: Some(fraction),
        ..Default::default()
    };
    variant
        .train(
            &options,
            &tdw_core::default_device(),
            &mut tdw_core::NoProgress,
        )
        .expect("training runs")
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
