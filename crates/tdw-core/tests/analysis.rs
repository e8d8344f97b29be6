//! The analysis pipeline against the Python reference artifacts, and its resumability.

use std::path::{Path, PathBuf};

use tdw_core::analysis::{AnalysisRun, AnalyzerRegistry, Array, ArtifactLoader, npz};
use tdw_core::bench::REFERENCE_ANALYZERS;
use tdw_core::{FamilyRegistry, Variant};

use crate::common;

fn analyzers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../analyzers")
}

/// Copies the reference variant's checkpoints, metadata and config (not its artifacts) into a
/// temporary results directory and returns the variant there.
fn reference_copy() -> (Variant, tempfile::TempDir) {
    let results = tempfile::tempdir().unwrap();
    let source = common::reference_variant_dir();
    tdw_core::bench::copy_trained_variant(&source, "modulo_addition_1layer", results.path())
        .unwrap();
    let registry = FamilyRegistry::open(&common::families_dir(), results.path()).unwrap();
    let variant = registry
        .find_variant(source.file_name().unwrap().to_str().unwrap())
        .unwrap();
    (variant, results)
}

/// Largest |a − b| / (atol_scale + |b|) over two arrays of the same shape.
fn max_deviation(ours: &Array, theirs: &Array, atol_scale: f64) -> f64 {
    let (a, b) = (ours.to_f64(), theirs.to_f64());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs() / (atol_scale + y.abs()))
        .fold(0.0, f64::max)
}

/// Tolerance per analyzer: deviations are |a−b| / (1 + |b|) (absolute for small values,
/// relative for large ones). f32 products summed in another order differ by ~1e-6 relative;
/// spectra pass through two 113×113 transforms.
fn tolerance(analyzer: &str) -> f64 {
    match analyzer {
        "parameter_snapshot" => 0.0,
        "attention_patterns" | "dominant_frequencies" | "effective_dimensionality" => 2e-6,
        "neuron_activations" => 2e-5,
        _ => 5e-5,
    }
}

#[test]
#[cfg_attr(
    not(tdw_has_reference),
    ignore = "needs ../shared/reference (or TDW_REFERENCE_DIR)"
)]
fn artifacts_match_the_python_reference() {
    let (variant, _results) = reference_copy();
    let registry = AnalyzerRegistry::open(&analyzers_dir()).unwrap();
    let names: Vec<String> = REFERENCE_ANALYZERS.iter().map(|s| s.to_string()).collect();
    let report = AnalysisRun::new(&variant, &registry)
        .analyzers(names)
        .run(&mut |_: &_| {})
        .unwrap();
    assert_eq!(report.epochs_analyzed, vec![0, 100, 200, 299]);
    let ours = ArtifactLoader::new(variant.artifacts_dir());
    let theirs = ArtifactLoader::new(common::reference_variant_dir().join("artifacts"));
    for analyzer in REFERENCE_ANALYZERS {
        let mut files: Vec<String> = std::fs::read_dir(theirs.dir().join(analyzer))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut worst = 0f64;
        for file in &files {
            let reference = npz::read(&theirs.dir().join(analyzer).join(file), None).unwrap();
            let mine = npz::read(&ours.dir().join(analyzer).join(file), None)
                .unwrap_or_else(|e| panic!("{analyzer}/{file}: {e}"));
            let keys: Vec<&str> = mine.keys().collect();
            assert_eq!(
                keys,
                reference.keys().collect::<Vec<_>>(),
                "{analyzer}/{file} keys"
            );
            for (key, expected) in reference.iter() {
                let got = mine.get(key).unwrap();
                assert_eq!(
                    got.dtype(),
                    expected.dtype(),
                    "{analyzer}/{file}:{key} dtype"
                );
                assert_eq!(
                    got.shape(),
                    expected.shape(),
                    "{analyzer}/{file}:{key} shape"
                );
                let deviation = max_deviation(got, expected, 1.0);
                worst = worst.max(deviation);
                assert!(
                    deviation <= tolerance(analyzer),
                    "{analyzer}/{file}:{key} deviates by {deviation:.3e}"
                );
            }
        }
        eprintln!(
            "{analyzer:<26} {} files, worst deviation {worst:.2e}",
            files.len()
        );
    }
    // The manifest lists every analyzer with its epochs, shapes and dtypes.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(variant.artifacts_dir().join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["analyzers"]["neuron_freq_norm"]["epochs_completed"],
        serde_json::json!([0, 100, 200, 299])
    );
    assert_eq!(
        manifest["analyzers"]["neuron_activations"]["shapes"]["activations"],
        serde_json::json!([512, 113, 113])
    );
    assert_eq!(
        manifest["analyzers"]["parameter_snapshot"]["dtypes"]["W_E"],
        "float32"
    );
    assert_eq!(manifest["family_name"], "modulo_addition_1layer");
    assert_eq!(manifest["variant_params"]["prime"], 113);
}
