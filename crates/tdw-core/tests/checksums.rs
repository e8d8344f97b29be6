//! Regression checksums (MIScope's scaffold): recorded, re-checked by re-running the analysis,
//! and every kind of difference reported.

use tdw_core::AnalyzeOptions;
use tdw_core::analysis::AnalysisEvent;
use tdw_core::variant::checksums::{ArtifactChecksum, ChecksumFile};

use crate::common;
use crate::snapshot::snapshot;

#[test]
fn the_analysis_writes_the_same_bytes_again_and_differences_are_named() {
    let (registry, results) = common::registry();
    let variant = registry
        .create_variant_from_text("modulo_addition_1layer", [("prime", "11")])
        .unwrap();
    common::train(&variant, 60, &[0, 30], 0.5);
    let analyzers_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../analyzers");
    let options = AnalyzeOptions {
        analyzers_dir: Some(analyzers_dir),
        ..Default::default()
    };
    variant
        .analyze(&options, &mut |_: &AnalysisEvent| {})
        .unwrap();

    let entry = variant.checksums("p11 test variant").unwrap();
    assert_eq!(entry.variant_id, "11_999_598");
    assert!(entry.artifact_count > 20, "{}", entry.artifact_count);
    assert_eq!(entry.artifact_count, entry.artifacts.len());
    assert!(
        entry
            .artifacts
            .iter()
            .all(|a| !a.artifact_path.starts_with("landscape_flatness/"))
    );
    assert!(
        entry
            .artifacts
            .windows(2)
            .all(|w| w[0].artifact_path < w[1].artifact_path)
    );
    let file = results.path().join("reference_checksums.json");
    let mut checksums = ChecksumFile {
        family: "modulo_addition_1layer".into(),
        variants: Vec::new(),
    };
    checksums.put(entry.clone());
    checksums.write(&file).unwrap();
    let read = ChecksumFile::read(&file).unwrap();
    assert_eq!(read, checksums);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("\"artifact_path\": \"dominant_frequencies/epoch_00000.npz\""),
        "{text}"
    );

    // The check re-runs every analyzer in a scratch copy: the same bytes, the variant untouched.
    let before = snapshot(variant.dir());
    let report = variant
        .check_checksums(
            &entry,
            results.path(),
            &options,
            &mut |_: &AnalysisEvent| {},
        )
        .unwrap();
    assert!(report.passed(), "{report:?}");
    assert_eq!(report.matching, entry.artifact_count);
    assert_eq!(snapshot(variant.dir()), before);
    assert!(
        std::fs::read_dir(results.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".tdw-checksums")),
        "the scratch copy is removed"
    );

    // A changed hash is a MISMATCH, a dropped entry EXTRA, an unknown one MISSING.
    let mut tampered = entry.clone();
    tampered.artifacts[0].sha256 = "0".repeat(64);
    let dropped = tampered.artifacts.remove(1).artifact_path;
    tampered.artifacts.push(ArtifactChecksum {
        artifact_path: "no_such/epoch_00000.npz".into(),
        sha256: "1".repeat(64),
        size_bytes: 1,
    });
    let report = variant
        .check_checksums(
            &tampered,
            results.path(),
            &options,
            &mut |_: &AnalysisEvent| {},
        )
        .unwrap();
    assert!(!report.passed());
    assert_eq!(
        report.mismatch,
        vec![entry.artifacts[0].artifact_path.clone()]
    );
    assert_eq!(report.extra, vec![dropped]);
    assert_eq!(report.missing, vec!["no_such/epoch_00000.npz".to_string()]);
}
