//! Bounded fuzzing of every reader of user files with proptest: random bytes and random
//! mutations (flips, truncations, insertions) of valid files must give `Ok` or an error, never a
//! panic. `PROPTEST_CASES` raises the iteration count for a longer campaign.

use std::path::Path;

use proptest::prelude::*;
use tdw_core::analysis::{Artifact, npz};
use tdw_core::model::init::init_state;
use tdw_core::train::state::OptimizerState;
use tdw_core::{FamilySpec, TransformerConfig, checkpoint};

fn tiny_config() -> TransformerConfig {
    let arch = serde_json::json!({"d_model": 8, "d_head": 2, "n_heads": 4, "d_mlp": 16});
    TransformerConfig::from_architecture(arch.as_object().unwrap(), 5).unwrap()
}

fn valid_npz() -> Vec<u8> {
    let artifact = Artifact::new()
        .with("coefficients", ndarray::array![1.5f32, -2.0, 3.25])
        .with("grid", ndarray::array![[1i16, 2], [3, 4]])
        .with("flags", ndarray::array![true, false])
        .with("scalar", 0.25f64);
    npz::encode_npz(&artifact).unwrap()
}

fn valid_checkpoint() -> Vec<u8> {
    let config = tiny_config();
    checkpoint::to_bytes(&config, &init_state(&config, 1)).unwrap()
}

fn valid_optimizer_state() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.safetensors");
    OptimizerState {
        epoch: 9,
        step: 10,
        moments: vec![("embed.W_E".into(), vec![0.5; 8], vec![0.25; 8])],
    }
    .save(&path)
    .unwrap();
    std::fs::read(path).unwrap()
}

fn valid_family() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../model_families/modulo_addition_1layer/family.json");
    std::fs::read(path).unwrap()
}

/// A valid file with a few random edits.
fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len();
    prop::collection::vec((0..len.max(1), any::<u8>(), 0u8..4), 1..6).prop_map(move |edits| {
        let mut bytes = valid.clone();
        for (at, byte, kind) in edits {
            let at = at.min(bytes.len().saturating_sub(1));
            match kind {
                0 if !bytes.is_empty() => bytes[at] = byte,
                1 => bytes.truncate(at),
                2 => bytes.insert(at.min(bytes.len()), byte),
                _ if !bytes.is_empty() => bytes[at] ^= 1 << (byte % 8),
                _ => {}
            }
        }
        bytes
    })
}

/// Cases per reader: 5,000 in the test suite, `PROPTEST_CASES` for a longer campaign.
fn fuzz_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn npz_reader_never_panics(bytes in prop_oneof![any_bytes(), mutated(valid_npz())]) {
        let _result = npz::decode_npz(&bytes, Path::new("fuzz.npz"), None);
        let _result = npz::decode_npy(&bytes);
    }

    #[test]
    fn checkpoint_reader_never_panics(bytes in prop_oneof![any_bytes(), mutated(valid_checkpoint())]) {
        let _result = checkpoint::from_bytes(&bytes, Path::new("fuzz.safetensors"), &tiny_config());
    }

    #[test]
    fn optimizer_state_reader_never_panics(bytes in prop_oneof![any_bytes(), mutated(valid_optimizer_state())]) {
        let _result = OptimizerState::from_bytes(&bytes, Path::new("optimizer_state.safetensors"));
    }

    #[test]
    fn family_reader_never_panics(bytes in prop_oneof![any_bytes(), mutated(valid_family())]) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(err) = FamilySpec::from_json_str(&text, Path::new("fuzz/family.json")) {
            prop_assert!(err.to_string().contains("fuzz/family.json"), "error without the file: {}", err);
        }
    }

    #[test]
    fn metadata_reader_never_panics(bytes in prop_oneof![any_bytes(), mutated(br#"{"train_losses":[4.7,4.6],"test_losses":[4.7,4.8],"train_indices":[3,1],"test_indices":[0,2],"checkpoint_epochs":[1],"num_epochs":2}"#.to_vec())]) {
        let _result = serde_json::from_slice::<tdw_core::Metadata>(&bytes);
    }
}

/// A value for one CLI setting: inside its limits, on them, or far outside (and, for text,
/// not a number at all).
fn int_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..60).prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        Just("99999999999999999999".to_string()),
        Just("-0".to_string()),
        Just("1e3".to_string()),
        Just("".to_string()),
        "[a-z]{1,4}",
    ]
}

fn float_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0f64..1.0,
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-0.0),
        Just(1.0),
        Just(1e-300),
    ]
}

proptest! {
    // Each case may train a few epochs of a small variant: fewer cases than the byte readers.
    #![proptest_config(ProptestConfig { cases: fuzz_cases() / 50, failure_persistence: None, ..ProptestConfig::default() })]

    /// `tdw train`'s settings (the parameters as the CLI passes them, as text; fraction,
    /// epochs up to 3, checkpoints, learning rate, weight decay) drawn inside and outside their limits:
    /// every combination trains or is an error, never a panic; a refused fresh variant leaves
    /// no directory.
    #[test]
    fn train_settings_never_panic(
        prime in prop_oneof![2 => Just("5".to_string()), 2 => Just("7".to_string()), 1 => int_text()],
        seed in prop_oneof![4 => (0i64..60).prop_map(|v| v.to_string()), 1 => int_text()],
        data_seed in prop_oneof![4 => (0i64..60).prop_map(|v| v.to_string()), 1 => int_text()],
        fraction in prop::option::of(prop_oneof![3 => 0.05f64..0.95, 1 => float_value()]),
        epochs in 0u64..4,
        checkpoints in prop::option::of(prop::collection::vec(0u64..6, 0..4)),
        lr in prop::option::of(prop_oneof![3 => 1e-4f64..1e-1, 1 => float_value()]),
        weight_decay in prop::option::of(prop_oneof![3 => 0.0f64..2.0, 1 => float_value()]),
    ) {
        let results = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let registry =
            tdw_core::FamilyRegistry::open(&root.join("model_families"), results.path()).unwrap();
        let pairs = [("prime", prime.as_str()), ("seed", seed.as_str()), ("data_seed", data_seed.as_str())];
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let Ok(variant) = registry.create_variant_from_text("modulo_addition_1layer", pairs) else {
                return Ok(()); // refused with an error: what the test wants
            };
            let options = tdw_core::TrainOptions {
                // Always given: the family's default (25,000 epochs) would be slow.
                num_epochs: Some(epochs),
                checkpoint_epochs: checkpoints.clone(),
                training_fraction: fraction,
                learning_rate: lr,
                weight_decay,
                ..Default::default()
            };
            let trained = variant.train(&options, &tdw_core::default_device(), &mut tdw_core::NoProgress);
            if trained.is_err() {
                prop_assert!(!variant.dir().exists(), "a refused run left {}", variant.dir().display());
            }
            let _ = trained;
            Ok::<(), proptest::test_runner::TestCaseError>(())
        }));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => return Err(failure),
            Err(_) => prop_assert!(false, "panicked for prime={prime} seed={seed} data_seed={data_seed} fraction={fraction:?} epochs={epochs:?} checkpoints={checkpoints:?} lr={lr:?} wd={weight_decay:?}"),
        }
    }
}
