//! The analysis run's contract: resumable, forced reruns, checkpoint filters, summary merging,
//! phase ordering, dependency errors, and clear errors for bad artifacts.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use tdw_core::analysis::{
    AnalysisEvent, AnalysisRun, AnalyzerRegistry, Array, ArtifactLoader, npz,
};
use tdw_core::{Error, ParamValue, Variant, VariantState};

use crate::common;

fn analyzers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../analyzers")
}

/// A tiny trained variant (p = 11, 40 epochs, 5 checkpoints).
fn trained() -> (Variant, tempfile::TempDir) {
    let (registry, results) = common::registry();
    let params: IndexMap<String, ParamValue> = [("prime".to_string(), ParamValue::Int(11))]
        .into_iter()
        .collect();
    let variant = registry
        .create_variant("modulo_addition_1layer", params)
        .unwrap();
    common::train(&variant, 40, &[0, 10, 20, 30], 0.5);
    (variant, results)
}

fn mtime(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn full_run_then_resume_recomputes_nothing() {
    let (variant, _results) = trained();
    let registry = AnalyzerRegistry::open(&analyzers_dir()).unwrap();
    let mut seen = Vec::new();
    let report = AnalysisRun::new(&variant, &registry)
        .run(&mut |e: &AnalysisEvent| seen.push(e.clone()))
        .unwrap();
    assert_eq!(report.epochs_analyzed, vec![0, 10, 20, 30, 39]);
    assert_eq!(variant.state(), VariantState::Analyzed);
    assert!(
        report.not_implemented.is_empty(),
        "{:?}",
        report.not_implemented
    );
    let loader = ArtifactLoader::new(variant.artifacts_dir());
    for name in [
        "dominant_frequencies",
        "neuron_freq_norm",
        "repr_geometry",
        "input_trace",
        "neuron_fourier",
        "fourier_frequency_quality",
    ] {
        assert_eq!(loader.epochs(name), vec![0, 10, 20, 30, 39], "{name}");
    }
    for name in [
        "parameter_trajectory",
        "neuron_dynamics",
        "transient_frequency",
        "global_centroid_pca",
        "centroid_dmd",
        "input_trace_graduation",
    ] {
        assert!(loader.has_cross_epoch(name), "{name}");
    }
    assert!(matches!(
        seen.first(),
        Some(AnalysisEvent::Started { total: 5, .. })
    ));
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, AnalysisEvent::Checkpoint { .. }))
            .count(),
        5
    );
    assert_eq!(seen.last(), Some(&AnalysisEvent::Finished));
    // Secondary analyzers ran after their inputs, cross-epoch analyzers last.
    let position = |f: &dyn Fn(&AnalysisEvent) -> bool| seen.iter().position(f).unwrap();
    let last_checkpoint = seen
        .iter()
        .rposition(|e| matches!(e, AnalysisEvent::Checkpoint { .. }))
        .unwrap();
    assert!(position(&|e| matches!(e, AnalysisEvent::Secondary { .. })) > last_checkpoint);
    assert!(
        position(&|e| matches!(e, AnalysisEvent::CrossEpoch { .. }))
            > seen
                .iter()
                .rposition(|e| matches!(e, AnalysisEvent::Secondary { .. }))
                .unwrap()
    );

    let summary = loader.load_summary("neuron_freq_norm").unwrap();
    assert_eq!(
        summary.get("epochs").unwrap(),
        &Array::from(ndarray::array![0i64, 10, 20, 30, 39])
    );
    assert_eq!(
        summary.get("specialized_count_per_freq").unwrap().shape(),
        [5, 5]
    );

    let file = loader.epoch_path("neuron_activations", 20);
    let before = mtime(&file);
    let again = AnalysisRun::new(&variant, &registry)
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap();
    assert!(again.epochs_analyzed.is_empty(), "nothing to recompute");
    assert_eq!(again.files_written, 0);
    assert_eq!(mtime(&file), before);
}

#[test]
fn interrupted_run_finishes_without_recomputing_and_fills_the_summary() {
    let (variant, _results) = trained();
    let registry = AnalyzerRegistry::open(&analyzers_dir()).unwrap();
    let loader = ArtifactLoader::new(variant.artifacts_dir());
    let only = vec![
        "neuron_freq_norm".to_string(),
        "dominant_frequencies".to_string(),
    ];
    // A first run that covered two checkpoints, then "died" before writing its summary.
    AnalysisRun::new(&variant, &registry)
        .analyzers(only.clone())
        .checkpoints(vec![0, 10])
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap();
    assert_eq!(loader.epochs("neuron_freq_norm"), vec![0, 10]);
    std::fs::remove_file(loader.summary_path("neuron_freq_norm")).unwrap();
    let kept = mtime(&loader.epoch_path("neuron_freq_norm", 10));

    let report = AnalysisRun::new(&variant, &registry)
        .analyzers(only)
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap();
    assert_eq!(report.epochs_analyzed, vec![20, 30, 39]);
    assert_eq!(
        mtime(&loader.epoch_path("neuron_freq_norm", 10)),
        kept,
        "done epochs are not recomputed"
    );
    let summary = loader.load_summary("neuron_freq_norm").unwrap();
    assert_eq!(
        summary.get("epochs").unwrap(),
        &Array::from(ndarray::array![0i64, 10, 20, 30, 39]),
        "lost rows are re-derived"
    );
    assert!(
        !loader.has_cross_epoch("neuron_dynamics"),
        "the filter excludes other analyzers"
    );
}

#[test]
fn force_recomputes_and_checkpoint_filter_limits_work() {
    let (variant, _results) = trained();
    let registry = AnalyzerRegistry::open(&analyzers_dir()).unwrap();
    let loader = ArtifactLoader::new(variant.artifacts_dir());
    let only = vec!["dominant_frequencies".to_string()];
    let err = AnalysisRun::new(&variant, &registry)
        .analyzers(only.clone())
        .checkpoints(vec![10, 30, 999])
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap_err();
    assert!(
        err.to_string().contains("999") && err.to_string().contains("never saved"),
        "an epoch that was never saved is an error: {err}"
    );
    assert!(
        loader.epochs("dominant_frequencies").is_empty(),
        "nothing ran"
    );
    AnalysisRun::new(&variant, &registry)
        .analyzers(only.clone())
        .checkpoints(vec![10, 30])
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap();
    assert_eq!(loader.epochs("dominant_frequencies"), vec![10, 30]);
    let path = loader.epoch_path("dominant_frequencies", 10);
    let before = npz::read(&path, None).unwrap();
    std::fs::write(&path, b"garbage").unwrap();
    let err = loader.load_epoch("dominant_frequencies", 10).unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    // Without force the corrupt file is reported, not recomputed ...
    let err = AnalysisRun::new(&variant, &registry)
        .analyzers(only.clone())
        .checkpoints(vec![10])
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap_err();
    assert!(err.to_string().contains("epoch_00010.npz"), "{err}");
    // ... and --force recomputes it.
    let report = AnalysisRun::new(&variant, &registry)
        .analyzers(only)
        .checkpoints(vec![10])
        .force(true)
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap();
    assert_eq!(report.epochs_analyzed, vec![10]);
    assert_eq!(npz::read(&path, None).unwrap(), before);
}

#[test]
fn missing_dependencies_and_unknown_names_are_errors() {
    let (variant, _results) = trained();
    let registry = AnalyzerRegistry::open(&analyzers_dir()).unwrap();
    let err = AnalysisRun::new(&variant, &registry)
        .analyzers(vec!["neuron_dynamics".into()])
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap_err();
    assert!(
        matches!(&err, Error::MissingDependency { requires, .. } if requires == "neuron_freq_norm"),
        "{err}"
    );
    let err = AnalysisRun::new(&variant, &registry)
        .analyzers(vec!["neuron_fourier".into()])
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap_err();
    assert!(err.to_string().contains("parameter_snapshot"), "{err}");
    let err = AnalysisRun::new(&variant, &registry)
        .analyzers(vec!["fourier_magic".into()])
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap_err();
    assert!(matches!(err, Error::UnknownAnalyzer { .. }));
    assert!(
        err.to_string().contains("dominant_frequencies"),
        "lists the known names: {err}"
    );
    let loader = ArtifactLoader::new(variant.artifacts_dir());
    let err = loader
        .load_epochs("neuron_freq_norm", None, None)
        .unwrap_err();
    assert!(err.to_string().contains("neuron_freq_norm"), "{err}");
}

#[test]
fn loader_stacks_epochs_and_selects_fields() {
    let (variant, _results) = trained();
    let registry = AnalyzerRegistry::open(&analyzers_dir()).unwrap();
    AnalysisRun::new(&variant, &registry)
        .analyzers(vec!["parameter_snapshot".into()])
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap();
    let loader = ArtifactLoader::new(variant.artifacts_dir());
    assert_eq!(
        loader.available_analyzers(),
        vec!["parameter_snapshot".to_string()]
    );
    let stacked = loader
        .load_epochs("parameter_snapshot", Some(&[0, 39]), Some(&["W_E"]))
        .unwrap();
    assert_eq!(stacked.keys().collect::<Vec<_>>(), ["epochs", "W_E"]);
    assert_eq!(stacked.get("W_E").unwrap().shape(), [2, 12, 128]);
    let err = loader
        .load_epochs("parameter_snapshot", Some(&[0]), Some(&["W_nope"]))
        .unwrap_err();
    assert!(err.to_string().contains("W_nope"), "{err}");
    let err = loader.load_epoch("parameter_snapshot", 5).unwrap_err();
    assert!(err.to_string().contains("epoch_00005.npz"), "{err}");
}

/// Every built-in analyzer is declared in analyzers/<name>/analyzer.json with its kind,
/// dependencies and summary keys, and a run writes exactly the declared keys and dtypes.
#[test]
fn analyzer_declarations_match_the_implementations() {
    let registry = AnalyzerRegistry::open(&analyzers_dir()).unwrap();
    let (variant, _results) = trained();
    AnalysisRun::new(&variant, &registry)
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap();
    // coarseness, head_ablation and logit_attribution are registered but not in the family's list.
    AnalysisRun::new(&variant, &registry)
        .analyzers(vec![
            "coarseness".into(),
            "head_ablation".into(),
            "logit_attribution".into(),
        ])
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap();
    let loader = ArtifactLoader::new(variant.artifacts_dir());
    let names: Vec<&str> = registry
        .primary_names()
        .into_iter()
        .chain(registry.secondary_names())
        .chain(registry.cross_epoch_names())
        .collect();
    for name in names {
        let spec = registry
            .spec(name)
            .unwrap_or_else(|| panic!("{name} has no analyzer.json"));
        if name == "intervention_check" {
            // Runs on intervened variants only (tests/interventions.rs checks its artifact).
            continue;
        }
        let artifact = if loader.has_cross_epoch(name) {
            loader.load_cross_epoch(name).unwrap()
        } else {
            loader.load_epoch(name, 39).unwrap()
        };
        let written: Vec<&str> = artifact.keys().collect();
        let declared: Vec<&str> = spec.outputs.keys().map(String::as_str).collect();
        assert_eq!(written, declared, "{name}: keys");
        for (key, output) in &spec.outputs {
            assert_eq!(
                artifact.get(key).unwrap().dtype().numpy_name(),
                output.dtype,
                "{name}:{key}"
            );
        }
        if loader.has_summary(name) {
            let summary = loader.load_summary(name).unwrap();
            let keys: Vec<&str> = summary.keys().skip(1).collect();
            assert_eq!(
                keys,
                spec.summary_keys
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
                "{name}: summary keys"
            );
        }
    }
}

#[test]
fn freshness_reports_missing_and_stale_artifacts() {
    use tdw_core::analysis::freshness::{Freshness, FreshnessReport};
    let (variant, _results) = trained();
    let registry = AnalyzerRegistry::open(&analyzers_dir()).unwrap();
    let report = FreshnessReport::check(&variant).unwrap();
    assert!(report.per_epoch.is_empty() && !report.any_stale());
    let only = vec![
        "neuron_freq_norm".to_string(),
        "neuron_dynamics".to_string(),
    ];
    AnalysisRun::new(&variant, &registry)
        .analyzers(only.clone())
        .checkpoints(vec![0, 10])
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap();
    let report = FreshnessReport::check(&variant).unwrap();
    assert_eq!(
        report.per_epoch,
        vec![(
            "neuron_freq_norm".to_string(),
            Freshness::Incomplete { missing: 3 }
        )]
    );
    assert_eq!(
        report.cross_epoch,
        vec![(
            "neuron_dynamics".to_string(),
            Freshness::Stale { new_epochs: 3 }
        )]
    );
    assert!(report.to_string().contains("incomplete (3 missing)"));
    AnalysisRun::new(&variant, &registry)
        .analyzers(only)
        .run(&mut |_: &AnalysisEvent| {})
        .unwrap();
    let report = FreshnessReport::check(&variant).unwrap();
    assert!(!report.any_stale(), "{report}");
}
