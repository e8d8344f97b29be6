//! The two MLP families (spec §1.2) end to end: train a tiny variant, find it again, analyze it
//! with its family's analyzer list (the analyzers that need a transformer site are skipped with
//! a reason) and draw its views. The seeded initialisation and the first steps against PyTorch
//! are checked in `model::mlp`'s unit tests and, with the Python peer, by
//! `scripts/python-peer/check_mlp_families.py`.

use tdw_core::analysis::{AnalysisRun, AnalyzerRegistry, ArtifactLoader};
use tdw_core::{FamilyRegistry, ParamValue};

use crate::common;

fn train_analyze_and_draw(family: &str, expect_weights: &[&str]) {
    let (registry, results) = common::registry();
    let params = [("prime".to_string(), ParamValue::Int(11))]
        .into_iter()
        .collect();
    let variant = registry.create_variant(family, params).unwrap();
    assert_eq!(variant.name(), format!("{family}_p11_seed999_dseed598"));
    let run = common::train(&variant, 120, &[0, 60], 0.75);
    assert_eq!(run.checkpoint_epochs, vec![0, 60, 119]);
    assert!(
        run.final_train_loss < run.train_losses[0],
        "{family}: the training loss falls ({} -> {})",
        run.train_losses[0],
        run.final_train_loss
    );
    // The checkpoint holds exactly the torch module's parameters.
    let state = variant.load_checkpoint(119).unwrap();
    let mut names: Vec<&str> = state.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut want: Vec<&str> = expect_weights.to_vec();
    want.sort_unstable();
    assert_eq!(names, want);

    // A fresh registry over the same results directory finds it.
    let again = FamilyRegistry::open(&common::families_dir(), results.path()).unwrap();
    let found = again.find_variant(variant.name()).unwrap();
    let analyzers = AnalyzerRegistry::open(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../analyzers"),
    )
    .unwrap();
    let report = AnalysisRun::new(&found, &analyzers)
        .run(&mut |_: &tdw_core::analysis::AnalysisEvent| {})
        .unwrap();
    assert_eq!(report.epochs_analyzed, vec![0, 60, 119]);
    let loader = ArtifactLoader::new(found.artifacts_dir());
    for name in [
        "neuron_activations",
        "neuron_freq_norm",
        "parameter_snapshot",
    ] {
        assert!(loader.epochs(name).contains(&119), "{family}: {name}");
    }
    let activations = loader.load_epoch("neuron_activations", 119).unwrap();
    let grid = activations.get("activations").unwrap();
    assert_eq!(grid.shape(), &[512, 11, 11], "{family}: (d_hidden, p, p)");
    // Frequency groups of neurons, their principal components over the three checkpoints.
    let groups = loader.load_cross_epoch("neuron_group_pca").unwrap();
    let sizes = groups.get("group_sizes").unwrap().shape()[0];
    assert_eq!(groups.get("pc_var").unwrap().shape(), &[3, sizes, 3]);
    assert_eq!(groups.get("projections").unwrap().shape(), &[3, 512, 3]);
    assert!(
        sizes > 0,
        "{family}: some frequency has two or more neurons"
    );
    let geometry = loader
        .load_cross_epoch("freq_group_weight_geometry")
        .unwrap();
    assert_eq!(geometry.get("Win_radii").unwrap().shape(), &[3, sizes]);
    assert_eq!(geometry.get("Wout_snr").unwrap().shape(), &[3]);
    println!("{family}: skipped {:?}", report.skipped);
    for (analyzer, reason) in &report.skipped {
        assert!(
            reason.contains("this model has no"),
            "{family}: {analyzer} skipped for `{reason}`"
        );
    }

    for view in [
        "training.metadata.loss_curves",
        "activations.mlp.neuron_heatmap",
    ] {
        let figure = found.at(119).view(view).unwrap().figure().unwrap();
        assert!(figure.svg().contains("<svg"), "{family}: {view}");
    }
}

#[test]
fn two_layer_mlp_trains_analyzes_and_draws() {
    train_analyze_and_draw(
        "modulo_addition_2layer_mlp",
        &["W_in.weight", "W_out.weight"],
    );
}

#[test]
fn learned_embedding_mlp_trains_analyzes_and_draws() {
    train_analyze_and_draw(
        "modulo_addition_learned_emb_mlp",
        &[
            "embed_a.weight",
            "embed_b.weight",
            "W_in.weight",
            "W_out.weight",
        ],
    );
}
