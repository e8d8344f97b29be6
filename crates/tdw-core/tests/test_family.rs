//! A family that exists only in this test: modular *subtraction*, (a − b) mod p, on the
//! one-layer transformer. Its whole definition is the family.json text and the `ModelFamily`
//! impl below (the lines between the two `--- family ---` markers); training, analysis and views
//! then work with no change anywhere in the crate.

use std::sync::Arc;

use tdw_core::analysis::{AnalysisRun, AnalyzerRegistry, ArtifactLoader};
use tdw_core::families::ModuloAddition1Layer;
use tdw_core::model::state::StateDict;
use tdw_core::train::TrainingConfig;
use tdw_core::{
    Dataset, FamilyRegistry, FamilySpec, ModelFamily, ParamValue, Params, Split, TransformerConfig,
};

use crate::common;

// --- family ---
const FAMILY_JSON: &str = r#"{
  "name": "modulo_subtraction_1layer",
  "display_name": "Modulo Subtraction (1 Layer, test only)",
  "description": "(a - b) mod p on the one-layer transformer, defined only in this test.",
  "architecture": {"n_layers": 1, "n_heads": 4, "d_model": 64, "d_head": 16, "d_mlp": 128,
                   "act_fn": "relu", "normalization_type": null, "n_ctx": 3},
  "domain_parameters": {
    "prime": {"type": "int", "default": 13},
    "seed": {"type": "int", "default": 1},
    "data_seed": {"type": "int", "default": 2}
  },
  "analyzers": ["dominant_frequencies", "neuron_activations", "neuron_freq_norm",
                "attention_patterns", "parameter_snapshot", "effective_dimensionality"],
  "cross_epoch_analyzers": ["parameter_trajectory"],
  "variant_pattern": "modulo_subtraction_1layer_p{prime}_seed{seed}_dseed{data_seed}"
}"#;

/// Same model, init, split and training as the addition family; only the labels differ.
struct ModuloSubtraction;

impl ModelFamily for ModuloSubtraction {
    fn model_config(
        &self,
        spec: &FamilySpec,
        params: &Params,
    ) -> tdw_core::Result<TransformerConfig> {
        ModuloAddition1Layer.model_config(spec, params)
    }
    fn init_state(&self, spec: &FamilySpec, params: &Params) -> tdw_core::Result<StateDict> {
        ModuloAddition1Layer.init_state(spec, params)
    }
    fn dataset(&self, params: &Params) -> tdw_core::Result<Dataset> {
        let mut data = ModuloAddition1Layer.dataset(params)?;
        let p = params.int("prime")?;
        for (row, label) in data.labels.iter_mut().enumerate() {
            let (a, b) = (data.tokens[row * 3], data.tokens[row * 3 + 1]);
            *label = (a - b).rem_euclid(p);
        }
        Ok(data)
    }
    fn split(&self, params: &Params, fraction: f64) -> tdw_core::Result<Split> {
        ModuloAddition1Layer.split(params, fraction)
    }
    fn training_defaults(&self) -> TrainingConfig {
        ModuloAddition1Layer.training_defaults()
    }
    fn config_json(
        &self,
        spec: &FamilySpec,
        params: &Params,
        fraction: f64,
    ) -> tdw_core::Result<serde_json::Map<String, serde_json::Value>> {
        ModuloAddition1Layer.config_json(spec, params, fraction)
    }
}
// --- family ---

#[test]
fn a_family_defined_in_a_test_trains_analyzes_and_draws_with_no_other_change() {
    let families = tempfile::tempdir().unwrap();
    let results = tempfile::tempdir().unwrap();
    let path = families
        .path()
        .join("modulo_subtraction_1layer/family.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, FAMILY_JSON).unwrap();
    let mut registry = FamilyRegistry::open(families.path(), results.path()).unwrap();
    assert!(
        registry.load_errors().is_empty(),
        "{:?}",
        registry.load_errors()
    );
    let spec = registry
        .family("modulo_subtraction_1layer")
        .unwrap()
        .spec()
        .clone();
    registry.register_with(spec, Arc::new(ModuloSubtraction));

    let params = [("prime".to_string(), ParamValue::Int(13))]
        .into_iter()
        .collect();
    let variant = registry
        .create_variant("modulo_subtraction_1layer", params)
        .unwrap();
    assert_eq!(variant.name(), "modulo_subtraction_1layer_p13_seed1_dseed2");
    let run = common::train(&variant, 300, &[0, 100, 200], 0.5);
    assert_eq!(run.checkpoint_epochs, vec![0, 100, 200, 299]);
    assert!(
        run.final_train_loss < 0.1 * run.train_losses[0],
        "it learns the training set"
    );

    // A fresh registry finds the run again from its directory (with the implementation).
    let mut again = FamilyRegistry::open(families.path(), results.path()).unwrap();
    let spec = again
        .family("modulo_subtraction_1layer")
        .unwrap()
        .spec()
        .clone();
    again.register_with(spec, Arc::new(ModuloSubtraction));
    let found = again.find_variant(variant.name()).unwrap();

    let analyzers = AnalyzerRegistry::open(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../analyzers"),
    )
    .unwrap();
    let report = AnalysisRun::new(&found, &analyzers)
        .run(&mut |_: &tdw_core::analysis::AnalysisEvent| {})
        .unwrap();
    assert_eq!(report.epochs_analyzed, vec![0, 100, 200, 299]);
    let loader = ArtifactLoader::new(found.artifacts_dir());
    for name in [
        "dominant_frequencies",
        "neuron_activations",
        "parameter_snapshot",
    ] {
        assert!(loader.epochs(name).contains(&299), "{name}");
    }

    for view in [
        "training.metadata.loss_curves",
        "parameters.embeddings.fourier_coefficients",
        "activations.mlp.neuron_heatmap",
    ] {
        let figure = found.at(299).view(view).unwrap().figure().unwrap();
        assert!(figure.svg().contains("<svg"), "{view}");
    }
}
