//! `Variant::densify`: new checkpoints by a verified retrain, old artifacts kept, refusals that
//! change nothing.

use std::path::{Path, PathBuf};

use tdw_core::analysis::AnalysisEvent;
use tdw_core::train::engine::Engine;
use tdw_core::variant::EpochRange;
use tdw_core::{AnalyzeOptions, Error, Variant};

use crate::common;
use crate::snapshot::snapshot;

fn analyzers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../analyzers")
}

fn analyze(variant: &Variant) -> tdw_core::analysis::AnalysisReport {
    let options = AnalyzeOptions {
        analyzers: Some(
            [
                "dominant_frequencies",
                "neuron_freq_norm",
                "neuron_dynamics",
                "transient_frequency",
            ]
            .map(String::from)
            .to_vec(),
        ),
        analyzers_dir: Some(analyzers_dir()),
        ..Default::default()
    };
    variant
        .analyze(&options, &mut |_: &AnalysisEvent| {})
        .expect("analysis runs")
}

/// Modification times of the per-epoch files (`epoch_*.npz`) under `dir` (summaries grow with
/// every new epoch, so they are rewritten by design).
fn mtimes(dir: &Path) -> Vec<(PathBuf, std::time::SystemTime)> {
    snapshot(dir)
        .into_iter()
        .filter(|(p, _)| {
            p.is_file()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("epoch_"))
        })
        .map(|(p, _)| {
            let t = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, t)
        })
        .collect()
}

fn densify(
    variant: &Variant,
    ranges: &[&str],
) -> tdw_core::Result<tdw_core::variant::DensifyResult> {
    let ranges: Vec<EpochRange> = ranges
        .iter()
        .map(|r| EpochRange::parse(r).unwrap())
        .collect();
    variant.densify(
        &ranges,
        Engine::default(),
        &tdw_core::default_device(),
        &mut tdw_core::NoProgress,
    )
}

#[test]
fn densify_adds_epochs_keeps_artifacts_and_refuses_a_second_time_changing_nothing() {
    let (registry, _results) = common::registry();
    let variant = registry
        .create_variant_from_text("modulo_addition_1layer", [("prime", "11")])
        .unwrap();
    let trained = common::train(&variant, 60, &[0, 30], 0.5);
    let first = analyze(&variant);
    assert_eq!(first.epochs_analyzed, vec![0, 30, 59]);
    let old_checkpoints: Vec<(u64, Vec<u8>)> = [0, 30, 59]
        .iter()
        .map(|&e| (e, std::fs::read(variant.checkpoint_path(e)).unwrap()))
        .collect();
    let old_epoch_files = mtimes(&variant.artifacts_dir().join("neuron_freq_norm"));
    let old_artifacts = snapshot(&variant.artifacts_dir());

    // 0:59:10 names 0, 10, …, 50: five are new (0 exists), 70 is past the run's end.
    let plan = variant
        .densify_plan(&[
            EpochRange::parse("0:59:10").unwrap(),
            EpochRange::parse("70:80:10").unwrap(),
        ])
        .unwrap();
    assert_eq!(plan.new_epochs, vec![10, 20, 40, 50]);
    assert_eq!(plan.past_end, vec![70, 80]);
    assert_eq!(plan.merged, vec![0, 10, 20, 30, 40, 50, 59]);

    let result = densify(&variant, &["0:59:10"]).unwrap();
    assert_eq!(result.verified, 3);
    assert_eq!(
        variant.checkpoints().unwrap(),
        vec![0, 10, 20, 30, 40, 50, 59]
    );
    let metadata = variant.metadata().unwrap();
    assert_eq!(metadata.checkpoint_epochs, vec![0, 10, 20, 30, 40, 50, 59]);
    assert_eq!(
        metadata.train_losses, trained.train_losses,
        "same run, same losses"
    );
    assert_eq!(metadata.test_losses, trained.test_losses);
    for (epoch, bytes) in &old_checkpoints {
        assert_eq!(
            &std::fs::read(variant.checkpoint_path(*epoch)).unwrap(),
            bytes
        );
    }
    assert_eq!(
        snapshot(&variant.artifacts_dir()),
        old_artifacts,
        "artifacts untouched"
    );
    let leftovers: Vec<_> = std::fs::read_dir(variant.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".densify"))
        .collect();
    assert!(leftovers.is_empty(), "scratch run left behind");

    // The next analysis computes the new epochs only; the old epoch files are not rewritten.
    let second = analyze(&variant);
    assert_eq!(second.epochs_analyzed, vec![10, 20, 40, 50]);
    let now = mtimes(&variant.artifacts_dir().join("neuron_freq_norm"));
    for (path, time) in &old_epoch_files {
        assert!(
            now.contains(&(path.clone(), *time)),
            "{} rewritten",
            path.display()
        );
    }
    assert_eq!(now.len(), old_epoch_files.len() + 4);
    // Cross-epoch results see the new checkpoints, also one that reads another cross-epoch
    // result (transient_frequency reads neuron_dynamics), and all is fresh afterwards.
    assert_eq!(
        second.cross_epoch_run,
        ["neuron_dynamics", "transient_frequency"]
    );
    let freshness = variant.freshness().unwrap();
    assert!(
        freshness
            .cross_epoch
            .iter()
            .all(|(_, f)| f.to_string() == "fresh"),
        "{:?}",
        freshness.cross_epoch
    );

    // The same ranges again add nothing: refused, nothing on disk changes.
    let before = snapshot(variant.dir());
    let err = densify(&variant, &["0:59:10"]).unwrap_err();
    assert!(matches!(err, Error::NothingToDensify { .. }), "{err}");
    assert!(err.to_string().contains("nothing changed"), "{err}");
    assert_eq!(snapshot(variant.dir()), before);
}

#[test]
fn a_retrain_that_does_not_reproduce_the_run_changes_nothing() {
    let (registry, _results) = common::registry();
    let variant = registry
        .create_variant_from_text("modulo_addition_1layer", [("prime", "11")])
        .unwrap();
    common::train(&variant, 30, &[0], 0.5);
    // config.json now claims another split than the one metadata.json recorded: a retrain on
    // it cannot reproduce the run, and densify must notice before it changes anything.
    let config_path = variant.config_path();
    let config = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(&config_path, config.replace("0.5", "0.6")).unwrap();
    let before = snapshot(variant.dir());
    let err = densify(&variant, &["10:20:10"]).unwrap_err();
    assert!(matches!(err, Error::NotReproduced { .. }), "{err}");
    assert!(err.to_string().contains("training split"), "{err}");
    assert_eq!(snapshot(variant.dir()), before, "the variant changed");

    // Ranges that cannot be read are refused with the reason.
    let bad = EpochRange::parse("20:10:5").unwrap_err();
    assert!(
        bad.to_string().contains("END must not be before START"),
        "{bad}"
    );
    assert!(EpochRange::parse("0:10:0").is_err());
    assert!(EpochRange::parse("a:10").is_err());
}
