//! family.json parsing and validation, the registry, variant names and states.

use std::path::Path;

use indexmap::IndexMap;
use tdw_core::{Error, FamilyRegistry, FamilySpec, ParamValue, VariantState};

use crate::common;

fn canonical_json() -> serde_json::Value {
    let text =
        std::fs::read_to_string(common::families_dir().join("modulo_addition_1layer/family.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn parse(value: &serde_json::Value) -> Result<FamilySpec, Error> {
    FamilySpec::from_json_str(&value.to_string(), Path::new("fam/family.json"))
}

/// The error message must name the file and the field.
fn assert_field_error(value: serde_json::Value, field: &str) {
    let err = parse(&value).expect_err(field);
    let msg = err.to_string();
    assert!(msg.contains("fam/family.json"), "no file in: {msg}");
    assert!(msg.contains(field), "no field `{field}` in: {msg}");
}

#[test]
fn canonical_family_parses_with_reference_values() {
    let spec = parse(&canonical_json()).unwrap();
    assert_eq!(spec.name, "modulo_addition_1layer");
    assert_eq!(
        spec.domain_parameters.keys().collect::<Vec<_>>(),
        ["prime", "seed", "data_seed"]
    );
    assert_eq!(spec.analyzers.len(), 12);
    assert_eq!(
        spec.secondary_analyzers,
        ["neuron_fourier", "fourier_frequency_quality"]
    );
    assert_eq!(spec.cross_epoch_analyzers.len(), 9);
    assert_eq!(spec.architecture["d_mlp"], 512);
    let defaults = spec.default_params();
    assert_eq!(defaults["prime"], ParamValue::Int(113));
    // Keys we do not interpret are kept, not rejected.
    assert!(spec.extra.contains_key("class_type") && spec.extra.contains_key("probes"));
}

#[test]
fn unknown_keys_are_kept() {
    let mut json = canonical_json();
    json["my_notes"] = serde_json::json!({"x": 1});
    let spec = parse(&json).unwrap();
    assert_eq!(spec.extra["my_notes"]["x"], 1);
}

#[test]
fn every_validation_error_names_file_and_field() {
    for field in [
        "name",
        "display_name",
        "description",
        "architecture",
        "domain_parameters",
        "analyzers",
        "variant_pattern",
    ] {
        let mut json = canonical_json();
        json.as_object_mut().unwrap().remove(field);
        assert_field_error(json, field);
    }
    let mut json = canonical_json();
    json["analyzers"] = serde_json::json!("dominant_frequencies");
    assert_field_error(json, "analyzers");

    let mut json = canonical_json();
    json["domain_parameters"]["prime"]["default"] = serde_json::json!("113");
    assert_field_error(json, "domain_parameters.prime.default");

    let mut json = canonical_json();
    json["domain_parameters"]["prime"]["default"] = serde_json::json!(91);
    assert_field_error(json, "domain_parameters.prime.default");

    let mut json = canonical_json();
    json["domain_parameters"]["prime"]["default"] = serde_json::json!(2);
    assert_field_error(json, "domain_parameters.prime.default");

    let mut json = canonical_json();
    json["domain_parameters"]["prime"]["type"] = serde_json::json!("integer");
    assert_field_error(json, "domain_parameters.prime.type");

    let mut json = canonical_json();
    json["variant_pattern"] = serde_json::json!("m_p{prime}_s{seed}_d{data_seed}_{width}");
    assert_field_error(json, "variant_pattern");

    let mut json = canonical_json();
    json["variant_pattern"] = serde_json::json!("m_p{prime}_s{seed}");
    assert_field_error(json, "variant_pattern");

    for bad in [0.0, 1.0, 1.5, -0.1] {
        let mut json = canonical_json();
        json["training"]["training_fraction"] = serde_json::json!(bad);
        assert_field_error(json, "training.training_fraction");
    }
    let mut json = canonical_json();
    json["training"]["num_epochs"] = serde_json::json!(0);
    assert_field_error(json, "training.num_epochs");

    let err = FamilySpec::from_json_str("{not json", Path::new("fam/family.json")).unwrap_err();
    assert!(err.to_string().contains("fam/family.json"), "{err}");
}

#[test]
fn parameters_are_validated_by_name() {
    let (registry, _results) = common::registry();
    let family = "modulo_addition_1layer";
    let err = registry
        .create_variant_from_text(family, [("width", "3")])
        .unwrap_err();
    assert!(matches!(err, Error::UnknownParameter { .. }), "{err}");
    assert!(err.to_string().contains("width") && err.to_string().contains("data_seed"));
    for (name, value) in [
        ("prime", "91"),
        ("prime", "2"),
        ("prime", "abc"),
        ("seed", "-4"),
    ] {
        let err = registry
            .create_variant_from_text(family, [(name, value)])
            .unwrap_err();
        assert!(
            err.to_string().contains(name) && err.to_string().contains(value),
            "{err}"
        );
    }
    let err = registry.family("modulo_addition").unwrap_err();
    assert!(err.to_string().contains("modulo_addition_1layer"), "{err}");
}

#[test]
fn registry_discovers_families_and_reports_broken_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("good")).unwrap();
    std::fs::create_dir_all(dir.path().join("broken")).unwrap();
    std::fs::write(
        dir.path().join("good/family.json"),
        canonical_json().to_string(),
    )
    .unwrap();
    std::fs::write(dir.path().join("broken/family.json"), "{\"name\": 3}").unwrap();
    let registry = FamilyRegistry::open(dir.path(), &dir.path().join("results")).unwrap();
    assert_eq!(registry.names(), ["modulo_addition_1layer"]);
    assert_eq!(registry.load_errors().len(), 1);
    assert!(
        registry.load_errors()[0]
            .to_string()
            .contains("broken/family.json")
    );
    // No model_families/ at all: the families built into the binary, and a "not found" that
    // says where it looked.
    let absent = FamilyRegistry::open(&dir.path().join("absent"), dir.path()).unwrap();
    assert_eq!(
        absent.names(),
        [
            "modulo_addition_1layer",
            "modulo_addition_2layer_mlp",
            "modulo_addition_learned_emb_mlp"
        ]
    );
    let err = absent.family("nope").unwrap_err().to_string();
    assert!(
        err.contains(&dir.path().join("absent").display().to_string())
            && err.contains("TDW_MODEL_FAMILIES_DIR"),
        "{err}"
    );
}

#[test]
fn variant_names_round_trip_through_directories() {
    let (registry, results) = common::registry();
    let family = "modulo_addition_1layer";
    let variant = registry
        .create_variant_from_text(family, [("prime", "59"), ("seed", "7")])
        .unwrap();
    assert_eq!(variant.name(), "modulo_addition_1layer_p59_seed7_dseed598");
    assert_eq!(
        variant.dir(),
        results.path().join(family).join(variant.name())
    );
    assert!(!variant.dir().exists(), "creating a variant writes nothing");

    let root = results.path().join(family);
    for name in [
        variant.name(),
        "modulo_addition_1layer_p113_seed999_dseed598",
        "not_a_variant",
        "modulo_addition_1layer_p4_seed1_dseed2",
    ] {
        std::fs::create_dir_all(root.join(name)).unwrap();
    }
    std::fs::write(
        root.join("modulo_addition_1layer_p7_seed1_dseed2"),
        b"a file, not a variant",
    )
    .unwrap();
    let fresh = FamilyRegistry::open(&common::families_dir(), results.path()).unwrap();
    let found = fresh.variants(family).unwrap();
    let names: Vec<&str> = found.iter().map(|v| v.name()).collect();
    assert_eq!(
        names,
        [
            "modulo_addition_1layer_p113_seed999_dseed598",
            "modulo_addition_1layer_p59_seed7_dseed598"
        ]
    );
    assert_eq!(found[1], variant);
    assert_eq!(found[1].params().get("prime"), Some(&ParamValue::Int(59)));
    assert_eq!(fresh.find_variant(variant.name()).unwrap(), variant);
    let err = fresh.find_variant("nope").unwrap_err();
    assert!(
        err.to_string()
            .contains("modulo_addition_1layer_p59_seed7_dseed598"),
        "{err}"
    );
}

#[test]
fn state_is_derived_from_disk() {
    let (registry, _results) = common::registry();
    let variant = registry
        .create_variant("modulo_addition_1layer", IndexMap::new())
        .unwrap();
    assert_eq!(variant.state(), VariantState::Untrained);
    std::fs::create_dir_all(variant.artifacts_dir().join("x")).unwrap();
    std::fs::write(variant.artifacts_dir().join("x/epoch_00000.npz"), b"").unwrap();
    assert_eq!(
        variant.state(),
        VariantState::Untrained,
        "artifacts without checkpoints"
    );
    std::fs::create_dir_all(variant.checkpoints_dir()).unwrap();
    std::fs::write(variant.checkpoints_dir().join("notes.txt"), b"").unwrap();
    assert_eq!(variant.state(), VariantState::Untrained);
    std::fs::write(variant.checkpoint_path(100), b"").unwrap();
    assert_eq!(variant.state(), VariantState::Analyzed);
    std::fs::remove_dir_all(variant.artifacts_dir()).unwrap();
    assert_eq!(variant.state(), VariantState::Trained);
    std::fs::create_dir_all(variant.artifacts_dir()).unwrap();
    std::fs::write(variant.artifacts_dir().join("manifest.json"), b"{}").unwrap();
    assert_eq!(
        variant.state(),
        VariantState::Trained,
        "a manifest alone is not an analysis"
    );
    assert_eq!(variant.checkpoints().unwrap(), vec![100]);
    let err = variant.load_checkpoint(5).unwrap_err();
    assert!(
        matches!(err, Error::MissingCheckpoint { epoch: 5, .. }),
        "{err}"
    );
}
